# SPDX-License-Identifier: GPL-2.0
# Shell test helpers: every check prints "PASS: name" or "FAIL: name: why",
# which tests/run counts.  Source this file; call `finish` at the end.

_failures=0

pass() { printf 'PASS: %s\n' "$1"; }
fail() { printf 'FAIL: %s: %s\n' "$1" "$2"; _failures=$((_failures + 1)); }

# check NAME COMMAND...: passes when COMMAND succeeds.
check() {
	local name=$1
	shift
	if "$@" >/tmp/s3f-check.$$ 2>&1; then
		pass "$name"
	else
		fail "$name" "\`$*\` failed: $(head -c 400 /tmp/s3f-check.$$ | tr '\n' ' ')"
	fi
	rm -f /tmp/s3f-check.$$
}

# check_eq NAME GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "got '$(printf %s "$2" | head -c 300)', want '$(printf %s "$3" | head -c 300)'"
	fi
}

# check_match NAME TEXT REGEX (grep -E, over TEXT with newlines as spaces)
check_match() {
	if printf '%s' "$2" | tr '\n' ' ' | grep -Eq -- "$3"; then
		pass "$1"
	else
		fail "$1" "'$(printf %s "$2" | head -c 300 | tr '\n' ' ')' does not match /$3/"
	fi
}

# check_no_match NAME TEXT REGEX
check_no_match() {
	if printf '%s' "$2" | tr '\n' ' ' | grep -Eq -- "$3"; then
		fail "$1" "'$(printf %s "$2" | head -c 300 | tr '\n' ' ')' matches /$3/"
	else
		pass "$1"
	fi
}

# s3_get_keys KEYS DIR: GET the object of each key in the file KEYS (one a
# line) into DIR/1, DIR/2, ... in one curl process (a process start costs
# seconds on the debug kernel), signed as s3fd signs with the harness'
# credentials; prints each one's HTTP status, in order.
s3_get_keys() {
	local key i=0
	mkdir -p "$2"
	while IFS= read -r key; do
		i=$((i + 1))
		printf 'url = "%s/%s/%s"\noutput = "%s/%d"\n' "$S3F_ENDPOINT" "$S3F_BUCKET" \
			"$(urlenc "$key")" "$2" "$i"
	done <"$1" >"$2/curl.cfg"
	# one curl, no retries: a checker, not s3f, so not through the faults
	faults_pause
	curl -sS --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -w '%{http_code}\n' -K "$2/curl.cfg"
	faults_resume
}

# faults_pause, faults_resume: under scripts/guest-run --faults, stop and
# start the proxy's faults (for checkers that read S3 directly).
faults_pause() {
	[ -z "${S3F_GUEST_FAULTS:-}" ] ||
		curl -s -m 30 -o /dev/null http://10.0.2.100/__fault-proxy/off
}
faults_resume() {
	[ -z "${S3F_GUEST_FAULTS:-}" ] ||
		curl -s -m 30 -o /dev/null http://10.0.2.100/__fault-proxy/on
}

# urlenc KEY: KEY percent-encoded for a URL path
urlenc() {
	local s=$1 out='' c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9._~/-]) out+=$c ;;
		*) printf -v c '%%%02X' "'$c"; out+=$c ;;
		esac
	done
	printf '%s' "$out"
}

finish() {
	[ "$_failures" -eq 0 ]
}
