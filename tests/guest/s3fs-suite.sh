#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# s3fs-fuse's own integration suite (test/integration-test-main.sh, ~100
# test_* functions, 17 of them pjdfstest subsets) against an s3f mount,
# inside the test guest:
#
#   scripts/guest-run -- tests/guest/s3fs-suite.sh    # in a guest
#   tests/guest/s3fs-suite.sh                         # on the host: --build,
#                                                     # then the above
#   tests/guest/s3fs-suite.sh --build                 # on the host: only build
#
# Nothing of s3fs-fuse is kept in this repository: the suite comes from
# ../shared/third-party/s3fs-fuse-test-*.tar.gz and pjdfstest from
# pjdfstest-*.tar.gz.  --build (on the host: the guest's root is read-only)
# unpacks both into ${S3F_CACHE:-/var/cache/s3f}/s3fs-suite/<tarball>/ and
# builds the suite's C++ helpers (junk_data, write_multiblock, ...) and
# pjdfstest there, once.  In the guest, without that cache, the same build
# runs in /tmp (slow under TCG: minutes).
#
# Upstream's integration-test-common.sh starts S3Proxy and s3fs; this script
# does neither.  It mounts the guest's bucket with mount -t s3f at
# /tmp/s3fs-suite.XXX/mnt (so that the tests' ../../junk_data and
# ../../pjdfstest, relative to <mount>/<run dir>, are the built helpers in
# /tmp/s3fs-suite.XXX), takes the test_* functions of integration-test-main.sh
# (everything before its top-level init_suite; add_all_tests and run_suite
# are not used) and test-utils.sh, sets what they read (TEST_BUCKET_1,
# TEST_BUCKET_MOUNT_POINT_1, S3_URL, S3_ENDPOINT (the region), the
# credentials, TEST_TEXT_FILE, TEST_DIR, BIG_FILE, ... as run_suite would)
# and runs each test as run_suite does, with errexit, in its own bash under
# timeout(1), in its own run directory at the top of the bucket (upstream
# shares one; a failed test's leftovers would then break test_list and the
# like), removed afterwards.  The suite's s3_head/s3_cp use curl --aws-sigv4;
# curl 7.88 sends no x-amz-content-sha256, which s3rver requires, so a curl
# wrapper adds "UNSIGNED-PAYLOAD".  s3fs_args (upstream: the s3fs process'
# command line) prints the s3f mount's line of /proc/mounts, so the
# s3fs-flag conditions inside tests (hard_remove, nocopyapi, use_cache) are
# false.
#
# Output: "PASS: s3fs-suite: NAME" or "FAIL: s3fs-suite: NAME: why" per test
# (why: the command errexit stopped at, from an ERR trap, and the test's
# last output lines; for pjdfstest the failed subtests), the test's output
# and new kernel messages indented below a FAIL, "# skip NAME: reason" for
# each test not run, and "# s3fs-suite: ..." totals with the slowest tests.
#
# Environment:
#   S3F_S3FS_TESTS          run only these test_* names (space separated)
#   S3F_S3FS_PJD=0          leave out the 17 test_pjdfstest_* (make check:
#                           tests/guest/pjdfstest.sh runs pjdfstest there;
#                           make check-long runs them here too)
#   S3F_S3FS_TIMEOUT        seconds per test (600)
#   S3F_S3FS_MOUNT_OPTIONS  appended to $S3F_MOUNT_OPTIONS for the mount
#   S3F_S3FS_VERBOSE=1      show every test's output, not only failures'
#   S3F_S3FS_TRACE=1        set -x in the tests, with times (shown as output)
#   S3F_THIRD_PARTY         where the tarballs are (<checkout>/../shared/third-party)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd -P)
. "$top/tests/lib.sh"
self=$top/tests/guest/s3fs-suite.sh

# ---- tests not run, and why ------------------------------------------------
declare -A SKIP=(
	[test_cache_file_stat]="s3fs use_cache: reads s3fs's own cache directory (CACHE_DIR/.BUCKET.stat files)"
	[test_zero_cache_file_stat]="s3fs use_cache: reads s3fs's own cache stat file of an empty file"
	[test_ensurespace_evict_cache_file]="s3fs use_cache + fake_diskfree + ensure_diskfree: eviction of s3fs cache files"
	[test_diskfull_fallback_upload]="s3fs use_cache + fake_diskfree: s3fs's fallback to uploads without its cache"
	[test_update_parent_directory_time_sub]="not a test: helper called by test_update_parent_directory_time"
	[test_pjdfstest_link]="hard links: pjdfstest's own misc.sh ('supported link') skips link/*.t on FUSE.S3FS, so upstream never runs them; s3f has none either (link: EPERM, Documentation/semantics.md), and the 18 files take over 10 minutes under TCG"
	[test_hardlink]="wants link(2) to fail with ENOTSUP, s3fs-fuse's errno; s3f fails it with EPERM, link(2)'s errno for a file system without hard links (Documentation/semantics.md; tests/guest/write.sh checks it)"
	[test_file_names_longer_than_posix]="a 256-byte file name: s3f keeps Linux's NAME_MAX (255, statfs f_namelen; ENAMETOOLONG) where FUSE allows 1024; longer key components are skipped in listings (Documentation/semantics.md, Keys and names)"
	[test_posix_acl]="POSIX ACLs: s3f has none (system.posix_acl_* refused, mode bits only: Documentation/semantics.md)"
)

# s3fs-fuse shows a directory without a marker object (only keys under
# it) with mode 0750, and test_external_directory_creation checks that;
# s3f's default is 0755 (dir_mode=, for shared cluster mounts).
MOUNT_OPTIONS=dir_mode=0750

# pjdfstest files (in the test_pjdfstest_* tests) that fail on s3f for a
# documented reason; a test whose failed subtests are all in these passes,
# with a "# known" line.  Matched against "DIR/NN.t".
KNOWN_PJD_FILES=" chmod/03.t chown/03.t ftruncate/03.t mkdir/03.t mkfifo/03.t mknod/03.t open/03.t rename/02.t rmdir/03.t symlink/03.t truncate/03.t unlink/03.t "
KNOWN_PJD_REASON="S3 keys are at most 1024 bytes: a path of PATH_MAX-1 (4095) bytes gets ENAMETOOLONG (Documentation/semantics.md, Keys and names)"

# ---- build (host: into the cache; guest without a cache: into /tmp) -----------

third=${S3F_THIRD_PARTY:-$top/../shared/third-party}
latest() { # latest GLOB: the last file matching it, or nothing
	local f=("$third"/$1)
	[ -e "${f[-1]}" ] && realpath "${f[-1]}"
}
s3fs_tar=$(latest 's3fs-fuse-test-*.tar.gz')
pjd_tar=$(latest 'pjdfstest-*.tar.gz')
cache=${S3F_CACHE:-/var/cache/s3f}/s3fs-suite/$(basename "${s3fs_tar:-none}" .tar.gz)
stamp() { stat -c '%n %s %Y' "$s3fs_tar" "$pjd_tar" | tr '\n' ' '; }
built() { [ -f "$1/.built" ] && [ "$(cat "$1/.built")" = "$(stamp)" ]; }
HELPERS="junk_data write_multiblock mknod_test truncate_read_file path_truncate cr_filename unlink_open_file"

# build DIR: the suite in DIR/test, the helpers and pjdfstest (its tests/
# and binary) in DIR/bin; log in DIR.log
build() {
	local dir=$1 tmp=$1.tmp src f
	rm -rf "$tmp"
	mkdir -p "$tmp/bin" "$tmp/src" || return 1
	tar xzf "$s3fs_tar" -C "$tmp/src" && tar xzf "$pjd_tar" -C "$tmp/src" || return 1
	src=$(dirname "$(find "$tmp/src" -name integration-test-main.sh | head -n 1)")
	[ -f "$src/test-utils.sh" ] || { echo "no test-utils.sh in $s3fs_tar"; return 1; }
	mv "$src" "$tmp/test"
	for f in $HELPERS; do
		nice -n 10 g++ -O2 -std=c++17 -o "$tmp/bin/$f" "$tmp/test/$f.cc" || return 1
	done
	src=$(dirname "$(find "$tmp/src" -name pjdfstest.c | head -n 1)")
	(cd "$src" && nice -n 10 autoreconf -ifs && nice -n 10 ./configure LDFLAGS=-static &&
		nice -n 10 make pjdfstest) || return 1
	mkdir "$tmp/bin/pjdfstest"
	mv "$src/pjdfstest" "$src/tests" "$tmp/bin/pjdfstest/"
	rm -rf "$tmp/src" "$dir"
	stamp >"$tmp/.built"
	mv "$tmp" "$dir"
}
# build_logged DIR: build, output to DIR.log, shown on failure
build_logged() {
	mkdir -p "$(dirname "$1")"
	if ! build "$1" >"$1.log" 2>&1; then
		tail -n 30 "$1.log" >&2
		return 1
	fi
}

if [ -z "${S3F_GUEST:-}" ]; then
	# ---- host ----
	[ -n "$s3fs_tar" ] && [ -n "$pjd_tar" ] ||
		{ echo "s3fs-suite.sh: s3fs-fuse-test-*.tar.gz or pjdfstest-*.tar.gz missing in $third" >&2; exit 1; }
	for c in g++ autoreconf make tar; do
		command -v $c >/dev/null ||
			{ echo "s3fs-suite.sh: $c missing (scripts/install-deps, tests/fstests/build's packages)" >&2; exit 1; }
	done
	mkdir -p "$(dirname "$cache")"
	exec 9>"$cache.lock"
	flock 9
	if ! built "$cache"; then
		echo "s3fs-suite.sh: building into $cache" >&2
		build_logged "$cache" || { echo "s3fs-suite.sh: build failed ($cache.log)" >&2; exit 1; }
	fi
	exec 9>&-
	if [ "${1:-}" = --build ]; then
		echo "$cache"
		exit 0
	fi
	S3F_GUEST_TIMEOUT=${S3F_GUEST_TIMEOUT:-5400} exec "$top/scripts/guest-run" -- "$self"
fi

# ---- guest ------------------------------------------------------------------

T0=$SECONDS
TIMEOUT=${S3F_S3FS_TIMEOUT:-600}
work=$(mktemp -d /tmp/s3fs-suite.XXXXXX)
MNT=$work/mnt
cleanup() {
	cd /
	umount "$MNT" 2>/dev/null
}
trap cleanup EXIT

if [ -z "$s3fs_tar" ] || [ -z "$pjd_tar" ]; then
	fail "s3fs-suite: setup" "s3fs-fuse-test-*.tar.gz or pjdfstest-*.tar.gz missing in $third"
	exit 1
fi
if built "$cache"; then
	suite=$cache
else
	echo "# s3fs-suite: no build in $cache (tests/guest/s3fs-suite.sh --build on the host); building in the guest"
	t=$SECONDS
	if ! build_logged "$work/build"; then
		fail "s3fs-suite: setup" "building the suite's helpers and pjdfstest failed"
		exit 1
	fi
	echo "# s3fs-suite: built in $((SECONDS - t)) s"
	suite=$work/build
fi
ln -s "$suite"/bin/* "$work/"
mkdir "$MNT" "$work/cache"
opts=$S3F_MOUNT_OPTIONS,$MOUNT_OPTIONS${S3F_S3FS_MOUNT_OPTIONS:+,$S3F_S3FS_MOUNT_OPTIONS}
if ! out=$(mount -t s3f -o "$opts" "$S3F_BUCKET" "$MNT" 2>&1); then
	fail "s3fs-suite: mount" "mount -t s3f -o $opts $S3F_BUCKET: $out"
	exit 1
fi
echo "# s3fs-suite: $(grep " $MNT " /proc/mounts)"

# The test functions: integration-test-main.sh up to its top-level
# init_suite (the calls of init_suite, add_all_tests and run_suite are left
# out), its own "source test-utils.sh" made a no-op (the line kept, so that
# the line numbers in the ERR trap's messages are the file's).
sed -n '1,/^init_suite$/p' "$suite/test/integration-test-main.sh" | sed -e '$d' \
	-e 's/^source test-utils.sh$/: sourced by s3fs-suite.sh/' >"$work/functions.sh"

# test-utils.sh, the functions and the settings, sourced once here; each
# test runs in a subshell of this script.
cat >"$work/env.sh" <<EOF
cd $(printf %q "$suite/test")
# its LC_ALL=en_US.UTF-8 is not generated here (bash warns); C.UTF-8 gives
# the same English messages
source ./test-utils.sh 2>/dev/null
export LC_ALL=C.UTF-8
source $(printf %q "$work/functions.sh")
export TEST_BUCKET_1=$(printf %q "$S3F_BUCKET")
export TEST_BUCKET_MOUNT_POINT_1=$(printf %q "$MNT")
export TEST_SCRIPT_DIR=$(printf %q "$suite/test")
export S3_URL=$(printf %q "$S3F_ENDPOINT")
export S3_ENDPOINT=$(printf %q "$AWS_REGION")
export S3PROXY_CACERT_FILE=
export AWS_ACCESS_KEY_ID=$(printf %q "$AWS_ACCESS_KEY_ID")
export AWS_SECRET_ACCESS_KEY=$(printf %q "$AWS_SECRET_ACCESS_KEY")
# small-integration-test.sh's values; only test_clean_up_cache reads them here
export CACHE_DIR=$(printf %q "$work/cache")
export ENSURE_DISKFREE_SIZE=10
export FAKE_FREE_DISK_SIZE=200
# upstream: the s3fs process' arguments; here the mount's options
s3fs_args() { grep " \$TEST_BUCKET_MOUNT_POINT_1 " /proc/mounts; }
# s3rver needs x-amz-content-sha256, which curl 7.88's --aws-sigv4 does not send
curl() {
	case " \$* " in
	*" --aws-sigv4 "*) command curl -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "\$@" ;;
	*) command curl "\$@" ;;
	esac
}
EOF

# ---- which tests ------------------------------------------------------------

mapfile -t ALL < <(grep -oE '^function test_[A-Za-z0-9_]+' "$work/functions.sh" | awk '{ print $2 }')
if [ -n "${S3F_S3FS_TESTS:-}" ]; then
	read -ra WANT <<<"$S3F_S3FS_TESTS"
	for w in "${WANT[@]}"; do
		[[ " ${ALL[*]} " == *" $w "* ]] || fail "s3fs-suite: $w" "no such test in $(basename "$s3fs_tar")"
	done
else
	WANT=("${ALL[@]}")
fi
extra_skip() { # extra_skip NAME: a reason to skip it that depends on this machine
	case $1 in
	test_posix_acl)
		command -v setfacl >/dev/null || echo "no setfacl (the acl package; upstream adds it only when present)" ;;
	esac
}

# ---- run --------------------------------------------------------------------

. "$work/env.sh"
set +o errexit
cd /
set -m

# why_of LOG RC NAME: one line saying why the test failed
why_of() {
	local log=$1 rc=$2 name=$3 err last
	if [ "$rc" -eq 124 ]; then
		printf 'timed out after %s s; last output: %s' "$TIMEOUT" \
			"$(grep -v '^s3fs-suite-err: ' "$log" | tail -n 1 | cut -c1-200)"
		return
	fi
	if [[ $name == test_pjdfstest_* ]]; then
		awk '/\.t \.\./ { f = $1; sub(/.*tests\//, "", f) }
		     /^not ok/ && !/# TODO/ { n++; if (n <= 3) { sub(/^not ok /, ""); gsub(/[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]+/, "<hex>"); s = s (s ? "; " : "") f " #" $0 } }
		     END { printf "%d subtests failed: %s", n, substr(s, 1, 400) }' "$log"
		return
	fi
	# the first ERR is where errexit stopped, unless it is the test's own
	# "return 1" after a message (then the output says more)
	err=$(grep -m1 '^s3fs-suite-err: ' "$log" | sed 's/^s3fs-suite-err: //; /: return [0-9]* (exit [0-9]*)$/d')
	last=$(grep -v -e '^s3fs-suite-err: ' -e "^$name: \"" -e '^[[:space:]]*$' "$log" | tail -n 3 |
		tr '\n' '|' | sed 's/|$//; s/|/ | /g' | cut -c1-300)
	printf '%s%s' "${err:-exit $rc}" "${last:+; output: $last}"
}

# pjd_failed_files LOG: the pjdfstest files (DIR/NN.t) with a failed subtest
pjd_failed_files() {
	awk '/\.t \.\./ { f = $1; sub(/.*tests\//, "", f) }
	     /^not ok/ && !/# TODO/ { print f }' "$1" | sort -u
}

# known_pjd LOG: do all failed subtests of LOG lie in KNOWN_PJD_FILES?
known_pjd() {
	local f files
	files=$(pjd_failed_files "$1")
	[ -n "$files" ] || return 1
	for f in $files; do
		[[ $KNOWN_PJD_FILES == *" $f "* ]] || return 1
	done
}

n=0 npass=0 nfail=0 nskip=0
times=()
for t in "${WANT[@]}"; do
	reason=${SKIP[$t]:-$(extra_skip "$t")}
	if [ -z "$reason" ] && [ "${S3F_S3FS_PJD:-1}" = 0 ] && [[ $t == test_pjdfstest_* ]]; then
		reason="S3F_S3FS_PJD=0: pjdfstest runs in tests/guest/pjdfstest.sh"
	fi
	if [ -n "$reason" ]; then
		echo "# skip $t: $reason"
		nskip=$((nskip + 1))
		continue
	fi
	n=$((n + 1))
	id=$(printf %03d "$n")
	prefix=s3fs-suite-$id
	rundir=$MNT/$prefix
	log=$work/$t.log
	klines=$(dmesg | wc -l)
	start=$SECONDS
	if ! mkdir -p "$rundir"; then
		fail "s3fs-suite: $t" "mkdir $rundir failed"
		nfail=$((nfail + 1))
		continue
	fi
	# run_suite's names for this test
	TEST_TEXT_FILE=test-s3fs-$id.txt
	TEST_DIR=testdir-$id
	ALT_TEST_TEXT_FILE=test-s3fs-ALT-$id.txt
	BIG_FILE=big-file-s3fs-$id.txt
	# run_suite's (set -o errexit; $t $key_prefix), in the background (set -m:
	# its own process group) with a watchdog that kills the group at the timeout
	rm -f "$work/timedout"
	(
		cd "$rundir" || exit 125
		set +u -o errexit -o errtrace -o pipefail
		trap 'echo "s3fs-suite-err: ${FUNCNAME[0]:-main} line $LINENO: $BASH_COMMAND (exit $?)"' ERR
		[ "${S3F_S3FS_TRACE:-0}" != 1 ] || { PS4='+ $EPOCHREALTIME '; set -x; }
		"$t" "$prefix"
	) </dev/null >"$log" 2>&1 &
	pid=$!
	(
		sleep "$TIMEOUT"
		: >"$work/timedout"
		kill -TERM -- "-$pid"
		sleep 10
		kill -KILL -- "-$pid"
	) >/dev/null 2>&1 &
	wd=$!
	wait "$pid" 2>/dev/null # (no "Terminated" job notice after a timeout)
	rc=$?
	kill -- "-$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	[ ! -e "$work/timedout" ] || rc=124
	secs=$((SECONDS - start))
	times+=("$secs $t")
	if [ "$rc" -eq 0 ]; then
		pass "s3fs-suite: $t"
		npass=$((npass + 1))
		[ "${S3F_S3FS_VERBOSE:-0}" != 1 ] || sed 's/^/    /' "$log"
	elif [ "$rc" -ne 124 ] && [[ $t == test_pjdfstest_* ]] && known_pjd "$log"; then
		pass "s3fs-suite: $t"
		npass=$((npass + 1))
		echo "# known: $t: $(pjd_failed_files "$log" | tr '\n' ' ')failed: $KNOWN_PJD_REASON"
	else
		fail "s3fs-suite: $t" "$(why_of "$log" "$rc" "$t")"
		nfail=$((nfail + 1))
		if [[ $t == test_pjdfstest_* ]] && [ "${S3F_S3FS_VERBOSE:-0}" != 1 ]; then
			grep -E '\.t \.\.|^not ok' "$log" | grep -v '# TODO' | head -n 60 | sed 's/^/    /'
		else
			head -n 60 "$log" | sed 's/^/    /'
		fi
		dmesg | tail -n "+$((klines + 1))" | head -n 10 | sed 's/^/    kernel: /'
	fi
	echo "# $t: $secs s"
	cd /
	timeout 300 rm -rf "$rundir" 2>/dev/null || echo "# s3fs-suite: removing $rundir after $t failed"
done

echo "# s3fs-suite: $n run: $npass passed, $nfail failed; $nskip skipped; $((SECONDS - T0)) s in the guest"
echo "# s3fs-suite: slowest: $(printf '%s\n' "${times[@]}" | sort -rn | head -n 8 | awk '{ printf "%s %ss, ", $2, $1 }')"
umount "$MNT" || fail "s3fs-suite: umount" "umount $MNT failed"
finish
