#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# pjdfstest (POSIX system-call conformance: tests/<syscall>/NN.t, TAP
# scripts that run the pjdfstest program once per assertion) on an s3f
# mount, inside the test guest:
#
#   tests/guest/pjdfstest.sh            # on the host: --build, then the line below
#   tests/guest/pjdfstest.sh --build    # on the host: only build; prints the directory
#   scripts/guest-run -- tests/guest/pjdfstest.sh      # in a guest (needs the build)
#
# pjdfstest is built on the host by tests/pjdfstest/build from
# ../shared/third-party/pjdfstest-*.tar.gz into
# ${S3F_CACHE:-/var/cache/s3f}/pjdfstest/ (the guest's root is read-only);
# nothing of it is kept in this repository.
#
# In the guest: mount the bucket at /mnt/s3-pjd, and for each directory of
# pjdfstest's tests/ named by S3F_PJD_DIRS run prove over its test files,
# S3F_PJD_JOBS at a time, each file in a fresh directory of its own on the
# mount (they stat "." and leave files behind when they fail).  Then, per
# directory:
#
#   # pjdfstest DIR: P passed, F failed of N assertions (T s)
#   PASS: pjdfstest DIR        (every failed assertion is in a known file)
#   FAIL: pjdfstest DIR: F assertions failed (files: a.t b.t)
#
# with the failed assertions ("not ok" lines) of the unexpected files
# indented below a FAIL, and "# known: DIR/NN.t: K of N failed: reason" for
# each file in the KNOWN list below that failed (a directory whose only
# failures are there passes).  N counts each file's plan ("1..N");
# assertions a test never printed (it died or timed out) count as failed,
# and a file prove does not pass (a bad plan) counts one failure.  "not ok
# ... # TODO" is pjdfstest's own expected failure on some systems and counts
# as passed, as in TAP.  A known file that passed is noted ("# known file
# passed now: ...") so that the list can shrink.  prove's output and each
# file's TAP and stderr go to $S3F_GUEST_OUT/pjdfstest/, which guest-run
# keeps after a failure.
#
# Environment:
#   S3F_PJD_DIRS     test directories ("all": every one in tests/, every
#                    file); default: the quick subset below (QUICK_DIRS)
#   S3F_PJD_SKIP     test files left out ("DIR/NN.t ...") besides GUEST_SKIP
#                    below; default: the quick subset's (QUICK_SKIP), unless
#                    S3F_PJD_DIRS=all; "none" runs every file, GUEST_SKIP too
#   S3F_PJD_JOBS     test files run side by side (prove -j; 2: the guest's CPUs)
#   S3F_PJD_TIMEOUT  seconds per test file before it counts as hung (1800;
#                    with S3F_PJD_DIRS=all 10800)
#   S3F_PJD_BIN      the built pjdfstest directory (default: what
#                    tests/pjdfstest/build prints, once built)
#   S3F_PJD_MOUNT_OPTIONS  appended to $S3F_MOUNT_OPTIONS for the mount
set -u
top=$(cd "$(dirname "$0")/../.." && pwd -P)
self=$top/tests/guest/pjdfstest.sh

# ---- host: build, then run in a guest ------------------------------------------
if [ -z "${S3F_GUEST:-}" ]; then
	if ! bin=$("$top/tests/pjdfstest/build" --quiet); then
		echo "FAIL: pjdfstest: build: tests/pjdfstest/build failed"
		exit 1
	fi
	if [ "${1:-}" = --build ]; then
		echo "$bin"
		exit 0
	fi
	# the quick subset takes ~15 minutes in the guest; all of it hours
	case "${S3F_PJD_DIRS:-}" in
	all) to=28800 ;;
	*) to=2400 ;;
	esac
	S3F_PJD_BIN=$bin S3F_GUEST_TIMEOUT=${S3F_GUEST_TIMEOUT:-$to} \
		exec "$top/scripts/guest-run" -- "$self"
fi

# ---- guest ---------------------------------------------------------------------
. "$top/tests/lib.sh"

# Test files that fail on s3f for a documented reason: a glob over
# DIR/NN.t, then the reason.  A directory passes when all its failed
# assertions are in files matched here.
KEYLEN="S3 keys are at most 1024 bytes: a path of PATH_MAX-1 (4095) bytes gets ENAMETOOLONG (semantics.md, Keys and names)"
declare -A KNOWN=(
	['link/*']="hard links: s3f returns EPERM for link(2), S3 cannot share one object between two keys (semantics.md, Operations)"
	['rename/00.t']="makes hard links (link(2): EPERM, as link/*) and checks nlink 2; its other renames pass"
	['rename/23.t']="makes hard links (link(2): EPERM, as link/*) to check nlink after a rename over a linked file"
	['unlink/00.t']="makes hard links (link(2): EPERM, as link/*) to check nlink after an unlink; its other unlinks pass"
	['rename/24.t']="a directory's nlink: s3f shows 2 and does not count subdirectories (S3 keeps no link counts: counting means listing; gnulib's fts uses no nlink on an unknown file system); s3fs-fuse's suite leaves this file out too"
	['chmod/03.t']=$KEYLEN ['chown/03.t']=$KEYLEN ['ftruncate/03.t']=$KEYLEN
	['mkdir/03.t']=$KEYLEN ['mkfifo/03.t']=$KEYLEN ['mknod/03.t']=$KEYLEN
	['open/03.t']=$KEYLEN ['rename/02.t']=$KEYLEN ['rmdir/03.t']=$KEYLEN
	['symlink/03.t']=$KEYLEN ['truncate/03.t']=$KEYLEN ['unlink/03.t']=$KEYLEN
)

# Test files never run in the guest (unless S3F_PJD_SKIP=none), and why.
declare -A GUEST_SKIP=(
	['open/25.t']="writes a byte at 2 GiB: the commit uploads 2 GiB of zeros (an object has no holes) into the guest's tmpfs S3 server, which runs out of room (ENOSPC) and keeps the parts (s3rver answers AbortMultipartUpload with 405), so every later test gets EIO"
)

# The quick subset (make check), sized for ~15 minutes in the guest, where
# an assertion costs ~1 s (several process starts): one directory per kind
# of call, without the files that cost most and add least: the
# sticky-directory permutations, chown/00.t's 1280 assertions (every owner
# and mode combination), and the PATH_MAX tests but one (each builds its
# 4095-byte path with some 150 processes, then meets the key limit above).
QUICK_DIRS="chmod chown mkdir mkfifo open rename rmdir symlink truncate unlink utimensat"
LONGPATH="PATH_MAX: as open/03.t, ~2 minutes to build the path"
declare -A QUICK_SKIP=(
	['rename/09.t']="2353 assertions: rename out of a sticky directory, every owner combination"
	['rename/10.t']="2099 assertions: rename into a sticky directory, every owner combination"
	['unlink/11.t']="270 assertions: unlink in a sticky directory, every owner combination"
	['chown/00.t']="1280 assertions: chown by owner and root, every type, mode and id combination"
	['chmod/03.t']=$LONGPATH ['chown/03.t']=$LONGPATH ['mkdir/03.t']=$LONGPATH
	['mkfifo/03.t']=$LONGPATH ['rename/02.t']=$LONGPATH ['rmdir/03.t']=$LONGPATH
	['symlink/03.t']=$LONGPATH ['truncate/03.t']=$LONGPATH ['unlink/03.t']=$LONGPATH
)

MNT=/mnt/s3-pjd
OUT=${S3F_GUEST_OUT:-/tmp}/pjdfstest
# rename/09.t alone (2353 assertions) takes over an hour in the guest
if [ "${S3F_PJD_DIRS:-}" = all ]; then TIMEOUT=${S3F_PJD_TIMEOUT:-10800}; else TIMEOUT=${S3F_PJD_TIMEOUT:-1800}; fi
JOBS=${S3F_PJD_JOBS:-2}
work=$(mktemp -d /tmp/s3f-pjd.XXXXXX)
mkdir -p "$OUT" "$MNT"
cleanup() {
	cd /
	umount "$MNT" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

pjd=${S3F_PJD_BIN:-}
if [ -z "$pjd" ]; then
	pjd=$("$top/tests/pjdfstest/build" --quiet 2>/dev/null) || pjd=
fi
if [ -z "$pjd" ] || [ ! -x "$pjd/pjdfstest" ] || [ ! -f "$pjd/tests/misc.sh" ]; then
	fail "pjdfstest: setup" "no pjdfstest build (run tests/pjdfstest/build or tests/guest/pjdfstest.sh --build on the host)"
	exit 1
fi
for c in prove openssl timeout; do
	command -v "$c" >/dev/null || { fail "pjdfstest: setup" "$c missing (scripts/install-deps)"; exit 1; }
done

# ---- which directories and files ----
case "${S3F_PJD_DIRS:-}" in
'') dirs=$QUICK_DIRS ;;
all) dirs=$(cd "$pjd/tests" && for d in */; do printf '%s ' "${d%/}"; done) ;;
*) dirs=$S3F_PJD_DIRS ;;
esac
declare -A SKIP=()
case "${S3F_PJD_SKIP-}" in
none) ;;
*) for f in "${!GUEST_SKIP[@]}"; do SKIP[$f]=${GUEST_SKIP[$f]}; done ;;
esac
case "${S3F_PJD_SKIP-}" in
none) ;;
'') [ "${S3F_PJD_DIRS:-}" = all ] || for f in "${!QUICK_SKIP[@]}"; do
	SKIP[$f]=${QUICK_SKIP[$f]}
done
	echo "# pjdfstest: quick subset (S3F_PJD_DIRS=all or S3F_PJD_SKIP=none run the files skipped here)" ;;
*) for f in $S3F_PJD_SKIP; do SKIP[$f]="S3F_PJD_SKIP"; done ;;
esac

# setid=keep: pjdfstest checks POSIX's set-id and sticky bits (chmod/11.t,
# chown's clearing of S_ISUID), which s3f drops from what S3 says unless
# the admin keeps them (Documentation/threat-model.md)
opts=$S3F_MOUNT_OPTIONS,setid=keep${S3F_PJD_MOUNT_OPTIONS:+,$S3F_PJD_MOUNT_OPTIONS}
if ! out=$(mount -t s3f -o "$opts" "$S3F_BUCKET" "$MNT" 2>&1); then
	fail "pjdfstest: mount" "mount -t s3f -o $opts $S3F_BUCKET $MNT: $out"
	exit 1
fi
echo "# pjdfstest: $pjd on $(grep " $MNT " /proc/mounts)"
run=pjd-$$

# known_reason FILE: the reason FILE (DIR/NN.t) is in KNOWN, or nothing
known_reason() {
	local pat
	for pat in "${!KNOWN[@]}"; do
		# shellcheck disable=SC2053
		[[ $1 == $pat ]] && { printf '%s' "${KNOWN[$pat]}"; return 0; }
	done
	return 1
}

# The runner prove starts for each test file (prove --exec): the file runs
# under timeout in a fresh directory of its own on the mount (tests stat "."
# and leave files behind when they fail; files run side by side with -j),
# its TAP goes to $tapdir/DIR/NN.t and its stderr to NN.t.err, and the TAP
# is then passed on to prove.
cat >"$work/run-one" <<'EOF'
#!/bin/sh
t=$1
d=$(basename "$(dirname "$t")") n=$(basename "$t")
tap=$PJD_TAPDIR/$d/$n
mkdir -p "$PJD_RUNDIR/$d/${n%.t}" && cd "$PJD_RUNDIR/$d/${n%.t}" || exit 1
s=$(date +%s)
timeout -k 10 "$PJD_TIMEOUT" sh "$t" >"$tap" 2>"$tap.err"
rc=$?
echo $(($(date +%s) - s)) >"$tap.time"
[ $rc -eq 124 ] || [ $rc -eq 137 ] && echo "# timed out after $PJD_TIMEOUT s" >>"$tap"
cat "$tap"
exit $rc
EOF
chmod +x "$work/run-one"
export PJD_TAPDIR=$work/tap PJD_RUNDIR=$MNT/$run PJD_TIMEOUT=$TIMEOUT

# tapcount TAP: "PLANNED OK NOTOK TODO TIMEDOUT" of one test file's TAP.  A file
# without a plan counts the assertions it printed.
tapcount() {
	awk '
	/^1\.\.[0-9]+/ { if (plan == "") plan = substr($1, 4) + 0; next }
	/^ok [0-9]+/ { ok++; next }
	/^not ok [0-9]+/ { if ($0 ~ /# *TODO/) { todo++; ok++ } else nok++; next }
	/^# timed out/ { to = 1 }
	END { printf "%d %d %d %d %d\n", (plan != "" ? plan : ok + nok), ok, nok, todo, to }
	' "$1"
}

# ---- run: one prove over every file, so that -j keeps both CPUs busy ----
all=() rundirs=()
for d in $dirs; do
	if [ ! -d "$pjd/tests/$d" ]; then
		fail "pjdfstest $d" "no such test directory in $pjd/tests"
		continue
	fi
	rundirs+=("$d")
	mkdir -p "$PJD_TAPDIR/$d" "$MNT/$run/$d"
	for f in "$pjd/tests/$d"/*.t; do
		rel=$d/${f##*/}
		if [ -n "${SKIP[$rel]+x}" ]; then
			echo "# skip $rel: ${SKIP[$rel]}"
		else
			all+=("$f")
		fi
	done
done
T0=$SECONDS
mark=$(dmesg | wc -l)
: >"$work/prove.out"
prove_pid=
if [ ${#all[@]} -gt 0 ]; then
	prove -j"$JOBS" --timer --exec "$work/run-one" "${all[@]}" >"$work/prove.out" 2>&1 &
	prove_pid=$!
fi

# dir_done DIR: every test file of DIR has finished (run-one wrote its .time)
dir_done() {
	local f rel
	for f in "$pjd/tests/$1"/*.t; do
		rel=$1/${f##*/}
		[ -n "${SKIP[$rel]+x}" ] || [ -f "$PJD_TAPDIR/$rel.time" ] || return 1
	done
}

# ---- report, per directory, as soon as its files are done ----
total_p=0 total_f=0 total_n=0
for d in "${rundirs[@]}"; do
	while [ -n "$prove_pid" ] && kill -0 "$prove_pid" 2>/dev/null && ! dir_done "$d"; do
		sleep 2
	done
	# prove prints a file's verdict just after run-one exits
	dir_done "$d" && [ -n "$prove_pid" ] && kill -0 "$prove_pid" 2>/dev/null && sleep 1
	p=0 f=0 n=0 t=0 unexpected=() notes=()
	declare -A bad=()
	for file in "$pjd/tests/$d"/*.t; do
		rel=$d/${file##*/}
		[ -z "${SKIP[$rel]+x}" ] || continue
		tap=$PJD_TAPDIR/$rel
		if [ -f "$tap" ]; then
			read -r np nok nnot ntodo nto < <(tapcount "$tap")
			t=$((t + $(cat "$tap.time" 2>/dev/null || echo 0)))
		else
			np=1 nok=0 nnot=0 ntodo=0 nto=0
			notes+=("$rel: never ran")
		fi
		b=$((np - nok))
		[ "$b" -lt 0 ] && b=$nnot # more "ok" lines than the plan
		# prove's verdict too: a wrong plan, a non-zero exit
		verdict=$(awk -v f="/$rel .." '
			got { print; exit }
			index($0, f) { sub(/.*\.t \.+ */, ""); if ($0 != "") { print; exit } got = 1 }
		' "$work/prove.out")
		if [ "$b" -eq 0 ] && [ "${verdict%% *}" != ok ] && [ "${verdict%% *}" != skipped: ]; then
			b=1
			notes+=("$rel: prove says '${verdict:-nothing}'")
		fi
		[ "$nto" = 1 ] && notes+=("$rel: timed out after $TIMEOUT s")
		n=$((n + np)) f=$((f + b)) p=$((p + np - b))
		if [ "$b" -gt 0 ]; then
			if reason=$(known_reason "$rel"); then
				echo "# known: $rel: $b of $np failed: $reason"
			else
				unexpected+=("$rel")
				bad[$rel]=$b
			fi
		elif reason=$(known_reason "$rel") && [ "$np" -gt 1 ]; then
			echo "# known file passed now: $rel ($np assertions): $reason"
		fi
	done
	total_p=$((total_p + p)) total_f=$((total_f + f)) total_n=$((total_n + n))
	echo "# pjdfstest $d: $p passed, $f failed of $n assertions ($t s of test time)"
	if [ ${#unexpected[@]} -eq 0 ]; then
		pass "pjdfstest $d"
	else
		ufail=0
		for rel in "${unexpected[@]}"; do ufail=$((ufail + bad[$rel])); done
		fail "pjdfstest $d" "$ufail assertions failed (files: ${unexpected[*]##*/})"
		# the first failed assertions of the unexpected files (long paths
		# cut; all of them are in $OUT)
		for rel in "${unexpected[@]}"; do
			grep -E '^not ok [0-9]+' "$PJD_TAPDIR/$rel" 2>/dev/null | grep -Ev '# *TODO' | head -n 6 |
				cut -c 1-240 | sed "s|^|  $rel: |"
		done | head -n 40
		for note in "${notes[@]}"; do echo "  $note"; done
	fi
	unset bad
	mkdir -p "$OUT/$d"
	cp "$PJD_TAPDIR/$d"/* "$OUT/$d/" 2>/dev/null
done
[ -z "$prove_pid" ] || wait "$prove_pid"
secs=$((SECONDS - T0))
cp "$work/prove.out" "$OUT/prove.out" 2>/dev/null
echo "# pjdfstest: $total_p passed, $total_f failed of $total_n assertions in $secs s (prove -j$JOBS)"
# where the time went: the slowest test files
for f in "$PJD_TAPDIR"/*/*.t.time; do
	[ -f "$f" ] || continue
	rel=${f#"$PJD_TAPDIR"/}
	echo "$(cat "$f") ${rel%.time}"
done | sort -rn | head -n 12 | awk '{ s = s sep $2 " " $1 " s"; sep = ", " } END { if (s != "") print "# slowest: " s }'

# what s3f logged meanwhile (link's EPERM, skipped keys, ...), counted
dmesg | tail -n +$((mark + 1)) | grep -i s3f | sed -E 's/^\[ *[0-9.]+\] //' | cut -c 1-200 |
	sort | uniq -c | sort -rn | head -n 15 | sed 's/^/# kernel: /'

cd /
rm -rf "${MNT:?}/$run" 2>/dev/null
umount "$MNT" || fail "pjdfstest: umount" "umount $MNT failed"
finish
