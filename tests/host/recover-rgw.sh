#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Recovery of staged data after a node crash (helper/recover.c, through
# `s3fctl recover`) against Ceph's RADOS Gateway: staging files and
# journals as s3fd leaves them, from an earlier boot, each committed,
# kept as a conflict copy, found already in S3, or held
# (Documentation/recovery.md).  The kernel's side (journals written by
# s3fd for s3f.ko, a guest killed mid-write) is tests/guest/node-crash.sh.
#
# Needs S3F_ENDPOINT, S3F_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_REGION (scripts/rgw start writes them to an env file).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

S3="$top/helper/s3fctl s3"
RECOVER="$top/helper/s3fctl recover"
work=$(mktemp -d /tmp/s3f-recover.XXXXXX)
stg=$work/staging
mkdir -m 0700 "$stg"
trap 'rm -rf "$work"' EXIT

p="recover-$(date +%s)-$$"	# every key of this run lives under this prefix
KiB=1024
MiB=1048576
conflict_re='\.s3f-conflict-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$'
earlier_boot=00000000-0000-0000-0000-000000000000
this_boot=$(cat /proc/sys/kernel/random/boot_id)

etag_of() { $S3 head "$1" 2>/dev/null | awk '$1 == "etag:" { print $2 }'; }
# curl as the independent client: x-amz-meta-NAME of KEY
meta_of() {
	curl -sS -I --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
		--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		"$S3F_ENDPOINT/$S3F_BUCKET/$(urlenc "$1")" |
		tr -d '\r' | awk -v k="x-amz-meta-$2:" 'tolower($1) == k { print $2 }'
}
holds() {
	rm -f "$work/got"
	$S3 get "$1" "$work/got" 2>/dev/null && cmp -s "$2" "$work/got"
}
keys_under() { $S3 ls -r "$1" | cut -f4-; }
mtime_ns() { stat -c '%.9Y' "$1" | tr -d .; }

# journal STAGE KEY ETAG|- BASE_SIZE CLEAN [FIELD=VALUE...]: as s3fd
# writes it, from an earlier boot unless boot=... says otherwise
journal() {
	local stage=$1 key=$2 etag=$3 base=$4 clean=$5
	local boot=$earlier_boot state=staged pending=- committed=- whole=no kv
	shift 5
	for kv in "$@"; do
		case $kv in
		boot=*) boot=${kv#boot=} ;;
		state=*) state=${kv#state=} ;;
		pending=*) pending=${kv#pending=} ;;
		committed=*) committed=${kv#committed=} ;;
		whole=*) whole=${kv#whole=} ;;
		esac
	done
	cat >"$stage.journal" <<-EOF
	s3f-journal 1
	boot $boot
	endpoint $S3F_ENDPOINT
	bucket $S3F_BUCKET
	region $AWS_REGION
	profile -
	addressing path
	key $key
	base-etag $etag
	base-size $base
	clean-size $clean
	mode 100640
	uid 1234
	gid 5678
	mtime-ns 1700000000000000000
	state $state
	whole $whole
	pending $pending
	committed $committed
	EOF
}
# stage NAME SIZE: an empty (sparse) staging file of SIZE bytes
stage() {
	: >"$stg/$1"
	truncate -s "$2" "$stg/$1"
	chmod 0600 "$stg/$1"
}
# staged NAME OFF LEN SRC: LEN bytes of SRC at OFF into staging file NAME
staged() {
	dd if="$4" of="$stg/$1" bs=4096 skip=$(($2 / 4096)) seek=$(($2 / 4096)) \
		count=$(($3 / 4096)) conv=notrunc status=none
}
# recover_line NAME: the result line `recover commit` printed for NAME
recover_line() { grep "^$1	" "$work/out"; }
outcome_of() { recover_line "$1" | cut -f2; }

# --- the files a crash left ---

# A: a new file, never committed
head -c 5000 /dev/urandom >"$work/a"
stage s3f-1-aaaaaa 0
cp "$work/a" "$stg/s3f-1-aaaaaa"
journal "$stg/s3f-1-aaaaaa" "$p/new file" - 0 0

# B: 8 KiB rewritten in the middle of a 3 MiB object
head -c $((3 * MiB)) /dev/urandom >"$work/b.base"
$S3 put "$work/b.base" "$p/b" >/dev/null
cp "$work/b.base" "$work/b.want"
head -c $((8 * KiB)) /dev/urandom >"$work/b.new"
dd if="$work/b.new" of="$work/b.want" bs=4096 seek=100 conv=notrunc status=none
stage s3f-1-bbbbbb $((3 * MiB))
dd if="$work/b.new" of="$stg/s3f-1-bbbbbb" bs=4096 seek=100 conv=notrunc status=none
journal "$stg/s3f-1-bbbbbb" "$p/b" "$(etag_of "$p/b")" $((3 * MiB)) $((3 * MiB))

# C: truncated to 8 KiB, the first page rewritten, extended to 2 MiB:
# the second page is the base's, the rest zeros
head -c $MiB /dev/urandom >"$work/c.base"
$S3 put "$work/c.base" "$p/c" >/dev/null
head -c $((8 * KiB)) "$work/c.base" >"$work/c.want"
head -c 4096 /dev/urandom | dd of="$work/c.want" conv=notrunc status=none
truncate -s $((2 * MiB)) "$work/c.want"
stage s3f-1-cccccc $((2 * MiB))
staged s3f-1-cccccc 0 4096 "$work/c.want"
journal "$stg/s3f-1-cccccc" "$p/c" "$(etag_of "$p/c")" $MiB $((8 * KiB))

# D: a page rewritten, and another writer replaced the object since
head -c $MiB /dev/urandom >"$work/d.base"
$S3 put "$work/d.base" "$p/d" >/dev/null
d_etag=$(etag_of "$p/d")
head -c 1000 /dev/urandom >"$work/d.theirs"
$S3 put "$work/d.theirs" "$p/d" >/dev/null
stage s3f-1-dddddd $MiB
staged s3f-1-dddddd 4096 4096 "$work/d.base"
journal "$stg/s3f-1-dddddd" "$p/d" "$d_etag" $MiB $MiB

# E: rewritten from scratch (O_TRUNC), and replaced by another writer
head -c 300000 /dev/urandom >"$work/e.base"
$S3 put "$work/e.base" "$p/e" >/dev/null
e_etag=$(etag_of "$p/e")
head -c 2000 /dev/urandom >"$work/e.theirs"
$S3 put "$work/e.theirs" "$p/e" >/dev/null
head -c 70000 /dev/urandom >"$work/e.mine"
stage s3f-1-eeeeee 0
cp "$work/e.mine" "$stg/s3f-1-eeeeee"
journal "$stg/s3f-1-eeeeee" "$p/e" "$e_etag" 300000 0

# F: its commit landed and the crash took the answer (the journal still
# says pending)
tag=00000000000000f1-00000000000000f2
head -c 9000 /dev/urandom >"$work/f"
$S3 put --meta "s3f-commit=$tag" "$work/f" "$p/f" >/dev/null
f_etag=$(etag_of "$p/f")
stage s3f-1-ffffff 0
cp "$work/f" "$stg/s3f-1-ffffff"
journal "$stg/s3f-1-ffffff" "$p/f" - 0 0 "pending=$tag"

# G: unlinked while open, before the crash
stage s3f-1-gggggg 0
head -c 100 /dev/urandom >"$stg/s3f-1-gggggg"
journal "$stg/s3f-1-gggggg" "$p/g" - 0 0 state=gone

# H: committed, nothing written after (fsync, then the crash)
head -c 20000 /dev/urandom >"$work/h"
$S3 put "$work/h" "$p/h" >/dev/null
h_etag=$(etag_of "$p/h")
h_lm=$($S3 head "$p/h" | awk '$1 == "last-modified:" { print $2 }')
stage s3f-1-hhhhhh 0
cp "$work/h" "$stg/s3f-1-hhhhhh"
journal "$stg/s3f-1-hhhhhh" "$p/h" "$h_etag" 20000 20000 \
	"committed=20000 $(mtime_ns "$stg/s3f-1-hhhhhh")"

# I: committed, then written again within the same clock tick (the
# staging file's size and mtime as the commit left them, bytes not)
head -c 20000 /dev/urandom >"$work/i.base"
$S3 put "$work/i.base" "$p/i" >/dev/null
cp "$work/i.base" "$work/i.want"
head -c 4096 /dev/urandom | dd of="$work/i.want" bs=4096 seek=2 conv=notrunc status=none
stage s3f-1-iiiiii 0
cp "$work/i.want" "$stg/s3f-1-iiiiii"
touch -d "@1700000000.5" "$stg/s3f-1-iiiiii"
journal "$stg/s3f-1-iiiiii" "$p/i" "$(etag_of "$p/i")" 20000 20000 \
	"committed=20000 1700000000500000000"

# J: staged in this boot: s3f.ko's, not recovery's
stage s3f-1-jjjjjj 0
head -c 100 /dev/urandom >"$stg/s3f-1-jjjjjj"
journal "$stg/s3f-1-jjjjjj" "$p/j" - 0 0 "boot=$this_boot"

# L: grown after a commit that uploaded every byte (whole), the object
# replaced since: the staging file's holes are zeros, a conflict copy
head -c 8192 /dev/urandom >"$work/l.mine"
truncate -s $((64 * KiB)) "$work/l.mine"
head -c 100 /dev/urandom >"$work/l.theirs"
$S3 put "$work/l.theirs" "$p/l" >/dev/null
stage s3f-1-llllll $((64 * KiB))
staged s3f-1-llllll 0 8192 "$work/l.mine"
journal "$stg/s3f-1-llllll" "$p/l" 0123456789abcdef0123456789abcdef $((64 * KiB)) $((64 * KiB)) whole=yes

# --- list ---
$RECOVER --staging "$stg" list >"$work/list" 2>&1; rc=$?
check_eq "recover list: succeeds" "$rc" 0
check_eq "recover list: one line per journal" "$(wc -l <"$work/list")" 11
check_match "recover list: an earlier boot's file is to recover" \
	"$(grep '^s3f-1-aaaaaa	' "$work/list")" "	to-recover	5000	s3://$S3F_BUCKET/$p/new file	new$"
check_match "recover list: an unlinked file says so" \
	"$(grep '^s3f-1-gggggg	' "$work/list")" "	unlinked	"
check_match "recover list: this boot's file says so" \
	"$(grep '^s3f-1-jjjjjj	' "$work/list")" "	this-boot	"

# --- commit them all ---
$RECOVER --staging "$stg" commit all >"$work/out" 2>&1; rc=$?
check_eq "recover commit: exit 1 (one file held)" "$rc" 1

check_eq "recover A: a new file is committed" "$(outcome_of s3f-1-aaaaaa)" committed
check "recover A: its bytes" holds "$p/new file" "$work/a"
check_eq "recover A: its mode and owner from the journal" \
	"$(meta_of "$p/new file" mode) $(meta_of "$p/new file" uid) $(meta_of "$p/new file" gid)" \
	"$((8#100640)) 1234 5678"
check_eq "recover A: staging file and journal deleted" \
	"$(ls "$stg" | grep -c aaaaaa)" 0

check_eq "recover B: an edit is committed onto its base" "$(outcome_of s3f-1-bbbbbb)" committed
check "recover B: the base's bytes around the staged ones" holds "$p/b" "$work/b.want"

check_eq "recover C: truncated and extended" "$(outcome_of s3f-1-cccccc)" committed
check "recover C: base bytes below the clean size, zeros above" holds "$p/c" "$work/c.want"

check_eq "recover D: base replaced, bytes missing: held" "$(outcome_of s3f-1-dddddd)" held
check_match "recover D: says why" "$(recover_line s3f-1-dddddd)" "replaced by another writer"
check "recover D: the other writer's object untouched" holds "$p/d" "$work/d.theirs"
check_eq "recover D: staging file and journal kept" "$(ls "$stg" | grep -c dddddd)" 2

check_eq "recover E: base replaced, every byte staged: conflict copy" \
	"$(outcome_of s3f-1-eeeeee)" "conflict copy"
check "recover E: the other writer's object kept" holds "$p/e" "$work/e.theirs"
ekey=$(keys_under "$p/" | grep -E "^$p/e$conflict_re")
check_match "recover E: ours beside it under a conflict name" "$ekey" "$conflict_re"
check "recover E: the conflict copy holds our bytes" holds "$ekey" "$work/e.mine"

check_eq "recover F: a commit that landed is not made again" \
	"$(outcome_of s3f-1-ffffff)" "already in S3"
check_eq "recover F: the object is the same version" "$(etag_of "$p/f")" "$f_etag"

check_eq "recover G: an unlinked file is discarded" "$(outcome_of s3f-1-gggggg)" discarded
check_eq "recover G: nothing committed" "$(keys_under "$p/g")" ""

check_eq "recover H: committed before the crash: not made again" \
	"$(outcome_of s3f-1-hhhhhh)" "already in S3"
check_eq "recover H: the same version, not rewritten" \
	"$(etag_of "$p/h") $($S3 head "$p/h" | awk '$1 == "last-modified:" { print $2 }')" \
	"$h_etag $h_lm"

check_eq "recover I: same size and mtime, other bytes: committed" \
	"$(outcome_of s3f-1-iiiiii)" committed
check "recover I: its bytes" holds "$p/i" "$work/i.want"

check_eq "recover L: whole, base replaced: conflict copy" "$(outcome_of s3f-1-llllll)" "conflict copy"
lkey=$(keys_under "$p/" | grep -E "^$p/l$conflict_re")
check "recover L: its holes are zeros" holds "$lkey" "$work/l.mine"
check "recover L: the other writer's object kept" holds "$p/l" "$work/l.theirs"

check_eq "recover J: this boot's file is left alone" "$(recover_line s3f-1-jjjjjj)" ""
check_eq "recover J: nothing committed" "$(keys_under "$p/j")" ""
check_eq "recover: what is left (D held, J this boot's)" \
	"$(ls "$stg" | sort | tr '\n' ' ')" \
	"s3f-1-dddddd s3f-1-dddddd.journal s3f-1-jjjjjj s3f-1-jjjjjj.journal "

# --- this boot's, by request; discard ---
$RECOVER --staging "$stg" --this-boot commit s3f-1-jjjjjj >"$work/out" 2>&1
check_eq "recover --this-boot: commits this boot's file" "$(outcome_of s3f-1-jjjjjj)" committed
$RECOVER --staging "$stg" discard "$stg/s3f-1-dddddd" >"$work/out" 2>&1; rc=$?
check_eq "recover discard: by path" "$rc $(cut -f2 "$work/out")" "0 discarded"
check_eq "recover: the directory is empty" "$(ls -A "$stg")" ""
check "recover D: discarding left the other writer's object" holds "$p/d" "$work/d.theirs"

# --- a journal that is not one is never acted on ---
stage s3f-1-kkkkkk 10
printf 's3f-journal 1\nboot %s\nkey x\n' "$earlier_boot" >"$stg/s3f-1-kkkkkk.journal"
$RECOVER --staging "$stg" commit all >"$work/out" 2>"$work/err"
check_eq "recover: a garbled journal is skipped" "$(cat "$work/out")" ""
check_match "recover: and named on stderr" "$(cat "$work/err")" "journal of .*s3f-1-kkkkkk: Invalid argument"

check_eq "recover: and kept for a human" "$(ls "$stg" | grep -c kkkkkk)" 2

# --- a directory others could write is refused ---
mkdir -m 0755 "$work/open"
$RECOVER --staging "$work/open" list >"$work/out" 2>&1; rc=$?
check_match "recover: a staging directory others can read is refused" \
	"$rc $(cat "$work/out")" "^1 .*refused: it has mode 0755"

$S3 ls -r "$p/" | cut -f4- | while IFS= read -r k; do $S3 rm "$k" >/dev/null; done
finish
