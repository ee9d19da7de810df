#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test guest (scripts/guest-run): s3f.ko is inserted and
# s3fd registered by the harness; an s3rver listens on the loopback.
# Checks the module, the helper's registration and death, and that the
# S3 engine reaches the in-guest server.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

CTL=$top/helper/s3fctl
S3D=$top/helper/s3fd
work=$(mktemp -d /tmp/s3f-guest.XXXXXX)
trap 'rm -rf "$work"' EXIT

# --- the module ---
check_match "guest: s3f.ko is loaded" "$(cat /proc/modules)" "^s3f "
check_match "guest: s3f file system type registered" "$(cat /proc/filesystems)" "	s3f( |$)"
proto=$(awk '/#define S3F_PROTOCOL_VERSION/ { print $3 }' "$top/uapi/s3f.h")
pmin=$(awk '/#define S3F_PROTOCOL_MIN/ { print $3 }' "$top/uapi/s3f.h")
check_match "guest: genl family registered" "$($CTL status 2>&1)" \
	"module: loaded, protocol ${pmin:-unknown} to ${proto:-unknown}\b"

check_match "guest: the harness mounted the bucket at /mnt/s3" \
	"$(grep ' /mnt/s3 ' /proc/mounts)" "^$S3F_BUCKET /mnt/s3 s3f "

# --- the helper the harness started ---
helper_pid=$(pgrep -x s3fd | head -n1)
out=$($CTL status --ping 2>&1); rc=$?
check_eq "guest: status exits 0 with a helper" "$rc" 0
check_match "guest: status names the helper's pid and the protocol spoken (this tree's newest)" \
	"$out" "helper: pid $helper_pid, protocol ${proto:-unknown}( |$)"
check_match "guest: ping round trip through the helper" "$out" "ping: [0-9]+ us"

out=$($S3D --foreground 2>&1); rc=$?
check_match "guest: a second helper is refused (EBUSY)" "$rc $out" "^1 .*Device or resource busy"

out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	$S3D --foreground 2>&1); rc=$?
check_match "guest: an unprivileged helper is refused (EPERM)" "$rc $out" "^1 .*Operation not permitted"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	$CTL status 2>&1); rc=$?
check_match "guest: an unprivileged status is refused" "$rc $out" "^1 .*Operation not permitted"

# --- helper death: pending and future upcalls fail at once ---
kill -9 "$helper_pid"
for _ in $(seq 50); do kill -0 "$helper_pid" 2>/dev/null || break; sleep 0.1; done
out=$($CTL status 2>&1); rc=$?
check_match "guest: killed helper is forgotten (NETLINK_URELEASE)" "$rc $out" "^1 .*helper: none"
start=$(date +%s%N)
out=$($CTL status --ping 2>&1); rc=$?
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
check_match "guest: ping without a helper fails with ENOTCONN" "$rc $out" "^1 .*not connected"
if [ "$elapsed" -lt 3000 ]; then
	pass "guest: ping without a helper fails at once (${elapsed} ms)"
else
	fail "guest: ping without a helper fails at once" "took ${elapsed} ms"
fi

# --- a new helper registers and answers ---
$S3D --foreground 2>"$work/s3fd.log" &
new_pid=$!
for _ in $(seq 100); do $CTL status >/dev/null 2>&1 && break; sleep 0.1; done
out=$($CTL status --ping 2>&1); rc=$?
check_match "guest: restarted helper registers and answers" "$rc $out" "^0 .*helper: pid $new_pid.*ping:"
kill -TERM "$new_pid"
wait "$new_pid"; rc=$?
check_eq "guest: helper exits 0 on SIGTERM" "$rc" 0
check_match "guest: helper said goodbye" "$($CTL status 2>&1)" "helper: none"
check_match "guest: helper logged its registration" "$(cat "$work/s3fd.log")" "registered with s3f.ko"

# --- a hung helper: upcalls time out; in-flight ones go to the next helper ---
$S3D --foreground --test-ignore-upcalls 2>>"$work/s3fd.log" &
hung=$!
for _ in $(seq 100); do $CTL status >/dev/null 2>&1 && break; sleep 0.1; done
start=$(date +%s%N)
out=$($CTL status --ping 2>&1); rc=$?
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
check_match "guest: an unanswered upcall times out (ETIMEDOUT)" "$rc $out" "^1 .*timed out"
if [ "$elapsed" -ge 4000 ] && [ "$elapsed" -lt 15000 ]; then
	pass "guest: the ping timeout is about 5 s (${elapsed} ms)"
else
	fail "guest: the ping timeout is about 5 s" "took ${elapsed} ms"
fi
$CTL status --ping >"$work/ping.out" 2>&1 &
pinger=$!
sleep 1
kill -9 "$hung"
wait "$hung" 2>/dev/null
$S3D --foreground 2>>"$work/s3fd.log" &
new_pid=$!
wait "$pinger"; rc=$?
check_match "guest: an upcall in flight when the helper died is answered by the next one" \
	"$rc $(cat "$work/ping.out")" "^0 .*helper: pid $new_pid.*ping:"
kill -TERM "$new_pid"; wait "$new_pid"

# --- the S3 engine reaches the in-guest server (signatures verified) ---
printf 'guest object %s\n' "$(date +%s)" >"$work/obj"
check "guest: engine put to s3rver" $CTL s3 put "$work/obj" "guest/obj one"
$CTL s3 get "guest/obj one" "$work/obj.get" 2>/dev/null
check "guest: engine get from s3rver" cmp "$work/obj" "$work/obj.get"
check_match "guest: engine list on s3rver" "$($CTL s3 ls -r guest/ 2>&1)" "	guest/obj one( |$)"
out=$(AWS_SECRET_ACCESS_KEY=wrong $CTL s3 head "guest/obj one" 2>&1); rc=$?
check_match "guest: s3rver rejects a wrong secret" "$rc $out" "^1 .*403"
check "guest: engine delete on s3rver" $CTL s3 rm "guest/obj one"

finish
