#!/bin/sh
# Runs inside the test guest as root, chrooted into the host's root (read-only
# 9p), started by the initramfs /init of scripts/guest-lib.sh (built by
# scripts/guest-kernel or scripts/debug-kernel), for scripts/guest-run. Not
# for use on the host.
#
# Reads from the out dir (/run/s3f-out, the host's per-run dir, writable):
#   config    S3F_GUEST_MODE (full | no-helper | bare), S3F_GUEST_TOP (the
#             checkout), S3F_GUEST_CWD, S3F_GUEST_KVER, S3F_GUEST_KDIR,
#             S3F_GUEST_KERNEL (stock | debug), S3F_GUEST_S3 (s3rver | rgw)
#             and, for rgw, S3F_GUEST_S3_ENDPOINT, _BUCKET, _KEY, _SECRET,
#             _REGION
#   env       "export NAME='value'" lines: the caller's S3F_* variables, then
#             guest-run's -e NAME=VALUE
#   cmd       COMMAND, quoted: "exec 'arg' ..."
# Writes there: init.log (this script's log, with guest uptimes), s3rver.log,
# s3fd.log, dmesg.txt, kmemleak.txt (a kernel with kmemleak: the debug
# kernel) and, last, status:
#   setup=ok|failed  command=N  teardown=ok|failed
#
# Order: lo up, hostname; start the S3 server; insmod s3f.ko; s3fd; wait for
# the S3 server; [mount]; COMMAND; then the reverse: umount, stop s3fd,
# kmemleak scan (if the kernel has it), rmmod, stop the S3 server, dmesg.
set -u

out=/run/s3f-out
run=/run/s3f
exec </dev/null >>"$out/init.log" 2>&1

unset TERM s3f_init s3f_proj
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
HOME=/root
USER=root
LOGNAME=root
export PATH HOME USER LOGNAME
umask 022

# The caller's S3F_* variables (less those the guest sets), then -e ones.
set -a
. "$out/env"
set +a
. "$out/config"
top=$S3F_GUEST_TOP
S3F_GUEST=1
S3F_GUEST_OUT=$out
S3F_GUEST_S3=${S3F_GUEST_S3:-s3rver}
S3F_GUEST_FAULTS=${S3F_GUEST_FAULTS:-}
export S3F_GUEST S3F_GUEST_OUT S3F_GUEST_S3 S3F_GUEST_FAULTS

S3_PORT=4568
S3_BUCKET=s3f-test
S3_WAIT=${S3F_GUEST_S3_WAIT:-60}	# seconds for the S3 server to listen
HELPER_WAIT=10				# seconds for s3fd to register
if [ "${S3F_GUEST_KERNEL:-stock}" = debug ]; then
	# Its checkers make every system call and fault several times slower.
	S3_WAIT=${S3F_GUEST_S3_WAIT:-300}
	HELPER_WAIT=60
fi

log() {
	read -r up _ </proc/uptime
	echo "[$up] $*"
}

# now: whole seconds since boot
now() {
	read -r up _ </proc/uptime
	echo "${up%.*}"
}

# alive PID: true while PID runs (a zombie child of ours counts as gone;
# dash does not reap it before "wait", so kill -0 would still succeed).
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	read -r st <"/proc/$1/stat" 2>/dev/null || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# stop PID SECONDS: SIGTERM, wait up to SECONDS, then SIGKILL. Sets $stopped
# to the exit status, or "killed" if SIGKILL was needed.
stop() {
	kill -TERM "$1" 2>/dev/null
	deadline=$(($(now) + $2))
	while alive "$1" && [ "$(now)" -lt "$deadline" ]; do
		sleep 0.05
	done
	if alive "$1"; then
		kill -KILL "$1" 2>/dev/null
		wait "$1"
		stopped=killed
	else
		wait "$1"
		stopped=$?
	fi
}

# port NAME: the /dev node of the virtio-serial port QEMU named NAME.
port() {
	for p in /sys/class/virtio-ports/*; do
		read -r n <"$p/name" 2>/dev/null || continue
		if [ "$n" = "$1" ]; then
			echo "/dev/${p##*/}"
			return 0
		fi
	done
	return 1
}

log "guest-init: mode $S3F_GUEST_MODE, kernel $(uname -r)"

# --- base system ------------------------------------------------------------

base_setup() {
	echo s3f-guest >/proc/sys/kernel/hostname
	if command -v ip >/dev/null; then
		ip link set lo up
	else
		busybox ip link set lo up
	fi || { log "bringing up lo failed"; return 1; }

	# modprobe/modinfo for the guest kernel: its unpacked module tree.
	kmods=$S3F_GUEST_KDIR/root/lib/modules/$S3F_GUEST_KVER
	if [ -d "$kmods" ]; then
		[ -d "/lib/modules/$S3F_GUEST_KVER" ] ||
			{ mount -t tmpfs tmpfs /lib/modules && mkdir "/lib/modules/$S3F_GUEST_KVER"; }
		mount --bind "$kmods" "/lib/modules/$S3F_GUEST_KVER" ||
			log "note: /lib/modules/$S3F_GUEST_KVER not set up; modprobe will not work"
	else
		log "note: $kmods not visible; modprobe will not work"
	fi
	mkdir -p "$run"
}

# --- the debug kernel (guest-run --kernel debug) --------------------------------

# debug_setup: debugfs (kmemleak, fault-injection knobs) mounted; and
# fail-nth (/proc/thread-self/fail-nth) set up as syzkaller does: it may fail
# any slab or page allocation, also those that may sleep (by default only
# atomic ones fail), and each injected fault logs one "FAULT_INJECTION:
# forcing a failure." line without the stack dump that the harness would take
# for a kernel problem. Without fail-nth or a probability, nothing fails.
debug_setup() {
	dbg=/sys/kernel/debug
	grep -q " $dbg debugfs " /proc/mounts || mount -t debugfs debugfs "$dbg" ||
		{ log "mounting debugfs failed"; return 1; }
	for f in failslab fail_page_alloc fail_usercopy; do
		[ -d "$dbg/$f" ] || continue
		echo 1 >"$dbg/$f/verbose"
		[ ! -e "$dbg/$f/ignore-gfp-wait" ] || echo N >"$dbg/$f/ignore-gfp-wait"
	done
	if [ -d "$dbg/fail_page_alloc" ]; then
		echo N >"$dbg/fail_page_alloc/ignore-gfp-highmem"
		echo 0 >"$dbg/fail_page_alloc/min-order"
	fi
	log "debug kernel: debugfs mounted, fault injection ready for fail-nth"
}

# --- S3 server ----------------------------------------------------------------

s3rver_pid=
# s3_start: start the server in the background (Node needs seconds under TCG;
# the module and helper setup overlap with that) and set the S3 variables.
s3_start() {
	if [ "${S3F_GUEST_S3:-s3rver}" = rgw ]; then
		rgw_start
		return
	fi
	log "starting s3rver"
	node "$top/scripts/s3rver.js" --dir "$run/s3rver-data" --port "$S3_PORT" \
		--bucket "$S3_BUCKET" >"$run/s3rver.ready" 2>>"$out/s3rver.log" &
	s3rver_pid=$!
	s3_deadline=$(($(now) + S3_WAIT))

	# Defaults; guest-run -e NAME=VALUE (already in the environment) wins.
	: "${S3F_ENDPOINT:=http://127.0.0.1:$S3_PORT}"
	: "${S3F_BUCKET:=$S3_BUCKET}"
	: "${AWS_ACCESS_KEY_ID:=S3RVER}"
	: "${AWS_SECRET_ACCESS_KEY:=S3RVER}"
	: "${AWS_REGION:=us-east-1}"
	: "${S3F_MOUNT_OPTIONS:=endpoint=$S3F_ENDPOINT,region=$AWS_REGION,addressing=path}"
	S3F_S3RVER_DIR=$run/s3rver-data
	export S3F_ENDPOINT S3F_BUCKET AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
		AWS_REGION S3F_MOUNT_OPTIONS S3F_S3RVER_DIR
}

# rgw_start: the host's RGW through QEMU's one forward (scripts/guest-run):
# bring up the virtio NIC with the address QEMU's user network expects.
rgw_start() {
	log "network: eth0 10.0.2.15/24, RGW at $S3F_GUEST_S3_ENDPOINT"
	modprobe virtio_net && ip link set lo up && ip link set eth0 up &&
		ip addr add 10.0.2.15/24 dev eth0 ||
		log "network setup failed"
	S3_BUCKET=$S3F_GUEST_S3_BUCKET
	s3_deadline=$(($(now) + S3_WAIT))
	: "${S3F_ENDPOINT:=$S3F_GUEST_S3_ENDPOINT}"
	: "${S3F_BUCKET:=$S3_BUCKET}"
	: "${AWS_ACCESS_KEY_ID:=$S3F_GUEST_S3_KEY}"
	: "${AWS_SECRET_ACCESS_KEY:=$S3F_GUEST_S3_SECRET}"
	: "${AWS_REGION:=$S3F_GUEST_S3_REGION}"
	: "${S3F_MOUNT_OPTIONS:=endpoint=$S3F_ENDPOINT,region=$AWS_REGION,addressing=path}"
	# RGW is not on the guest's loopback: plain http needs the admin's word
	S3FD_ALLOW_HTTP=1
	export S3F_ENDPOINT S3F_BUCKET AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
		AWS_REGION S3F_MOUNT_OPTIONS S3FD_ALLOW_HTTP
}

# rgw_wait: until RGW answers through the forward.
rgw_wait() {
	while :; do
		code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$S3F_GUEST_S3_ENDPOINT/" 2>/dev/null)
		case "$code" in 000|"") ;; *) break ;; esac
		if [ "$(now)" -ge "$s3_deadline" ]; then
			log "RGW not answering at $S3F_GUEST_S3_ENDPOINT after ${S3_WAIT}s"
			return 1
		fi
		sleep 0.2
	done
	log "RGW answers at $S3F_GUEST_S3_ENDPOINT (HTTP $code), bucket $S3_BUCKET"
}

# s3_wait: until the server prints "ready PORT" (it has created the bucket
# and listens), at most S3F_GUEST_S3_WAIT seconds after s3_start.
s3_wait() {
	[ "${S3F_GUEST_S3:-s3rver}" != rgw ] || { rgw_wait; return; }
	while :; do
		line=
		read -r line <"$run/s3rver.ready" 2>/dev/null
		case "$line" in "ready "*) break ;; esac
		if ! alive "$s3rver_pid"; then
			wait "$s3rver_pid"
			log "s3rver exited with status $? before listening (see s3rver.log)"
			s3rver_pid=
			return 1
		fi
		if [ "$(now)" -ge "$s3_deadline" ]; then
			log "s3rver not listening after ${S3_WAIT}s (S3F_GUEST_S3_WAIT)"
			return 1
		fi
		sleep 0.05
	done
	log "s3rver ready on 127.0.0.1:$S3_PORT, bucket $S3_BUCKET"
}

# --- kernel module --------------------------------------------------------------

module=${S3F_GUEST_MODULE:-$top/kmod/s3f.ko}
modname=
module_setup() {
	if [ ! -f "$module" ]; then
		log "note: $module does not exist; not loaded"
		return 0
	fi
	modname=$(basename "$module" .ko | tr - _)
	log "insmod $module"
	if ! insmod "$module"; then
		log "insmod $module failed"
		modname=
		return 1
	fi
}

# --- helper daemon ----------------------------------------------------------

s3fd_pid=
helper_setup() {
	if [ ! -x "$top/helper/s3fd" ]; then
		log "note: $top/helper/s3fd does not exist; not started"
		return 0
	fi
	if [ -z "$modname" ]; then
		log "note: no module loaded; s3fd not started"
		return 0
	fi
	log "starting s3fd"
	"$top/helper/s3fd" --foreground --staging /var/tmp/s3f-staging \
		>>"$out/s3fd.log" 2>&1 &
	s3fd_pid=$!
	deadline=$(($(now) + HELPER_WAIT))
	until "$top/helper/s3fctl" status; do
		if ! alive "$s3fd_pid"; then
			wait "$s3fd_pid"
			log "s3fd exited with status $? (see s3fd.log)"
			s3fd_pid=
			return 1
		fi
		if [ "$(now)" -ge "$deadline" ]; then
			log "s3fctl status still failing after ${HELPER_WAIT}s"
			return 1
		fi
		sleep 0.1
	done
	log "s3fd registered"
}

# --- mount (full mode; guest-run --no-mount or S3F_GUEST_MOUNT=0 skips it) --

mounted=
mount_setup() {
	[ "${S3F_GUEST_MOUNT:-1}" = 1 ] || return 0
	mkdir -p /mnt/s3
	log "mount -t s3f -o $S3F_MOUNT_OPTIONS $S3_BUCKET /mnt/s3"
	mount -t s3f -o "$S3F_MOUNT_OPTIONS" "$S3_BUCKET" /mnt/s3 ||
		{ log "mounting $S3_BUCKET on /mnt/s3 failed"; return 1; }
	mounted=1
}

# --- COMMAND ----------------------------------------------------------------

# COMMAND writes into FIFOs that two cats copy to the virtio-serial ports: a
# port can be open only once at a time, and COMMAND may reopen its output
# (echo >/dev/stderr). A port write returns only after the host took the data.
run_command() {
	pout=$(port s3f.stdout) && perr=$(port s3f.stderr) ||
		{ log "virtio-serial ports s3f.stdout/s3f.stderr not found"; return 125; }
	mkfifo "$run/stdout" "$run/stderr" || return 125
	cat "$run/stdout" >"$pout" &
	cat_out=$!
	cat "$run/stderr" >"$perr" &
	cat_err=$!
	log "running COMMAND in $S3F_GUEST_CWD"
	(
		cd "$S3F_GUEST_CWD" || exit 125
		exec /bin/sh "$out/cmd"
	) >"$run/stdout" 2>"$run/stderr"
	rc=$?
	log "COMMAND exited $rc"
	# A background process of COMMAND's may still hold the FIFOs open.
	deadline=$(($(now) + 3))
	while { alive "$cat_out" || alive "$cat_err"; } && [ "$(now)" -lt "$deadline" ]; do
		sleep 0.05
	done
	for p in "$cat_out" "$cat_err"; do
		if alive "$p"; then
			log "output of COMMAND's leftover processes is cut off"
			kill "$p"
		fi
		wait "$p"
	done
	return "$rc"
}

# --- kmemleak (the debug kernel) ------------------------------------------------

# kmemleak_report: on a kernel with kmemleak, scan for leaks and save the
# report to kmemleak.txt, before rmmod s3f, so that the module's frames in
# the allocation backtraces still resolve to names (guest-run fails the run
# if one is s3f's). An object is reported only once two scans in a row found
# it unreferenced and unchanged (the first scan records its checksum) and it
# is older than 5 s at the start of the second: hence the 6 s between them.
kmemleak_report() {
	km=/sys/kernel/debug/kmemleak
	# Built-in kmemleak shows as /sys/module/kmemleak (its "verbose" parameter).
	[ -d /sys/module/kmemleak ] || return 0
	if [ ! -e "$km" ]; then
		mount -t debugfs debugfs /sys/kernel/debug ||
			{ log "kmemleak: mounting debugfs failed"; return 0; }
	fi
	log "kmemleak: scanning"
	if echo scan >"$km" && sleep 6 && echo scan >"$km"; then
		cat "$km" >"$out/kmemleak.txt"
		log "kmemleak: $(grep -c '^unreferenced object' "$out/kmemleak.txt") unreferenced object(s) reported"
	else
		log "kmemleak: scan failed (kmemleak disabled? see dmesg)"
		echo "kmemleak: the scan failed" >"$out/kmemleak.failed"
	fi
}

# --- teardown -----------------------------------------------------------------

teardown() {
	ok=ok
	if [ -n "$mounted" ]; then
		log "umount /mnt/s3"
		umount /mnt/s3 || { log "umount /mnt/s3 failed"; ok=failed; }
	fi
	# s3f mounts COMMAND left behind would keep the module busy
	for mp in $(awk '$3 == "s3f" { print $2 }' /proc/mounts); do
		log "umount $mp (left mounted by COMMAND)"
		umount "$mp" || umount -l "$mp" || log "umount $mp failed"
	done
	if [ -n "$s3fd_pid" ] && ! alive "$s3fd_pid"; then
		# COMMAND may kill the helper on purpose (helper-death tests);
		# it judges that itself.  A helper it started is stopped below.
		log "s3fd (pid $s3fd_pid) had already exited"
		s3fd_pid=
	fi
	for pid in $(pgrep -x s3fd); do
		[ "$pid" = "$s3fd_pid" ] && continue
		log "stopping s3fd pid $pid started by COMMAND"
		kill -TERM "$pid" 2>/dev/null
	done
	if [ -n "$s3fd_pid" ]; then
		log "stopping s3fd"
		stop "$s3fd_pid" 10
		if [ "$stopped" != 0 ]; then
			log "s3fd did not exit cleanly on SIGTERM (status $stopped)"
			ok=failed
		fi
	fi
	kmemleak_report
	if [ -n "$modname" ] && [ -d "/sys/module/$modname" ]; then
		log "rmmod $modname"
		rmmod "$modname" || { log "rmmod $modname failed"; ok=failed; }
	fi
	if [ -n "$s3rver_pid" ]; then
		stop "$s3rver_pid" 5
		[ "$stopped" = 0 ] || log "s3rver did not exit cleanly (status $stopped)"
	fi
	teardown=$ok
}

# --- main -----------------------------------------------------------------------

setup=ok
command=125
base_setup || setup=failed
if [ "$setup" = ok ] && [ "${S3F_GUEST_KERNEL:-stock}" = debug ]; then
	debug_setup || setup=failed
fi
if [ "$setup" = ok ] && [ "$S3F_GUEST_MODE" != bare ]; then
	s3_start
	module_setup || setup=failed
	if [ "$setup" = ok ] && [ "$S3F_GUEST_MODE" = full ]; then
		helper_setup || setup=failed
	fi
	[ "$setup" != ok ] || s3_wait || setup=failed
	if [ "$setup" = ok ] && [ "$S3F_GUEST_MODE" = full ]; then
		mount_setup || setup=failed
	fi
fi

if [ "$setup" = ok ]; then
	log "setup done"
	run_command
	command=$?
else
	log "setup failed; COMMAND not run"
fi

teardown
dmesg >"$out/dmesg.txt" 2>&1
printf 'setup=%s\ncommand=%s\nteardown=%s\n' "$setup" "$command" "$teardown" >"$out/status"
log "guest-init: done"
sync
