#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The fault campaign (issue 17), inside the test guest of
#   scripts/guest-run --faults RATE -- tests/guest/faults-campaign.sh
# tests/host/fault-proxy.py sits between s3fd and RGW and faults RATE of
# the requests (resets, lost answers, 5xx, SlowDown, RequestTimeout,
# ExpiredToken, 200 with an <Error>, stalls).  The harness mounted the
# bucket with the proxy faulting already.
#
#   1. the workload of tests/guest/faultload.py (large multipart files,
#      small files, renames, deletes) with s3fd killed and stopped at
#      random points: no operation fails; then, faults off: every closed
#      file is its object, no stray object, no upload left in progress;
#      and after a remount every file reads back
#   2. deadlines: every GET stalls; reads fail when the kernel stops
#      waiting (upcall_timeout), and s3fd's workers are free again then
#      (the next read is served at once)
#   3. SIGTERM while requests stall: s3fd exits within seconds; the read
#      it left waits for the next helper and succeeds
#   4. requests s3fd carried out but died before answering (the answers
#      held back by the proxy, s3fd killed): the kernel sends them to the
#      next s3fd, and a rename (copied and deleted already), a rename
#      with RENAME_NOREPLACE, a directory rename and a symlink (made
#      already) succeed
#
#   S3F_CAMPAIGN_SECONDS (60)  how long the workload of 1 runs
#   S3F_CAMPAIGN_SEED (1)      its random choices
#   S3F_CAMPAIGN_HELPER_FAULTS (3)  how often s3fd is killed or stopped
#                              (at most: every 2-8 s while the workload runs)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

CTL=$top/helper/s3fctl
M=/mnt/s3
P=campaign
SECS=${S3F_CAMPAIGN_SECONDS:-60}
SEED=${S3F_CAMPAIGN_SEED:-1}
PROXY=http://10.0.2.100/__fault-proxy
PARAMS=/sys/module/s3f/parameters
work=$(mktemp -d /tmp/s3f-campaign.XXXXXX)
export S3F_STRESS_HELPER_LOG=${S3F_GUEST_OUT:-/tmp}/s3fd-campaign.log

s3() { "$CTL" s3 "$@"; }
proxy() { curl -s -m 30 "$PROXY/$1"; }
py() {
	timeout 1200 python3 "$top/tests/guest/faultload.py" "$@"
	[ $? -eq 0 ] || _failures=$((_failures + 1))
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
helper_pid() { pgrep -x s3fd | head -n1; }
start_helper() {
	"$top/helper/s3fd" --foreground --staging /var/tmp/s3f-staging >>"$S3F_STRESS_HELPER_LOG" 2>&1 &
	for _ in $(seq 100); do "$CTL" status >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
hung=/proc/sys/kernel/hung_task_timeout_secs
hung_was=
cleanup() {
	proxy "stall-gets?seconds=0" >/dev/null
	[ -n "$hung_was" ] && echo "$hung_was" >"$hung"
	echo 30 >"$PARAMS/upcall_timeout"
	rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${S3F_GUEST_FAULTS:-}" ]; then
	fail "faults-campaign" "run it under scripts/guest-run --faults RATE"
	finish
fi
if [ -w "$hung" ]; then
	hung_was=$(cat "$hung")
	echo 10 >"$hung"
fi
check_match "the bucket was mounted while the proxy faulted $S3F_GUEST_FAULTS of the requests" \
	"$(awk '$2 == "/mnt/s3" { print $3 }' /proc/mounts)" "^s3f$"

# ---- 1. the workload ------------------------------------------------------
echo "# campaign: ${SECS} s, seed $SEED, fault rate $S3F_GUEST_FAULTS"
py run "$M" "$P" "$SECS" "$SEED"
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$(helper_pid)/status" 2>/dev/null)
check_eq "s3fd's peak memory stays within its buffer budget (64 MiB) and 96 MiB more" \
	"$([ -n "$hwm" ] && [ "$hwm" -lt $(((64 + 96) * 1024)) ] && echo yes || echo "no: ${hwm:-?} KiB")" yes
umount "$M"
mount -t s3f -o "$S3F_MOUNT_OPTIONS" "$S3F_BUCKET" "$M" ||
	fail "remount after the campaign" "mount failed"
py verify-mount "$M" "$P" "$SEED"

# ---- 2. deadlines -----------------------------------------------------------
# 12 objects; every GET of one then stalls 60 s and its connection closes.
proxy "rate?value=0" >/dev/null
proxy on >/dev/null
head -c 100000 /dev/urandom >"$work/obj"
for i in $(seq 12); do s3 put "$work/obj" "$P/stall$i" >/dev/null; done
s3 put "$work/obj" "$P/after" >/dev/null
umount "$M"
mount -t s3f -o "$S3F_MOUNT_OPTIONS,actimeo=0" "$S3F_BUCKET" "$M"
for i in $(seq 12); do stat "$M/$P/stall$i" >/dev/null; done	# lookups are HEADs: not stalled
echo 4 >"$PARAMS/upcall_timeout"
proxy "stall-gets?seconds=60" >/dev/null
start=$(date +%s%N)
pids=()
for i in $(seq 12); do
	( cat "$M/$P/stall$i" >/dev/null 2>"$work/err$i"; echo $? >"$work/rc$i" ) &
	pids+=($!)
done
wait "${pids[@]}"
took=$(ms_since "$start")
failed=0
for i in $(seq 12); do [ "$(cat "$work/rc$i")" != 0 ] && failed=$((failed + 1)); done
check_eq "12 reads whose GETs stall fail when the kernel stops waiting (upcall_timeout=4)" \
	"$failed $([ "$took" -lt 20000 ] && echo in-time || echo "after ${took} ms")" "12 in-time"
proxy "stall-gets?seconds=0" >/dev/null
echo 30 >"$PARAMS/upcall_timeout"
start=$(date +%s%N)
out=$(cmp "$M/$P/after" "$work/obj" 2>&1); rc=$?
took=$(ms_since "$start")
check_eq "s3fd's workers gave up those GETs at the deadline: the next read is served at once" \
	"$rc$out $([ "$took" -lt 8000 ] && echo at-once || echo "after ${took} ms")" "0 at-once"

# ---- 3. SIGTERM while a request stalls -----------------------------------------
proxy "stall-gets?seconds=60" >/dev/null
( cmp "$M/$P/stall1" "$work/obj" >"$work/cmp.out" 2>&1; echo $? >"$work/cmp.rc" ) &
reader=$!
sleep 2
pid=$(helper_pid)
start=$(date +%s%N)
kill -TERM "$pid"
for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
took=$(ms_since "$start")
check_eq "SIGTERM: s3fd exits within 10 s although a GET stalls" \
	"$(kill -0 "$pid" 2>/dev/null && echo "still running after ${took} ms" || echo exited)" exited
echo "# s3fd exited ${took} ms after SIGTERM"
proxy "stall-gets?seconds=0" >/dev/null
start_helper || fail "a new s3fd starts" "it did not register"
wait "$reader"
check_eq "the read s3fd left unanswered waits for the next helper and succeeds" \
	"$(cat "$work/cmp.rc") $(cat "$work/cmp.out")" "0 "

# ---- 4. requests carried out, their answers lost with s3fd ---------------------
# "$1" runs in the background while the answers to every $2 request are
# held; s3fd is killed meanwhile and a new one started: prints the exit
# status and errors of "$1"
resent() {
	proxy "hold-answers?method=$2&seconds=30" >/dev/null
	( eval "$1" >"$work/resent.out" 2>&1; echo $? >"$work/resent.rc" ) &
	local op=$!
	sleep 3
	pkill -KILL -x s3fd
	sleep 0.5
	proxy "hold-answers?seconds=0" >/dev/null
	start_helper || fail "a new s3fd starts" "it did not register"
	wait "$op"
	echo "$(cat "$work/resent.rc") $(cat "$work/resent.out")"
}
head -c 30000 /dev/urandom >"$work/small"
cat >"$work/noreplace.py" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 1):
    sys.exit(os.strerror(ctypes.get_errno()))
EOF
cp "$work/small" "$M/$P/r-src" && sync
check_eq "rename: s3fd copied and deleted, died before answering; the next s3fd's answer is success" \
	"$(resent "python3 -c 'import os, sys; os.rename(sys.argv[1], sys.argv[2])' '$M/$P/r-src' '$M/$P/r-dst'" DELETE)" "0 "
check_eq "that rename: the new name holds the bytes, the old one is gone (mount and S3)" \
	"$(cmp "$M/$P/r-dst" "$work/small" && echo same) $(ls "$M/$P" | grep -c '^r-src') $(s3 head "$P/r-src" >/dev/null 2>&1 || echo gone)" \
	"same 0 gone"
check_eq "rename with RENAME_NOREPLACE: copied, s3fd died; success, not EEXIST" \
	"$(resent "python3 '$work/noreplace.py' '$M/$P/r-dst' '$M/$P/r-nr'" DELETE)" "0 "
check_eq "that rename: the new name holds the bytes, the old one is gone" \
	"$(cmp "$M/$P/r-nr" "$work/small" && echo same) $(s3 head "$P/r-dst" >/dev/null 2>&1 || echo gone)" "same gone"
mkdir -p "$M/$P/r-dir/sub" && cp "$work/small" "$M/$P/r-dir/sub/f" && sync
check_eq "directory rename: every key moved, s3fd died before answering; success" \
	"$(resent "mv '$M/$P/r-dir' '$M/$P/r-dir2'" DELETE)" "0 "
check_eq "that rename: the tree is under the new name only (mount and S3)" \
	"$(cmp "$M/$P/r-dir2/sub/f" "$work/small" && echo same) $(s3 ls -r "$P/r-dir/" | wc -l)" "same 0"
ln -s warm "$M/$P/r-warm"	# s3fd has probed the server's conditions: the PUT held is the link's
check_eq "symlink: made, s3fd died before answering; the next s3fd's answer is success" \
	"$(resent "ln -s 'some/target' '$M/$P/r-link'" PUT)" "0 "
check_eq "that symlink reads back after a remount" \
	"$(umount "$M" && mount -t s3f -o "$S3F_MOUNT_OPTIONS" "$S3F_BUCKET" "$M" && readlink "$M/$P/r-link")" "some/target"

finish
