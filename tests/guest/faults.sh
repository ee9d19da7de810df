#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fault injection in the kernel's write and commit paths, inside the
# test guest on the debug kernel (scripts/guest-run --kernel debug): the
# module's own fault points (kmod/fault.c: an upcall fails, a staging
# write fails), failslab and fail_page_alloc through /proc/self/fail-nth.
# Whatever fails, nothing may oops, leak (the harness scans kmemleak),
# hang, or lose data: once the faults stop, a sync commits every file and
# S3 holds exactly what the files hold.
#
#   S3F_FAULT_FILES=N   files of the probabilistic campaign (40)
#   S3F_FAULT_NTH=N     fail-nth steps (60)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

CTL=$top/helper/s3fctl
M=/mnt/s3-faults
P=faults
DBG=/sys/kernel/debug
work=$(mktemp -d /tmp/s3f-faults.XXXXXX)
cleanup() {
	cd /
	faults_off
	umount "$M" 2>/dev/null
	rm -rf "$work"
}
faults_off() {
	for f in fail_upcall fail_stage; do
		[ -w "$DBG/s3f/$f/probability" ] && echo 0 >"$DBG/s3f/$f/probability"
	done
	return 0
}
trap cleanup EXIT
mkdir -p "$M"

mountpoint -q "$DBG" || mount -t debugfs debugfs "$DBG"
if [ ! -d "$DBG/s3f/fail_upcall" ] || [ ! -e /proc/self/fail-nth ]; then
	fail "fault injection is available" \
		"no $DBG/s3f/fail_upcall or /proc/self/fail-nth (needs CONFIG_FAULT_INJECTION: the debug kernel)"
	exit 1
fi
pass "fault injection is available"
mount -t s3f -o "$S3F_MOUNT_OPTIONS,commit_delay=1" "$S3F_BUCKET/$P" "$M" ||
	{ fail "mount $M" "refused"; exit 1; }

# settle: faults off, sync until it succeeds (timed commits may be in
# their retry delay), then every file under the mount equals its object.
settle_and_compare() {
	local what=$1 tries ok=no bad=0 i rel
	faults_off
	for tries in $(seq 10); do
		sync -f "$M" 2>/dev/null && { ok=yes; break; }
		sleep 2
	done
	check_eq "$what: sync succeeds once the faults stop" "$ok" yes
	(cd "$M" && find . -type f | sed 's|^\./||' | sort) >"$work/files"
	sed "s|^|$P/|" "$work/files" >"$work/keys"
	s3_get_keys "$work/keys" "$work/objs" >"$work/codes" 2>/dev/null
	i=0
	while IFS= read -r rel; do
		i=$((i + 1))
		if [ "$(sed -n "${i}p" "$work/codes")" != 200 ] ||
		   ! cmp -s "$M/$rel" "$work/objs/$i"; then
			bad=$((bad + 1))
			echo "# $what: $rel differs from its object"
		fi
	done <"$work/files"
	rm -rf "$work/objs"
	check_eq "$what: every file equals its object" "$bad" 0
}

# ---- 1. fault points at random ----
for f in fail_upcall fail_stage; do
	echo 0 >"$DBG/s3f/$f/interval"
	echo 1 >"$DBG/s3f/$f/interval"
	echo -1 >"$DBG/s3f/$f/times"
	echo 0 >"$DBG/s3f/$f/verbose"
done
echo 10 >"$DBG/s3f/fail_upcall/probability"
echo 5 >"$DBG/s3f/fail_stage/probability"
python3 - "$M" "${S3F_FAULT_FILES:-40}" <<'EOF'
import os, random, sys
m, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(15)
errors = 0
for i in range(n):
	p = os.path.join(m, "r%d" % i)
	size = rnd.choice([100, 5000, 20000, 300000, 1500000])
	data = bytes(rnd.randrange(256) for _ in range(64)) * (size // 64)
	try:
		fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
	except OSError:
		errors += 1
		continue
	for op in ("write", "fsync", "truncate", "rewrite", "fsync2"):
		try:
			if op == "write":
				os.pwrite(fd, data, 0)
			elif op == "truncate" and i % 3 == 0:
				os.ftruncate(fd, size // 2)
			elif op == "rewrite" and i % 2 == 0:
				os.pwrite(fd, b"rewritten", size // 4)
			elif op.startswith("fsync"):
				os.fsync(fd)
		except OSError:
			errors += 1
	os.close(fd)
	if i % 5 == 4:
		try:
			os.rename(p, p + ".moved")
		except OSError:
			errors += 1
	if i % 7 == 6:
		try:
			os.unlink(os.path.join(m, "r%d" % (i - 1)))
		except OSError:
			pass
print("# random faults: %d operations failed" % errors)
EOF
settle_and_compare "random faults"

# ---- 2. the nth failure of one task's faultable calls (fail-nth) ----
python3 - "$M" "${S3F_FAULT_NTH:-60}" <<'EOF'
import os, sys
m, steps = sys.argv[1], int(sys.argv[2])
failed = 0
for n in range(1, steps + 1):
	p = os.path.join(m, "n%d" % n)
	data = (b"%08d" % n) * 3000		# 24 KB: a staging file, no inline commit
	try:
		with open("/proc/thread-self/fail-nth", "w") as f:
			f.write(str(n))
		fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
		os.write(fd, data)
		os.fsync(fd)
		os.ftruncate(fd, len(data) // 2)
		os.fsync(fd)
		os.close(fd)
		os.rename(p, p + ".r")
	except OSError:
		failed += 1
	finally:
		with open("/proc/thread-self/fail-nth", "w") as f:
			f.write("0")
print("# fail-nth: %d of %d sequences hit a failure" % (failed, steps))
EOF
settle_and_compare "fail-nth"

out=$(umount "$M" 2>&1); rc=$?
check_eq "umount after the faults" "$rc $out" "0 "
finish
