#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Releases side by side (issue 18, section 4), inside the test guest; the
# host's tests/host/proto-compat.sh builds the previous protocol's module
# and helper and boots a guest per pairing:
#
#   compat.sh pair S3FD PROTO   scripts/guest-run --no-helper, the module
#       given by S3F_GUEST_MODULE (or this tree's): start S3FD, which must
#       register in protocol PROTO, mount the bucket and work on it
#       (write, commit, read back through S3, rename a file and a
#       directory, symlink, unlink, remount and read again); kill S3FD in
#       the middle of a rename and start it again (the request is sent to
#       the new one)
#   compat.sh on-demand KO      scripts/guest-run --bare: no module loaded;
#       the first lookup of the s3f netlink family loads KO through
#       modprobe's alias net-pf-16-proto-16-family-s3f
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

CTL=$top/helper/s3fctl
M=/mnt/s3
work=$(mktemp -d /tmp/s3f-compat.XXXXXX)
s3fd_pid=

s3() { "$CTL" s3 "$@"; }
start_s3fd() {
	"$1" --foreground --staging /var/tmp/s3f-staging >>"${S3F_GUEST_OUT:-/tmp}/s3fd-compat.log" 2>&1 &
	s3fd_pid=$!
	for _ in $(seq 100); do "$CTL" status >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
stop_s3fd() {
	[ -n "$s3fd_pid" ] || return 0
	kill -TERM "$s3fd_pid" 2>/dev/null
	wait "$s3fd_pid" 2>/dev/null
	s3fd_pid=
}
cleanup() {
	mountpoint -q "$M" && umount "$M"
	stop_s3fd
	rm -rf "$work"
}
trap cleanup EXIT

pair() {
	local s3fd=$1 want=$2 p=compat-$$
	check_eq "$s3fd registers" "$(start_s3fd "$s3fd" && echo yes)" yes
	check_match "s3fctl status: the protocol spoken is $want" "$("$CTL" status)" \
		"helper: pid [0-9]+, protocol $want"
	[ "$s3fd" = "$top/helper/s3fd" ] &&
		check_match "s3fd --version" "$("$s3fd" --version 2>&1)" \
			"^s3fd [0-9.]+, protocol [0-9]+ to [0-9]+$"
	mkdir -p "$M"
	check_eq "mount -t s3f" \
		"$(mount -t s3f -o "$S3F_MOUNT_OPTIONS" "$S3F_BUCKET" "$M" 2>&1 && echo mounted)" mounted

	head -c 300000 /dev/urandom >"$work/a"
	head -c 7000 /dev/urandom >"$work/b"
	mkdir -p "$M/$p/dir/sub"
	cp "$work/a" "$M/$p/a"
	cp "$work/b" "$M/$p/dir/sub/b"
	s3 get "$p/a" "$work/a.s3" >/dev/null 2>&1
	check "a file closed is its object in S3" cmp "$work/a" "$work/a.s3"
	check_eq "rename a file" "$(mv "$M/$p/a" "$M/$p/a2" 2>&1 && cmp "$M/$p/a2" "$work/a" && echo ok)" ok
	check_eq "rename a directory" "$(mv "$M/$p/dir" "$M/$p/dir2" 2>&1 && cmp "$M/$p/dir2/sub/b" "$work/b" && echo ok)" ok
	check_eq "symlink" "$(ln -s a2 "$M/$p/l" && readlink "$M/$p/l")" a2
	check_eq "unlink" "$(rm "$M/$p/l" && ls "$M/$p" | tr '\n' ' ')" "a2 dir2 "

	# s3fd dies during a rename: the next one gets the request
	cp "$work/b" "$M/$p/c" && sync
	( mv "$M/$p/c" "$M/$p/c2" >"$work/mv.out" 2>&1; echo $? >"$work/mv.rc" ) &
	local mv=$!
	kill -KILL "$s3fd_pid"
	wait "$s3fd_pid" 2>/dev/null
	s3fd_pid=
	check_eq "$s3fd started again" "$(start_s3fd "$s3fd" && echo yes)" yes
	wait "$mv"
	check_eq "a rename during the helper's restart succeeds" "$(cat "$work/mv.rc") $(cat "$work/mv.out")" "0 "

	umount "$M"
	mount -t s3f -o "$S3F_MOUNT_OPTIONS" "$S3F_BUCKET" "$M"
	check_eq "after a remount: every file reads back, nothing else is there" \
		"$(cmp "$M/$p/a2" "$work/a" && cmp "$M/$p/dir2/sub/b" "$work/b" &&
		   cmp "$M/$p/c2" "$work/b" && echo same) $(cd "$M/$p" && find . | sort | tr '\n' ' ')" \
		"same . ./a2 ./c2 ./dir2 ./dir2/sub ./dir2/sub/b "
	rm -rf "${M:?}/$p"
	umount "$M"
	stop_s3fd
}

on_demand() {
	local ko=$1 kver root=$work/modroot
	kver=$(uname -r)
	check_eq "s3f.ko is not loaded" "$(grep -c '^s3f ' /proc/modules)" 0
	mkdir -p "$root/lib/modules/$kver/extra"
	cp "$ko" "$root/lib/modules/$kver/extra/s3f.ko"
	depmod -b "$root" "$kver" 2>"$work/depmod.err"
	check_match "depmod: the family alias is the module's" \
		"$(cat "$root/lib/modules/$kver/modules.alias")" "alias net-pf-16-proto-16-family-s3f s3f"
	# The kernel's request_module() runs this with the alias.  Usermode
	# helpers run in PID 1's root, the guest's initramfs, where this
	# chroot is /newroot (scripts/guest-lib.sh): the script goes back in.
	cat >"$work/modprobe" <<EOF
#!/bin/sh
echo "\$*" >>"/newroot$work/modprobe.log"
exec /bin/chroot /newroot /sbin/modprobe -d "$root" "\$@"
EOF
	chmod +x "$work/modprobe"
	local was
	was=$(cat /proc/sys/kernel/modprobe)
	echo "/newroot$work/modprobe" >/proc/sys/kernel/modprobe
	"$CTL" status >"$work/status.out" 2>&1
	local rc=$?
	echo "$was" >/proc/sys/kernel/modprobe
	check_eq "s3fctl status with no module: the family lookup loaded it (no helper yet: exit 1)" \
		"$rc $(grep -c '^s3f ' /proc/modules)" "1 1"
	check_match "the kernel asked modprobe for the family's alias" \
		"$(cat "$work/modprobe.log" 2>/dev/null)" "net-pf-16-proto-16-family-s3f"
	check_match "s3fctl --version: its own and the module's release and protocols" \
		"$("$CTL" --version)" "^s3fctl [0-9.]+, protocol [0-9]+ to [0-9]+ s3f.ko [0-9.]+, protocol [0-9]+ to [0-9]+ ?$"

	# s3fd's start: in the background, its exit status says whether it
	# registered; in the foreground, systemd's readiness notification
	local out rc
	out=$("$top/helper/s3fd" --staging /var/tmp/s3f-staging 2>&1); rc=$?
	check_eq "s3fd in the background: exit 0 once registered" \
		"$rc $(pgrep -x s3fd >/dev/null && "$CTL" status >/dev/null && echo registered)" "0 registered"
	out=$("$top/helper/s3fd" --staging /var/tmp/s3f-staging 2>&1); rc=$?
	check_match "a second s3fd: exit 1, and says why on stderr" "$rc $out" \
		"^1 .*cannot register with s3f.ko: .*another helper is registered"
	pkill -TERM -x s3fd
	for _ in $(seq 50); do pgrep -x s3fd >/dev/null || break; sleep 0.1; done
	python3 - "$top/helper/s3fd" >"$work/notify.out" 2>&1 <<'EOF'
import os, socket, subprocess, sys
path = "/run/s3f-notify-test"
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.settimeout(20)
p = subprocess.Popen([sys.argv[1], "--foreground", "--staging", "/var/tmp/s3f-staging"],
                     env=dict(os.environ, NOTIFY_SOCKET=path),
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    print(sock.recv(4096).decode().replace("\n", " "))
finally:
    p.terminate()
    p.wait()
EOF
	check_match "s3fd --foreground tells systemd (NOTIFY_SOCKET) it is ready once registered" \
		"$(cat "$work/notify.out")" "READY=1 STATUS=registered with s3f.ko, protocol [0-9]+ MAINPID=[0-9]+"
	rmmod s3f
	out=$("$top/helper/s3fd" --staging /var/tmp/s3f-staging 2>&1); rc=$?
	check_match "s3fd with no module it can load: exit 1, and says why" "$rc $out" \
		"^1 .*no \"s3f\" netlink family"
}

case "${1:-}" in
pair) pair "$2" "$3" ;;
on-demand) on_demand "$2" ;;
*) fail "compat.sh" "usage: compat.sh pair S3FD PROTO | on-demand KO" ;;
esac
finish
