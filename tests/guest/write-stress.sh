#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The write path under stress, inside the test guest (scripts/guest-run):
# model-based random I/O checked byte for byte, concurrent writers,
# SIGKILL of s3fd during writes and commits, conflicts with another
# client, and atomicity as an outside reader sees it.  S3 is checked
# with an independent client (tests/guest/wstress.py's own SigV4), never
# only through the mount.
#
#   S3F_STRESS_SEED=N S3F_STRESS_OPS=N   the model test's seed (1) and
#                                        number of operations (2000)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

CTL=$top/helper/s3fctl
S3D=$top/helper/s3fd
PY="python3 $top/tests/guest/wstress.py"
M=/mnt/s3-stress		# its own mount points: the harness mounts /mnt/s3
MF=/mnt/s3-stress-fail
OPTS="$S3F_MOUNT_OPTIONS,ttl=1,commit_delay=1"
export S3F_STRESS_STAGING=/var/tmp/s3f-staging	# where the harness' s3fd stages
export S3F_STRESS_HELPER_LOG=${S3F_GUEST_OUT:-/tmp}/s3fd-stress.log
work=$(mktemp -d /tmp/s3f-stress.XXXXXX)
state=$work/state	# the expected bytes of every object written
cleanup() {
	cd /
	umount "$M" "$MF" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$M" "$MF"

# py NAME ARGS...: one wstress.py command; its FAIL lines count here too
py() {
	timeout 900 $PY "$@"
	[ $? -eq 0 ] || _failures=$((_failures + 1))
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
helper_running() { "$CTL" status >/dev/null 2>&1; }

out=$(mount -t s3f -o "$OPTS" "$S3F_BUCKET" "$M" 2>&1); rc=$?
check_eq "mount -t s3f $M (commit_delay=1)" "$rc $out" "0 "
check_match "the mount is read-write with the commit options" \
	"$(grep " $M " /proc/mounts)" " s3f rw,.*commit_delay=1,.*conflict=keep"

# ---- 1. model-based random I/O ----
start=$(date +%s%N)
py model "$M" model "$state"
echo "# model: $(ms_since "$start") ms"
start=$(date +%s%N)
sync
echo "# sync: $(ms_since "$start") ms"
dmesg_mark=$(dmesg | wc -l)
out=$(umount "$M" 2>&1); rc=$?
check_eq "umount after the random I/O" "$rc $out" "0 "
check_no_match "umount: nothing left uncommitted" "$(dmesg | tail -n +$((dmesg_mark + 1)))" \
	"not committed at unmount|commit failed"
py verify-s3 "$state" model/ "model, unmounted"
out=$(mount -t s3f -o "$OPTS" "$S3F_BUCKET" "$M" 2>&1); rc=$?
check_eq "remount" "$rc $out" "0 "
py verify-mount "$state" "$M" model/ "model, remounted"

# ---- 2. concurrent writers, one file each ----
py concurrent "$M" conc "$state" 4

# ---- 3. SIGKILL of s3fd: during writes, during commits ----
py kill "$M" kill "$state"
if helper_running; then
	pass "a helper runs after the kill tests"
else
	fail "a helper runs after the kill tests" "none; starting one"
	"$S3D" --foreground --staging "$S3F_STRESS_STAGING" >>"$S3F_STRESS_HELPER_LOG" 2>&1 &
	for _ in $(seq 100); do helper_running && break; sleep 0.1; done
fi
# (c) nothing committed before, during or after the kills was lost
py verify-s3 "$state" "" "after the kills"
py verify-mount "$state" "$M" "" "after the kills"

# ---- 4. conflicts with another client ----
out=$(mount -t s3f -o "$OPTS,conflict=fail" "$S3F_BUCKET" "$MF" 2>&1); rc=$?
check_eq "mount $MF with conflict=fail" "$rc $out" "0 "
py conflict "$M" "$MF" conflict

# ---- 5. an outside reader while the mount rewrites the object ----
py atomic "$M" atomic

# ---- the end: everything still there after a last unmount ----
sync
out=$(umount "$MF" 2>&1); rc=$?
check_eq "umount $MF" "$rc $out" "0 "
out=$(umount "$M" 2>&1); rc=$?
check_eq "umount $M at the end" "$rc $out" "0 "
py verify-s3 "$state" "" "at the end"
helper_running || "$S3D" --foreground --staging "$S3F_STRESS_STAGING" >>"$S3F_STRESS_HELPER_LOG" 2>&1 &

finish
