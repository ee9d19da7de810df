#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Inside the test guest (scripts/guest-run --s3 rgw --no-helper, the
# module of ROOT inserted by the harness): ROOT is a clean Debian 12 root
# with s3f's packages installed (tests/host/deb-install.sh).  Chrooted
# into it, as a node would: modprobe s3f loads the module DKMS installed,
# the packaged s3fd starts (exit 0 once registered), and mount -t s3f,
# through the packaged /sbin/mount.s3f, mounts the bucket; a file
# written there is its object in S3.
#
#   deb-install.sh ROOT
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

root=$1
work=$(mktemp -d /tmp/s3f-debinst.XXXXXX)
mounted=()
cleanup() {
	local i
	grep -q " $root/mnt s3f " /proc/mounts && umount "$root/mnt"
	pkill -TERM -x s3fd
	for _ in $(seq 50); do pgrep -x s3fd >/dev/null || break; sleep 0.1; done
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}"; done
	rm -rf "$work"
}
trap cleanup EXIT

# ROOT is read-only here (the host's file systems over 9p): what s3fd
# and mount write goes to tmpfs, as on a node's local disk
for d in proc sys dev; do mount --bind "/$d" "$root/$d" && mounted+=("$root/$d"); done
for d in run tmp var/lib; do
	mount -t tmpfs tmpfs "$root/$d" && mounted+=("$root/$d")
done
in_root() {
	chroot "$root" /usr/bin/env -C / -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		AWS_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
		AWS_REGION="$AWS_REGION" "$@"
}

rmmod s3f 2>/dev/null	# the harness inserted the same file: modprobe must find it
check_eq "modprobe s3f finds the module DKMS installed" \
	"$(in_root modprobe s3f 2>&1 && grep -c '^s3f ' /proc/modules)" 1
out=$(in_root /usr/sbin/s3fd --allow-http 2>&1); rc=$?
check_eq "the packaged s3fd starts (exit 0 once registered)" "$rc $out" "0 "
check_match "s3fctl status from the package" "$(in_root /usr/sbin/s3fctl status 2>&1)" "helper: pid [0-9]+"
out=$(in_root mount -t s3f -o "$S3F_MOUNT_OPTIONS" "$S3F_BUCKET" /mnt 2>&1); rc=$?
check_eq "mount -t s3f (the packaged mount.s3f)" "$rc $out" "0 "
check_match "... an s3f mount, nosuid,nodev" "$(grep " $root/mnt " /proc/mounts)" " s3f .*nosuid,nodev"
head -c 200000 /dev/urandom >"$work/data"
cp "$work/data" "$root/mnt/deb-install-$$" 2>&1
"$top/helper/s3fctl" s3 get "deb-install-$$" "$work/back" >/dev/null 2>&1
check "a file written through the mount is its object in S3" cmp "$work/data" "$work/back"
"$top/helper/s3fctl" s3 rm "deb-install-$$" >/dev/null 2>&1
out=$(in_root umount /mnt 2>&1); rc=$?
check_eq "umount" "$rc $out" "0 "
finish
