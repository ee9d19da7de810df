#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Close-to-open consistency, inside the test guest (scripts/guest-run):
# two mounts of one bucket stand for two nodes (tests/guest/cto.py), the
# mount options that trade it away (nocto, commit_delay, lookupcache=,
# actimeo=), and close() returning the commit's error.
#
#   S3F_CTO_ROUNDS=N S3F_CTO_SEED=N   the rounds test's length (120) and seed
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

PY="python3 $top/tests/guest/cto.py"
A=/mnt/s3-cto-a
B=/mnt/s3-cto-b
P=cto-$$
cleanup() {
	cd /
	umount "$A" "$B" 2>/dev/null
}
trap cleanup EXIT
mkdir -p "$A" "$B"

# py ARGS...: one cto.py command; its FAIL lines count here too
py() {
	timeout 900 $PY "$@"
	[ $? -eq 0 ] || _failures=$((_failures + 1))
}
# mnt DIR [OPTIONS]: DIR a fresh mount of the bucket
mnt() {
	umount "$1" 2>/dev/null
	mount -t s3f -o "$S3F_MOUNT_OPTIONS${2:+,$2}" "$S3F_BUCKET" "$1"
}

# ---- the defaults ----
out=$(mnt "$A" 2>&1); rc=$?
check_eq "mount with the defaults" "$rc $out" "0 "
check_match "the defaults: cto, actimeo=1, lookupcache=positive, commit in close" \
	"$(grep " $A " /proc/mounts)" " s3f rw,.*,cto,actimeo=1,lookupcache=positive,.*commit_delay=0,"
mnt "$B"

# ---- option parsing ----
mount -t s3f -o "$S3F_MOUNT_OPTIONS,lookupcache=some" "$S3F_BUCKET" /mnt 2>/dev/null; rc=$?
check_match "lookupcache=some is refused, and the kernel says why" \
	"$rc $(dmesg | tail -n 3)" "^[1-9].*lookupcache"
mkdir -p /mnt/s3-cto-opt
mnt /mnt/s3-cto-opt "ttl=7,nocto"
check_match "ttl= is actimeo's old name; nocto defaults commit_delay to 3" \
	"$(grep " /mnt/s3-cto-opt " /proc/mounts)" ",nocto,actimeo=7,.*commit_delay=3,"
umount /mnt/s3-cto-opt

# ---- two nodes: write and close on one, open at once on the other ----
py rounds "$A" "$B" "$P"

# ---- what the weaker options give up (Documentation/semantics.md) ----
mnt "$B" "nocto,actimeo=30"
py options "$B" "$P/nocto" nocto
mnt "$B" "lookupcache=all,actimeo=30"
py options "$B" "$P/all" lookup-all
mnt "$B" "actimeo=30"
py options "$B" "$P/positive" lookup-positive
mnt "$B" "lookupcache=none,actimeo=30"
py options "$B" "$P/none" lookup-none

# ---- close() returns the commit's error ----
mnt "$B" "conflict=fail"
py errors "$B" "$P/errors"

umount "$A" "$B"
finish
