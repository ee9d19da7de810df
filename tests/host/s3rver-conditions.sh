#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The test server's conditional writes (scripts/s3rver.js
# --conditional-writes, used by scripts/bench): If-None-Match: * and
# If-Match on PutObject and CompleteMultipartUpload behave as on AWS S3,
# and without the flag they are ignored, as by s3rver itself.  Checked
# with the helper's own probe, `s3fctl s3 put --if-*` and the commit
# engine's conflict detection.  Then the wrapper's other fixes: a
# metadata-replacing copy's ETag, Range bytes=0-0, SigV4 query encoding.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

S3="$top/helper/s3fctl s3"
work=$(mktemp -d /tmp/s3f-s3rver-cond.XXXXXX)
srv_pid=
cleanup() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# start_server [FLAG]: s3rver on a free port; sets S3F_ENDPOINT
start_server() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
	rm -rf "$work/data"
	node "$top/scripts/s3rver.js" --dir "$work/data" --port 0 --bucket cond-test \
		--quiet "$@" >"$work/ready" 2>"$work/server.log" &
	srv_pid=$!
	for _ in $(seq 100); do
		grep -q '^ready' "$work/ready" 2>/dev/null && break
		sleep 0.1
	done
	export S3F_ENDPOINT="http://127.0.0.1:$(awk '{ print $2 }' "$work/ready")"
}

export S3F_BUCKET=cond-test AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \
	AWS_REGION=us-east-1
printf 'one\n' >"$work/one"
printf 'two, longer\n' >"$work/two"
head -c $((11 * 1048576)) /dev/urandom >"$work/big"	# two 5 MiB+ parts

start_server --conditional-writes
out=$($S3 probe-conditions probe 2>&1)
check_match "s3rver --conditional-writes: the probe finds PUT conditions" "$out" "put: honoured"
check_match "s3rver --conditional-writes: the probe finds Complete conditions" "$out" "complete: honoured"

e1=$($S3 put --if-none-match "$work/one" k 2>&1)
check_eq "If-None-Match on a new key: stored" "$($S3 get k)" "one"
out=$($S3 put --if-none-match "$work/two" k 2>&1); rc=$?
check_match "If-None-Match on an existing key: EEXIST (412)" "$rc $out" "^1 .*File exists"
check_eq "If-None-Match on an existing key: object untouched" "$($S3 get k)" "one"
out=$($S3 put --if-match 0123456789abcdef0123456789abcdef "$work/two" k 2>&1); rc=$?
check_match "If-Match with another ETag: ESTALE (412)" "$rc $out" "^1 .*[Ss]tale"
check_eq "If-Match with another ETag: object untouched" "$($S3 get k)" "one"
out=$($S3 put --if-match "$e1" "$work/two" k 2>&1); rc=$?
check_eq "If-Match with the current ETag: replaced" "$rc $($S3 get k)" "0 two, longer"
out=$($S3 put --if-match "$e1" "$work/one" missing 2>&1); rc=$?
check_match "If-Match on a missing key: fails" "$rc" "^[1-9]"
check_eq "If-Match on a missing key: nothing stored" "$($S3 ls missing)" ""
out=$($S3 put --if-none-match --part-size 5242880 "$work/big" k 2>&1); rc=$?
check_match "If-None-Match on Complete of an existing key: EEXIST" "$rc $out" "^1 .*File exists"
check_eq "If-None-Match on Complete: object untouched" "$($S3 get k)" "two, longer"
out=$($S3 put --if-none-match --part-size 5242880 "$work/big" k2 2>&1); rc=$?
check_eq "If-None-Match on Complete of a new key: stored" "$rc $($S3 get k2 | cmp - "$work/big" && echo same)" "0 same"
# the commit engine relies on it: a key taken meanwhile is a conflict
out=$($S3 commit --fail-on-conflict "$work/one" k 2>&1); rc=$?
check_match "commit of a new file onto a taken key: EEXIST" "$rc $out" "^1 .*File exists"
# concurrent creates of one key: exactly one wins
for i in 1 2 3 4 5 6; do
	$S3 put --if-none-match "$work/one" race >"$work/race.$i" 2>&1 &
done
wait $(jobs -p | grep -v "^$srv_pid$") 2>/dev/null
won=0
for i in 1 2 3 4 5 6; do grep -q 'File exists' "$work/race.$i" || won=$((won + 1)); done
check_eq "six concurrent If-None-Match creates: one wins" "$won" 1

start_server
out=$($S3 probe-conditions probe 2>&1)
check_match "s3rver without the flag: conditions ignored (as s3rver does)" "$out" "put: ignored"
$S3 put "$work/one" k >/dev/null 2>&1
out=$($S3 put --if-none-match "$work/two" k 2>&1); rc=$?
check_eq "s3rver without the flag: If-None-Match ignored" "$rc $($S3 get k)" "0 two, longer"

# --- the rest of scripts/s3rver.js's fixes, where s3rver differs from S3 ---
head -c 3000 /dev/urandom >"$work/a"
head -c 2000 /dev/urandom >"$work/b"
$S3 put "$work/a" src >/dev/null
$S3 put "$work/b" dst >/dev/null
$S3 cp --meta x=y src dst >/dev/null
check_eq "CopyObject with new metadata over another object: the source's ETag" \
	"$($S3 head dst | awk '$1 == "etag:" { print $2 }')" "$(md5sum <"$work/a" | cut -c1-32)"
$S3 get --range 0:1 src "$work/first"
check_eq "Range bytes=0-0: the first byte only" "$(cmp -n 1 "$work/a" "$work/first" && stat -c %s "$work/first")" 1
$S3 put "$work/a" 'star*key(1)!' >/dev/null
check_eq "a listing of a prefix with '*', '(' and '!' (SigV4 query encoding)" \
	"$($S3 ls 'star*key(' | cut -f4)" 'star*key(1)!'
finish
