#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The read path, inside the test guest (scripts/guest-run): objects are
# written by an independent client (curl with its own SigV4) and read
# through `mount -t s3f`, compared byte for byte.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

CTL=$top/helper/s3fctl
S3D=$top/helper/s3fd
M=/mnt/s3-read		# its own mount point: the harness mounts /mnt/s3
TTL=2
OPTS="$S3F_MOUNT_OPTIONS,ttl=$TTL,ro,meta=listing"	# write.sh: rw, meta=stat
work=$(mktemp -d /tmp/s3f-read.XXXXXX)
cleanup() {
	cd /
	umount "$M" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$M"

xcurl() {
	curl -sS --fail --path-as-is --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
		--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
stat_counter() {	# lookups|readdirs|reads|read_bytes of the mount at $M
	awk -v m="$M" -v k="$1" '$0 ~ " mounted on " m " " {
		for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' /proc/self/mountstats
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
restart_helper() {	# [NAME=VALUE...] [-- S3FD-ARG...]: replace whatever s3fd runs
	local envs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	pkill -KILL -x s3fd
	while pgrep -x s3fd >/dev/null; do sleep 0.05; done
	# (stdout too: a $(...) around the caller would wait for s3fd's end)
	env "${envs[@]}" "$S3D" --foreground --staging /var/tmp/s3f-staging "$@" \
		>/dev/null 2>>"$work/s3fd.log" &
	for _ in $(seq 100); do "$CTL" status >/dev/null 2>&1 && return; sleep 0.1; done
}

# ---- objects, uploaded in one curl process per header set ----
cd "$work"
mkdir src
cfg=$work/upload.cfg
: >"$cfg"
# add_many LOCAL-FILE < keys: one upload per key; one python for all
# (a process start is costly in the guest)
add_many() {
	python3 -c '
import sys, urllib.parse
ep, bucket, src = sys.argv[1:4]
for key in sys.stdin.read().split("\n"):
    if key:
        q = urllib.parse.quote(key, safe="/~")
        print("url = \"%s/%s/%s\"" % (ep, bucket, q))
        print("upload-file = \"%s\"" % src)
        print("output = \"/dev/null\"")
' "$S3F_ENDPOINT" "$S3F_BUCKET" "$1" >>"$cfg"
}

for n in 0 1 4095 4096 4097 1048577; do
	head -c "$n" /dev/urandom >"src/s$n"
done
head -c $((64 << 20)) /dev/urandom >src/s64m
printf 'deep\n' >src/deep
printf 'ten bytes\n' >src/ten
: >src/empty

# s3rver mis-signs query values holding ' ( ) * ! and escapes & twice in
# listings: those keys are tested against RGW (tests/host/engine-rgw.sh).
special=("sp ace.txt" "plus+sign" "pct%41" "tilde~x" "unicodé ✓ 日本" "eq=x"
	 "semi;colon" "q?mark" "hash#tag" "comma,x" "at@x" "dollar\$x")
for n in 0 1 4095 4096 4097 1048577 64m; do
	printf 'url = "%s/%s/sizes/s%s"\nupload-file = "src/s%s"\noutput = "/dev/null"\n' \
		"$S3F_ENDPOINT" "$S3F_BUCKET" "$n" "$n" >>"$cfg"
done
printf '%s\n' n1/n2/n3/n4/deep.txt implicit/x.txt both both/inner \
	bad/ok.txt "bad//x" bad/./y bad/../z "bad/$(printf 'L%.0s' $(seq 256))/f" \
	| add_many "$work/src/deep"
printf 'special/%s\n' "${special[@]}" | add_many "$work/src/deep"
seq -f 'big/f%04g' 1 2500 | add_many "$work/src/ten"
start=$(date +%s%N)
xcurl -K "$cfg"
check_eq "setup: curl uploaded every object" "$?" 0
echo "# uploads took $(ms_since "$start") ms"
xcurl -X PUT --data-binary @src/empty -o /dev/null "$S3F_ENDPOINT/$S3F_BUCKET/marker/"
xcurl -T src/deep -H "x-amz-meta-mode: 33261" -H "x-amz-meta-uid: 1234" \
	-H "x-amz-meta-gid: 5678" -H "x-amz-meta-mtime: 1600000000" \
	-o /dev/null "$S3F_ENDPOINT/$S3F_BUCKET/meta/exec.sh"
xcurl -T src/deep -H "x-amz-meta-mode: 33261" -H "x-amz-meta-uid: 1234" \
	-H "x-amz-meta-gid: 5678" -o /dev/null "$S3F_ENDPOINT/$S3F_BUCKET/meta/listed-first.sh"
xcurl -T src/deep -H "x-amz-meta-mode: not-a-number" -H "x-amz-meta-uid: 1" \
	-H "x-amz-meta-gid: 1" -o /dev/null "$S3F_ENDPOINT/$S3F_BUCKET/meta/garbage"

# ---- mount ----
out=$(mount -t s3f -o "$OPTS" "$S3F_BUCKET" "$M" 2>&1); rc=$?
check_eq "mount -t s3f succeeds" "$rc $out" "0 "
check_match "mount shows in /proc/mounts, read-only" "$(grep " $M " /proc/mounts)" "^$S3F_BUCKET $M s3f ro,"

# s3fs metadata, looked up by name before any listing
check_eq "s3fs metadata: mode, uid, gid, mtime from x-amz-meta-*" \
	"$(stat -c '%A %u %g %Y' "$M/meta/exec.sh")" "-rwxr-xr-x 1234 5678 1600000000"
check_eq "s3fs metadata: malformed values are ignored, defaults used" \
	"$(stat -c '%a %u %g' "$M/meta/garbage")" "644 0 0"

# the same, first seen in a listing: defaults until a permission check
ls -l "$M/meta" >/dev/null
check_eq "s3fs metadata: a listed entry shows the defaults (no HEAD per entry)" \
	"$(stat -c '%a %u' "$M/meta/listed-first.sh")" "644 0"
check "s3fs metadata: a permission check reads the real mode (executable)" test -x "$M/meta/listed-first.sh"
check_eq "s3fs metadata: after it, stat shows the s3fs mode and owner" \
	"$(stat -c '%a %u %g' "$M/meta/listed-first.sh")" "755 1234 5678"

# ---- contents, byte for byte ----
pairs=()
for n in 0 1 4095 4096 4097 1048577 64m; do pairs+=("src/s$n" "$M/sizes/s$n"); done
pairs+=(src/deep "$M/n1/n2/n3/n4/deep.txt")
for k in "${special[@]}"; do pairs+=(src/deep "$M/special/$k"); done
python3 "$top/tests/guest/readcheck.py" "${pairs[@]}"
[ $? -eq 0 ] || _failures=$((_failures + 1))	# its FAIL lines count too

# ---- the namespace ----
check_eq "root listing" "$(ls "$M" | tr '\n' ' ')" "bad big both implicit marker meta n1 sizes special "
check_eq "a dir/ marker is an empty directory" "$(stat -c %F "$M/marker") $(ls -A "$M/marker" | wc -l)" "directory 0"
check_eq "an implicit prefix is a directory" "$(stat -c %F "$M/implicit")" "directory"
check_eq "object and prefix of the same name: the directory wins" "$(stat -c %F "$M/both") $(ls "$M/both")" "directory inner"
check_eq "unnameable keys are skipped, their siblings shown" "$(ls -A "$M/bad")" "ok.txt"
out=$(dmesg | grep 'skipping key "bad/')
for what in '"\."' '"\.\."' '""' '"L+"'; do
	check_match "skipped key logged: component $what" "$out" ": $what is not a valid file name"
done
check_eq "special characters: every name listed" "$(ls "$M/special" | wc -l)" "${#special[@]}"
check_eq "nested prefixes" "$(cat "$M/n1/n2/n3/n4/deep.txt")" "deep"
check_eq "a missing name is ENOENT" "$(stat "$M/no-such" 2>&1 | grep -c 'No such file')" 1
check_match "statfs answers" "$(stat -f -c '%T %l' "$M")" "^(UNKNOWN|s3f).* 255$"

# ---- a directory of 2500 objects: several listing pages, no HEAD per entry ----
l0=$(stat_counter lookups); r0=$(stat_counter readdirs)
check_eq "ls of 2500 objects" "$(ls "$M/big" | wc -l)" 2500
l1=$(stat_counter lookups); r1=$(stat_counter readdirs)
check_match "ls reads the listing in pages of 1000" "$((r1 - r0))" "^[3-9]$"
out=$(ls -l "$M/big")
check_eq "ls -l of 2500 objects" "$(printf '%s\n' "$out" | grep -c '^-rw-r--r-- 1 root root 10 ')" 2500
l2=$(stat_counter lookups)
if [ $((l2 - l1)) -lt 10 ]; then
	pass "ls -l costs no lookup per entry ($((l2 - l1)) lookups for 2500 entries)"
else
	fail "ls -l costs no lookup per entry" "$((l2 - l1)) lookups"
fi

# ---- writes are refused on a read-only mount ----
for cmd in "touch $M/new" "mkdir $M/newdir" "rm $M/sizes/s1" "rmdir $M/marker" \
	   "mv $M/sizes/s1 $M/sizes/s1b" "ln -s x $M/link" "ln $M/sizes/s1 $M/hard" \
	   "chmod 600 $M/sizes/s1" "chown 1:1 $M/sizes/s1" "truncate -s 0 $M/sizes/s1" \
	   "dd if=/dev/zero of=$M/sizes/s1 bs=1 count=1 conv=notrunc" "touch -d 2000-01-01 $M/sizes/s1"; do
	out=$($cmd 2>&1); rc=$?
	check_match "EROFS: $cmd" "$rc $out" "^[1-9].*Read-only file system"
done

# ---- a sequential read is a few large ranged GETs, each byte fetched once ----
sync; echo 3 >/proc/sys/vm/drop_caches
r0=$(stat_counter reads); b0=$(stat_counter read_bytes)
cat "$M/sizes/s64m" >/dev/null
r1=$(stat_counter reads); b1=$(stat_counter read_bytes)
check_match "64 MiB read sequentially in GETs of up to 8 MiB, not per page ($((r1 - r0)) GETs)" \
	"$((r1 - r0))" "^([89]|1[0-2])$"
check_eq "every byte fetched once" "$((b1 - b0))" $((64 << 20))

# ---- the readahead ramp: the first async window is the full window ----
# 2 MiB read: the kernel's first window is 4 MiB, and the second read
# enters its async part, which s3f widens to S3F_READAHEAD (32 MiB) at
# once, instead of 8 MiB then 16 MiB a round trip later.
sync; echo 3 >/proc/sys/vm/drop_caches
b0=$(stat_counter read_bytes)
dd if="$M/sizes/s64m" of=/dev/null bs=1M count=2 2>/dev/null
for _ in $(seq 100); do	# the READs it started end in the background
	b1=$(stat_counter read_bytes)
	[ $((b1 - b0)) -ge $((36 << 20)) ] && break
	sleep 0.2
done
sleep 0.5; b1=$(stat_counter read_bytes)	# and nothing more comes
check_eq "2 MiB read cold: 4 MiB, then 32 MiB read ahead at once ($(((b1 - b0) >> 20)) MiB)" \
	"$((b1 - b0))" $((36 << 20))

# ---- the first window: the part the reader waits for is its own GET ----
# 1 MiB read: the kernel's first window is 4 MiB, of which the reader waits
# for the first MiB; s3f fetches that MiB alone and the other 3 MiB beside
# it, so the next window can start before the 3 MiB are in.  Small reads
# (128 KiB: a 512 KiB window) keep one GET.
sync; echo 3 >/proc/sys/vm/drop_caches
r0=$(stat_counter reads); b0=$(stat_counter read_bytes)
dd if="$M/sizes/s64m" of=/dev/null bs=1M count=1 2>/dev/null
for _ in $(seq 100); do
	[ $(($(stat_counter read_bytes) - b0)) -ge $((4 << 20)) ] && break
	sleep 0.2
done
r1=$(stat_counter reads); b1=$(stat_counter read_bytes)
check_eq "1 MiB read cold: the first MiB and the next 3 MiB in two GETs" \
	"$((r1 - r0)) $((b1 - b0))" "2 $((4 << 20))"
sync; echo 3 >/proc/sys/vm/drop_caches
r0=$(stat_counter reads); b0=$(stat_counter read_bytes)
dd if="$M/sizes/s64m" of=/dev/null bs=128k count=1 2>/dev/null
r1=$(stat_counter reads); b1=$(stat_counter read_bytes)
check_eq "128 KiB read cold: its 512 KiB window in one GET" \
	"$((r1 - r0)) $((b1 - b0))" "1 $((512 << 10))"

# ---- the page cache: a second read fetches nothing; a new version is seen ----
cat "$M/sizes/s1048577" >/dev/null
r0=$(stat_counter reads)
cat "$M/sizes/s1048577" >/dev/null
check_eq "a second read is served from the page cache" "$(stat_counter reads)" "$r0"
sleep $((TTL + 1))
cat "$M/sizes/s1048577" >/dev/null
check_eq "after ttl, an unchanged ETag keeps the cached pages" "$(stat_counter reads)" "$r0"
printf 'new version\n' >src/new
xcurl -T src/new -o /dev/null "$S3F_ENDPOINT/$S3F_BUCKET/sizes/s4096"
sleep $((TTL + 1))
check_eq "after ttl, a replaced object reads its new version" "$(cat "$M/sizes/s4096")" "new version"
check_eq "and its new size" "$(stat -c %s "$M/sizes/s4096")" 12
xcurl -X DELETE -o /dev/null "$S3F_ENDPOINT/$S3F_BUCKET/sizes/s4097"
sleep $((TTL + 1))
check_eq "after ttl, a deleted object is gone" "$(ls "$M/sizes" | grep -c '^s4097$')" 0

# ---- the helper killed while a read is in flight ----
sync; echo 3 >/proc/sys/vm/drop_caches
dd if="$M/sizes/s64m" of="$work/copy" bs=1M 2>"$work/dd.err" &
reader=$!
sleep 1
restart_helper
wait "$reader"; rc=$?
if [ "$rc" -eq 0 ] && cmp -s src/s64m "$work/copy"; then
	pass "helper restarted during a read: the reader gets all the data"
elif [ "$rc" -ne 0 ] && grep -q "Input/output error" "$work/dd.err"; then
	pass "helper restarted during a read: the reader gets EIO, no hang"
else
	fail "helper restarted during a read" "rc $rc: $(cat "$work/dd.err")"
fi
check_eq "the mount works with the new helper" "$(cat "$M/n1/n2/n3/n4/deep.txt")" "deep"

# ---- s3fd's data buffers stay within --buffer-mib ----
# A cold 64 MiB read keeps 8 READs of 4 MiB in flight: with 8 MiB of
# buffers the helper must take turns, and its peak resident size may grow
# by the budget plus a little (curl's own buffers), not by the window.
vmhwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$(pgrep -x s3fd | head -n1)/status"; }
buffer_growth() {	# MIB: KiB the helper's peak grows by during a cold read
	local base
	restart_helper -- --buffer-mib "$1"
	sync; echo 3 >/proc/sys/vm/drop_caches
	head -c 100 "$M/sizes/s1048577" >/dev/null	# connected, warmed up
	base=$(vmhwm_kib)
	sync; echo 3 >/proc/sys/vm/drop_caches
	cmp -s "$M/sizes/s64m" src/s64m && echo -n "same "
	echo $(( $(vmhwm_kib) - base ))
}
out=$(buffer_growth 8)
check_match "--buffer-mib 8: a cold 64 MiB read is right" "$out" "^same "
g8=${out#same }
if [ "${g8:-99999}" -le $(( (8 + 4) * 1024 )) ]; then
	pass "--buffer-mib 8: the helper's peak RSS grew by ${g8} KiB (budget 8 MiB + 4 MiB)"
else
	fail "--buffer-mib 8: the helper's peak RSS stays within budget + 4 MiB" "grew by ${g8} KiB"
fi
out=$(buffer_growth 64)
g64=${out#same }
# ... and the limit is what held it down: the default lets it grow more
if [ "${g64:-0}" -gt $(( ${g8:-0} + 8192 )) ]; then
	pass "--buffer-mib 64 (default): the same read grew it by ${g64} KiB"
else
	fail "--buffer-mib 64 lets the helper grow more than 8" "64: ${g64} KiB, 8: ${g8} KiB"
fi
restart_helper

# ---- unmount while busy ----
exec 3<"$M/sizes/s1"
out=$(umount "$M" 2>&1); rc=$?
check_match "umount while a file is open fails (EBUSY)" "$rc $out" "^[1-9].*(busy|in use)"
exec 3<&-
check_eq "umount after closing succeeds" "$(umount "$M" 2>&1; echo $?)" 0

# ---- mount failures: each says why, within seconds ----
mount_fails() {	# name regex source options
	local start out rc ms
	start=$(date +%s%N)
	out=$("$top/helper/mount.s3f" "$3" "$M" -o "$4" 2>&1); rc=$?
	ms=$(ms_since "$start")
	check_match "mount fails: $1" "$rc $out" "^32 .*$2"
	if [ "$ms" -lt 10000 ]; then
		pass "mount fails: $1: within seconds (${ms} ms)"
	else
		fail "mount fails: $1: within seconds" "${ms} ms"
	fi
	grep -q " $M " /proc/mounts && umount "$M"
}
mount_fails "missing bucket" "bucket \"no-such-bucket\" does not exist" no-such-bucket "$OPTS"
mount_fails "unreachable endpoint" "cannot reach the endpoint http://127.0.0.1:1" \
	"$S3F_BUCKET" "endpoint=http://127.0.0.1:1,region=us-east-1"
# plain http only to this node, unless s3fd --allow-http (nothing is sent)
restart_helper S3FD_ALLOW_HTTP=0
mount_fails "plain http to another host" "plain http to http://192.0.2.1 refused" \
	"$S3F_BUCKET" "endpoint=http://192.0.2.1,region=us-east-1"
restart_helper
mount_fails "unknown option" "Unknown parameter 'bogus'" "$S3F_BUCKET" "$OPTS,bogus=1"
mount_fails "malformed file_mode" "file_mode" "$S3F_BUCKET" "$OPTS,file_mode=99999"
mount_fails "bad addressing" "addressing" "$S3F_BUCKET" "$OPTS,addressing=sideways"
mount_fails "bad endpoint" "endpoint must be an http" "$S3F_BUCKET" "endpoint=ftp://x"
mount_fails "bad bucket name" "not a valid bucket name" "Bad_Bucket!" "$OPTS"
mount_fails "prefix with .." "prefix" "$S3F_BUCKET/a/../b" "$OPTS"
restart_helper AWS_SECRET_ACCESS_KEY=wrong-secret
mount_fails "rejected credentials" "access denied .*403" "$S3F_BUCKET" "$OPTS"
pkill -KILL -x s3fd
while pgrep -x s3fd >/dev/null; do sleep 0.05; done
mount_fails "no helper" "no s3fd helper is running" "$S3F_BUCKET" "$OPTS"
restart_helper

# ---- lookups: what each costs the server (s3rver's request log) ----
# A name of unknown type lists KEY/ and HEADs KEY (at once); a directory
# the kernel knows as one (a listing showed it, or its inode) is only
# listed: no HEAD of the bare key.
slog=${S3F_GUEST_OUT:-/nonexistent}/s3rver.log
if [ "${S3F_GUEST_S3:-s3rver}" != s3rver ]; then
	echo "# lookup costs: not checked on $S3F_GUEST_S3 (they need s3rver's request log)"
else
for k in lk/sub1/x lk/sub2/x lk/f1; do
	printf 'lk\n' | xcurl -T - "$S3F_ENDPOINT/$S3F_BUCKET/$k" -o /dev/null
done
mkdir -p /mnt/s3-lk
mount -t s3f -o "$S3F_MOUNT_OPTIONS,ttl=1,ro,meta=stat" "$S3F_BUCKET" /mnt/s3-lk
n0=$(wc -l <"$slog" 2>/dev/null || echo 0)
stat /mnt/s3-lk/lk/f1 >/dev/null
ls -l /mnt/s3-lk/lk >/dev/null
sleep 1.2	# past ttl: the next stat revalidates the directory's inode
stat /mnt/s3-lk/lk/sub1 >/dev/null
umount /mnt/s3-lk
seen=$(tail -n +$((n0 + 1)) "$slog" 2>/dev/null)
check_match "an unknown name: KEY/ listed and KEY HEADed" \
	"$(grep -c 'prefix=lk%2Ff1%2F' <<<"$seen") $(grep -cE 'lk/f1 200 ' <<<"$seen")" "^1 [12]$"
check_eq "a listed or known directory costs no HEAD of its bare key" \
	"$(grep -cE 'lk/sub[12] [0-9]{3} ' <<<"$seen")" 0
check_match "... and is listed (metadata of listed dirs, the revalidation)" \
	"$(grep -c 'prefix=lk%2Fsub1%2F' <<<"$seen")" "^[2-9]$"
fi

# ---- not from a user namespace ----
out=$(unshare -Urm sh -c "mount -t s3f -o '$OPTS' '$S3F_BUCKET' '$M'" 2>&1); rc=$?
check_match "a user namespace cannot mount s3f" "$rc $out" "^[1-9].*(not permitted|Permission denied)"

# ---- a prefix mount ----
out=$(mount -t s3f -o "$OPTS" "$S3F_BUCKET/n1/n2" "$M" 2>&1); rc=$?
check_eq "mount of bucket/prefix" "$rc $out" "0 "
check_eq "the prefix is the root" "$(ls "$M") $(cat "$M/n3/n4/deep.txt")" "n3 deep"
umount "$M"
sleep 0.5
check_match "umount tells the helper to drop the mount's client" "$(cat "$work/s3fd.log")" "mount [0-9]+: unmounted"

finish
