#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The helper's S3 engine (through `s3fctl s3`) against a real S3 server,
# Ceph's RADOS Gateway, which verifies every signature.  curl with its
# own SigV4 implementation is the independent client where it matters.
#
# Needs S3F_ENDPOINT, S3F_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_REGION (scripts/rgw start writes them to an env file).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

S3="$top/helper/s3fctl s3"
work=$(mktemp -d /tmp/s3f-engine.XXXXXX)
proxy_pid=
cleanup() {
	[ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

run_id=$(date +%s)-$$
p="engine-$run_id"	# every key of this run lives under this prefix

# curl as the independent client (its own SigV4 code)
xcurl() {
	curl -sS --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
		--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}

head -c 1000 /dev/urandom >"$work/small"
head -c $((12 * 1024 * 1024 + 12345)) /dev/urandom >"$work/big"

# --- basic round trip, checked by an independent client ---
etag=$($S3 put "$work/small" "$p/small" 2>"$work/err")
check_eq "engine put small: ETag is the MD5" "$etag" "$(md5sum <"$work/small" | cut -d' ' -f1)"
xcurl -o "$work/small.curl" "$S3F_ENDPOINT/$S3F_BUCKET/$p/small"
check "engine put small: curl reads the same bytes" cmp "$work/small" "$work/small.curl"
$S3 get "$p/small" "$work/small.get"
check "engine get small: same bytes" cmp "$work/small" "$work/small.get"
xcurl -T "$work/big" "$S3F_ENDPOINT/$S3F_BUCKET/$p/by-curl" >/dev/null
$S3 get "$p/by-curl" "$work/by-curl.get"
check "engine get of an object curl wrote" cmp "$work/big" "$work/by-curl.get"

out=$($S3 head "$p/small")
check_match "engine head: size" "$out" "size: 1000 "
check_match "engine head: etag" "$out" "etag: $etag"

# --- ranges ---
$S3 get --range 100:50 "$p/small" "$work/range"
check "engine ranged get: bytes 100-149" cmp "$work/range" <(tail -c +101 "$work/small" | head -c 50)
$S3 get --range 990:100 "$p/small" "$work/range"
check_eq "engine ranged get: clipped at the end" "$(stat -c %s "$work/range")" 10
$S3 get --range 5000:10 "$p/small" "$work/range"
check_eq "engine ranged get: past the end reads nothing" "$(stat -c %s "$work/range")" 0

# --- metadata (s3fs-fuse compatible names) ---
$S3 put --meta mode=33188 --meta uid=1000 --meta gid=100 --meta mtime=1700000000 \
	"$work/small" "$p/meta" >/dev/null
out=$($S3 head "$p/meta")
check_match "engine metadata: mode stored" "$out" "meta-mode: 33188"
check_match "engine metadata: mtime stored" "$out" "meta-mtime: 1700000000"
out=$(xcurl -I "$S3F_ENDPOINT/$S3F_BUCKET/$p/meta" | tr 'A-Z' 'a-z')
check_match "engine metadata: curl sees x-amz-meta-uid" "$out" "x-amz-meta-uid: 1000"

# --- keys that need encoding (and must never be normalised) ---
keys=("$p/sp ace" "$p/plus+sign" "$p/pct%41" "$p/tilde~x" "$p/unicodé ✓ 日本"
      "$p/q?mark" "$p/hash#tag" "$p/dbl//slash" "$p/dot/../up" "$p/eq=amp&x"
      "$p/semi;colon:" "$p/star*(paren)'quote" "$p/ends/with/dot." "$p/x/./y")
for k in "${keys[@]}"; do
	printf '%s' "$k" >"$work/keyval"
	if $S3 put "$work/keyval" "$k" >/dev/null 2>"$work/err" &&
	   $S3 get "$k" "$work/keyget" 2>>"$work/err" && cmp -s "$work/keyval" "$work/keyget"; then
		pass "engine key round trip: '$k'"
	else
		fail "engine key round trip: '$k'" "$(head -c 300 "$work/err")"
	fi
done
listing=$($S3 ls -r "$p/")
for k in "${keys[@]}"; do
	if printf '%s\n' "$listing" | cut -f4- | grep -qxF -- "$k"; then
		pass "engine list shows key '$k' exactly"
	else
		fail "engine list shows key '$k' exactly" "not in listing"
	fi
done

# prefixes holding characters s3rver mis-signs (LOOKUP lists "key/")
for k in "$p/star*(paren)'quote" "$p/eq=amp&x"; do
	check_eq "engine list with prefix '$k'" "$($S3 ls -r "$k" 2>&1 | cut -f4)" "$k"
done

# --- listing: delimiter and continuation ---
for i in $(seq -w 1 25); do
	printf '%s' "$i" >"$work/n"
	$S3 put "$work/n" "$p/many/k$i" >/dev/null
done
$S3 put "$work/small" "$p/many/sub/deep" >/dev/null
out=$($S3 ls --max-keys 7 "$p/many/")
check_eq "engine list: all pages (25 keys in pages of 7)" "$(printf '%s\n' "$out" | grep -c "	$p/many/k")" 25
check_match "engine list: common prefix for a subdirectory" "$out" "PRE	-	-	$p/many/sub/( |$)"
check_no_match "engine list: delimiter hides deeper keys" "$out" "$p/many/sub/deep"
out=$($S3 ls -r --max-keys 10 "$p/many/")
check_eq "engine list recursive: 26 keys" "$(printf '%s\n' "$out" | grep -c "	$p/many/")" 26

# --- multipart upload with parallel parts ---
etag=$($S3 put --part-size 5M --jobs 3 "$work/big" "$p/big")
check_match "engine multipart: ETag of a 3-part upload" "$etag" "-3$"
$S3 get "$p/big" "$work/big.get"
check "engine multipart: same bytes back" cmp "$work/big" "$work/big.get"
xcurl -o "$work/big.curl" "$S3F_ENDPOINT/$S3F_BUCKET/$p/big"
check "engine multipart: curl reads the same bytes" cmp "$work/big" "$work/big.curl"

# --- copy: CopyObject and UploadPartCopy ---
$S3 cp "$p/small" "$p/small-copy" >/dev/null
$S3 get "$p/small-copy" "$work/copy"
check "engine copy: CopyObject" cmp "$work/small" "$work/copy"
etag=$($S3 cp --part-size 5M "$p/big" "$p/big-copy")
check_match "engine copy: UploadPartCopy in 3 parts" "$etag" "-3$"
$S3 get "$p/big-copy" "$work/copy"
check "engine copy: UploadPartCopy bytes" cmp "$work/big" "$work/copy"
$S3 cp --meta mode=16877 "$p/small" "$p/meta-copy" >/dev/null
check_match "engine copy: metadata replaced" "$($S3 head "$p/meta-copy")" "meta-mode: 16877"

# --- abort ---
id=$($S3 mpu-create "$p/aborted")
check "engine multipart: abort" $S3 mpu-abort "$p/aborted" "$id"
out=$($S3 mpu-abort "$p/aborted" "$id" 2>&1)
check_match "engine multipart: second abort says NoSuchUpload" "$out" "404 NoSuchUpload"

# --- conditional writes ---
printf 'version 1' >"$work/v1"
printf 'version 2' >"$work/v2"
etag1=$($S3 put --if-none-match "$work/v1" "$p/cond")
check_match "engine conditional: If-None-Match creates a new key" "$etag1" "^[0-9a-f]{32}$"
out=$($S3 put --if-none-match "$work/v2" "$p/cond" 2>&1); rc=$?
check_match "engine conditional: If-None-Match on an existing key fails 412" "$rc $out" "^1 .*412 PreconditionFailed.*File exists"
out=$($S3 put --if-match 0123456789abcdef0123456789abcdef "$work/v2" "$p/cond" 2>&1); rc=$?
check_match "engine conditional: If-Match with a stale ETag fails 412" "$rc $out" "^1 .*412 PreconditionFailed.*Stale file handle"
check_eq "engine conditional: failed PUTs left the object alone" "$(xcurl "$S3F_ENDPOINT/$S3F_BUCKET/$p/cond")" "version 1"
out=$($S3 put --if-match "$etag1" "$work/v2" "$p/cond" 2>&1); rc=$?
check_match "engine conditional: If-Match with the current ETag succeeds" "$rc $out" "^0 [0-9a-f]{32}( |$)"
check_eq "engine conditional: object replaced" "$(xcurl "$S3F_ENDPOINT/$S3F_BUCKET/$p/cond")" "version 2"

# --- addressing styles and https ---
port=${S3F_ENDPOINT##*:}
printf 'virtual' >"$work/virt"
out=$($S3 --addressing virtual --endpoint "http://localhost:$port" put "$work/virt" "$p/virt key" 2>&1); rc=$?
check_match "engine virtual-hosted addressing: put" "$rc $out" "^0 [0-9a-f]{32}"
check_eq "engine virtual-hosted addressing: path-style reads it" "$($S3 get "$p/virt key" - 2>&1)" "virtual"
check_match "engine virtual-hosted addressing: list" \
	"$($S3 --addressing virtual --endpoint "http://localhost:$port" ls -r "$p/virt" 2>&1)" "	$p/virt key( |$)"
if [ -n "${S3F_HTTPS_ENDPOINT:-}" ]; then
	out=$($S3 --endpoint "$S3F_HTTPS_ENDPOINT" --ca-file "$S3F_CA_FILE" get "$p/small" "$work/tls" 2>&1); rc=$?
	check_eq "engine https: get with the server's CA" "$rc" 0
	check "engine https: same bytes" cmp "$work/small" "$work/tls"
	out=$($S3 --endpoint "$S3F_HTTPS_ENDPOINT" --ca-file "$S3F_CA_FILE" put --part-size 5M "$work/big" "$p/tls-big" 2>&1); rc=$?
	check_match "engine https: multipart put" "$rc $out" "^0 .*-3"
	out=$($S3 --endpoint "$S3F_HTTPS_ENDPOINT" head "$p/small" 2>&1); rc=$?
	check_match "engine https: an untrusted certificate is refused, not retried" \
		"$rc $out" "^1 .*CertificateRejected"
else
	fail "engine https" "the RGW env file has no S3F_HTTPS_ENDPOINT"
fi

# --- delete ---
$S3 rm "$p/small-copy"
out=$($S3 head "$p/small-copy" 2>&1); rc=$?
check_match "engine delete: object gone (404)" "$rc $out" "^1 .*404"

# --- errors ---
out=$(AWS_SECRET_ACCESS_KEY=wrong-secret $S3 head "$p/small" 2>&1); rc=$?
check_match "engine wrong secret: 403 with a clear message" "$rc $out" "^1 .*403 .*Permission denied"
out=$(AWS_SECRET_ACCESS_KEY=wrong-secret $S3 get "$p/small" "$work/x" 2>&1); rc=$?
check_match "engine wrong secret: GET names SignatureDoesNotMatch" "$rc $out" "^1 .*403 SignatureDoesNotMatch"
out=$(AWS_SECRET_ACCESS_KEY=wrong-secret $S3 --log-level debug get "$p/small" "$work/x" 2>&1)
check_no_match "engine wrong secret: 4xx is never retried" "$out" "retrying"
check_no_match "engine logs never hold the secret" "$out" "wrong-secret"
out=$($S3 get "$p/no-such-key" "$work/x" 2>&1); rc=$?
check_match "engine missing key: 404 NoSuchKey" "$rc $out" "^1 .*404 NoSuchKey"
out=$($S3 --bucket no-such-bucket-$$ ls 2>&1); rc=$?
check_match "engine missing bucket: 404 NoSuchBucket" "$rc $out" "^1 .*404 NoSuchBucket"
out=$($S3 --endpoint http://127.0.0.1:1 --retries 1 head x 2>&1); rc=$?
check_match "engine unreachable endpoint: connection refused" "$rc $out" "^1 .*ConnectionRefused"

# --- retries through a proxy that resets connections, then says SlowDown ---
start_proxy() {
	rm -f "$work/proxy.out"
	python3 "$top/tests/host/flaky-proxy.py" --target "$port" --lifetime 120 "$@" >"$work/proxy.out" &
	proxy_pid=$!
	for _ in $(seq 50); do
		grep -q '^port ' "$work/proxy.out" 2>/dev/null && break
		sleep 0.1
	done
	proxy_port=$(awk '/^port /{print $2}' "$work/proxy.out")
}
stop_proxy() { kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null; proxy_pid=; }

start_proxy --reset 2
out=$($S3 --log-level debug --endpoint "http://127.0.0.1:$proxy_port" get "$p/small" "$work/retry" 2>&1); rc=$?
check_eq "engine retry: succeeds after 2 resets" "$rc" 0
check "engine retry: bytes intact after resets" cmp "$work/small" "$work/retry"
check_eq "engine retry: two retries logged" "$(printf '%s\n' "$out" | grep -c retrying)" 2
stop_proxy

start_proxy --slowdown 2
out=$($S3 --log-level debug --endpoint "http://127.0.0.1:$proxy_port" get "$p/small" "$work/retry" 2>&1); rc=$?
check_eq "engine retry: succeeds after 2 SlowDown answers" "$rc" 0
check_match "engine retry: SlowDown logged" "$out" "503 SlowDown, retrying"
stop_proxy

start_proxy --reset 5
out=$($S3 --retries 2 --endpoint "http://127.0.0.1:$proxy_port" get "$p/small" "$work/retry" 2>&1); rc=$?
check_match "engine retry: gives up after its retries, with a clear error" "$rc $out" "^1 .*(ConnectionReset|EmptyReply|SendError).*after 3 attempts"
stop_proxy

# --- a response cut in the middle of its headers is no response ---
# (curl reports success for a HEAD whose connection closes there: s3fd
# took half a header block for metadata; tests/host/fault-proxy.py cuts
# the first answer)
$S3 put --meta mode=33188 --meta uid=1234 --meta gid=5678 "$work/small" "$p/cut" >/dev/null
rm -f "$work/proxy.out"
python3 "$top/tests/host/fault-proxy.py" --target "$port" --lifetime 60 --kinds reset-response \
	--first 1 >"$work/proxy.out" &
proxy_pid=$!
for _ in $(seq 50); do grep -q '^port ' "$work/proxy.out" 2>/dev/null && break; sleep 0.1; done
proxy_port=$(awk '/^port /{print $2}' "$work/proxy.out")
out=$($S3 --log-level debug --endpoint "http://127.0.0.1:$proxy_port" head "$p/cut" 2>&1); rc=$?
check_match "engine: a HEAD cut in its headers is retried, not taken as whole" "$rc $out" "^0 .*retrying"
check_match "... and the metadata is all there" "$out" "uid: 1234"
check_match "... all of it" "$out" "gid: 5678"
stop_proxy

# --- clean up this run's keys ---
$S3 ls -r "$p/" | cut -f4- >"$work/keys"
mapfile -t left <"$work/keys"
[ ${#left[@]} -gt 0 ] && $S3 rm "${left[@]}" >/dev/null 2>&1
check_eq "engine cleanup: prefix empty" "$($S3 ls -r "$p/" | wc -l)" 0

finish
