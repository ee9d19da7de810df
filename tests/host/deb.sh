#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make deb (debian/, Documentation/deployment.md): s3f-dkms and s3f-tools
# build with debhelper; lintian finds no error and no warning (the one
# info tag left is explained in deployment.md); each package holds what
# a node needs and says what it depends on; s3f-dkms registers the
# module with DKMS for the release (dh_dkms) and s3f-tools enables and
# starts s3fd.service (dh_installsystemd).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
cd "$top" || exit 1

release=$(sed -n 's/^#define S3F_RELEASE[[:space:]]*"\(.*\)"/\1/p' uapi/s3f.h)
build=$(mktemp -d /tmp/s3f-debtest.XXXXXX)
trap 'rm -rf "$build"' EXIT
rm -f deb/*.deb
out=$(make -s deb DEBBUILD="$build" 2>&1); rc=$?
[ "$rc" = 0 ] || printf '%s\n' "$out" | tail -30
tools=deb/s3f-tools_${release}_amd64.deb
dkms=deb/s3f-dkms_${release}_all.deb
check_eq "make deb: both packages" "$rc $(ls "$tools" "$dkms" 2>/dev/null | wc -l)" "0 2"

lint=$(lintian --fail-on none "$tools" "$dkms" 2>/dev/null | grep -v '^N:')
check_eq "lintian: no error, no warning" "$(grep -E '^[EW]:' <<<"$lint")" ""
check_eq "lintian: the info tags are the explained ones" \
	"$(grep '^I:' <<<"$lint" | grep -v 'package-supports-alternative-init-but-no-init.d-script')" ""

files=" $(dpkg-deb -c "$tools" | awk '{ print $6 }' | sed 's|^\.||' | grep -v '/$' | tr '\n' ' ')"
for f in /usr/sbin/s3fd /usr/sbin/s3fctl /sbin/mount.s3f /lib/systemd/system/s3fd.service \
	/etc/s3f/s3fd.conf /usr/share/man/man8/mount.s3f.8.gz /usr/share/man/man5/s3fd.conf.5.gz; do
	check_match "s3f-tools holds $f" "$files" " $f "
done
check_match "s3f-tools: /etc/s3f/s3fd.conf is a conffile" \
	"$(dpkg-deb -f "$tools" Conffiles 2>/dev/null; dpkg-deb -I "$tools" conffiles 2>/dev/null)" "/etc/s3f/s3fd.conf"
check_match "s3f-tools depends on the libraries s3fd links" "$(dpkg-deb -f "$tools" Depends)" \
	"libcurl4.*libnl-genl-3-200.*libssl3.*libsystemd0"
check_match "s3f-tools: postinst enables and starts s3fd.service" \
	"$(dpkg-deb -I "$tools" postinst)" "deb-systemd-helper enable 's3fd.service'.*"
files=$(dpkg-deb -c "$dkms" | awk '{ print $6 }' | sed 's|^\.||' | tr '\n' ' ')
check_match "s3f-dkms holds the module's sources and dkms.conf" "$files" \
	"/usr/src/s3f-$release/dkms.conf .*/usr/src/s3f-$release/kmod/super.c .*/usr/src/s3f-$release/uapi/s3f.h"
check_match "s3f-dkms: postinst adds, builds and installs s3f/$release with DKMS" \
	"$(dpkg-deb -I "$dkms" postinst)" "DKMS_NAME=s3f .*DKMS_VERSION=$release .*common.postinst"
check_match "s3f-dkms depends on dkms" "$(dpkg-deb -f "$dkms" Depends)" "dkms"
finish
