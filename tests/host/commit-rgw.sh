#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The commit engine (helper/commit.c, through `s3fctl s3 commit` and
# `s3fctl s3 probe-conditions`) against Ceph's RADOS Gateway:
# atomicity, conflicts with and without server conditions, server-side
# copies for small edits, checksums on the wire (Documentation/commit.md).
#
# Needs S3F_ENDPOINT, S3F_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_REGION (scripts/rgw start writes them to an env file).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

S3="$top/helper/s3fctl s3"
work=$(mktemp -d /tmp/s3f-commit.XXXXXX)
proxy_pid=
bg_pid=
cleanup() {
	[ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null
	[ -n "$bg_pid" ] && kill "$bg_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

run_id=$(date +%s)-$$
p="commit-$run_id"	# every key of this run lives under this prefix
port=${S3F_ENDPOINT##*:}
MiB=1048576
conflict_re='\.s3f-conflict-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$'

# curl as the independent client (its own SigV4 code)
xcurl() {
	curl -sS --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
		--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

md5() { md5sum <"$1" | cut -d' ' -f1; }
etag_of() { $S3 head "$1" 2>/dev/null | awk '$1 == "etag:" { print $2 }'; }
# the result line of `commit`: STATUS<TAB>ETAG<TAB>KEY
status_of() { printf '%s\n' "$1" | head -1 | cut -f1; }
cetag_of() { printf '%s\n' "$1" | head -1 | cut -f2; }
ckey_of() { printf '%s\n' "$1" | head -1 | cut -f3-; }
# a --stats line: "NAME VALUE"
stat_of() { printf '%s\n' "$1" | awk -v k="$2" '$1 == k { print $2 }'; }
# does KEY hold exactly FILE's bytes?
holds() {
	rm -f "$work/got"
	$S3 get "$1" "$work/got" && cmp "$2" "$work/got"
}
# keys under a prefix, one a line
keys_under() { $S3 ls -r "$1" | cut -f4-; }
# multipart uploads still open under this run's prefix
open_uploads() {
	xcurl "$S3F_ENDPOINT/$S3F_BUCKET?prefix=$p%2F&uploads=" | grep -o '<Upload>' | wc -l
}

# random file: NAME BYTES
mkfile() { head -c "$2" /dev/urandom >"$work/$1"; }
# copy of FILE with LEN random bytes at OFF: SRC DST OFF LEN
edit() {
	cp "$work/$1" "$work/$2"
	head -c "$4" /dev/urandom | dd of="$work/$2" bs=1M seek="$3" oflag=seek_bytes \
		conv=notrunc status=none
}

mkfile small1 1000
mkfile small2 2000
mkfile small3 3000
mkfile big1 $((40 * MiB))
edit big1 big2 20000000 $MiB		# 1 MiB changed in the middle
mkfile mid1 $((7 * MiB + 4321))	# above the 5 MiB part size: two parts

# --- the probe ---
out=$($S3 probe-conditions "$p/probe" 2>&1); rc=$?
check_match "commit probe: RGW honours conditions on PUT" "$rc $out" "^0 put: honoured"
# RGW 16 ignores If-Match / If-None-Match on CompleteMultipartUpload
check_match "commit probe: RGW ignores them on Complete" "$out" "complete: ignored"
check_eq "commit probe: the probe object is deleted" "$(keys_under "$p/probe")" ""

# --- a new file: If-None-Match: * ---
out=$($S3 commit "$work/small1" "$p/new" 2>&1); rc=$?
check_eq "commit new file: committed under its key" "$rc $(status_of "$out") $(ckey_of "$out")" "0 committed $p/new"
check_eq "commit new file: ETag is the MD5" "$(cetag_of "$out")" "$(md5 "$work/small1")"
check "commit new file: content" holds "$p/new" "$work/small1"

# someone created the key meanwhile: keep both
$S3 put "$work/small2" "$p/taken" >/dev/null
out=$($S3 commit "$work/small1" "$p/taken" 2>&1); rc=$?
ckey=$(ckey_of "$out")
check_eq "commit new file, key taken: kept both (status)" "$rc $(status_of "$out")" "0 conflict"
check_match "commit new file, key taken: conflict name" "$ckey" "^$p/taken$conflict_re"
check "commit new file, key taken: the other writer's object untouched" holds "$p/taken" "$work/small2"
check "commit new file, key taken: ours under the conflict name" holds "$ckey" "$work/small1"
# ... or fail
out=$($S3 commit --fail-on-conflict "$work/small1" "$p/taken" 2>&1); rc=$?
check_match "commit new file, key taken, fail mode: EEXIST" "$rc $out" "^1 .*File exists"
check "commit new file, key taken, fail mode: object untouched" holds "$p/taken" "$work/small2"
check_eq "commit new file, key taken, fail mode: no second conflict object" \
	"$(keys_under "$p/taken" | grep -cE "$conflict_re")" 1

# --- an update: If-Match on the base's ETag ---
base=$($S3 put "$work/small1" "$p/upd")
out=$($S3 commit --base-etag "$base" "$work/small2" "$p/upd" 2>&1); rc=$?
check_eq "commit update: committed" "$rc $(status_of "$out") $(ckey_of "$out")" "0 committed $p/upd"
check "commit update: content replaced" holds "$p/upd" "$work/small2"
# another writer replaced it since our base: keep both
stale=$(cetag_of "$out")
$S3 put "$work/small1" "$p/upd" >/dev/null
out=$($S3 commit --base-etag "$stale" "$work/small3" "$p/upd" 2>&1); rc=$?
ckey=$(ckey_of "$out")
check_eq "commit update, replaced meanwhile: kept both" "$rc $(status_of "$out")" "0 conflict"
check_match "commit update, replaced meanwhile: conflict name" "$ckey" "^$p/upd$conflict_re"
check "commit update, replaced meanwhile: the other writer's version stays" holds "$p/upd" "$work/small1"
check "commit update, replaced meanwhile: ours beside it" holds "$ckey" "$work/small3"
out=$($S3 commit --fail-on-conflict --base-etag "$stale" "$work/small3" "$p/upd" 2>&1); rc=$?
check_match "commit update, replaced meanwhile, fail mode: ESTALE" "$rc $out" "^1 .*Stale file handle"
check "commit update, replaced meanwhile, fail mode: object untouched" holds "$p/upd" "$work/small1"
# deleted meanwhile: ours goes to a conflict name, the deletion stands
base=$($S3 put "$work/small1" "$p/gone")
$S3 rm "$p/gone"
out=$($S3 commit --base-etag "$base" "$work/small2" "$p/gone" 2>&1); rc=$?
check_match "commit update, deleted meanwhile: kept under a conflict name" \
	"$rc $(status_of "$out") $(ckey_of "$out")" "^0 conflict $p/gone$conflict_re"
out=$($S3 commit --fail-on-conflict --base-etag "$base" "$work/small2" "$p/gone" 2>&1); rc=$?
check_match "commit update, deleted meanwhile, fail mode: ESTALE" "$rc $out" "^1 .*Stale file handle"

# --- a server that ignores conditions: HEAD checks ---
NC="commit --assume-no-conditions"
out=$($S3 $NC "$work/small1" "$p/nc-new" 2>&1); rc=$?
check_eq "commit without conditions: new file" "$rc $(status_of "$out")" "0 committed"
out=$($S3 $NC "$work/small2" "$p/nc-new" 2>&1); rc=$?
check_eq "commit without conditions: key taken: kept both" "$rc $(status_of "$out")" "0 conflict"
check "commit without conditions: key taken: original untouched" holds "$p/nc-new" "$work/small1"
out=$($S3 $NC --fail-on-conflict "$work/small2" "$p/nc-new" 2>&1); rc=$?
check_match "commit without conditions: key taken, fail mode: EEXIST" "$rc $out" "^1 .*File exists"
base=$(etag_of "$p/nc-new")
out=$($S3 $NC --base-etag "$base" "$work/small2" "$p/nc-new" 2>&1); rc=$?
check_eq "commit without conditions: update" "$rc $(status_of "$out")" "0 committed"
check "commit without conditions: update content" holds "$p/nc-new" "$work/small2"
out=$($S3 $NC --base-etag "$base" "$work/small3" "$p/nc-new" 2>&1); rc=$?
check_eq "commit without conditions: stale base: kept both" "$rc $(status_of "$out")" "0 conflict"
check "commit without conditions: stale base: ours beside it" holds "$(ckey_of "$out")" "$work/small3"
out=$($S3 $NC --fail-on-conflict --base-etag "$base" "$work/small3" "$p/nc-new" 2>&1); rc=$?
check_match "commit without conditions: stale base, fail mode: ESTALE" "$rc $out" "^1 .*Stale file handle"
check "commit without conditions: stale base: object untouched" holds "$p/nc-new" "$work/small2"

# --- another writer between our start and our publish (the hook runs then) ---
race() { printf '%s' "$S3 put '$work/$1' '$p/$2' >/dev/null"; }
base=$($S3 put "$work/small1" "$p/race1")
out=$($S3 commit --base-etag "$base" --exec-before-publish "$(race small2 race1)" \
	"$work/small3" "$p/race1" 2>&1); rc=$?
check_eq "commit race, single PUT: If-Match refused, kept both" "$rc $(status_of "$out")" "0 conflict"
check "commit race, single PUT: the other writer's version stays" holds "$p/race1" "$work/small2"
check "commit race, single PUT: ours beside it" holds "$(ckey_of "$out")" "$work/small3"
base=$($S3 put "$work/small1" "$p/race2")
out=$($S3 $NC --base-etag "$base" --exec-before-publish "$(race small2 race2)" \
	"$work/small3" "$p/race2" 2>&1); rc=$?
check_eq "commit race, single PUT without conditions: HEAD check, kept both" \
	"$rc $(status_of "$out")" "0 conflict"
check "commit race, single PUT without conditions: the other writer's version stays" \
	holds "$p/race2" "$work/small2"
# multipart, parts copied from the base: the HEAD right before Complete
# sees the change (RGW ignores conditions on Complete)
edit mid1 mid2 $((6 * MiB)) 1000
base=$($S3 commit --part-size 5M "$work/mid1" "$p/race3" | cut -f2)
out=$($S3 commit --part-size 5M --base-etag "$base" --dirty $((6 * MiB)):1000 \
	--exec-before-publish "$(race small2 race3)" "$work/mid2" "$p/race3" 2>&1); rc=$?
ckey=$(ckey_of "$out")
check_eq "commit race, multipart: kept both" "$rc $(status_of "$out")" "0 conflict"
check "commit race, multipart: the other writer's version stays" holds "$p/race3" "$work/small2"
check "commit race, multipart: ours beside it, complete" holds "$ckey" "$work/mid2"
base=$($S3 put "$work/mid1" "$p/race4")
out=$($S3 commit --fail-on-conflict --part-size 5M --base-etag "$base" \
	--exec-before-publish "$(race small2 race4)" "$work/mid2" "$p/race4" 2>&1); rc=$?
check_match "commit race, multipart, fail mode: ESTALE" "$rc $out" "^1 .*Stale file handle"
check "commit race, multipart, fail mode: the other writer's version stays" holds "$p/race4" "$work/small2"
out=$($S3 commit --part-size 5M --exec-before-publish "$(race small2 race5)" \
	"$work/mid1" "$p/race5" 2>&1); rc=$?
check_eq "commit race, new file, multipart: created meanwhile: kept both" \
	"$rc $(status_of "$out")" "0 conflict"
check "commit race, new file, multipart: the other writer's object stays" holds "$p/race5" "$work/small2"
check "commit race, new file, multipart: ours beside it" holds "$(ckey_of "$out")" "$work/mid1"
check_eq "commit race: no multipart upload left open" "$(open_uploads)" 0

# --- metadata (s3fs-fuse names), also on a conflict copy ---
out=$($S3 commit --meta mode=33188 --meta uid=1000 --meta gid=100 --meta mtime=1700000000 \
	--part-size 5M "$work/mid1" "$p/meta" 2>&1)
out=$($S3 head "$p/meta")
check_match "commit metadata: mode stored (multipart)" "$out" "meta-mode: 33188"
check_match "commit metadata: uid stored" "$out" "meta-uid: 1000"
check_match "commit metadata: gid stored" "$out" "meta-gid: 100"
check_match "commit metadata: mtime stored" "$out" "meta-mtime: 1700000000"
out=$($S3 commit --meta mode=33188 "$work/small1" "$p/taken" 2>&1)
check_match "commit metadata: the conflict copy has it too" "$($S3 head "$(ckey_of "$out")")" "meta-mode: 33188"

# --- on the wire, through a recording proxy ---
start_proxy() {
	rm -f "$work/proxy.out" "$work/proxy.log"
	python3 "$top/tests/host/header-proxy.py" --target "$port" --log "$work/proxy.log" \
		--lifetime 300 "$@" >"$work/proxy.out" &
	proxy_pid=$!
	for _ in $(seq 50); do
		grep -q '^port ' "$work/proxy.out" 2>/dev/null && break
		sleep 0.1
	done
	proxy_port=$(awk '/^port /{print $2}' "$work/proxy.out")
	PS3="$S3 --endpoint http://127.0.0.1:$proxy_port"
}
stop_proxy() { kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null; proxy_pid=; }
# one line per request: KIND BODY MD5 CRC32C IF-MATCH IF-NONE-MATCH
#   COPY-IF-MATCH CORRUPTED CONN START END PART-NUMBER PATH ("-" for none)
requests() {
	python3 - "$work/proxy.log" <<'EOF'
import json, sys, urllib.parse
for line in open(sys.argv[1]):
    r = json.loads(line)
    h = r["headers"]
    path, _, q = r["path"].partition("?")
    qs = urllib.parse.parse_qs(q, keep_blank_values=True)
    m = r["method"]
    if m == "PUT" and "partNumber" in qs:
        kind = "copy" if "x-amz-copy-source" in h else "part"
    elif m == "PUT":
        kind = "put"
    elif m == "POST":
        kind = "create" if "uploads" in qs else "complete"
    else:
        kind = m.lower()
    g = lambda k: h.get(k, "-").replace(" ", "_") or "-"
    print(kind, r["body"], g("content-md5"), g("x-amz-checksum-crc32c"),
          g("if-match"), g("if-none-match"), g("x-amz-copy-source-if-match"),
          int(r["corrupted"]), r["conn"], r["start"], r["end"],
          qs.get("partNumber", ["-"])[0], urllib.parse.unquote(path))
EOF
}
b64md5() { openssl dgst -md5 -binary | base64; }
# CRC32C, bitwise, independent of the helper's tables
b64crc32c() {
	python3 -c '
import base64, sys
crc = 0xFFFFFFFF
for b in sys.stdin.buffer.read():
    crc ^= b
    for _ in range(8):
        crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
print(base64.b64encode((crc ^ 0xFFFFFFFF).to_bytes(4, "big")).decode())'
}

start_proxy
out=$($PS3 commit "$work/small1" "$p/wire" 2>&1)
line=$(requests | awk '$1 == "put"' | head -1)
check_eq "commit wire: new file: If-None-Match: *" "$(echo "$line" | cut -d' ' -f6)" "*"
check_eq "commit wire: PUT carries Content-MD5" "$(echo "$line" | cut -d' ' -f3)" "$(b64md5 <"$work/small1")"
check_eq "commit wire: PUT carries x-amz-checksum-crc32c" "$(echo "$line" | cut -d' ' -f4)" \
	"$(b64crc32c <"$work/small1")"
base=$(cetag_of "$out")
: >"$work/proxy.log"
$PS3 commit --base-etag "$base" "$work/small2" "$p/wire" >/dev/null 2>&1
check_match "commit wire: update: If-Match on the base's ETag" \
	"$(requests | awk '$1 == "put" { print $5 }')" "^\"?$base\"?"
: >"$work/proxy.log"
$PS3 $NC --base-etag "$(etag_of "$p/wire")" --base-size 2000 "$work/small3" "$p/wire" >/dev/null 2>&1
check_eq "commit wire: without conditions: HEAD, then PUT" "$(requests | cut -d' ' -f1 | tr '\n' ' ')" "head put "
check_eq "commit wire: without conditions: no condition headers" \
	"$(requests | awk '$1 == "put" { print $5 $6 }')" "--"

# a large new file: multipart, parts in parallel, each with its Content-MD5
: >"$work/proxy.log"
out=$($PS3 commit --part-size 5M --jobs 4 "$work/big1" "$p/big" 2>&1); rc=$?
check_match "commit large file: multipart upload of 8 parts" "$rc $(cetag_of "$out")" "^0 [0-9a-f]{32}-8$"
check "commit large file: content" holds "$p/big" "$work/big1"
parts=$(requests | awk '$1 == "part"')
check_eq "commit large file: 8 UploadPart requests" "$(printf '%s\n' "$parts" | grep -c .)" 8
check_eq "commit large file: every part carries Content-MD5" \
	"$(printf '%s\n' "$parts" | awk '$3 != "-"' | grep -c .)" 8
check_eq "commit large file: part 1's Content-MD5 is its bytes'" \
	"$(printf '%s\n' "$parts" | awk '$12 == 1 { print $3 }')" \
	"$(head -c $((5 * MiB)) "$work/big1" | b64md5)"
check_eq "commit large file: part 8's Content-MD5 is its bytes'" \
	"$(printf '%s\n' "$parts" | awk '$12 == 8 { print $3 }')" \
	"$(tail -c $((5 * MiB)) "$work/big1" | b64md5)"
check_eq "commit large file: no x-amz-checksum-crc32c on parts" \
	"$(printf '%s\n' "$parts" | awk '$4 != "-"' | grep -c .)" 0
# (how much the parts overlap in time depends on the machine's load: not asserted)
check_match "commit large file: parts on several connections (parallel workers)" \
	"$(printf '%s\n' "$parts" | awk '{ print $9 }' | sort -u | grep -c .)" "^[2-9]$"

# a small edit of it: 1 MiB changed in the middle of 40 MiB
: >"$work/proxy.log"
base=$(cetag_of "$out")
out=$($PS3 commit --stats --part-size 5M --base-etag "$base" --dirty 20000000:$MiB \
	"$work/big2" "$p/big" 2>&1); rc=$?
sent=$(stat_of "$out" bytes_sent)
check_eq "commit small edit: committed" "$rc $(status_of "$out")" "0 committed"
[ -n "$sent" ] && [ "$sent" -lt $((10 * MiB)) ] && pass "commit small edit: bytes_sent < 10 MiB" ||
	fail "commit small edit: bytes_sent < 10 MiB" "sent '$sent'"
check_eq "commit small edit: 35 MiB copied server side" "$(stat_of "$out" copied)" $((35 * MiB))
check "commit small edit: object byte-identical to the local file" holds "$p/big" "$work/big2"
copies=$(requests | awk '$1 == "copy"')
check_eq "commit small edit: copies carry x-amz-copy-source-if-match on the base" \
	"$(printf '%s\n' "$copies" | awk -v e="\"$base\"" '$7 == e' | grep -c .)" 2
check_eq "commit small edit: one part uploaded, with its Content-MD5" \
	"$(requests | awk '$1 == "part" && $3 != "-" { print $2 }')" $((5 * MiB))
stop_proxy

# --- sparse staging: only the dirty bytes are local ---
base=$($S3 commit --part-size 5M "$work/mid1" "$p/sp" | cut -f2)
size=$(stat -c %s "$work/mid1")
python3 - "$work" "$size" <<'EOF'
import os, sys
w, size = sys.argv[1], int(sys.argv[2])
d = os.urandom(1 << 20)
with open(w + "/sparse", "wb") as f:		# a hole but for the dirty MiB
    f.truncate(size)
    f.seek(3000000)
    f.write(d)
b = bytearray(open(w + "/mid1", "rb").read())
b[3000000:3000000 + len(d)] = d
open(w + "/mid3", "wb").write(b)
EOF
out=$($S3 commit --stats --sparse --part-size 5M --base-etag "$base" --base-size "$size" \
	--dirty 3000000:$MiB "$work/sparse" "$p/sp" 2>&1); rc=$?
sent=$(stat_of "$out" bytes_sent)
check_eq "commit sparse edit: committed" "$rc $(status_of "$out")" "0 committed"
check "commit sparse edit: clean bytes from the base, dirty ones local" holds "$p/sp" "$work/mid3"
check_eq "commit sparse edit: only the uploaded part's bytes fetched" \
	"$(stat_of "$out" fetched)" $((5 * MiB))
[ -n "$sent" ] && [ "$sent" -lt $((6 * MiB)) ] && pass "commit sparse edit: one part's worth sent" ||
	fail "commit sparse edit: one part's worth sent" "sent '$sent'"
# a sparse file whose base was replaced cannot be kept: ESTALE, nothing written
out=$($S3 commit --sparse --part-size 5M --base-etag "$base" --base-size "$size" \
	--dirty 3000000:$MiB "$work/sparse" "$p/sp" 2>&1); rc=$?
check_match "commit sparse edit, base replaced: ESTALE even when keeping both" "$rc $out" \
	"^1 .*Stale file handle"
check_eq "commit sparse edit, base replaced: no conflict object" \
	"$(keys_under "$p/sp" | grep -cE "$conflict_re")" 0
check "commit sparse edit, base replaced: object untouched" holds "$p/sp" "$work/mid3"

# --- appended, metadata only ---
base=$(etag_of "$p/sp")
cp "$work/mid3" "$work/mid4"
head -c $MiB /dev/urandom >>"$work/mid4"
out=$($S3 commit --stats --part-size 5M --base-etag "$base" --dirty 0:0 "$work/mid4" "$p/sp" 2>&1); rc=$?
sent=$(stat_of "$out" bytes_sent)
check_eq "commit append: committed" "$rc $(status_of "$out")" "0 committed"
check "commit append: content" holds "$p/sp" "$work/mid4"
[ -n "$sent" ] && [ "$sent" -lt $((2 * MiB)) ] && pass "commit append: only the new MiB sent" ||
	fail "commit append: only the new MiB sent" "sent '$sent'"
base=$(etag_of "$p/sp")
out=$($S3 commit --stats --part-size 5M --base-etag "$base" --dirty 0:0 --meta mode=33152 \
	"$work/mid4" "$p/sp" 2>&1); rc=$?
sent=$(stat_of "$out" bytes_sent)
check_eq "commit metadata only: committed" "$rc $(status_of "$out")" "0 committed"
check_match "commit metadata only: metadata set" "$($S3 head "$p/sp")" "meta-mode: 33152"
check "commit metadata only: content unchanged" holds "$p/sp" "$work/mid4"
[ -n "$sent" ] && [ "$sent" -lt 65536 ] && pass "commit metadata only: no data sent (copies)" ||
	fail "commit metadata only: no data sent (copies)" "sent '$sent'"

# --- a body damaged on the way: Content-MD5 makes RGW refuse it, the engine resends ---
start_proxy --corrupt 1
out=$($PS3 --log-level debug commit "$work/small1" "$p/damaged" 2>&1); rc=$?
check_eq "commit damaged body, single PUT: committed" "$rc $(printf '%s\n' "$out" | grep -c '^committed')" "0 1"
check_match "commit damaged body, single PUT: 400 BadDigest, resent" "$out" "400 BadDigest, retrying"
check "commit damaged body, single PUT: stored intact" holds "$p/damaged" "$work/small1"
check_eq "commit damaged body, single PUT: the proxy did damage it" \
	"$(requests | awk '$8 == 1' | grep -c .)" 1
stop_proxy
start_proxy --corrupt 1
out=$($PS3 --log-level debug commit --part-size 5M "$work/mid1" "$p/damaged-mp" 2>&1); rc=$?
check_eq "commit damaged body, UploadPart: committed" "$rc $(printf '%s\n' "$out" | grep -c '^committed')" "0 1"
check_match "commit damaged body, UploadPart: 400 BadDigest, resent" "$out" "400 BadDigest, retrying"
check "commit damaged body, UploadPart: stored intact" holds "$p/damaged-mp" "$work/mid1"
check_eq "commit damaged body, UploadPart: a part was damaged" \
	"$(requests | awk '$1 == "part" && $8 == 1' | grep -c .)" 1
stop_proxy

# --- atomicity: readers see the old or the new object, whole ---
# $p/big holds big2; it is committed back to big1, then to big2 again.
m1=$(md5 "$work/big1")
m2=$(md5 "$work/big2")
(
	set -o pipefail
	e=$(etag_of "$p/big")
	for f in big1 big2; do
		sleep 1	# each version stays a while: the readers see both
		e=$($S3 commit --part-size 5M --jobs 4 --base-etag "$e" "$work/$f" "$p/big" | cut -f2) || exit 1
	done
) >"$work/bg.out" 2>&1 &
bg_pid=$!
reads=0
bad=0
seen=
while [ $reads -lt 200 ]; do
	sum=$($S3 get "$p/big" - 2>>"$work/get.err" | md5sum | cut -d' ' -f1)
	reads=$((reads + 1))
	case $sum in
	"$m1") seen="$seen 1" ;;
	"$m2") seen="$seen 2" ;;
	*) bad=$((bad + 1)) ;;
	esac
	kill -0 "$bg_pid" 2>/dev/null || break
done
wait "$bg_pid"
rc=$?
bg_pid=
echo "# atomicity: $reads reads while committing:$seen"
check_eq "commit atomicity: two re-commits succeeded" "$rc" 0
check_eq "commit atomicity: concurrent reads each see a whole version" "$bad" 0
check_match "commit atomicity: the reads saw the object change" "$seen" "2 .*1"
check "commit atomicity: final content" holds "$p/big" "$work/big2"

# --- answers lost after the server carried the request out ---
# (tests/host/fault-proxy.py drops the first answer to the request that
# matches; the commit must end as if nothing had happened: no conflict
# copy, no failure, no upload left in progress)
fault_proxy() { # fault_proxy KIND REGEX: fault the first request matching REGEX
	rm -f "$work/fproxy.out"
	python3 "$top/tests/host/fault-proxy.py" --target "$port" --lifetime 120 --kinds "$1" \
		--match "$2" --first 1 >"$work/fproxy.out" &
	proxy_pid=$!
	for _ in $(seq 50); do grep -q '^port ' "$work/fproxy.out" 2>/dev/null && break; sleep 0.1; done
	FS3="$S3 --endpoint http://127.0.0.1:$(awk '/^port /{print $2}' "$work/fproxy.out")"
}
lost_check() { # lost_check NAME KEY OUT RC: committed once, nothing else
	check_match "$1: the commit succeeds" "$4 $3" "^0 .*committed"
	check "$1: the object is the file" holds "$2" "$work/big1"
	check_eq "$1: no conflict copy" "$(keys_under "$2" | grep -c -v -x -F "$2")" 0
	check_eq "$1: no multipart upload left open" "$(open_uploads)" 0
}
fault_proxy lost-response 'POST .*uploadId='
out=$($FS3 --log-level info commit-stage --stage "$work/big1" --size $((40 * MiB)) \
	--commit-id 4242 --part-size 5M "$p/lost-complete" 2>&1); rc=$?
stop_proxy
lost_check "lost CompleteMultipartUpload answer" "$p/lost-complete" "$out" "$rc"
fault_proxy lost-response 'POST .*[?]uploads='
out=$($FS3 commit-stage --stage "$work/big1" --size $((40 * MiB)) \
	--commit-id 4343 --part-size 5M "$p/lost-create" 2>&1); rc=$?
stop_proxy
lost_check "lost CreateMultipartUpload answer" "$p/lost-create" "$out" "$rc"
fault_proxy error-body-200 'POST .*uploadId='
out=$($FS3 --log-level info commit-stage --stage "$work/big1" --size $((40 * MiB)) \
	--commit-id 4444 --part-size 5M "$p/error-200" 2>&1); rc=$?
stop_proxy
lost_check "CompleteMultipartUpload answering 200 with an <Error>" "$p/error-200" "$out" "$rc"
check_match "... which was sent again" "$out" "200 with InternalError: sending it again"
# the probe's first PUT lands, its answer is lost, the retry is refused
# (412): that refusal is the answer (honoured), not a failure, and the
# probe object goes
fault_proxy lost-response 'PUT .*/probe-lost'
out=$($FS3 probe-conditions "$p/probe-lost" 2>&1); rc=$?
stop_proxy
check_match "commit probe, first answer lost: conditions on PUT honoured" "$rc $out" "^0 put: honoured"
check_eq "commit probe, first answer lost: the probe object is deleted" "$(keys_under "$p/probe-lost")" ""

# --- a key that needs encoding ---
k="$p/dir/sp ace+ü ✓.txt"
$S3 put "$work/small1" "$k" >/dev/null
out=$($S3 commit "$work/small2" "$k" 2>&1); rc=$?
ckey=$(ckey_of "$out")
check_match "commit odd key: conflict name beside it" "$rc $ckey" "^0 $p/dir/sp ace\+ü ✓\.txt$conflict_re"
check "commit odd key: conflict copy content" holds "$ckey" "$work/small2"

# --- nothing left behind ---
check_eq "commit: no multipart upload left open" "$(open_uploads)" 0
keys_under "$p/" >"$work/keys"
mapfile -t left <"$work/keys"
[ ${#left[@]} -gt 0 ] && $S3 rm "${left[@]}" >/dev/null 2>&1
check_eq "commit cleanup: prefix empty" "$($S3 ls -r "$p/" | wc -l)" 0

finish
