#!/usr/bin/env python3
"""Close-to-open consistency across "nodes", for tests/guest/cto.sh.

    cto.py rounds   MOUNT_A MOUNT_B PREFIX     (S3F_CTO_ROUNDS, S3F_CTO_SEED)
    cto.py options  MOUNT PREFIX KIND          KIND: nocto, lookup-all,
                                               lookup-none, lookup-positive
    cto.py errors   MOUNT PREFIX               (a conflict=fail mount)

Two mounts of one bucket in one guest stand for two nodes: they share no
inode, dentry or page cache.  `rounds` writes and closes on one (create,
overwrite at the same and another size, truncate, append, delete,
rename, chmod/utime) or with an S3 client (the SigV4 client of
wstress.py), then opens at once on the other: the reader must see
exactly what was closed, and S3 must hold it when close() returns.
Both mounts keep the file in their page caches between rounds, so a
stale cache would show.  `options` shows what each weaker option gives
up (documented in Documentation/semantics.md).  Every check prints
"PASS: name" or "FAIL: name: why"; the exit status is 1 if any failed.
"""
import errno
import hashlib
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wstress  # noqa: E402  (the S3 client and check())
from wstress import S3, check, note  # noqa: E402


def read_or_errno(path):
    """The file's bytes and its size as fstat shows it after open, or the errno."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        return e.errno, None
    try:
        size = os.fstat(fd).st_size
        chunks = []
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks), size
    finally:
        os.close(fd)


def show(v):
    if v is None:
        return "none"
    if isinstance(v, int):
        return errno.errorcode.get(v, str(v))
    return f"{len(v)} bytes md5 {hashlib.md5(v).hexdigest()[:8]}"


class Rounds:
    """The expected content of a few names, changed through either side."""

    def __init__(self, a, b, prefix, rng, s3):
        self.mounts = (a, b)
        self.prefix = prefix
        self.rng = rng
        self.s3 = s3
        self.want = {}		# name -> bytes; absent: no such file
        self.bad = 0

    def path(self, side, name):
        return os.path.join(self.mounts[side], self.prefix, name)

    def key(self, name):
        return f"{self.prefix}/{name}"

    def data(self, n):
        return (self.rng.randbytes(61) * (n // 61 + 1))[:n]

    def size(self):
        return self.rng.choice([0, 1, 4095, 4096, 5000, 70000, 300000])

    def write_file(self, side, name, data, flags):
        fd = os.open(self.path(side, name), os.O_WRONLY | flags, 0o644)
        try:
            off = 0
            while off < len(data):
                off += os.write(fd, data[off:off + (1 << 20)])
        finally:
            os.close(fd)	# the commit: its error raises here

    # Each op changes the file through side w (or S3) and returns a label.
    def op_create(self, w, name):
        if name in self.want:
            return None
        d = self.data(self.size())
        self.write_file(w, name, d, os.O_CREAT | os.O_EXCL)
        self.want[name] = d
        return "create"

    def op_overwrite_same(self, w, name):
        if name not in self.want or not self.want[name]:
            return None
        d = self.data(len(self.want[name]))
        self.write_file(w, name, d, 0)
        self.want[name] = d
        return "overwrite, same size"

    def op_overwrite_other(self, w, name):
        if name not in self.want:
            return None
        d = self.data(self.size())
        self.write_file(w, name, d, os.O_TRUNC)
        self.want[name] = d
        return "overwrite, other size"

    def op_pwrite(self, w, name):
        if name not in self.want:
            return None
        old = self.want[name]
        off = self.rng.randrange(0, len(old) + 2000)
        d = self.data(self.rng.randrange(1, 9000))
        fd = os.open(self.path(w, name), os.O_WRONLY)
        try:
            os.pwrite(fd, d, off)
        finally:
            os.close(fd)
        new = bytearray(old) + bytes(max(0, off + len(d) - len(old)))
        new[off:off + len(d)] = d
        self.want[name] = bytes(new)
        return "write in the middle"

    def op_truncate(self, w, name):
        if name not in self.want:
            return None
        n = self.rng.randrange(0, len(self.want[name]) + 5000)
        os.truncate(self.path(w, name), n)	# no open writer: commits at once
        old = self.want[name]
        self.want[name] = old[:n] + bytes(max(0, n - len(old)))
        return "truncate"

    def op_append(self, w, name):
        if name not in self.want:
            return None
        d = self.data(self.rng.randrange(1, 5000))
        self.write_file(w, name, d, os.O_APPEND)
        self.want[name] += d
        return "append"

    def op_delete(self, w, name):
        if name not in self.want:
            return None
        os.unlink(self.path(w, name))
        del self.want[name]
        return "delete"

    def op_rename(self, w, name):
        if name not in self.want:
            return None
        to = self.rng.choice([n for n in NAMES if n != name])
        label = f"rename over {'an existing' if to in self.want else 'a new'} name"
        os.rename(self.path(w, name), self.path(w, to))
        self.want[to] = self.want.pop(name)
        return label

    def op_s3_put(self, w, name):
        d = self.data(self.size())
        self.s3.put(self.key(name), d)
        self.want[name] = d
        return "S3 client PUT"

    def op_s3_delete(self, w, name):
        if name not in self.want:
            return None
        st, _, _ = self.s3.request("DELETE", self.key(name))
        if st not in (200, 204):
            raise OSError(f"DELETE {name}: HTTP {st}")
        del self.want[name]
        return "S3 client DELETE"

    def check_all(self, label, by, r):
        """Mount r (and S3) must show exactly self.want, at once."""
        for name in NAMES:
            want = self.want.get(name)
            got, size = read_or_errno(self.path(r, name))
            ok = got == want if want is not None else got == errno.ENOENT
            if ok and want is not None and size != len(want):
                ok = False
            s3got = self.s3.get(self.key(name))
            if not ok or s3got != want:
                self.bad += 1
                if self.bad <= 10:
                    check(f"after {label} by {by}: {name} as opened on {'AB'[r]} and in S3",
                          False, f"mount: {show(got)} (fstat {size}), S3: {show(s3got)}, "
                          f"want {show(want) if want is not None else 'ENOENT'}")

    def run(self, rounds):
        ops = [self.op_create, self.op_overwrite_same, self.op_overwrite_other,
               self.op_pwrite, self.op_truncate, self.op_append, self.op_delete,
               self.op_rename, self.op_s3_put, self.op_s3_delete]
        done = {}
        for i in range(rounds):
            name = self.rng.choice(NAMES)
            op = self.rng.choice(ops)
            w = self.rng.randrange(2)
            label = op(w, name)
            if label is None:
                continue
            if op in (self.op_s3_put, self.op_s3_delete):
                first = self.rng.randrange(2)
                self.check_all(label, "S3", first)
                self.check_all(label, "S3", 1 - first)
            else:
                self.check_all(label, "AB"[w], 1 - w)
                self.check_all(label, "AB"[w], w)	# both page caches hold it
            done[label] = done.get(label, 0) + 1
        note("rounds: " + ", ".join(f"{k} {v}" for k, v in sorted(done.items())))
        return done


NAMES = ["f0", "f1", "f2", "sub/f3"]


def cmd_rounds(a, b, prefix):
    rounds = int(os.environ.get("S3F_CTO_ROUNDS", "120"))
    seed = int(os.environ.get("S3F_CTO_SEED", "1"))
    rng = random.Random(seed)
    s3 = S3()
    os.makedirs(os.path.join(a, prefix, "sub"), exist_ok=True)
    r = Rounds(a, b, prefix, rng, s3)
    done = r.run(rounds)
    n = sum(done.values())
    check(f"{n} rounds of write+close on one mount, open on the other at once: "
          "the reader and S3 saw exactly what was closed",
          r.bad == 0 and n >= rounds // 2, f"{r.bad} mismatches")
    check("every kind of change was tried", len(done) >= 10, f"{sorted(done)}")

    # attributes: chmod and utime with no writer open are in S3 at once
    p = os.path.join(a, prefix, "attrs")
    with open(p, "wb") as f:
        f.write(b"attributes\n")
    os.chmod(p, 0o640)
    os.utime(p, (1500000000, 1500000000))
    st, h, _ = s3.request("HEAD", f"{prefix}/attrs")
    check("chmod and utime with no writer: in the object's metadata when they return",
          st == 200 and h.get("x-amz-meta-mode") == str(0o100640) and
          h.get("x-amz-meta-mtime", "").split(".")[0] == "1500000000",
          f"HEAD {st}: mode {h.get('x-amz-meta-mode')}, mtime {h.get('x-amz-meta-mtime')}")
    check("a name without a known extension: Content-Type application/octet-stream",
          h.get("content-type") == "application/octet-stream", f"{h.get('content-type')}")
    with open(os.path.join(a, prefix, "notes.txt"), "wb") as f:
        f.write(b"text\n")
    st, h, _ = s3.request("HEAD", f"{prefix}/notes.txt")
    check("x.txt: Content-Type from /etc/mime.types (text/plain)",
          h.get("content-type") == "text/plain", f"HEAD {st}: {h.get('content-type')}")
    sb = os.stat(os.path.join(b, prefix, "attrs"))
    check("... and the other mount's stat shows them (a name it never saw)",
          (sb.st_mode & 0o7777, int(sb.st_mtime)) == (0o640, 1500000000),
          f"mode {oct(sb.st_mode)}, mtime {sb.st_mtime}")

    # a name one side found missing is found at once when made elsewhere
    q = os.path.join(b, prefix, "late")
    check("a missing name: ENOENT", read_or_errno(q)[0] == errno.ENOENT)
    with open(os.path.join(a, prefix, "late"), "wb") as f:
        f.write(b"late\n")
    check("made on the other mount, it is found at once (lookupcache=positive)",
          read_or_errno(q)[0] == b"late\n", show(read_or_errno(q)[0]))
    s3.put(f"{prefix}/late2", b"late2\n")
    check("made by an S3 client, it is found at once",
          read_or_errno(os.path.join(b, prefix, "late2"))[0] == b"late2\n")


def cmd_options(m, prefix, kind):
    s3 = S3()
    d = os.path.join(m, prefix)
    os.makedirs(d, exist_ok=True)
    key = f"{prefix}/x"
    if kind == "nocto":
        # close does not commit: the object appears commit_delay later
        with open(os.path.join(d, "x"), "wb") as f:
            f.write(b"one\n")
        check("nocto: right after close(), S3 does not have the file yet",
              s3.get(key) is None, show(s3.get(key)))
        for _ in range(100):
            if s3.get(key) == b"one\n":
                break
            time.sleep(0.1)
        check("nocto: commit_delay (3 s) later it does", s3.get(key) == b"one\n")
        # open() trusts attributes confirmed within actimeo (30 s here)
        read_or_errno(os.path.join(d, "x"))
        s3.put(key, b"two, from S3\n")
        got = read_or_errno(os.path.join(d, "x"))[0]
        check("nocto: an open within actimeo of the last look shows the cached version",
              got == b"one\n", show(got))
    elif kind == "lookup-all":
        q = os.path.join(d, "y")
        read_or_errno(q)
        s3.put(f"{prefix}/y", b"y\n")
        check("lookupcache=all: a name found missing stays missing within actimeo",
              read_or_errno(q)[0] == errno.ENOENT)
        read_or_errno(os.path.join(d, "x"))
    elif kind == "lookup-positive":
        # the default: attributes cached for actimeo, the name re-checked by open
        s3.put(key, b"z\n")
        q = os.path.join(d, "x")
        check("lookupcache=positive: an S3 client's new object is found", read_or_errno(q)[0] == b"z\n")
        s3.request("DELETE", key)
        ok_stat = os.path.exists(q)
        check("lookupcache=positive, actimeo=30: stat within actimeo still shows a deleted file",
              ok_stat)
        check("... but open() asks S3: ENOENT", read_or_errno(q)[0] == errno.ENOENT)
    elif kind == "lookup-none":
        s3.put(key, b"z\n")
        q = os.path.join(d, "x")
        check("lookupcache=none: an S3 client's new object is found", read_or_errno(q)[0] == b"z\n")
        s3.request("DELETE", key)
        check("lookupcache=none, actimeo=30: stat of a file deleted in S3 is ENOENT at once",
              not os.path.exists(q))
    else:
        raise SystemExit(f"cto.py options: unknown kind {kind}")


def cmd_errors(m, prefix):
    """close() returns the commit's error (here a conflict=fail conflict)."""
    s3 = S3()
    d = os.path.join(m, prefix)
    os.makedirs(d, exist_ok=True)
    key = f"{prefix}/c"
    s3.put(key, b"base\n")
    fd = os.open(os.path.join(d, "c"), os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"ours\n")
    s3.put(key, b"theirs\n")
    err = 0
    try:
        os.close(fd)
    except OSError as e:
        err = e.errno
    check("close() returns the commit's error (conflict=fail: another writer replaced it)",
          err in (errno.ESTALE, errno.EEXIST), show(err) if err else "close succeeded")
    check("... and the other writer's object stays", s3.get(key) == b"theirs\n", show(s3.get(key)))


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "rounds":
        cmd_rounds(*args)
    elif cmd == "options":
        cmd_options(*args)
    elif cmd == "errors":
        cmd_errors(*args)
    else:
        raise SystemExit(__doc__)
    sys.exit(1 if wstress.failures else 0)


if __name__ == "__main__":
    main()
