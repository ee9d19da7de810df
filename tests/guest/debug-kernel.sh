#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test guest on the debug kernel:
#
#   scripts/guest-run --kernel debug -- tests/guest/debug-kernel.sh
#
# Checks that the kernel's checkers are really there and switched on (every
# option of scripts/debug-kernel.config in /proc/config.gz, KASAN, KFENCE,
# lockdep still validating, kmemleak, debug objects, the hung-task and
# soft-lockup watchdogs, fault injection through fail-nth), and that s3f.ko
# inserted by the harness is the one built for this kernel.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

dbg=/sys/kernel/debug
kmsg=$(dmesg 2>&1)

check_match "debug: the guest runs the debug kernel" "$(uname -r)" "-s3f-debug$"

# --- the configuration: every line of the fragment holds ---
if cfg=$(zcat /proc/config.gz 2>&1); then
	pass "debug: /proc/config.gz is readable"
	# One awk, not a grep per line: a process start costs ~0.5 s here.
	wrong=$(awk '
		FNR == NR { if ($0 ~ /^CONFIG_/) { i = index($0, "="); have[substr($0, 1, i - 1)] = substr($0, i + 1) }; next }
		/^CONFIG_[A-Za-z0-9_]+=/ {
			sym = $0; sub(/=.*/, "", sym); val = substr($0, length(sym) + 2)
			if (have[sym] != val) printf " %s", sym
		}
		/^# CONFIG_[A-Za-z0-9_]+ is not set$/ { if (($2 in have) && have[$2] != "n") printf " %s", $2 }
	' <(printf '%s\n' "$cfg") "$top/scripts/debug-kernel.config")
	check_eq "debug: every option of scripts/debug-kernel.config is set as asked" "${wrong# }" ""
else
	fail "debug: /proc/config.gz is readable" "$cfg"
fi

# --- memory errors ---
check_match "debug: KASAN is initialised" "$kmsg" "KernelAddressSanitizer initialized"
check_match "debug: KFENCE is initialised" "$kmsg" "kfence: initialized"
check_match "debug: KFENCE is enabled" "$(cat "$dbg/kfence/stats" 2>&1)" "enabled: 1"
check "debug: kmemleak's report file exists" test -r "$dbg/kmemleak"
check_no_match "debug: kmemleak has not disabled itself" "$kmsg" "kmemleak: .*(disabled|Cannot allocate)"

# --- locking, objects ---
check "debug: /proc/lockdep exists" test -r /proc/lockdep
check_match "debug: lockdep is still validating (debug_locks 1)" \
	"$(cat /proc/lockdep_stats 2>&1)" "debug_locks: +1( |$)"
check_match "debug: lockdep has found classes" \
	"$(grep 'lock-classes:' /proc/lockdep_stats 2>&1)" "lock-classes: +[1-9]"
check_match "debug: debug objects are tracked" \
	"$(cat "$dbg/debug_objects/stats" 2>&1)" "max_chain *:"

# --- hangs ---
check_eq "debug: hung task timeout is 30 s" "$(cat /proc/sys/kernel/hung_task_timeout_secs 2>&1)" 30
check_eq "debug: a hung task panics" "$(cat /proc/sys/kernel/hung_task_panic 2>&1)" 1
check_eq "debug: the soft-lockup watchdog runs" "$(cat /proc/sys/kernel/soft_watchdog 2>&1)" 1

# --- fault injection ---
check "debug: /proc/self/fail-nth exists" test -w /proc/self/fail-nth
for f in failslab fail_page_alloc fail_usercopy; do
	check "debug: $f is configurable" test -w "$dbg/$f/probability"
done
check_eq "debug: failslab may fail allocations that sleep" "$(cat "$dbg/failslab/ignore-gfp-wait" 2>&1)" N
# fail-nth N: the Nth fault point (allocation, copy from user space) this
# thread reaches fails. Creating a socket allocates; one of its first
# allocations failing must come back as an error, not a crash.
out=$(python3 - <<'EOF' 2>&1
import errno, os, socket
fd = os.open('/proc/thread-self/fail-nth', os.O_WRONLY)
failed = []
for nth in range(1, 30):
    os.write(fd, str(nth).encode())
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.close()
    except OSError as e:
        failed.append('%d:%s' % (nth, errno.errorcode.get(e.errno, e.errno)))
    # Back to 0. If the socket passed all its fault points, this write's
    # copy from user space (fail_usercopy) is the Nth: EFAULT, and then 0.
    try:
        os.write(fd, b'0')
    except OSError as e:
        if e.errno != errno.EFAULT:
            raise
print('failed at', ' '.join(failed) if failed else 'none')
EOF
)
check_match "debug: fail-nth makes a socket() fail (an injected allocation failure)" \
	"$out" "^failed at [0-9]+:E(NOMEM|NFILE|NOBUFS)"

# --- the module ---
if [ -d /sys/module/s3f ]; then
	check_match "debug: the s3f.ko in the guest is built for this kernel" \
		"$(modinfo -F vermagic "${S3F_GUEST_MODULE:-$top/kmod/s3f.ko}" 2>&1)" "^$(uname -r) "
	check_match "debug: s3f is registered" "$(cat /proc/filesystems)" "	s3f( |$)"
else
	fail "debug: s3f.ko is loaded" "/sys/module/s3f missing"
fi

finish
