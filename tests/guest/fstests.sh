#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# fstests' own checkers against s3f, inside the test guest (scripts/guest-run):
#
#   fsx       random reads, writes, mmap reads and writes, truncates,
#             copy_file_range, close-and-reopen (-c, with drop_caches) on one
#             file against fsx's in-memory model; in segments with a remount
#             between them; after each segment the file is compared with the
#             model through the mount, after the remount, and in S3 itself.
#   fsstress  4 processes of concurrent namespace and data operations; then
#             sync, a snapshot of the tree (type, size, content, mode, owner,
#             mtime), umount, mount, the same snapshot, and a full compare of
#             the tree with S3 read directly (s3fctl s3: every key, every
#             object's bytes); rm -rf and no key left.
#
# and, after both, no kernel warning and no "commit failed" / "not committed"
# message in the kernel log.
#
# fsx and fsstress are built on the host by tests/fstests/build (tests/run
# does that; the guest's root is read-only).  They are taken from
# $S3F_FSTESTS_BIN, else from the directory tests/fstests/build prints (its
# warm call only prints it).
#
# Environment (quick defaults, sized for make check; S3F_FSTESTS_LONG=1 gives
# the long ones in brackets):
#   S3F_FSX_SEEDS       fsx seeds, one run each ("1 2 3 4" [1 2 3 4 5 6 7 8]);
#                       run i (from 0) mounts with the variant at i modulo
#                       the length of S3F_FSX_VARIANTS ("0 1 2 3"):
#                         0: the harness' options, -l 1 MiB
#                         1: the harness' options, -l 4 MiB, -f (flushes)
#                         2: commit_delay=0 (commit inside close), -l 1 MiB
#                         3: commit_delay=0, -l 4 MiB, -f
#   S3F_FSX_OPS         fsx operations per seed (1000 [100000])
#   S3F_FSX_REMOUNT     remount every N operations (500 [10000])
#   S3F_FSX_CLOSEPROB   fsx -c: close and reopen with 1 chance in N (100 [500])
#   S3F_FSSTRESS_PROCS  fsstress -p (4 [4])
#   S3F_FSSTRESS_OPS    fsstress -n, operations per process (50 [2000])
#   S3F_FSSTRESS_SEED   fsstress -s (1 [1])
#   S3F_FSSTRESS_FSIZE_MIB  file size limit for fsstress (16; see below)
#   S3F_FSSTRESS_STALL  seconds without any fsstress operation ending after
#                       which the mount counts as hung (300)
#   S3F_FSTESTS_ONLY    fsx or fsstress: run only that part
#
# Output: one PASS:/FAIL: line per check; details (fsx's log of the
# operations before a failure, kernel messages, blocked tasks) indented
# below a FAIL.  Every file fsx and fsstress wrote (logs, .fsxlog, .fsxops,
# .fsxgood) is copied to $S3F_GUEST_OUT/fstests/, which guest-run keeps after
# a failure.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

CTL=$top/helper/s3fctl
M=/mnt/s3
OPTS=$S3F_MOUNT_OPTIONS
LOGDIR=${S3F_GUEST_OUT:-/tmp}/fstests

if [ "${S3F_FSTESTS_LONG:-0}" = 1 ]; then
	d_seeds="1 2 3 4 5 6 7 8" d_ops=100000 d_remount=10000 d_close=500 d_fss_ops=2000
else
	d_seeds="1 2 3 4" d_ops=1000 d_remount=500 d_close=100 d_fss_ops=50
fi
FSX_SEEDS=${S3F_FSX_SEEDS:-$d_seeds}
read -ra FSX_VARIANTS <<<"${S3F_FSX_VARIANTS:-0 1 2 3}"
FSX_OPS=${S3F_FSX_OPS:-$d_ops}
FSX_REMOUNT=${S3F_FSX_REMOUNT:-$d_remount}
FSX_CLOSEPROB=${S3F_FSX_CLOSEPROB:-$d_close}
FSS_PROCS=${S3F_FSSTRESS_PROCS:-4}
FSS_OPS=${S3F_FSSTRESS_OPS:-$d_fss_ops}
FSS_SEED=${S3F_FSSTRESS_SEED:-1}
FSS_FSIZE_MIB=${S3F_FSSTRESS_FSIZE_MIB:-16}
FSS_STALL=${S3F_FSSTRESS_STALL:-300}
ONLY=${S3F_FSTESTS_ONLY:-}

work=$(mktemp -d /tmp/s3f-fstests.XXXXXX)
: >"$work/kmsg.reported"
mkdir -p "$LOGDIR"
cleanup() {
	cp -a "$work/." "$LOGDIR/" 2>/dev/null
	cd /
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1

s3() { "$CTL" s3 "$@"; }
now() { date +%s; }
# took WHAT: "# WHAT: N s" since $took, which it resets
took() {
	echo "# $1: $(($(now) - took)) s"
	took=$(now)
}
took=0
# indent [N]: the input as detail lines below a FAIL (at most N lines)
indent() { head -n "${1:-100000}" | sed 's/^/    /'; }
# dmesg_since MARK: kernel log lines after line MARK (dmesg_mark's value)
dmesg_mark() { dmesg | wc -l; }
dmesg_since() { dmesg | tail -n +$(($1 + 1)); }
s3fd_log=${S3F_GUEST_OUT:-/nonexistent}/s3fd.log
s3fd_mark() { wc -l <"$s3fd_log" 2>/dev/null || echo 0; }
s3fd_since() { tail -n +$(($1 + 1)) "$s3fd_log" 2>/dev/null; }
# A commit that failed, or changes left behind at unmount, are failures here:
# nothing else writes to this bucket.
BAD_KMSG='not committed|uncommitted|commit failed|S3 returned [0-9]+ of|no staging file|no reply from the helper'
BAD_KERNEL='Oops|BUG:|WARNING:|KASAN|lockdep|possible recursive locking|circular locking|Call Trace|general protection|soft lockup|hard LOCKUP|blocked for more than'
# kmsg_new MARK: the kernel log lines after MARK that match either pattern
# and were not reported before (each is reported once, where it happened)
kmsg_new() {
	dmesg_since "$1" | grep -E "$BAD_KMSG|$BAD_KERNEL" | grep -vxF -f "$work/kmsg.reported" |
		tee -a "$work/kmsg.reported"
}

wedged=		# set when the mount hung: later parts cannot run
remount_lost=	# set by remount when changes were not committed

# blocked_tasks: every task in D state with its kernel stack; and the
# kernel's own list (sysrq w) into dmesg.
blocked_tasks() {
	local p st comm
	for p in /proc/[0-9]*; do
		read -r st <"$p/stat" 2>/dev/null || continue
		st=${st##*) }
		[ "${st%% *}" = D ] || continue
		read -r comm <"$p/comm"
		echo "task ${p#/proc/} ($comm) blocked in $(cat "$p/wchan" 2>/dev/null):"
		sed 's/^/  /' "$p/stack" 2>/dev/null
	done
	echo w >/proc/sysrq-trigger 2>/dev/null
}

# run_bounded SECONDS OUT COMMAND...: COMMAND with its output in OUT; exit
# status 124 if it did not end within SECONDS (it is then SIGKILLed, which a
# task blocked in the kernel may survive).
run_bounded() {
	local secs=$1 out=$2
	shift 2
	timeout -k 10 "$secs" "$@" >"$out" 2>&1
}

do_mount() { mount -t s3f -o "$1" "$S3F_BUCKET" "$M"; }
# remount OPTIONS NAME: umount (commits everything) and mount again; FAIL
# NAME if either fails (status 1) or the kernel reports changes it could not
# commit (status 0, remount_lost set).
remount() {
	local opts=$1 name=$2 mark out rc
	mark=$(dmesg_mark)
	out=$(timeout 300 umount "$M" 2>&1); rc=$?
	if [ $rc -ne 0 ]; then
		fail "$name" "umount $M: exit $rc: $out"
		{ echo "processes using the mount:"; fuser -vm "$M" 2>&1; blocked_tasks; } | indent 60
		[ $rc -eq 124 ] && wedged="umount hung"
		return 1
	fi
	remount_lost=
	out=$(kmsg_new "$mark")
	if [ -n "$out" ]; then
		fail "$name" "the kernel logged, up to the umount: $(printf '%s\n' "$out" | head -n 1)"
		printf '%s\n' "$out" | indent 20
		remount_lost=1	# mounted again below: the caller looks at what is left
	fi
	out=$(do_mount "$opts" 2>&1); rc=$?
	if [ $rc -ne 0 ]; then
		fail "$name" "mount -o $opts: exit $rc: $out"
		wedged="mount failed"
		return 1
	fi
	return 0
}

# ---- the programs -----------------------------------------------------------

bin=${S3F_FSTESTS_BIN:-}
if [ -z "$bin" ]; then
	bin=$("$top/tests/fstests/build" --quiet 2>"$work/build.err") || bin=
fi
FSX=$bin/fsx
FSSTRESS=$bin/fsstress
SHIM=$bin/s3f-fake-blksize.so
if [ -z "$bin" ] || [ ! -x "$FSX" ] || [ ! -x "$FSSTRESS" ] || [ ! -f "$SHIM" ]; then
	fail "fsx and fsstress are built" "not in '${bin}': run tests/fstests/build on the host \
($(head -c 300 "$work/build.err" 2>/dev/null | tr '\n' ' '))"
	exit 1
fi
echo "# fsx and fsstress from $bin; fsx seeds $FSX_SEEDS, $FSX_OPS ops, remount every" \
	"$FSX_REMOUNT, -c $FSX_CLOSEPROB; fsstress -p $FSS_PROCS -n $FSS_OPS -s $FSS_SEED"
kmsg_start=$(dmesg_mark)

# ---- fsx --------------------------------------------------------------------
#
# fsx has no remount operation, so a run of FSX_OPS operations is made of
# segments of FSX_REMOUNT operations with umount + mount between them.
#
# Continuing: fsx -k opens the existing file without truncating it, takes
# its contents as the model and its size as the maximum file size.  So
# before each later segment the file is extended to the run's maximum size
# (-l) with truncate(1), and each segment has its own seed (a segment with
# the first one's seed would repeat its operations).
#
# Checking across the remount: -k trusts whatever the file holds, so the file
# must be checked against the model of the previous segment, which fsx does
# not save on success.  Each segment is therefore run a second time, with the
# same arguments, on a tmpfs copy that started from the same bytes: fsx is
# deterministic for a seed, so that copy ends as fsx's model did.  Two things
# make the replay differ unless handled:
#   - fsx leaves out what the file system does not support (fallocate modes,
#     clone, dedupe, exchange, copy range): the replay gets the flags that
#     leave out exactly what fsx found unsupported on s3f (parsed from fsx's
#     "does not support ..., disabling!" lines);
#   - fsx draws clone/dedupe/exchange ranges aligned to st_blksize even when
#     it skips them, so the random sequence depends on st_blksize (8 MiB on
#     s3f, 4 KiB on tmpfs): the replay runs with s3f-fake-blksize.so
#     (tests/fstests/fake-blksize.c), which makes fstat() report s3f's.
# After each segment: the file through the mount == the replay (fsx reads
# only part of the file), then umount + mount, then again through the mount
# (from S3 now) and the object fetched from S3 directly.
#
# One more detail of -k: fsx's copy_file_range probe copies byte 0 to
# offset 1 of a non-empty file after reading it into its model (fsx assumes
# an empty file).  Before a later segment both files get that copy made
# first, so the probe changes nothing.

# fsx_ref_flags OUT: the flags that leave out what fsx's output OUT says the
# file system does not support
fsx_ref_flags() {
	local f=$1 fl=()
	grep -q 'fallocate mode 0, disabling' "$f" && fl+=(-F)
	grep -q 'fallocate mode FALLOC_FL_KEEP_SIZE, disabling' "$f" && fl+=(-K)
	grep -q 'FALLOC_FL_UNSHARE_RANGE, disabling' "$f" && fl+=(-u)
	grep -q 'FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, disabling' "$f" && fl+=(-H)
	grep -q 'FALLOC_FL_ZERO_RANGE, disabling' "$f" && fl+=(-z)
	grep -q 'FALLOC_FL_COLLAPSE_RANGE, disabling' "$f" && fl+=(-C)
	grep -q 'FALLOC_FL_INSERT_RANGE, disabling' "$f" && fl+=(-I)
	grep -q 'support clone range, disabling' "$f" && fl+=(-J)
	grep -q 'support dedupe range, disabling' "$f" && fl+=(-B)
	grep -q 'support copy range, disabling' "$f" && fl+=(-E)
	grep -q 'support exchange range, disabling' "$f" && fl+=(-0)
	echo "${fl[*]}"
}
unsupported() { grep -E 'does not support|disabling' "$1" | sort; }
# fsx's output but for the lines that are not about a failure
FSX_NOISE='^[0-9]+\( *[0-9]+ mod 256\): |CLOSE/OPEN$|^main: |^skipping|largest ever|^Seed set|^Chance of'
FSX_NOISE+='|^LOG DUMP|^Log of operations|^Correct content|^\(maybe hexdump|^OFFSET|^0x|^operation# '

# fsx_report NAME OUTFILE LOGDIR MARK S3FD_MARK REPRO: the details below a
# failed fsx segment
fsx_report() {
	local out=$2 pdir=$3 mark=$4 smark=$5 repro=$6 f
	{
		echo "to reproduce (the guest of scripts/guest-run, /mnt/s3 = $S3F_BUCKET):"
		printf '%s\n' "$repro" | sed 's/^/  /'
		echo "fsx said (its log of operations left out):"
		grep -Ev '^[0-9]+\( *[0-9]+ mod 256\): |^		CLOSE/OPEN$' "$out" | sed 's/^/  /' | tail -n 40
		for f in "$pdir"/*.fsxlog; do
			[ -s "$f" ] || continue
			echo "the last operations ($(basename "$f"), tail):"
			tail -n 60 "$f" | sed 's/^/  /'
		done
		for f in "$pdir"/*.fsxops; do
			[ -s "$f" ] || continue
			echo "$(basename "$f") (for fsx --replay-ops, tail):"
			tail -n 30 "$f" | sed 's/^/  /'
		done
		echo "kernel log meanwhile:"
		dmesg_since "$mark" | tail -n 40 | sed 's/^/  /'
		echo "s3fd log meanwhile (tail):"
		s3fd_since "$smark" | tail -n 20 | sed 's/^/  /'
	} | indent
}

# cmp_report A B: where A and B differ, briefly
cmp_report() {
	echo "sizes: $(stat -c %s "$1" 2>&1) vs $(stat -c %s "$2" 2>&1)"
	echo "first differing bytes (offset, octal byte in each):"
	cmp -l "$1" "$2" 2>&1 | head -n 8
	echo "differing bytes: $(cmp -l "$1" "$2" 2>/dev/null | wc -l)"
}

fsx_seed() { # INDEX SEED
	local i=$1 seed=$2 variant len flags=() opts=$OPTS label name file key ref f fl
	local done_ops=0 seg=0 n segseed args refargs pdir rpdir out rc mark segmark smark
	local repro="" failed="" t0 t0s t1 t2 segs_ok=0
	t0=$(now)

	variant=${FSX_VARIANTS[i % ${#FSX_VARIANTS[@]}]}
	case $variant in
	0) len=1048576 ;;
	1) len=4194304 flags=(-f) ;;
	2) len=1048576 opts="$OPTS,commit_delay=0" ;;
	3) len=4194304 flags=(-f) opts="$OPTS,commit_delay=0" ;;
	esac
	name=fsx-$seed
	key=fstests/$name
	file=$M/$key
	ref=$work/$name.model
	f=${opts#"$OPTS"}
	label="fsx seed $seed (-c $FSX_CLOSEPROB -l $len${flags[*]:+ ${flags[*]}}${f:+, ${f#,}})"
	remount "$opts" "$label: mount" || return
	mkdir -p "$M/fstests"
	rm -f "$file" "$ref"
	repro="mount -t s3f -o '$opts' $S3F_BUCKET /mnt/s3; mkdir -p /mnt/s3/fstests"

	while [ "$done_ops" -lt "$FSX_OPS" ]; do
		seg=$((seg + 1))
		n=$((FSX_OPS - done_ops))
		[ "$n" -gt "$FSX_REMOUNT" ] && n=$FSX_REMOUNT
		segseed=$((seed + (seg - 1) * 1000))
		args=(-N "$n" -S "$segseed" -c "$FSX_CLOSEPROB" -l "$len" "${flags[@]}")
		if [ "$seg" -gt 1 ]; then
			args+=(-k)
			for f in "$file" "$ref"; do
				truncate -s "$len" "$f" &&
					dd if="$f" bs=1 count=1 status=none |
					dd of="$f" bs=1 seek=1 count=1 conv=notrunc status=none
			done
			repro+="
truncate -s $len $file; dd if=$file bs=1 count=1 | dd of=$file bs=1 seek=1 conv=notrunc"
		fi
		pdir=$work/$name.seg$seg
		rpdir=$work/$name.seg$seg.model
		mkdir -p "$pdir" "$rpdir"
		repro+="
$FSX ${args[*]} -P /tmp $file"
		mark=$(dmesg_mark)
		segmark=$mark
		smark=$(s3fd_mark)
		out=$pdir/fsx.out
		t0s=$(now)
		# fsx costs ~25 ms an operation here, a close/open a few seconds
		# (--record-ops: the .fsxops file also when fsx passes, for a
		# failure found after it)
		run_bounded $((300 + n / 10 + n * 10 / FSX_CLOSEPROB)) "$out" \
			"$FSX" "${args[@]}" --record-ops -P "$pdir" "$file"
		rc=$?
		if [ $rc -ne 0 ]; then
			if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
				fail "$label" "segment $seg (operations $((done_ops + 1))-$((done_ops + n))): fsx did not finish in time"
				blocked_tasks | indent 80
				wedged="fsx hung"
			else
				fail "$label" "segment $seg (operations $((done_ops + 1))-$((done_ops + n))): fsx failed (exit $rc): \
$(grep -Ev "$FSX_NOISE" "$out" | head -n 3 | tr '\n' ' ')"
			fi
			fsx_report "$label" "$out" "$pdir" "$mark" "$smark" "$repro"
			failed=1
			break
		fi
		# the model: the same segment on tmpfs
		t1=$(now)
		refargs=("${args[@]}")
		read -ra fl <<<"$(fsx_ref_flags "$out")"
		LD_PRELOAD=$SHIM S3F_FAKE_BLKSIZE=$(stat -c %o "$file") \
			"$FSX" "${refargs[@]}" "${fl[@]}" -P "$rpdir" "$ref" >"$rpdir/fsx.out" 2>&1
		rc=$?
		if [ $rc -ne 0 ] || [ -n "$(comm -13 <(unsupported "$out") <(unsupported "$rpdir/fsx.out"))" ]; then
			fail "$label" "segment $seg: the replay on tmpfs (for the model) failed (exit $rc) or \
found other operations unsupported"
			{ tail -n 5 "$rpdir/fsx.out"; unsupported "$out"; } | indent
			failed=1
			break
		fi
		if ! cmp -s "$file" "$ref"; then
			fail "$label" "segment $seg: after fsx ended, the file through the mount differs from fsx's model"
			{ echo "fsx passed: it reads only part of the file"; cmp_report "$file" "$ref"; } | indent
			fsx_report "$label" "$out" "$pdir" "$segmark" "$smark" "$repro"
			failed=1
			break
		fi
		t2=$(now)
		mark=$(dmesg_mark)
		remount "$opts" "$label: segment $seg: umount and mount" || { failed=1; break; }
		[ -n "$remount_lost" ] && failed=1
		repro+="
umount /mnt/s3; mount -t s3f -o '$opts' $S3F_BUCKET /mnt/s3"
		if ! cmp -s "$file" "$ref"; then
			fail "$label" "segment $seg: after umount and mount the file differs from fsx's model"
			cmp_report "$file" "$ref" | indent
			fsx_report "$label" "$out" "$pdir" "$segmark" "$smark" "$repro"
			failed=1
			break
		fi
		s3 get "$key" "$work/$name.s3" 2>"$work/s3.err"
		if ! cmp -s "$work/$name.s3" "$ref"; then
			fail "$label" "segment $seg: the object in S3 differs from fsx's model"
			{ cat "$work/s3.err"; cmp_report "$work/$name.s3" "$ref"; } | indent
			fsx_report "$label" "$out" "$pdir" "$segmark" "$smark" "$repro"
			failed=1
			break
		fi
		rm -f "$work/$name.s3"
		f=$(kmsg_new "$segmark")
		if [ -n "$f" ]; then
			fail "$label" "segment $seg: the kernel logged: $(printf '%s\n' "$f" | head -n 1)"
			printf '%s\n' "$f" | head -n 20 | indent
			fsx_report "$label" "$out" "$pdir" "$segmark" "$smark" "$repro"
		fi
		echo "# $label: segment $seg: fsx $((t1 - t0s)) s, the model $((t2 - t1)) s, remount and compare $(($(now) - t2)) s"
		[ -n "$failed" ] && break
		done_ops=$((done_ops + n))
		segs_ok=$seg
	done
	if [ -z "$failed" ]; then
		pass "$label: $FSX_OPS operations in $seg segments"
		pass "$label: after each segment and each remount the file, and the object in S3, equal fsx's model"
	fi
	echo "# $label: $segs_ok segments passed in $(($(now) - t0)) s"
	[ -n "$wedged" ] && return
	rm -f "$file"
}

if [ -z "$ONLY" ] || [ "$ONLY" = fsx ]; then
	i=0
	for seed in $FSX_SEEDS; do
		fsx_seed "$i" "$seed"
		i=$((i + 1))
		[ -n "$wedged" ] && break
	done
	# the harness' own options for what follows
	[ -n "$wedged" ] || remount "$OPTS" "fsx: mount with the harness' options again"
fi

# ---- fsstress ---------------------------------------------------------------
#
# Operations left out (-f NAME=0), because s3f documents them as unsupported
# (Documentation/semantics.md) or they belong to other file systems:
#   link                                hard links: EPERM
#   mknod                               fsstress makes character devices: EPERM
#   rexchange rwhiteout                 RENAME_EXCHANGE, RENAME_WHITEOUT: EINVAL
#   getfattr setfattr removefattr listfattr setxattr attr_set attr_remove
#                                       extended attributes: s3f has none
#   fallocate punch zero collapse insert resvsp unresvsp unshare
#                                       fallocate(2) modes: EOPNOTSUPP
#   clonerange deduperange exchangerange  reflinks: EOPNOTSUPP
#   dread dwrite aread awrite afsync    O_DIRECT (the aio ops open O_DIRECT
#                                       too): open fails with EINVAL
#   read_dontcache write_dontcache      RWF_DONTCACHE: not in Linux 6.1
#   getattr setattr                     FS_IOC_GETFLAGS/SETFLAGS: ENOTTY
#   fiemap                              FIEMAP: EOPNOTSUPP
#   bulkstat bulkstat1                  XFS ioctls
#   snapshot subvol_create subvol_delete  btrfs ioctls
# Everything else stays: creat, mkdir, rmdir, unlink, rename, rnoreplace,
# symlink, readlink, chown, truncate, read/readv/write/writev, mread/mwrite
# (mmap), splice, copyrange, uring_read/uring_write (buffered), fsync,
# fdatasync, sync (syncfs), stat, getdents.
#
# File sizes: fsstress picks copyrange/splice destinations anywhere up to
# st_size + 1024 * st_blksize, i.e. up to 8 GiB past the end on s3f (whose
# st_blksize is 8 MiB), and sparse files of gigabytes filled the guest's
# tmpfs-backed S3 server.  The processes run with RLIMIT_FSIZE (ulimit -f)
# and SIGXFSZ ignored, so writes past S3F_FSSTRESS_FSIZE_MIB fail with EFBIG
# and the ops stay in.
FSS_OFF=(link mknod rexchange rwhiteout getfattr setfattr removefattr listfattr setxattr
	attr_set attr_remove fallocate punch zero collapse insert resvsp unresvsp unshare
	clonerange deduperange exchangerange dread dwrite aread awrite afsync
	read_dontcache write_dontcache getattr setattr fiemap bulkstat bulkstat1
	snapshot subvol_create subvol_delete)
# errnos that mean the file system failed, not the operation's arguments:
# EIO EBADF ENOMEM EFAULT ENOSPC ENOTTY ENOSYS EOPNOTSUPP ENOTCONN ETIMEDOUT
# ESTALE EUCLEAN
FSS_BAD_ERRNO=' 5 9 12 14 28 25 38 95 107 110 116 117 '

# snapshot DIR: one line per entry below DIR: type, size (files), md5
# (files) or target (symlinks), path
snapshot() {
	(
		cd "$1" || exit 1
		# (find -type f would trust readdir's d_type; %y is lstat's)
		find . -mindepth 1 -printf '%y\t%s\t%p\t%l\n' | LC_ALL=C sort -t $'\t' -k3,3 >"$work/snap.types"
		awk -F'\t' '$1 == "f" { printf "%s%c", $3, 0 }' "$work/snap.types" |
			xargs -0 -r md5sum >"$work/snap.md5"
		awk -F'\t' 'NR == FNR { md5[substr($0, 35)] = substr($0, 1, 32); next }
				$1 == "f" { print "f", $2, md5[$3], $3; next }
				$1 == "l" { print "l", "-", "-", $3, "->", $4; next }
				{ print $1, "-", "-", $3 }' "$work/snap.md5" "$work/snap.types"
	)
}
# snapshot_meta DIR: mode, owner, group of every entry, mtime of files and
# symlinks (directories' times are not kept in S3)
snapshot_meta() {
	(cd "$1" && find . -mindepth 1 \( -type d -printf '%p %m %U %G\n' \) \
		-o -printf '%p %m %U %G %T@\n' | LC_ALL=C sort)
}

fsstress_part() {
	local name=fstests/fsstress-$FSS_SEED dir out rc t0 pid bad p n lines changed i key obj code
	local mark label="fsstress -p $FSS_PROCS -n $FSS_OPS -s $FSS_SEED"
	local off=() o
	for o in "${FSS_OFF[@]}"; do off+=(-f "$o=0"); done
	dir=$M/$name
	mkdir -p "$M/fstests"
	rm -rf "$dir"
	mkdir "$dir" || { fail "$label" "mkdir $dir failed"; return; }
	out=$work/fsstress.out
	mark=$(dmesg_mark)
	t0=$(now)
	echo "# $FSSTRESS -d $dir -p $FSS_PROCS -n $FSS_OPS -s $FSS_SEED -v ${off[*]}" \
		"(ulimit -f $((FSS_FSIZE_MIB * 1024)), SIGXFSZ ignored)"
	(
		trap '' XFSZ
		ulimit -f $((FSS_FSIZE_MIB * 1024))
		exec "$FSSTRESS" -d "$dir" -p "$FSS_PROCS" -n "$FSS_OPS" -s "$FSS_SEED" -v "${off[@]}"
	) >"$out" 2>&1 &
	pid=$!
	# With -v every operation ends with a line: when no process has ended
	# one for FSS_STALL seconds, the file system hangs.
	lines=0
	changed=$t0
	while kill -0 "$pid" 2>/dev/null; do
		sleep 2
		n=$(wc -l <"$out")
		if [ "$n" -ne "$lines" ]; then
			lines=$n
			changed=$(now)
		elif [ $(($(now) - changed)) -ge "$FSS_STALL" ]; then
			break
		fi
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "$label" "no operation ended for $FSS_STALL s (after $(($(now) - t0)) s); the last operations of each process and the blocked tasks:"
		{
			for p in $(seq 0 $((FSS_PROCS - 1))); do grep "^$p/" "$out" | tail -n 3; done
			blocked_tasks
			echo "kernel log:"
			dmesg_since "$mark" | tail -n 60
		} | indent 200
		pkill -KILL -P "$pid" 2>/dev/null
		kill -KILL "$pid" 2>/dev/null
		wedged="fsstress hung"
		return
	fi
	wait "$pid"
	rc=$?
	echo "# fsstress: $(($(now) - t0)) s, $(grep -c '^[0-9]*/[0-9]*: ' "$out") log lines"
	check_eq "$label: exit status" "$rc" 0
	p=$(kmsg_new "$mark")
	if [ -z "$p" ]; then
		pass "$label: nothing in the kernel log during the run"
	else
		fail "$label" "the kernel logged during the run: $(printf '%s\n' "$p" | head -n 1)"
		printf '%s\n' "$p" | head -n 30 | indent
	fi
	# the result of each operation: its errno, at the end of the line or
	# before fsstress' own "asked for N, ..." remark
	bad=$(awk -v bad="$FSS_BAD_ERRNO" '
		$1 ~ /^[0-9]+\/[0-9]+:$/ {
			e = $NF
			if (e !~ /^-?[0-9]+$/ && match($0, / -?[0-9]+ (asked|copied|spliced)/))
				e = substr($0, RSTART + 1, RLENGTH) + 0
			if (e ~ /^[0-9]+$/ && index(bad, " " e " ")) print
		}' "$out")
	if [ -z "$bad" ]; then
		pass "$label: no operation failed with EIO, ESTALE, ENOSPC, EOPNOTSUPP or the like"
	else
		fail "$label" "$(printf '%s\n' "$bad" | wc -l) operations failed with an errno of a failing file system"
		printf '%s\n' "$bad" | indent 40
	fi
	echo "# fsstress errnos: $(awk '$1 ~ /^[0-9]+\/[0-9]+:$/ && $NF ~ /^[0-9]+$/ && $NF != 0 { print $2 "=" $NF }' "$out" |
		sort | uniq -c | awk '{ printf "%s%s x%s", s, $2, $1; s = ", " }')"

	# sync; the tree as the mount shows it; umount, mount: the same tree
	took=$(now)
	sync
	took sync
	snapshot "$dir" >"$work/tree.before"
	snapshot_meta "$dir" >"$work/meta.before"
	took "snapshot of the tree"
	echo "# fsstress left $(grep -c '^f' "$work/tree.before") files," \
		"$(grep -c '^d' "$work/tree.before") directories, $(grep -c '^l' "$work/tree.before") symlinks," \
		"$(awk '$1 == "f" { s += $2 } END { print s + 0 }' "$work/tree.before") bytes"
	remount "$OPTS" "$label: umount and mount after sync" || return
	took "umount and mount"
	snapshot "$dir" >"$work/tree.after"
	snapshot_meta "$dir" >"$work/meta.after"
	took "snapshot after the remount (read from S3)"
	if diff "$work/tree.before" "$work/tree.after" >"$work/tree.diff"; then
		pass "$label: after umount and mount every entry has its type, size and content"
	else
		fail "$label" "after umount and mount the tree differs (< before, > after; type size md5 path):"
		indent 40 <"$work/tree.diff"
	fi
	if diff "$work/meta.before" "$work/meta.after" >"$work/meta.diff"; then
		pass "$label: after umount and mount every entry has its mode, owner and mtime"
	else
		fail "$label" "after umount and mount modes, owners or mtimes differ (< before, > after; path mode uid gid mtime):"
		indent 40 <"$work/meta.diff"
	fi

	# the tree against S3: one key per file and symlink, a marker per directory
	s3 ls -r "$name/" >"$work/s3.ls" 2>"$work/s3.err" ||
		fail "$label: list S3" "$(head -c 300 "$work/s3.err")"
	awk -F'\t' '{ print $4 }' "$work/s3.ls" | sort >"$work/keys.s3"
	{
		echo "$name/"
		awk -v p="$name" '{ print p "/" substr($4, 3) ($1 == "d" ? "/" : "") }' "$work/tree.after"
	} | sort >"$work/keys.want"
	if diff "$work/keys.want" "$work/keys.s3" >"$work/keys.diff"; then
		pass "$label: S3 holds exactly one key per file and symlink and a marker per directory"
	else
		fail "$label" "the keys in S3 are not the tree (< only on the mount, > only in S3):"
		indent 40 <"$work/keys.diff"
	fi
	# every object's bytes, GET by one curl (s3fctl s3 get costs a process
	# start per object, slow in the guest)
	awk -v p="$name" '$1 != "d" { print p "/" substr($4, 3) }' "$work/tree.after" >"$work/objs.keys"
	s3_get_keys "$work/objs.keys" "$work/objs" >"$work/curl.codes" 2>"$work/curl.err"
	bad=
	i=0
	while read -r type size md5 path _ target; do
		[ "$type" = d ] && continue
		i=$((i + 1))
		obj=$work/objs/$i
		code=$(sed -n "${i}p" "$work/curl.codes")
		if [ "$code" != 200 ]; then
			bad+="$path: GET answered '$code' $(head -c 200 "$work/curl.err")"$'\n'
		elif [ "$type" = f ] && [ "$(md5sum <"$obj" | cut -d' ' -f1)" != "$md5" ]; then
			bad+="$path: the object ($(stat -c %s "$obj") bytes, md5 $(md5sum <"$obj" | cut -c1-32)) is not the file ($size bytes, md5 $md5)"$'\n'
		elif [ "$type" = l ] && [ "$(cat "$obj")" != "$target" ]; then
			bad+="$path: the symlink's object holds '$(head -c 100 "$obj")', not '$target'"$'\n'
		fi
	done <"$work/tree.after"
	rm -rf "$work/objs"
	took "compare with S3"
	if [ -z "$bad" ]; then
		pass "$label: every file's and symlink's object in S3 holds its bytes"
	else
		fail "$label" "$(printf '%s' "$bad" | wc -l) objects in S3 differ from the mount"
		printf '%s' "$bad" | indent 40
	fi

	# rm -rf: nothing left on the mount or in S3
	out=$(rm -rf "$dir" 2>&1); rc=$?
	took "rm -rf"
	check_eq "$label: rm -rf of the tree" "$rc $out" "0 "
	check_eq "$label: the tree is gone from the mount" "$([ -e "$dir" ] && echo present || echo absent)" absent
	sleep 5	# commit_delay (3 s): a late commit must not bring a key back
	s3 ls -r "$name" >"$work/s3.ls" 2>"$work/s3.err"
	check_eq "$label: no key left under $name/ in S3" "$(awk -F'\t' '{ print $4 }' "$work/s3.ls" | head -n 20 | tr '\n' ' ')" ""
}

if [ -z "$wedged" ] && { [ -z "$ONLY" ] || [ "$ONLY" = fsstress ]; }; then
	fsstress_part
fi

# ---- the kernel log -----------------------------------------------------------

if [ -n "$wedged" ]; then
	fail "fstests: the remaining checks" "not run: $wedged"
fi
# what no check above reported yet
log=$(kmsg_new "$kmsg_start")
if printf '%s\n' "$log" | grep -Eq "$BAD_KERNEL"; then
	fail "fstests: no kernel warning, oops or blocked task" "the kernel log has:"
	dmesg | grep -F -m1 -A30 "$(printf '%s\n' "$log" | grep -E -m1 "$BAD_KERNEL")" | indent
else
	pass "fstests: no kernel warning, oops or blocked task"
fi
if printf '%s\n' "$log" | grep -Eq "$BAD_KMSG"; then
	fail "fstests: no failed commit and nothing left uncommitted" "the kernel log has:"
	# each message once, in order, with its count
	printf '%s\n' "$log" | grep -E "$BAD_KMSG" | awk '{ m = $0; sub(/^\[[^]]*\] /, "", m)
		if (!(m in n)) order[k++] = m; n[m]++ }
		END { for (i = 0; i < k; i++) print n[order[i]] "x " order[i] }' | head -n 30 | indent
else
	pass "fstests: no failed commit and nothing left uncommitted"
fi
finish
