#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The write path, inside the test guest (scripts/guest-run): every
# operation through `mount -t s3f`, checked from outside the mount with
# an independent client (s3fctl s3 / curl): object bytes, metadata
# headers, absence before the commit point and presence after it.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"

CTL=$top/helper/s3fctl
export CTL
M=/mnt/s3-write
P=w			# the mount's prefix: keys are w/...
DELAY=2			# commit_delay
OPTS="$S3F_MOUNT_OPTIONS,ttl=2,commit_delay=$DELAY"
work=$(mktemp -d /tmp/s3f-write.XXXXXX)
mkdir -p "$M"

s3() { "$CTL" s3 "$@"; }
# obj KEY: the object's bytes, hex-free md5 (or "absent")
obj_md5() { s3 get "$P/$1" 2>/dev/null | md5sum | cut -d' ' -f1; }
obj_exists() { s3 head "$P/$1" >/dev/null 2>&1 && echo present || echo absent; }
# meta KEY NAME: x-amz-meta-NAME of the object
meta() { s3 head "$P/$1" 2>/dev/null | awk -v k="meta-$2" '$1 == k ":" { print $2 }'; }
md5() { md5sum "$1" | cut -d' ' -f1; }
stat_counter() {
	awk -v m="$M" -v k="$1" '$0 ~ " mounted on " m " " {
		for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' /proc/self/mountstats
}
do_mount() { mount -t s3f -o "$OPTS${1:+,$1}" "$S3F_BUCKET/$P" "$M"; }

s3 mkdir "$P/" >/dev/null	# the mount's prefix exists
out=$(do_mount 2>&1); rc=$?
check_eq "mount read-write" "$rc $out" "0 "
check_match "rw in /proc/mounts, commit options shown" "$(grep " $M " /proc/mounts)" \
	"^$S3F_BUCKET/$P/? $M s3f rw,.*commit_delay=$DELAY,commit_interval=0,conflict=keep"
cd "$work"

# ---- create, write, close: in S3 after commit_delay, not before ----
t0=$(date +%s%N)
printf 'hello, s3f\n' >"$M/new1"
seen=$(obj_exists new1)
ms=$((($(date +%s%N) - t0) / 1000000))
# a loaded machine (the debug kernel) may take commit_delay to ask
if [ "$ms" -lt $((DELAY * 1000 - 300)) ]; then
	check_eq "a new file is not in S3 at close (commit_delay=$DELAY)" "$seen" absent
else
	echo "# the HEAD came ${ms} ms after close, past commit_delay: not asserted"
fi
check_eq "it is listed on the mount meanwhile" "$(ls "$M")" "new1"
check_eq "and readable" "$(cat "$M/new1")" "hello, s3f"
sleep $((DELAY + 2))
check_eq "commit_delay after the last close it is in S3" "$(s3 get "$P/new1")" "hello, s3f"
check_eq "x-amz-meta-mode of a new file" "$(meta new1 mode)" "33188"
check_eq "x-amz-meta-uid" "$(meta new1 uid)" "0"
check_match "x-amz-meta-mtime is seconds" "$(meta new1 mtime)" "^1[0-9]{9}(\.[0-9]{9})?$"

# ---- fsync: in S3 when it returns ----
out=$(python3 - "$M" <<'EOF'
import os, sys, subprocess
m = sys.argv[1]
fd = os.open(m + "/synced", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
os.write(fd, b"x" * 5000)
os.fsync(fd)
n = subprocess.run([os.environ["CTL"], "s3", "get", "w/synced"], capture_output=True).stdout.count(b"x")
try:
    os.open(m + "/synced", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    print(n, "no EEXIST")
except FileExistsError:
    print(n, "EEXIST")
os.close(fd)
EOF
)
check_eq "fsync returns with the object in S3; O_EXCL on it fails" "$out" "5000 EEXIST"
check_eq "mode 0640 in x-amz-meta-mode" "$(meta synced mode)" "33184"

# A file of at most S3F_COMMIT_INLINE_MAX (16 KiB) is committed inline:
# its bytes go in the COMMIT, no staging file is made.
out=$(python3 - "$M" <<'EOF'
import os, sys, subprocess
m = sys.argv[1]
fd = os.open(m + "/inline", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
os.write(fd, bytes(range(256)) * 64)            # 16 KiB
os.fsync(fd)
staged = len([f for f in os.listdir("/var/tmp/s3f-staging") if f.startswith("s3f-")])
got = subprocess.run([os.environ["CTL"], "s3", "get", "w/inline"], capture_output=True).stdout
os.pwrite(fd, b"Z" * 100, 5000)                  # an edit, committed inline too
os.fsync(fd)
got2 = subprocess.run([os.environ["CTL"], "s3", "get", "w/inline"], capture_output=True).stdout
staged2 = len([f for f in os.listdir("/var/tmp/s3f-staging") if f.startswith("s3f-")])
os.close(fd)
want2 = bytearray(bytes(range(256)) * 64)
want2[5000:5100] = b"Z" * 100
print(got == bytes(range(256)) * 64, got2 == bytes(want2), staged, staged2)
EOF
)
check_eq "a 16 KiB file: fsync commits it inline (no staging file), edits too" "$out" "True True 0 0"
# Write-behind: a file being written is staged behind its writer in
# S3F_STAGE_BEHIND (4 MiB) steps, before any commit point, so fsync has
# little left to copy; what reaches S3 is still exactly what was written.
out=$(python3 - "$M" <<'EOF'
import hashlib, os, subprocess, sys, time
m, sd = sys.argv[1], "/var/tmp/s3f-staging"
before = set(os.listdir(sd))
fd = os.open(m + "/behind", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
chunk = os.urandom(1 << 20)
for i in range(12):
    os.write(fd, chunk)
def staged():
    return sum(os.stat(os.path.join(sd, f)).st_blocks * 512
               for f in set(os.listdir(sd)) - before if f.startswith("s3f-"))
t = time.monotonic()
while staged() < (8 << 20) and time.monotonic() - t < 3:
    time.sleep(0.05)
n = staged()
os.fsync(fd)
os.close(fd)
got = subprocess.run([os.environ["CTL"], "s3", "get", "w/behind"], capture_output=True).stdout
print(n >= (8 << 20), hashlib.md5(got).hexdigest() == hashlib.md5(chunk * 12).hexdigest())
EOF
)
check_eq "write-behind: 12 MiB written, >= 8 MiB staged before fsync; S3 has them all" \
	"$out" "True True"
rm -f "$M/behind"

# an edit of one page of a 12 KiB object, nothing cached: the other
# pages are read from S3 for the inline commit
head -c 12288 /dev/urandom >"$work/twelve"
s3 put "$work/twelve" "$P/twelve" >/dev/null
cp "$work/twelve" "$work/twelve.want"
printf 'EDIT' | dd of="$work/twelve.want" bs=1 seek=6000 conv=notrunc status=none
sync; echo 3 >/proc/sys/vm/drop_caches
sleep 2		# ttl: the directory's last listing did not have it
printf 'EDIT' | dd of="$M/twelve" bs=1 seek=6000 conv=notrunc status=none
"$CTL" commit "$M/twelve"
check_eq "an edit in the middle of a cold 12 KiB object: S3 has the merge" \
	"$(obj_md5 twelve)" "$(md5 "$work/twelve.want")"
# ... and when another writer replaced it meanwhile, the pages we did not
# have are gone with our base: the commit fails, theirs stays whole
head -c 12288 /dev/urandom >"$work/theirs"
sync; echo 3 >/proc/sys/vm/drop_caches	# the commit above read every page
out=$(python3 - "$M" "$work/theirs" <<'EOF'
import os, sys, subprocess
m, theirs = sys.argv[1:3]
fd = os.open(m + "/twelve", os.O_RDWR)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
os.pread(fd, 4096, 4096)                       # page 1 cached, 0 and 2 not
subprocess.run([os.environ["CTL"], "s3", "put", theirs, "w/twelve"], capture_output=True)
os.pwrite(fd, b"MINE", 6000)
try:
    os.fsync(fd)
    print("fsync ok")
except OSError as e:
    print("fsync", e.strerror)
os.close(fd)
EOF
)
check_match "an edit of a small object replaced in S3, base pages not cached: fsync fails" \
	"$out" "^fsync (Stale file handle|File exists|Input/output error)"
check_eq "and the other writer's object is untouched" "$(obj_md5 twelve)" "$(md5 "$work/theirs")"
rm -f "$M/twelve"	# the failed version goes with the name (and theirs)

# ---- objects from another client: O_TRUNC, O_APPEND, truncate, pwrite ----
printf '0123456789' >ten
for k in trunc append shrink; do s3 put ten "$P/$k" >/dev/null; done
printf 'abc' >"$M/trunc"
printf 'XYZ' >>"$M/append"
truncate -s 4 "$M/shrink"
truncate -s 8 "$M/shrink"
"$CTL" commit "$M/trunc" "$M/append" "$M/shrink"
check_eq "O_TRUNC replaces the object" "$(s3 get "$P/trunc")" "abc"
check_eq "O_APPEND appends to the object" "$(s3 get "$P/append")" "0123456789XYZ"
check_eq "truncate shrink then grow: zeros, not the old bytes" \
	"$(s3 get "$P/shrink" | od -An -c | tr -s ' ')" " 0 1 2 3 \\0 \\0 \\0 \\0"

python3 - "$M/sparse" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b"Z", (1 << 20) + 5)
os.pwrite(fd, b"head", 0)
os.fsync(fd)
os.close(fd)
EOF
python3 -c 'import sys; sys.stdout.buffer.write(b"head" + bytes((1 << 20) + 1) + b"Z")' >sparse.want
check_eq "pwrite past EOF leaves zeros; the object matches" "$(obj_md5 sparse)" "$(md5 sparse.want)"

# ---- a small edit of a big object uploads a part, copies the rest ----
head -c $((20 << 20)) /dev/urandom >big
s3 put big "$P/big" >/dev/null
cp big big.want
printf 'EDITED!!' | dd of=big.want bs=1 seek=$((10 << 20)) conv=notrunc status=none
u0=$(stat_counter commit_bytes); r0=$(stat_counter read_bytes)
printf 'EDITED!!' | dd of="$M/big" bs=1 seek=$((10 << 20)) conv=notrunc status=none
"$CTL" commit "$M/big"
u1=$(stat_counter commit_bytes); r1=$(stat_counter read_bytes)
check_eq "small edit of a 20 MiB object: the object matches" "$(obj_md5 big)" "$(md5 big.want)"
check_match "it uploaded one part, not the object ($((u1 - u0)) bytes)" "$((u1 - u0))" \
	"^([5-9][0-9]{6}|1[0-6][0-9]{6})$"
check_match "and downloaded one page, not the object ($((r1 - r0)) bytes)" "$((r1 - r0))" "^(4096|0)$"
check_eq "read back through the mount" "$(md5 "$M/big")" "$(md5 big.want)"

# ---- mmap: MAP_SHARED writes reach S3 at msync; MAP_PRIVATE ones never ----
printf 'abcdefghij%.0s' $(seq 500) >mm
s3 put mm "$P/mm" >/dev/null
out=$(python3 - "$M/mm" <<'EOF'
import mmap, os, sys, subprocess
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 0, mmap.MAP_PRIVATE)
m[0:4] = b"PRIV"
m.close()
m = mmap.mmap(fd, 0, mmap.MAP_SHARED)
m[4096:4100] = b"SHRD"
m.flush()		# msync(MS_SYNC)
got = subprocess.run([os.environ["CTL"], "s3", "get", "w/mm"], capture_output=True).stdout
print(got[4096:4100].decode(), got[0:4].decode(), len(got))
m.close()
os.close(fd)
EOF
)
check_eq "msync(MS_SYNC) commits MAP_SHARED writes; MAP_PRIVATE ones stay private" "$out" "SHRD abcd 5000"

# ---- a samtools-like pattern: stream, then seek back and patch the header ----
python3 - "$M/out.bam" >bam.want <<'EOF'
import os, sys, random
r = random.Random(7)
body = bytes(r.getrandbits(8) for _ in range(3 << 20))
with open(sys.argv[1], "wb") as f:
    f.write(b"\0" * 64)
    for i in range(0, len(body), 65536):
        f.write(body[i:i + 65536])
    f.seek(0)
    f.write(b"BAM\1" + b"h" * 60)
sys.stdout.buffer.write(b"BAM\1" + b"h" * 60 + body)
EOF
"$CTL" wait "$M"
check_eq "write, seek back, patch the header: the object is the final file" \
	"$(obj_md5 out.bam)" "$(md5 bam.want)"

# ---- unlink; an open-unlinked file lives on its descriptors only ----
rm "$M/new1"
check_eq "unlink deletes the object at once" "$(obj_exists new1)" absent
out=$(python3 - "$M" <<'EOF'
import os, sys
m = sys.argv[1]
fd = os.open(m + "/ghost", os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b"boo")
os.fsync(fd)
os.unlink(m + "/ghost")
os.write(fd, b" still here")
os.fsync(fd)
print(os.pread(fd, 100, 0).decode())
os.close(fd)
EOF
)
check_eq "an open-unlinked file stays readable and writable" "$out" "boo still here"
sleep $((DELAY + 2))
check_eq "and is not re-created in S3" "$(obj_exists ghost)" absent

# ---- directories ----
mkdir -m 0750 "$M/d1"
check_eq "mkdir writes the marker" "$(obj_exists d1/)" present
check_eq "with the mode in x-amz-meta-mode" "$(meta d1/ mode)" "16872"
printf 'f' >"$M/d1/f"
out=$(rmdir "$M/d1" 2>&1); rc=$?
check_match "rmdir with an uncommitted child: ENOTEMPTY" "$rc $out" "^1 .*not empty"
"$CTL" commit "$M/d1/f"
out=$(rmdir "$M/d1" 2>&1); rc=$?
check_match "rmdir with a committed child: ENOTEMPTY" "$rc $out" "^1 .*not empty"
s3 put ten "$P/implicit/x" >/dev/null
out=$(rmdir "$M/implicit" 2>&1); rc=$?
check_match "rmdir of an implicit directory with a key under it: ENOTEMPTY" "$rc $out" "^1 .*not empty"
mkdir "$M/d2"
rmdir "$M/d2"
check_eq "rmdir of an empty directory deletes its marker" "$(obj_exists d2/)" absent

# ---- a directory made here: new names are still asked of S3 (lookupcache=positive) ----
mkdir "$M/fresh"
l0=$(stat_counter lookups)
for i in 1 2 3 4 5; do printf "$i" >"$M/fresh/f$i"; done
# (at least: past actimeo the directory itself is looked at again)
check_eq "creating files in a directory made by this mount: a LOOKUP each" \
	"$(($(stat_counter lookups) - l0 >= 5))" 1
s3 put ten "$P/fresh/outside" >/dev/null
check_eq "a key another client added there shows at once" "$(cat "$M/fresh/outside")" 0123456789

# ---- rename ----
mv "$M/synced" "$M/moved"
check_eq "rename of a file: the new key has the bytes" "$(s3 get "$P/moved" | wc -c)" 5000
check_eq "and the metadata" "$(meta moved mode)" "33184"
check_eq "the old key is gone" "$(obj_exists synced)" absent
printf 'local' >"$M/tmpname"
mv "$M/tmpname" "$M/final"
"$CTL" wait "$M"
check_eq "rename of an uncommitted file: committed under the new name only" \
	"$(s3 get "$P/final") $(obj_exists tmpname)" "local absent"
out=$(python3 - "$M" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_NOREPLACE = -100, 1
m = sys.argv[1].encode()
r = libc.syscall(316, AT_FDCWD, m + b"/moved", AT_FDCWD, m + b"/final", RENAME_NOREPLACE)
print(r, os.strerror(ctypes.get_errno()) if r else "")
EOF
)
check_match "RENAME_NOREPLACE onto an existing name: EEXIST" "$out" "^-1 File exists"
check_eq "neither object changed" "$(s3 get "$P/final") $(s3 get "$P/moved" | wc -c)" "local 5000"
mkdir -p "$M/tree/sub"
printf 'one' >"$M/tree/a"
printf 'two' >"$M/tree/sub/b"
ln -s a "$M/tree/l"
"$CTL" wait "$M"
mv "$M/tree" "$M/tree2"
check_eq "rename of a directory moves every key" \
	"$(s3 ls -r "$P/tree" | awk '{print $4}' | tr '\n' ' ')" \
	"$P/tree2/ $P/tree2/a $P/tree2/l $P/tree2/sub/ $P/tree2/sub/b "
check_eq "its files read at the new path" "$(cat "$M/tree2/a" "$M/tree2/sub/b") $(readlink "$M/tree2/l")" "onetwo a"
printf 'three' >>"$M/tree2/sub/b"
"$CTL" commit "$M/tree2/sub/b"
check_eq "a file under a renamed directory commits to its new key" \
	"$(s3 get "$P/tree2/sub/b") $(obj_exists tree/sub/b)" "twothree absent"

# ---- symlinks (s3fs format), hard links ----
ln -s some/target "$M/lnk"
check_eq "symlink: the object's body is the target" "$(s3 get "$P/lnk")" "some/target"
check_eq "and x-amz-meta-mode has S_IFLNK" "$(meta lnk mode)" "41471"
out=$(ln "$M/final" "$M/hard" 2>&1); rc=$?
check_match "hard link: EPERM" "$rc $out" "^1 .*not permitted"
check_match "with a log line" "$(dmesg | tail -20)" "hard links are not supported"

# ---- chmod, chown, utimes: s3fs metadata, kept when the data changes ----
chmod 0600 "$M/final"
chown 1234:5678 "$M/final"
touch -m -d @1500000000 "$M/final"
"$CTL" commit "$M/final"
check_eq "chmod/chown/utimes reach x-amz-meta-*" \
	"$(meta final mode) $(meta final uid) $(meta final gid) $(meta final mtime)" \
	"33152 1234 5678 1500000000"
printf 'more' >>"$M/final"
"$CTL" commit "$M/final"
check_eq "a data rewrite keeps them" "$(s3 get "$P/final") $(meta final mode) $(meta final uid)" \
	"localmore 33152 1234"

# ---- permissions follow the mode bits ----
printf 'root only' >"$M/private"
chmod 0644 "$M/private"
chmod 0755 "$M/tree2"
out=$(setpriv --reuid=4321 --regid=4321 --clear-groups sh -c \
	"echo x >>'$M/private'; echo y >'$M/tree2/nope'; cat '$M/private'" 2>&1)
check_match "another user cannot write a 0644 file or create in a 0755 directory" "$out" \
	"Permission denied.*Permission denied.*root only"

# ---- cp -a and tar x of a tree, compared after a remount ----
src=$work/srctree
mkdir -p "$src/x/y" "$src/empty"
printf 'alpha' >"$src/a"; chmod 0640 "$src/a"
head -c 70000 /dev/urandom >"$src/x/blob"; chmod 0755 "$src/x/blob"
printf 'deep' >"$src/x/y/z"
ln -s ../a "$src/x/rel"
ln -s /etc/hostname "$src/abs"
touch -h -d @1600000000 "$src/a" "$src/x/blob" "$src/x/y/z"
cp -a "$src" "$M/cp"
tar -C "$work" -cf tree.tar srctree
mkdir "$M/tar"
tar -C "$M/tar" -xf tree.tar
umount "$M"
check_eq "umount commits what was dirty" "$(s3 get "$P/cp/x/y/z")" "deep"
do_mount
check "cp -a tree: diff -r after a remount" diff -r "$src" "$M/cp"
check "tar x tree: diff -r after a remount" diff -r "$src" "$M/tar/srctree"
# st DIR [s]: type, mode, size, mtime (in whole seconds with s: tar's precision)
st() {
	(cd "$1" && find . -mindepth 1 \! -type d -printf '%p %M %s %T@\n' | sort |
		if [ "${2:-}" = s ]; then sed 's/\.[0-9]*$//'; else cat; fi)
}
check_eq "cp -a tree: modes, sizes, mtimes (ns) after a remount" "$(st "$M/cp")" "$(st "$src")"
check_eq "tar x tree: modes, sizes, mtimes after a remount" "$(st "$M/tar/srctree" s)" "$(st "$src" s)"

# ---- sync and umount commit; nothing is left staged ----
printf 'at umount' >"$M/last"
dd if=/dev/urandom of="$M/last-big" bs=1M count=6 status=none
cp "$M/last-big" lastbig
sync
check_eq "sync commits everything" "$(s3 get "$P/last") $(obj_md5 last-big)" "at umount $(md5 lastbig)"
printf 'x' >>"$M/last"
umount "$M"
check_eq "umount with dirty data commits it" "$(s3 get "$P/last")" "at umountx"
check_eq "no staging file is left behind" "$(ls /var/tmp/s3f-staging | wc -l)" 0
check_no_match "no commit errors in the kernel log (but the one made on purpose)" \
	"$(dmesg | grep -v 'w/twelve')" "s3f: .*(commit failed|not committed)"

cd /
rm -rf "$work"
finish
