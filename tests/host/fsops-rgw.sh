#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The write path's S3 operations (helper/fsops.c, through `s3fctl s3
# mkdir|rmdir|rename|rename-dir|symlink|delete|commit-stage`) against
# Ceph's RADOS Gateway, checked with an independent client (curl with
# its own SigV4): directory markers, ENOTEMPTY, renames of files and
# trees, NOREPLACE, stale versions, symbolic links, deletes, commits as
# the kernel describes them, and s3fs-fuse metadata on the wire.
#
# Needs S3F_ENDPOINT, S3F_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_REGION (scripts/rgw start writes them to an env file).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

S3="$top/helper/s3fctl s3"
work=$(mktemp -d /tmp/s3f-fsops.XXXXXX)
trap 'rm -rf "$work"' EXIT

p="fsops-$(date +%s)-$$"	# every key of this run lives under this prefix
MiB=1048576
EMPTY_MD5=d41d8cd98f00b204e9800998ecf8427e

xcurl() {
	curl -sS --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
		--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
url() { printf '%s/%s/%s' "$S3F_ENDPOINT" "$S3F_BUCKET" "$1"; }
# the HTTP status of a HEAD of KEY
status_of() { xcurl -o /dev/null -w '%{http_code}' -I "$(url "$1")"; }
# one response header of a HEAD of KEY (name lower case), value only
header_of() {
	xcurl -I "$(url "$1")" | tr -d '\r' |
		awk -v h="$2:" 'tolower($1) == h { sub(/^[^:]*: */, ""); print }'
}
# KEY's body into FILE (independent of the engine)
xget() { rm -f "$2"; xcurl -f -o "$2" "$(url "$1")"; }
# PUT FILE at KEY with curl, extra curl arguments after
xput() {
	local file=$1 key=$2
	shift 2
	xcurl -f -X PUT --data-binary "@$file" "$@" "$(url "$key")" >/dev/null
}
md5() { md5sum <"$1" | cut -d' ' -f1; }
keys_under() { $S3 ls -r "$1" | cut -f4- | sort; }

head -c 1000 /dev/urandom >"$work/small"
head -c 3000 /dev/urandom >"$work/other"
: >"$work/empty"

# --- mkdir: the marker and its s3fs metadata ---
out=$($S3 mkdir --mode 040755 --uid 1000 --gid 100 --mtime-ns 1700000000000000000 "$p/d/" 2>&1); rc=$?
check_eq "fsops mkdir: the marker's ETag is an empty body's" "$rc $out" "0 $EMPTY_MD5"
check_eq "fsops mkdir: the marker exists" "$(status_of "$p/d/")" 200
check_eq "fsops mkdir: x-amz-meta-mode is S_IFDIR|0755 in decimal" "$(header_of "$p/d/" x-amz-meta-mode)" 16877
check_eq "fsops mkdir: x-amz-meta-uid" "$(header_of "$p/d/" x-amz-meta-uid)" 1000
check_eq "fsops mkdir: x-amz-meta-gid" "$(header_of "$p/d/" x-amz-meta-gid)" 100
check_eq "fsops mkdir: x-amz-meta-mtime in whole seconds has no fraction" \
	"$(header_of "$p/d/" x-amz-meta-mtime)" 1700000000
check_eq "fsops mkdir: the marker is empty" "$(header_of "$p/d/" content-length)" 0
out=$($S3 mkdir "$p/nodir" 2>&1); rc=$?
check_match "fsops mkdir: a key without a trailing / is refused" "$rc $out" "^1 .*Invalid argument"

# --- metadata formatting: nanoseconds only when not zero ---
$S3 mkdir --mtime-ns 1700000000123456789 --atime-ns 1700000001000000005 \
	--ctime-ns 1700000002500000000 "$p/ns/" >/dev/null
check_eq "fsops metadata: mtime with nanoseconds" "$(header_of "$p/ns/" x-amz-meta-mtime)" 1700000000.123456789
check_eq "fsops metadata: atime keeps leading zeros of the fraction" \
	"$(header_of "$p/ns/" x-amz-meta-atime)" 1700000001.000000005
check_eq "fsops metadata: ctime with a round fraction has all nine digits" \
	"$(header_of "$p/ns/" x-amz-meta-ctime)" 1700000002.500000000
check_eq "fsops metadata: absent fields are not written" "$(header_of "$p/ns/" x-amz-meta-mode)" ""
$S3 mkdir --mtime-ns -1500000000 "$p/old/" >/dev/null
check_eq "fsops metadata: before 1970, floor seconds and a positive fraction" \
	"$(header_of "$p/old/" x-amz-meta-mtime)" -2.500000000

# --- setattr-dir: a directory's chmod keeps what other clients stored ---
xcurl -f -X PUT -H "Content-Type: application/x-directory" -H "x-amz-meta-mode: 16877" \
	-H "x-amz-meta-foreign: keepme" --data-binary "" "$(url "$p/sa/")" >/dev/null
out=$($S3 setattr-dir --mode 040750 --ctime-ns 1700000003000000000 "$p/sa/" 2>&1); rc=$?
check_eq "fsops setattr-dir: succeeds with the marker's ETag" "$rc $out" "0 $EMPTY_MD5"
check_eq "fsops setattr-dir: the changed field" "$(header_of "$p/sa/" x-amz-meta-mode)" 16872
check_eq "fsops setattr-dir: and ctime" "$(header_of "$p/sa/" x-amz-meta-ctime)" 1700000003
check_eq "fsops setattr-dir: another client's metadata stays" "$(header_of "$p/sa/" x-amz-meta-foreign)" keepme
check_eq "fsops setattr-dir: fields not named are not added" "$(header_of "$p/sa/" x-amz-meta-mtime)" ""
check_eq "fsops setattr-dir: the Content-Type stays" "$(header_of "$p/sa/" content-type)" application/x-directory
# an old-style directory object "old" (no '/'): replaced by a marker
xcurl -f -X PUT -H "Content-Type: application/x-directory" --data-binary "" "$(url "$p/old-style")" >/dev/null
$S3 setattr-dir --mode 040700 --uid 1 --gid 2 --ctime-ns 1700000003000000000 "$p/old-style/" >/dev/null
check_eq "fsops setattr-dir: without a marker, one is made with every field" \
	"$(header_of "$p/old-style/" x-amz-meta-mode) $(header_of "$p/old-style/" x-amz-meta-uid)" "16832 1"
check_eq "fsops setattr-dir: and the old-style object is deleted" "$(status_of "$p/old-style")" 404
xcurl -f -X PUT -H "Content-Type: application/x-directory" --data-binary "" "$(url "$p/old-style")" >/dev/null
$S3 rmdir "$p/old-style/" >/dev/null
check_eq "fsops rmdir: deletes the marker and an old-style object" \
	"$(status_of "$p/old-style/") $(status_of "$p/old-style")" "404 404"
xput "$work/small" "$p/not-a-dir"
$S3 rmdir "$p/not-a-dir/" >/dev/null
check_eq "fsops rmdir: a file of the same name is no old-style directory: kept" "$(status_of "$p/not-a-dir")" 200

# --- rmdir: ENOTEMPTY, then success ---
xput "$work/small" "$p/d/child"
out=$($S3 rmdir "$p/d/" 2>&1); rc=$?
check_match "fsops rmdir: a directory with a child is ENOTEMPTY" "$rc $out" "^1 .*Directory not empty"
check_eq "fsops rmdir: ENOTEMPTY left the marker" "$(status_of "$p/d/")" 200
check_eq "fsops rmdir: ENOTEMPTY left the child" "$(status_of "$p/d/child")" 200
xput "$work/small" "$p/implicit/deep/x"
out=$($S3 rmdir "$p/implicit/" 2>&1); rc=$?
check_match "fsops rmdir: nested keys without a marker are ENOTEMPTY" "$rc $out" "^1 .*Directory not empty"
xcurl -f -X DELETE "$(url "$p/d/child")" >/dev/null
out=$($S3 rmdir "$p/d/" 2>&1); rc=$?
check_eq "fsops rmdir: an empty directory is removed" "$rc $out" "0 "
check_eq "fsops rmdir: the marker is gone" "$(status_of "$p/d/")" 404
out=$($S3 rmdir "$p/never/" 2>&1); rc=$?
check_eq "fsops rmdir: a directory without a marker nor keys is success" "$rc $out" "0 "

# --- rename a file: bytes and metadata travel, the source goes ---
xput "$work/small" "$p/src" -H "x-amz-meta-mode: 33188" -H "x-amz-meta-uid: 1000" \
	-H "x-amz-meta-mtime: 1700000000.5"
out=$($S3 rename "$p/src" "$p/dst" 2>&1); rc=$?
check_eq "fsops rename: succeeds with the copy's ETag" "$rc $out" "0 $(md5 "$work/small")"
check_eq "fsops rename: the source is gone" "$(status_of "$p/src")" 404
xget "$p/dst" "$work/got"
check "fsops rename: the bytes moved" cmp "$work/small" "$work/got"
check_eq "fsops rename: x-amz-meta-mode kept" "$(header_of "$p/dst" x-amz-meta-mode)" 33188
check_eq "fsops rename: x-amz-meta-uid kept" "$(header_of "$p/dst" x-amz-meta-uid)" 1000
check_eq "fsops rename: x-amz-meta-mtime kept" "$(header_of "$p/dst" x-amz-meta-mtime)" 1700000000.5
# the Content-Type follows the name unless someone chose it
xput "$work/small" "$p/typed" -H "Content-Type: application/octet-stream" -H "x-amz-meta-mode: 33188"
$S3 rename "$p/typed" "$p/typed.txt" >/dev/null
check_eq "fsops rename: a default Content-Type becomes the new name's, metadata kept" \
	"$(header_of "$p/typed.txt" content-type) $(header_of "$p/typed.txt" x-amz-meta-mode)" "text/plain 33188"
xput "$work/small" "$p/chosen" -H "Content-Type: image/x-custom"
$S3 rename "$p/chosen" "$p/chosen.txt" >/dev/null
check_eq "fsops rename: a Content-Type chosen on purpose stays" "$(header_of "$p/chosen.txt" content-type)" image/x-custom
out=$($S3 rename "$p/no-such" "$p/x" 2>&1); rc=$?
check_match "fsops rename: a missing source is ENOENT" "$rc $out" "^1 .*No such file"

# NOREPLACE
xput "$work/other" "$p/taken"
out=$($S3 rename --noreplace "$p/dst" "$p/taken" 2>&1); rc=$?
check_match "fsops rename noreplace: an existing target is EEXIST" "$rc $out" "^1 .*File exists"
xget "$p/taken" "$work/got"
check "fsops rename noreplace: the target untouched" cmp "$work/other" "$work/got"
check_eq "fsops rename noreplace: the source stays" "$(status_of "$p/dst")" 200
xput "$work/other" "$p/adir/inside"
out=$($S3 rename --noreplace "$p/dst" "$p/adir" 2>&1); rc=$?
check_match "fsops rename noreplace: a directory of that name is EEXIST" "$rc $out" "^1 .*File exists"
check_eq "fsops rename noreplace: no object made beside the directory" "$(status_of "$p/adir")" 404
out=$($S3 rename --noreplace "$p/dst" "$p/free" 2>&1); rc=$?
check_eq "fsops rename noreplace: a free name works" "$rc" 0
out=$($S3 rename "$p/free" "$p/taken" 2>&1); rc=$?
xget "$p/taken" "$work/got"
check "fsops rename: without noreplace the target is replaced" cmp "$work/small" "$work/got"

# the source's version
etag=$(header_of "$p/taken" etag | tr -d '"')
out=$($S3 rename --etag 0123456789abcdef0123456789abcdef "$p/taken" "$p/moved" 2>&1); rc=$?
check_match "fsops rename: another version than --etag is ESTALE" "$rc $out" "^1 .*Stale file handle"
check_eq "fsops rename ESTALE: nothing copied" "$(status_of "$p/moved")" 404
check_eq "fsops rename ESTALE: the source stays" "$(status_of "$p/taken")" 200
out=$($S3 rename --etag "$etag" "$p/taken" "$p/moved" 2>&1); rc=$?
check_eq "fsops rename: the matching --etag works" "$rc $out" "0 $etag"

# the same rename again (the kernel resends a request when its helper died
# before answering): the first attempt's copy, with this rename's ctime,
# makes it a success, however far the first attempt got
ct=1700000000123456789
out=$($S3 rename --etag "$etag" --ctime-ns $ct "$p/moved" "$p/again" 2>&1); rc=$?
check_eq "fsops rename resent: the first attempt" "$rc $out" "0 $etag"
check_eq "fsops rename resent: the copy has the rename's ctime" \
	"$(header_of "$p/again" x-amz-meta-ctime)" 1700000000.123456789
out=$($S3 rename --etag "$etag" --ctime-ns $ct "$p/moved" "$p/again" 2>&1); rc=$?
check_eq "fsops rename resent after the delete: success with the copy's ETag" "$rc $out" "0 $etag"
out=$($S3 rename --noreplace --etag "$etag" --ctime-ns $ct "$p/moved" "$p/again" 2>&1); rc=$?
check_eq "fsops rename resent, noreplace: success, not EEXIST" "$rc $out" "0 $etag"
out=$($S3 rename --etag "$etag" --ctime-ns $((ct + 1)) "$p/moved" "$p/again" 2>&1); rc=$?
check_match "fsops rename: another rename's copy there, the source gone: ENOENT" "$rc $out" "^1 .*No such file"
out=$($S3 rename --etag "$etag" "$p/moved" "$p/again" 2>&1); rc=$?
check_match "fsops rename: no ctime to match, the source gone: ENOENT" "$rc $out" "^1 .*No such file"
# the first attempt copied but did not delete: noreplace finds its copy
# and the source is deleted
$S3 cp "$p/again" "$p/moved" >/dev/null
out=$($S3 rename --noreplace --etag "$etag" --ctime-ns $ct "$p/moved" "$p/again" 2>&1); rc=$?
check_eq "fsops rename resent before the delete, noreplace: success" "$rc $out" "0 $etag"
check_eq "fsops rename resent before the delete: the source is deleted now" "$(status_of "$p/moved")" 404
xput "$work/other" "$p/moved"
out=$($S3 rename --noreplace --etag "$(md5 "$work/other")" --ctime-ns $((ct + 2)) "$p/moved" "$p/again" 2>&1); rc=$?
check_match "fsops rename noreplace: a copy made by another rename is EEXIST" "$rc $out" "^1 .*File exists"
$S3 rename "$p/again" "$p/moved" >/dev/null

# a big object: UploadPartCopy (threshold lowered to test it)
head -c $((12 * MiB + 345)) /dev/urandom >"$work/big"
xput "$work/big" "$p/big" -H "x-amz-meta-mode: 33261" -H "content-type: text/plain"
out=$($S3 rename --multipart-threshold 8M --part-size 5M "$p/big" "$p/big2" 2>&1); rc=$?
check_match "fsops rename multipart: a three-part copy" "$rc $out" "^0 [0-9a-f]{32}-3$"
xget "$p/big2" "$work/got"
check "fsops rename multipart: the bytes moved" cmp "$work/big" "$work/got"
check_eq "fsops rename multipart: metadata kept" "$(header_of "$p/big2" x-amz-meta-mode)" 33261
check_eq "fsops rename multipart: content type kept" "$(header_of "$p/big2" content-type)" text/plain
check_eq "fsops rename multipart: the source is gone" "$(status_of "$p/big")" 404
check_eq "fsops rename multipart: no upload left open" \
	"$(xcurl "$S3F_ENDPOINT/$S3F_BUCKET?prefix=$p%2F&uploads=" | grep -c '<Upload>')" 0

# --- rename a directory tree ---
$S3 mkdir --mode 040700 "$p/t/" >/dev/null
xput "$work/small" "$p/t/a"
xput "$work/other" "$p/t/sub/b" -H "x-amz-meta-mode: 33188"
xput "$work/empty" "$p/t/sub/deep/c"
$S3 mkdir "$p/t/sub/" >/dev/null
xput "$work/small" "$p/tx"		# beside the tree, not in it
out=$($S3 rename-dir "$p/t/" "$p/t2/" 2>&1); rc=$?
check_eq "fsops rename-dir: every key moved" "$rc $out" "0 5"
check_eq "fsops rename-dir: the new tree" "$(keys_under "$p/t2/" | tr '\n' ' ')" \
	"$p/t2/ $p/t2/a $p/t2/sub/ $p/t2/sub/b $p/t2/sub/deep/c "
check_eq "fsops rename-dir: the old tree is gone" "$(keys_under "$p/t/")" ""
check_eq "fsops rename-dir: a key beside the tree is not touched" "$(status_of "$p/tx")" 200
xget "$p/t2/sub/b" "$work/got"
check "fsops rename-dir: nested bytes moved" cmp "$work/other" "$work/got"
check_eq "fsops rename-dir: nested metadata kept" "$(header_of "$p/t2/sub/b" x-amz-meta-mode)" 33188
check_eq "fsops rename-dir: the marker's metadata kept" "$(header_of "$p/t2/" x-amz-meta-mode)" 16832
$S3 mkdir "$p/t3/" >/dev/null
out=$($S3 rename-dir --noreplace "$p/t2/" "$p/t3/" 2>&1); rc=$?
check_match "fsops rename-dir noreplace: an existing target is EEXIST" "$rc $out" "^1 .*File exists"
check_eq "fsops rename-dir noreplace: the source tree stays" "$(keys_under "$p/t2/" | wc -l)" 5
out=$($S3 rename-dir "$p/t2/" "$p/t2/in/" 2>&1); rc=$?
check_match "fsops rename-dir: into itself is EINVAL" "$rc $out" "^1 .*Invalid argument"
out=$($S3 rename-dir "$p/nothing/" "$p/t4/" 2>&1); rc=$?
check_match "fsops rename-dir: an empty source is ENOENT" "$rc $out" "^1 .*No such file"
# sent again (SENDS > 0) after a helper that moved every key died
$S3 rename-dir "$p/t2/" "$p/t5/" >/dev/null
out=$($S3 rename-dir --resent "$p/t2/" "$p/t5/" 2>&1); rc=$?
check_eq "fsops rename-dir resent, all moved before: success" "$rc $out" "0 0"
out=$($S3 rename-dir --resent --noreplace "$p/t2/" "$p/t5/" 2>&1); rc=$?
check_eq "fsops rename-dir resent, noreplace, all moved before: success" "$rc $out" "0 0"
out=$($S3 rename-dir --resent "$p/nothing/" "$p/t4/" 2>&1); rc=$?
check_match "fsops rename-dir resent: nothing under either name is ENOENT" "$rc $out" "^1 .*No such file"
out=$($S3 rename-dir --resent --noreplace "$p/t5/" "$p/t3/" 2>&1); rc=$?
check_match "fsops rename-dir resent, noreplace, the source still there: EEXIST" "$rc $out" "^1 .*File exists"
$S3 rename-dir "$p/t5/" "$p/t2/" >/dev/null

# --- symlink ---
out=$($S3 symlink --mode 0120777 --uid 0 --gid 0 --mtime-ns 1700000000000000007 \
	"$p/link" "../some where/target" 2>&1); rc=$?
check_match "fsops symlink: made" "$rc $out" "^0 [0-9a-f]{32}$"
check_eq "fsops symlink: the body is the target" "$(xcurl -f "$(url "$p/link")")" "../some where/target"
check_eq "fsops symlink: x-amz-meta-mode is S_IFLNK|0777" "$(header_of "$p/link" x-amz-meta-mode)" 41471
check_eq "fsops symlink: mtime" "$(header_of "$p/link" x-amz-meta-mtime)" 1700000000.000000007
out=$($S3 symlink --mode 0120777 "$p/link" "elsewhere" 2>&1); rc=$?
check_match "fsops symlink: an existing name is EEXIST (If-None-Match)" "$rc $out" "^1 .*412.*File exists"
check_eq "fsops symlink: EEXIST left the link alone" "$(xcurl -f "$(url "$p/link")")" "../some where/target"
out=$($S3 symlink --mode 0120777 --uid 0 --gid 0 --mtime-ns 1700000000000000007 \
	"$p/link" "../some where/target" 2>&1); rc=$?
check_match "fsops symlink resent (same target, same mtime): success" "$rc $out" "^0 [0-9a-f]{32}$"
out=$($S3 symlink --mode 0120777 --uid 0 --gid 0 --mtime-ns 1700000000000000008 \
	"$p/link" "../some where/target" 2>&1); rc=$?
check_match "fsops symlink: the same target with another mtime is EEXIST" "$rc $out" "^1 .*File exists"

# --- delete ---
out=$($S3 delete "$p/tx" 2>&1); rc=$?
check_eq "fsops delete: succeeds" "$rc $out" "0 "
check_eq "fsops delete: the object is gone" "$(status_of "$p/tx")" 404
out=$($S3 delete "$p/tx" 2>&1); rc=$?
check_eq "fsops delete: a missing key is success" "$rc $out" "0 "

# --- commit as the kernel sends it ---
out=$($S3 commit-stage --size 5000 --mode 0100640 --uid 7 --gid 8 --mtime-ns 1700000000000000000 \
	--atime-ns 1700000000000000001 --ctime-ns 1700000000000000002 "$p/zeros" 2>&1); rc=$?
check_match "fsops commit: without a staging file" "$rc $out" "^0 committed	[0-9a-f]{32}	$p/zeros$"
head -c 5000 /dev/zero >"$work/zeros"
xget "$p/zeros" "$work/got"
check "fsops commit: no staging file reads as zeros" cmp "$work/zeros" "$work/got"
check_eq "fsops commit: metadata" "$(header_of "$p/zeros" x-amz-meta-mode) $(header_of "$p/zeros" x-amz-meta-uid) $(header_of "$p/zeros" x-amz-meta-gid) $(header_of "$p/zeros" x-amz-meta-mtime) $(header_of "$p/zeros" x-amz-meta-atime) $(header_of "$p/zeros" x-amz-meta-ctime)" \
	"33184 7 8 1700000000 1700000000.000000001 1700000000.000000002"
# a sparse staging file over a base: only the extents are ours
xput "$work/small" "$p/c1"
base=$(header_of "$p/c1" etag | tr -d '"')
truncate -s 1000 "$work/stage"
head -c 100 /dev/urandom | dd of="$work/stage" bs=1 seek=200 conv=notrunc status=none
cp "$work/small" "$work/want"
dd if="$work/stage" of="$work/want" bs=1 skip=200 seek=200 count=100 conv=notrunc status=none
out=$($S3 commit-stage --stage "$work/stage" --base-etag "$base" --base-size 1000 \
	--dirty 200:100 "$p/c1" 2>&1); rc=$?
check_match "fsops commit: a sparse update" "$rc $out" "^0 committed	[0-9a-f]{32}	$p/c1$"
xget "$p/c1" "$work/got"
check "fsops commit: the extent over the base's bytes" cmp "$work/want" "$work/got"
out=$($S3 commit-stage --stage "$work/stage" --base-etag "$base" --base-size 1000 \
	--dirty 200:100 "$p/c1" 2>&1); rc=$?
check_match "fsops commit: a sparse file whose base was replaced is ESTALE" "$rc $out" "^1 .*Stale file handle"
printf 'new' >"$work/new"
out=$($S3 commit-stage --stage "$work/new" "$p/c1" 2>&1); rc=$?
check_match "fsops commit: a new file whose key exists keeps both" "$rc $out" \
	"^0 conflict	[0-9a-f]{32}	$p/c1\\.s3f-conflict-"
out=$($S3 commit-stage --fail-on-conflict --stage "$work/new" "$p/c1" 2>&1); rc=$?
check_match "fsops commit: ... or is EEXIST with fail-on-conflict" "$rc $out" "^1 .*File exists"

# a COMMIT resent after a helper crash: the first attempt's object is its own
xput "$work/small" "$p/c2"
base=$(header_of "$p/c2" etag | tr -d '"')
out=$($S3 commit-stage --stage "$work/new" --base-etag "$base" --base-size 1000 \
	--dirty 0:3 --commit-id 77 "$p/c2" 2>&1); rc=$?
check_match "fsops commit: tagged with its commit id" "$rc $(header_of "$p/c2" x-amz-meta-s3f-commit)" \
	"^0 000000000000004d"
first=$(printf '%s' "$out" | cut -f2)
out=$($S3 commit-stage --stage "$work/new" --base-etag "$base" --base-size 1000 \
	--dirty 0:3 --commit-id 77 "$p/c2" 2>&1); rc=$?
check_eq "fsops commit: a retry of the same commit finds its object, no conflict" \
	"$rc $out" "0 committed	$first	$p/c2"
out=$($S3 commit-stage --stage "$work/new" --base-etag "$base" --base-size 1000 \
	--dirty 0:3 --commit-id 78 "$p/c2" 2>&1); rc=$?
check_match "fsops commit: another commit from the same base is a conflict" "$rc $out" \
	"^0 conflict	[0-9a-f]{32}	$p/c2\\.s3f-conflict-"

# --- clean up this run's keys ---
mapfile -t left < <(keys_under "$p/")
[ ${#left[@]} -gt 0 ] && $S3 rm "${left[@]}" >/dev/null 2>&1
check_eq "fsops cleanup: prefix empty" "$(keys_under "$p/" | wc -l)" 0

finish
