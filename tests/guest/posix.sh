#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# POSIX pieces S3 tools and conformance suites use, inside the test guest
# (scripts/guest-run): FIFOs, sockets and device nodes stored the
# s3fs-fuse way, fallocate, O_DIRECT, extended attributes, the mount
# root's attributes.  Two mounts of the bucket:
# what one makes, the other must read back from S3 alone.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

CTL=$top/helper/s3fctl
A=/mnt/s3-posix-a
B=/mnt/s3-posix-b
P=posix-$$
work=$(mktemp -d /tmp/s3f-posix.XXXXXX)
cleanup() {
	cd /
	umount "$A" "$B" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$A" "$B"

s3() { "$CTL" s3 "$@"; }
# meta KEY NAME: x-amz-meta-NAME of the object KEY (under $P)
meta() { s3 head "$P/$1" 2>/dev/null | awk -v k="meta-$2" '$1 == k ":" { print $2 }'; }

mount -t s3f -o "$S3F_MOUNT_OPTIONS" "$S3F_BUCKET/" "$A" &&
	mount -t s3f -o "$S3F_MOUNT_OPTIONS" "$S3F_BUCKET/" "$B"
check_eq "two mounts of the bucket" "$?" 0
mkdir -p "$A/$P"

# ---- FIFOs ----
mkfifo -m 0640 "$A/$P/fifo"; rc=$?
check_eq "mkfifo succeeds" "$rc $(stat -c '%F %a' "$A/$P/fifo")" "0 fifo 640"
check_eq "the object is s3fs-fuse's: mode with S_IFIFO (decimal)" \
	"$(meta fifo mode) $(s3 get "$P/fifo" | wc -c)" "$((0010640)) 0"
check_eq "the other mount sees a FIFO" "$(stat -c '%F %a %s' "$B/$P/fifo")" "fifo 640 0"
(echo "through the fifo" >"$B/$P/fifo") &
got=$(timeout 20 cat "$B/$P/fifo")
wait
check_eq "the FIFO passes data between processes (locally, as on any fs)" "$got" "through the fifo"
rm "$A/$P/fifo"
check_eq "rm of a FIFO deletes its object" "$(s3 head "$P/fifo" >/dev/null 2>&1; echo $?)" 1

# ---- sockets ----
python3 - "$A/$P/sock" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.close()
EOF
check_eq "bind(2) of a unix socket makes a socket file" "$(stat -c %F "$A/$P/sock")" socket
check_eq "... stored with S_IFSOCK in x-amz-meta-mode" \
	"$(( $(meta sock mode) & 0170000 ))" "$((0140000))"
check_eq "the other mount sees a socket" "$(stat -c %F "$B/$P/sock")" socket

# ---- device nodes ----
mknod -m 0600 "$A/$P/null" c 1 3; rc=$?
check_eq "mknod of a character device succeeds (root)" \
	"$rc $(stat -c '%F %t:%T' "$A/$P/null")" "0 character special file 1:3"
check_eq "... stored with S_IFCHR and x-amz-meta-rdev" \
	"$(meta null mode) $(meta null rdev)" "$((0020600)) $(((1 << 8) | 3))"
check_eq "the other mount sees the device and its number" \
	"$(stat -c '%F %t:%T' "$B/$P/null")" "character special file 1:3"
out=$(head -c 1 "$B/$P/null" 2>&1); rc=$?
check_match "a device node on s3f cannot be opened (SB_I_NODEV)" "$rc $out" "^1 .*Permission denied"
mknod "$A/$P/blk" b 7 0 && check_eq "a block device: its number too" \
	"$(stat -c '%F %t:%T' "$B/$P/blk")" "block special file 7:0"

# ---- special files are still files to the namespace ----
mkfifo "$A/$P/f2" && mv "$A/$P/f2" "$A/$P/f3"
check_eq "rename of a FIFO keeps its type" "$(stat -c %F "$B/$P/f3")" fifo
chmod 0600 "$A/$P/f3"
check_eq "chmod of a FIFO is in S3 when it returns" \
	"$(meta f3 mode)" "$((0010600))"

# ---- fallocate and O_DIRECT (tests/guest/posix.py) ----
python3 "$top/tests/guest/posix.py" falloc-odirect "$A/$P" "$P" || _failures=$((_failures + 1))

# ---- extended attributes (user.*), s3fs-fuse's x-amz-meta-xattr ----
python3 "$top/tests/guest/posix.py" xattr "$A/$P" "$B/$P" "$P" || _failures=$((_failures + 1))

# ---- s3fs-fuse's objects and metadata (tests/guest/posix.py) ----
mkdir "$A/$P/compat"
python3 "$top/tests/guest/posix.py" compat "$A/$P/compat" "$P/compat" || _failures=$((_failures + 1))

# ---- a directory's mtime and ctime follow its entries, past actimeo ----
mkdir "$A/$P/times"
t0=$(stat -c %Y "$A/$P/times")
sleep 1.1
: >"$A/$P/times/new"
t1=$(stat -c '%Y %Z' "$A/$P/times")
sleep 1.5	# past actimeo: the next stat asks S3, which has the marker's time
t2=$(stat -c '%Y %Z' "$A/$P/times")
check_eq "creating an entry moves its directory's mtime and ctime, and a revalidation keeps them" \
	"$([ "${t1% *}" -gt "$t0" ] && [ "${t1#* }" -gt "$t0" ] && echo later) $t2" "later $t1"
sleep 1.1
rm "$A/$P/times/new"
t3=$(stat -c %Y "$A/$P/times")
check_eq "removing one moves it again" "$([ "$t3" -gt "${t1% *}" ] && echo later)" later

# ---- the mount's root: touch and chmod work, for the mount's life ----
chmod 0750 "$A" && touch -d @1600000000 "$A"; rc=$?
check_eq "chmod and touch of the mount point succeed, and stat shows them" \
	"$rc $(stat -c '%a %Y' "$A")" "0 750 1600000000"
chmod 0755 "$A"

umount "$A" "$B"
finish
