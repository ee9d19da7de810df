#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages on a clean system (issue 18, section 2;
# Documentation/deployment.md): a minimal Debian 12 root (debootstrap
# --variant=minbase, with the test guest's kernel headers, as a node image
# has them; cached, with the packages' dependencies downloaded but not
# installed) gets a throw-away overlay, and in it, chrooted:
#
#   apt-get install ./s3f-dkms_*.deb ./s3f-tools_*.deb
#
# DKMS must build and install s3f.ko for the guest's kernel, and the
# unit must be enabled.  Then a guest (RGW through its forward) chroots
# into that root: modprobe s3f finds the module DKMS installed, the
# packaged s3fd starts, and mount -t s3f (the packaged /sbin/mount.s3f)
# mounts the bucket, with nothing else done by hand
# (tests/guest/deb-install.sh).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
cd "$top" || exit 1

cache=${S3F_CACHE:-/var/cache/s3f}
kver=$(scripts/guest-kernel --version 2>/dev/null)
release=$(sed -n 's/^#define S3F_RELEASE[[:space:]]*"\(.*\)"/\1/p' uapi/s3f.h)
mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
mirror=${mirror:-http://deb.debian.org/debian}
base=$cache/debroot/bookworm-$kver
# what the packages pull in, downloaded into the base's apt cache
DEPS="dkms linux-headers-$kver libcurl4 libnl-genl-3-200 libxml2 libsystemd0 media-types"

work=$(mktemp -d "$cache/deb-install.XXXXXX")	# visible in the guest
mounted=()
cleanup() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

# a chroot with /proc, /sys, /dev (and the host's resolver) for apt and dpkg
in_root() { # in_root DIR COMMAND...
	local r=$1
	shift
	chroot "$r" /usr/bin/env -C / -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"
}
bind_system() { # bind_system DIR
	local d
	for d in proc sys dev; do
		mount --bind "/$d" "$1/$d" && mounted+=("$1/$d")
	done
	cp /etc/resolv.conf "$1/etc/resolv.conf" 2>/dev/null
}

if [ ! -f "$base/.ready" ]; then
	echo "# building $base (debootstrap from $mirror, once)"
	rm -rf "$base.tmp" && mkdir -p "$(dirname "$base")"
	if ! debootstrap --variant=minbase bookworm "$base.tmp" "$mirror" >"$work/debootstrap.log" 2>&1; then
		tail -20 "$work/debootstrap.log"
		fail "debootstrap of a clean Debian 12 root" "failed"
		finish
		exit
	fi
	cp /etc/apt/sources.list.d/debian.sources "$base.tmp/etc/apt/sources.list.d/" 2>/dev/null &&
		rm -f "$base.tmp/etc/apt/sources.list"
	bind_system "$base.tmp"
	# shellcheck disable=SC2086 # a list of packages
	# up to date, as a node image is
	if ! in_root "$base.tmp" apt-get update -qq >"$work/base.log" 2>&1 ||
	   ! in_root "$base.tmp" apt-get dist-upgrade -y -qq >>"$work/base.log" 2>&1 ||
	   ! in_root "$base.tmp" apt-get install -y -qq --no-install-recommends linux-headers-$kver \
		>>"$work/base.log" 2>&1 ||
	   ! in_root "$base.tmp" apt-get install -y -qq --no-install-recommends --download-only $DEPS \
		>>"$work/base.log" 2>&1; then
		tail -20 "$work/base.log"
		fail "the clean root's kernel headers and downloads" "apt-get failed"
		finish
		exit
	fi
	for m in proc sys dev; do umount -l "$base.tmp/$m"; done
	mounted=()
	touch "$base.tmp/.ready" && mv "$base.tmp" "$base"
fi

# the packages, from this tree
out=$(make -s deb DEBBUILD="$work/build" 2>&1) || { printf '%s\n' "$out" | tail -20; fail "make deb" "failed"; finish; exit; }
debs=("deb/s3f-dkms_${release}_all.deb" "deb/s3f-tools_${release}_amd64.deb")

# a throw-away overlay on the clean root
root=$work/root
mkdir -p "$work/upper" "$work/ovl" "$root"
mount -t overlay overlay -o "lowerdir=$base,upperdir=$work/upper,workdir=$work/ovl" "$root" &&
	mounted+=("$root") || { fail "overlay on the clean root" "mount failed"; finish; exit; }
check_eq "the clean root has no s3f" "$( (ls "$root/usr/sbin"; ls "$root/usr/src") | grep -c s3f)" 0
bind_system "$root"
cp "${debs[@]}" "$root/tmp/"
# (apt's --no-download loses local packages' paths: "Pathname to install
# is not absolute"; every dependency is in the base's cache anyway)
out=$(in_root "$root" apt-get install -y --no-install-recommends \
	"/tmp/${debs[0]##*/}" "/tmp/${debs[1]##*/}" 2>&1); rc=$?
rm -f "$root"/tmp/s3f-*.deb
printf '%s\n' "$out" >"$work/install.log"
check_eq "apt-get install of both packages in the clean root" "$rc" 0
[ "$rc" = 0 ] || tail -30 "$work/install.log"
check_match "DKMS built and installed s3f/$release for $kver" \
	"$(in_root "$root" dkms status 2>&1)" "s3f/$release, $kver, x86_64: installed"
ko=$root/lib/modules/$kver/updates/dkms/s3f.ko
check_eq "the module is where modprobe looks, and says its release" \
	"$(modinfo -F version "$ko" 2>/dev/null)" "$release"
check_eq "s3fd.service is enabled" \
	"$(readlink "$root/etc/systemd/system/multi-user.target.wants/s3fd.service")" \
	"/lib/systemd/system/s3fd.service"
check_eq "s3fd --version from the package" "$(in_root "$root" /usr/sbin/s3fd --version 2>&1 | cut -d, -f1)" \
	"s3fd $release"
for m in dev sys proc; do umount -l "$root/$m"; done
mounted=("$root")

# the guest: chroot into that root, modprobe, s3fd, mount
if [ -f "$ko" ]; then
	out=$(S3F_GUEST_MODULE="$ko" scripts/guest-run --s3 rgw --no-helper -- \
		tests/guest/deb-install.sh "$root" 2>&1); rc=$?
	printf '%s\n' "$out" | grep -E '^(PASS|FAIL|#)'
	[ "$rc" = 0 ] || { printf '%s\n' "$out" | tail -5; fail "the guest's checks" "guest-run exit status $rc"; }
fi
finish
