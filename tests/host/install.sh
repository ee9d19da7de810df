#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make install DESTDIR= (Documentation/deployment.md): every file where a
# node expects it; the installed programs run and say their release; the
# systemd unit passes systemd-analyze verify without a warning; the
# module's sources installed for DKMS are complete: they build, as DKMS
# builds them (dkms.conf's MAKE, no -Werror), for the test guest's kernel.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
cd "$top" || exit 1

dest=$(mktemp -d /tmp/s3f-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
release=$(sed -n 's/^#define S3F_RELEASE[[:space:]]*"\(.*\)"/\1/p' uapi/s3f.h)

out=$(make -s install DESTDIR="$dest" 2>&1); rc=$?
check_eq "make install DESTDIR=: succeeds" "$rc $out" "0 "
want="/etc/s3f/s3fd.conf /lib/systemd/system/s3fd.service /sbin/mount.s3f /usr/sbin/s3fctl
/usr/sbin/s3fd /usr/share/doc/s3f/examples/fstab /usr/share/doc/s3f/examples/s3fd.conf
/usr/share/man/man5/s3fd.conf.5 /usr/share/man/man8/mount.s3f.8 /usr/share/man/man8/s3fctl.8
/usr/share/man/man8/s3fd.8 /usr/src/s3f-$release/Kbuild /usr/src/s3f-$release/dkms.conf
/usr/src/s3f-$release/kmod/Kbuild /usr/src/s3f-$release/uapi/s3f.h"
got=$(cd "$dest" && find . -type f | sed 's|^\.||' | grep -v '^/usr/src/.*/kmod/.*\.[ch]$' | sort | tr '\n' ' ')
check_eq "make install: the files" "$got" "$(echo $want | tr ' ' '\n' | sort | tr '\n' ' ')"
check_eq "make install: every kmod/ source for DKMS, no build product" \
	"$(cd "$dest/usr/src/s3f-$release/kmod" && ls *.c *.h | tr '\n' ' ')" \
	"$(cd kmod && ls *.c *.h | grep -v '\.mod\.c$' | tr '\n' ' ')"
check_match "installed s3fd --version" "$("$dest/usr/sbin/s3fd" --version)" "^s3fd $release, protocol"
check_match "installed s3fctl --version" "$("$dest/usr/sbin/s3fctl" --version)" "^s3fctl $release, protocol"
check_eq "the example s3fd.conf is one s3fd accepts" \
	"$("$dest/usr/sbin/s3fd" --config "$dest/etc/s3f/s3fd.conf" --help >/dev/null 2>&1; echo $?)" 0

# the unit, its ExecStart pointed at the installed s3fd
sed "s|/usr/sbin/s3fd|$dest/usr/sbin/s3fd|" "$dest/lib/systemd/system/s3fd.service" >"$dest/s3fd.service"
out=$(systemd-analyze verify --man=no "$dest/s3fd.service" 2>&1); rc=$?
check_eq "systemd-analyze verify s3fd.service: no warning" "$rc $out" "0 "
check_match "s3fd.service: Type=notify, restarted on failure" \
	"$(grep -E '^(Type|Restart|ExecStart)=' "$dest/s3fd.service")" \
	"Type=notify .*ExecStart=.*s3fd --foreground Restart=on-failure"

# DKMS's build of the installed sources
kver=$(scripts/guest-kernel --version 2>/dev/null)
headers=/usr/src/linux-headers-$kver
if [ -d "$headers" ]; then
	out=$(nice make -C "$headers" M="$dest/usr/src/s3f-$release" modules 2>&1); rc=$?
	check_eq "the DKMS sources build for $kver (no -Werror)" \
		"$rc $([ -f "$dest/usr/src/s3f-$release/kmod/s3f.ko" ] && echo s3f.ko)" "0 s3f.ko"
	[ "$rc" = 0 ] || printf '%s\n' "$out" | tail -20
	check_eq "... and say the release" \
		"$(modinfo -F version "$dest/usr/src/s3f-$release/kmod/s3f.ko" 2>/dev/null)" "$release"
else
	fail "the DKMS sources build" "$headers missing (scripts/install-deps)"
fi
finish
