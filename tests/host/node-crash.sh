#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A node crash (Documentation/recovery.md): a guest writes to s3f with
# its staging directory on a host directory that survives it, and is
# killed (kill -9 of QEMU) while it writes; a new guest mounts the same
# bucket with the same staging directory, and s3fd commits what the
# crash left.  Everything fsynced is in S3 and is not committed again;
# everything staged comes back, but a file unlinked before the crash; a
# file recovery cannot rebuild is held, listed, and discarded on request.
# The guests' side is tests/guest/nodecrash.py.  Needs scripts/rgw.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
cd "$top" || exit 1

work=$(mktemp -d /var/tmp/s3f-nodecrash.XXXXXX)
persist=$work/persist
mkdir -p "$persist" && mkdir -m 0700 "$persist/staging"
bucket=s3f-crash-$(date +%s)-$$
g1=
cleanup() {
	[ -n "$g1" ] && kill "$g1" 2>/dev/null
	[ -f "$work/qemu.pid" ] && kill -9 "$(cat "$work/qemu.pid")" 2>/dev/null
	"$top/scripts/rgw" rmbucket "$bucket" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

env_file=$("$top/scripts/rgw" start) || { fail "node-crash: RGW" "did not start"; finish; exit; }
"$top/scripts/rgw" mkbucket "$bucket" || { fail "node-crash: bucket" "not made"; finish; exit; }
# shellcheck disable=SC1090
. "$env_file"
export S3F_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
export S3F_BUCKET=$bucket
head_of() { "$top/helper/s3fctl" s3 head "$1" 2>/dev/null | awk '$1 == "etag:" || $1 == "last-modified:" { printf "%s ", $2 }'; }

guest() { # guest PHASE: nodecrash.py PHASE in a guest on the bucket and staging dir
	S3F_GUEST_S3=rgw S3F_GUEST_RGW_BUCKET=$bucket S3F_GUEST_PERSIST=$persist \
		S3F_GUEST_QEMU_PIDFILE=$work/qemu.pid S3F_GUEST_MOUNT=0 \
		"$top/scripts/guest-run" -- python3 tests/guest/nodecrash.py "$1" \
		/mnt/c /run/s3f-persist/staging /run/s3f-persist
}

# --- the first boot: write, then die ---
guest write >"$work/g1.out" 2>&1 &
g1=$!
for _ in $(seq 1200); do
	[ -f "$persist/ready" ] || ! kill -0 "$g1" 2>/dev/null && break
	sleep 0.5
done
check "node-crash: the first guest wrote everything" test -f "$persist/ready"
before_fsynced=$(head_of crash/fsynced)
before_idle=$(head_of crash/idle)
check_match "node-crash: fsynced files are in S3 before the crash" \
	"$before_fsynced|$before_idle" '^[0-9a-f-]+ [0-9TZ:-]+ \|[0-9a-f-]+ [0-9TZ:-]+ $'
sleep 1	# the appending file grows meanwhile
kill -9 "$(cat "$work/qemu.pid" 2>/dev/null)" 2>/dev/null
wait "$g1"
rc=$?
g1=
rm -f "$work/qemu.pid"
check_match "node-crash: QEMU was killed (guest-run: the guest died)" "$rc" '^12[45]$'
sed 's/^/# guest 1: /' "$work/g1.out" | grep -v '^# guest 1: PASS' | head -20
check_match "node-crash: journals survive the crash" \
	"$(find "$persist/staging" -name 's3f-*.journal' | wc -l)" '^8$'
if [ "${S3F_NODECRASH_STOP:-}" = crashed ]; then
	trap - EXIT
	echo "# stopped after the crash: $work, bucket $bucket"
	exit
fi

# --- the next boot: recover, check ---
guest check >"$work/g2.out" 2>&1
rc=$?
grep -E '^(PASS|FAIL): ' "$work/g2.out"
check_eq "node-crash: the second guest's checks ran and passed" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/# guest 2: /' "$work/g2.out" | grep -v ': PASS' | tail -30
check_eq "node-crash: the fsynced file was not committed again" \
	"$(head_of crash/fsynced)" "$before_fsynced"
check_eq "node-crash: the idle open file was not committed again" \
	"$(head_of crash/idle)" "$before_idle"
finish
