#!/usr/bin/env python3
"""The write path under stress, for tests/guest/write-stress.sh.

    wstress.py model      MOUNT PREFIX STATE      (S3F_STRESS_SEED, S3F_STRESS_OPS)
    wstress.py verify-s3  STATE PREFIX
    wstress.py verify-mount STATE MOUNT PREFIX
    wstress.py concurrent MOUNT PREFIX STATE NPROC
    wstress.py kill       MOUNT PREFIX STATE
    wstress.py conflict   MOUNT FAILMOUNT PREFIX
    wstress.py atomic     MOUNT PREFIX

Every check prints "PASS: name" or "FAIL: name: why" (tests/lib.sh);
the exit status is 1 if any failed.  STATE is a directory holding the
expected bytes of every object (one file per key, its name the key with
"/" as "%"), so a later subcommand can check that nothing committed was
lost.

S3 is read and written with the small SigV4 client below (http.client,
hmac): an independent path, neither through the mount nor through s3fd's
S3 engine.  Credentials and endpoint come from the environment the guest
harness sets (S3F_ENDPOINT, S3F_BUCKET, AWS_*).
"""
import collections
import datetime
import errno
import hashlib
import hmac
import http.client
import mmap
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

failures = 0
TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
S3FD = os.path.join(TOP, "helper", "s3fd")
S3FCTL = os.path.join(TOP, "helper", "s3fctl")
STAGING = os.environ.get("S3F_STRESS_STAGING", "/var/tmp/s3f-staging")
HELPER_LOG = os.environ.get("S3F_STRESS_HELPER_LOG", "/tmp/s3fd-stress.log")


def check(name, ok, why=""):
    global failures
    if ok:
        print(f"PASS: {name}", flush=True)
    else:
        failures += 1
        print(f"FAIL: {name}: {why}", flush=True)
    return ok


def note(msg):
    print(f"# {msg}", flush=True)


def describe(got, want):
    """Where two byte strings first differ, for a failure message."""
    if got is None:
        return "no object"
    if len(got) != len(want):
        pre = f"{len(got)} bytes, want {len(want)}"
    else:
        pre = f"{len(got)} bytes"
    n = min(len(got), len(want))
    for i in range(n):
        if got[i] != want[i]:
            return f"{pre}; first difference at {i}: {got[i:i+8].hex()} != {want[i:i+8].hex()}"
    return pre


# ---------------------------------------------------------------- S3 client

class S3:
    """Path-style S3 with SigV4 header signatures, UNSIGNED-PAYLOAD."""

    def __init__(self):
        ep = urllib.parse.urlsplit(os.environ["S3F_ENDPOINT"])
        self.host = ep.netloc
        self.bucket = os.environ["S3F_BUCKET"]
        self.ak = os.environ["AWS_ACCESS_KEY_ID"]
        self.sk = os.environ["AWS_SECRET_ACCESS_KEY"]
        self.region = os.environ.get("AWS_REGION", "us-east-1")
        self.conn = None

    def _sign(self, method, path, query, headers):
        now = datetime.datetime.utcnow()
        amzdate = now.strftime("%Y%m%dT%H%M%SZ")
        day = now.strftime("%Y%m%d")
        headers["host"] = self.host
        headers["x-amz-date"] = amzdate
        headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
        names = sorted(k.lower() for k in headers)
        canon_h = "".join(f"{k}:{str(headers[k]).strip()}\n" for k in names)
        signed = ";".join(names)
        cq = "&".join(f"{urllib.parse.quote(k, safe='~')}={urllib.parse.quote(v, safe='~')}"
                      for k, v in sorted(query.items()))
        creq = "\n".join([method, path, cq, canon_h, signed, "UNSIGNED-PAYLOAD"])
        scope = f"{day}/{self.region}/s3/aws4_request"
        sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
        k = ("AWS4" + self.sk).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={self.ak}/{scope}, "
                                    f"SignedHeaders={signed}, Signature={sig}")
        return cq

    def request(self, method, key, query=None, body=None, headers=None):
        query = query or {}
        headers = dict(headers or {})
        path = "/" + self.bucket + ("/" + urllib.parse.quote(key, safe="/~") if key else "")
        cq = self._sign(method, path, query, headers)
        url = path + ("?" + cq if cq else "")
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, timeout=60)
                self.conn.request(method, url, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.2)

    def get(self, key):
        st, _, data = self.request("GET", key)
        if st == 404:
            return None
        if st != 200:
            raise OSError(f"GET {key}: HTTP {st}: {data[:200]!r}")
        return data

    def get_whole(self, key, timeout=1.5):
        """One GET, no retry: (status, ETag, body, Content-Length).  A body
        cut short (s3rver rewrites an object file in place: a GET racing
        a PUT can end early and then hangs until the server's keep-alive
        timeout) comes back as it is, shorter than Content-Length."""
        headers = {}
        path = "/" + self.bucket + "/" + urllib.parse.quote(key, safe="/~")
        self._sign("GET", path, {}, headers)
        conn = http.client.HTTPConnection(self.host, timeout=timeout)
        try:
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            clen = int(r.getheader("content-length", "-1"))
            etag = (r.getheader("etag") or "").strip('"')
            try:
                body = r.read()
            except http.client.IncompleteRead as e:
                body = e.partial
            except OSError:
                body = b""
            return r.status, etag, body, clen
        finally:
            conn.close()

    def get_settled(self, key, wait=30):
        """A GET whose body is the one the server stored (its MD5 is the
        ETag, as s3rver makes it): waits out s3rver's in-place rewrites.
        (body, number of torn bodies seen first)."""
        torn, deadline = 0, time.time() + wait
        while True:
            st, etag, body, clen = self.get_whole(key)
            if st == 404:
                return None, torn
            if st == 200 and len(body) == clen and hashlib.md5(body).hexdigest() == etag:
                return body, torn
            torn += 1
            if time.time() > deadline:
                return body, torn
            time.sleep(0.2)

    def put(self, key, data):
        st, h, body = self.request("PUT", key, body=data)
        if st != 200:
            raise OSError(f"PUT {key}: HTTP {st}: {body[:200]!r}")
        return h.get("etag", "").strip('"')

    def ls(self, prefix):
        keys, token = [], None
        while True:
            q = {"list-type": "2", "prefix": prefix}
            if token:
                q["continuation-token"] = token
            st, _, data = self.request("GET", "", query=q)
            if st != 200:
                raise OSError(f"LIST {prefix}: HTTP {st}: {data[:200]!r}")
            root = ET.fromstring(data)
            ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
            keys += [c.findtext(f"{ns}Key") for c in root.findall(f"{ns}Contents")]
            token = root.findtext(f"{ns}NextContinuationToken")
            if root.findtext(f"{ns}IsTruncated") != "true" or not token:
                return sorted(keys)


# ---------------------------------------------------------------- state

def state_save(state, key, data):
    os.makedirs(state, exist_ok=True)
    with open(os.path.join(state, key.replace("/", "%")), "wb") as f:
        f.write(data)


def state_load(state, prefix=""):
    out = {}
    for n in sorted(os.listdir(state)):
        key = n.replace("%", "/")
        if key.startswith(prefix):
            with open(os.path.join(state, n), "rb") as f:
                out[key] = f.read()
    return out


def verify_s3(state, prefix, label):
    s3 = S3()
    want = state_load(state, prefix)
    bad = []
    for key, data in want.items():
        got = s3.get(key)
        if got != data:
            bad.append(f"{key}: {describe(got, data)}")
    check(f"{label}: {len(want)} objects under {prefix} in S3 equal the model (independent client)",
          not bad and want, "; ".join(bad[:5]) or "no objects")
    dirs = sorted(set(prefix or k.split("/")[0] + "/" for k in want))
    extra = [k for d in dirs for k in s3.ls(d) if k not in want and not k.endswith("/")]
    check(f"{label}: no other objects under {' '.join(dirs)} (no conflict copies, no strays)",
          not extra, " ".join(extra[:10]))


def verify_mount(state, mount, prefix, label):
    want = state_load(state, prefix)
    bad = []
    for key, data in want.items():
        p = os.path.join(mount, key)
        try:
            st = os.stat(p).st_size
            with open(p, "rb") as f:
                got = f.read()
        except OSError as e:
            bad.append(f"{key}: {e}")
            continue
        if st != len(data):
            bad.append(f"{key}: st_size {st}, want {len(data)}")
        elif got != data:
            bad.append(f"{key}: {describe(got, data)}")
    check(f"{label}: {len(want)} files read through the mount equal the model (size and bytes)",
          not bad and want, "; ".join(bad[:5]) or "no files")


# ---------------------------------------------------------------- model-based random I/O

class Model:
    """Files under MOUNT/PREFIX driven by random operations, each checked
    against a bytearray."""

    def __init__(self, mount, prefix, rng, s3):
        self.mount, self.prefix, self.rng, self.s3 = mount, prefix, rng, s3
        self.data = {}		# name -> bytearray
        self.cap = {}		# name -> largest size
        self.fd = {}		# name -> fd or None
        self.hist = collections.deque(maxlen=25)
        self.count = collections.Counter()
        self.failed = False

    def path(self, name):
        return os.path.join(self.mount, self.prefix, name)

    def key(self, name):
        return f"{self.prefix}/{name}"

    def add(self, name, base, cap):
        if base is not None:
            self.s3.put(self.key(name), base)
            self.data[name] = bytearray(base)
        else:
            self.data[name] = bytearray()
        self.cap[name] = cap
        self.fd[name] = None

    def open(self, name, trunc=False):
        flags = os.O_RDWR | (os.O_TRUNC if trunc else 0)
        if name not in self.opened:
            flags |= os.O_CREAT
            self.opened.add(name)
        self.fd[name] = os.open(self.path(name), flags, 0o644)
        if trunc:
            del self.data[name][:]

    def bad(self, what):
        self.failed = True
        check("model: every operation matches the model", False,
              f"{what}; seed {self.seed}; last operations: " + " | ".join(self.hist))

    def pick_range(self, name, big=False):
        rng, cap = self.rng, self.cap[name]
        n = len(self.data[name])
        r = rng.random()
        if r < 0.35:
            ln = rng.randint(1, 200)
        elif r < 0.7:
            ln = rng.choice([4095, 4096, 4097, 8192, 12288 + 1, 65536])
        else:
            ln = rng.randint(1, 300 << 10 if big else 64 << 10)
        if rng.random() < 0.15:
            off = n + rng.randint(0, 300 << 10)	# past EOF: a hole
        elif rng.random() < 0.2 and n:
            off = (rng.randrange(0, n) & ~4095) + rng.choice([0, 4095, 4094])
        else:
            off = rng.randrange(0, max(n, 1))
        off = min(off, cap - 1)
        ln = max(1, min(ln, cap - off))
        return off, ln

    def op_pwrite(self, name):
        off, ln = self.pick_range(name, big=True)
        buf = self.rng.randbytes(ln)
        self.hist.append(f"pwrite {name} @{off}+{ln}")
        if os.pwrite(self.fd[name], buf, off) != ln:
            return self.bad(f"short pwrite {name} @{off}+{ln}")
        d = self.data[name]
        if off > len(d):
            d.extend(bytes(off - len(d)))
        d[off:off + ln] = buf

    def op_pread(self, name):
        d = self.data[name]
        if self.rng.random() < 0.1:
            off, ln = 0, len(d) + 4096		# the whole file
        else:
            off, ln = self.pick_range(name)
            off = min(off, len(d) + 100)
        self.hist.append(f"pread {name} @{off}+{ln}")
        got = os.pread(self.fd[name], ln, off)
        want = bytes(d[off:off + ln])
        if got != want:
            self.bad(f"pread {name} @{off}+{ln}: {describe(got, want)} (file offset {off})")

    def op_truncate(self, name):
        d, cap, rng = self.data[name], self.cap[name], self.rng
        r = rng.random()
        if r < 0.4 and d:
            size = rng.randrange(0, len(d))			# shrink
        elif r < 0.5 and d:
            size = (len(d) & ~4095) + rng.choice([0, 1, 4095])	# near a page edge
        else:
            size = len(d) + rng.randint(1, 200 << 10)		# grow
        size = min(size, cap)
        self.hist.append(f"ftruncate {name} {len(d)}->{size}")
        os.ftruncate(self.fd[name], size)
        if size < len(d):
            del d[size:]
        else:
            d.extend(bytes(size - len(d)))

    def op_mmap(self, name):
        d = self.data[name]
        if not d:
            return self.op_pwrite(name)
        off = self.rng.randrange(0, len(d))
        ln = min(self.rng.choice([1, 100, 4096, 5000, 40000]), len(d) - off)
        buf = self.rng.randbytes(ln)
        sync = self.rng.random() < 0.5
        self.hist.append(f"mmap-write {name} @{off}+{ln}{' msync' if sync else ''}")
        m = mmap.mmap(self.fd[name], len(d), flags=mmap.MAP_SHARED,
                      prot=mmap.PROT_READ | mmap.PROT_WRITE)
        try:
            m[off:off + ln] = buf
            if sync:
                m.flush()	# msync(MS_SYNC): a commit point
            # read back through the mapping
            lo = max(0, off - 10)
            if m[lo:off + ln + 10] != bytes(d[lo:off]) + buf + bytes(d[off + ln:off + ln + 10]):
                self.bad(f"mmap read-back {name} @{off}+{ln}")
        finally:
            m.close()
        d[off:off + ln] = buf

    def op_fsync(self, name):
        self.hist.append(f"fsync {name}")
        os.fsync(self.fd[name])

    def op_stat(self, name):
        self.hist.append(f"fstat {name}")
        st = os.fstat(self.fd[name]).st_size
        if st != len(self.data[name]):
            self.bad(f"fstat {name}: size {st}, model {len(self.data[name])}")

    def op_reopen(self, name):
        trunc = self.rng.random() < 0.08
        self.hist.append(f"close+open {name}{' O_TRUNC' if trunc else ''}")
        os.close(self.fd[name])
        self.fd[name] = None
        self.open(name, trunc)

    def run(self, seed, nops):
        self.seed = seed
        self.opened = set(n for n, d in self.data.items() if d)
        for name in self.data:
            self.open(name)
        ops = [(self.op_pwrite, 30), (self.op_pread, 30), (self.op_truncate, 7),
               (self.op_mmap, 10), (self.op_fsync, 1.5), (self.op_stat, 5),
               (self.op_reopen, 3)]
        fns = [f for f, _ in ops]
        weights = [w for _, w in ops]
        names = sorted(self.data)
        start = time.time()
        for i in range(nops):
            name = self.rng.choice(names)
            fn = self.rng.choices(fns, weights)[0]
            try:
                fn(name)
            except OSError as e:
                self.bad(f"op {i} ({self.hist[-1] if self.hist else fn.__name__}): {e}")
            self.count[fn.__name__[3:]] += 1
            if self.failed:
                break
        note(f"model: {nops} operations in {time.time() - start:.1f} s: "
             + ", ".join(f"{k} {v}" for k, v in sorted(self.count.items())))
        if not self.failed:
            check(f"model: {nops} operations (seed {seed}): every pread, fstat and mmap read matched", True)
        # the end: the whole of every file, through its descriptor
        bad = []
        for name in names:
            fd = self.fd[name]
            st = os.fstat(fd).st_size
            got = os.pread(fd, len(self.data[name]) + 4096, 0)
            if st != len(self.data[name]) or got != self.data[name]:
                bad.append(f"{name}: size {st}: {describe(got, bytes(self.data[name]))}")
        check("model: at the end every file equals its model", not bad, "; ".join(bad))
        for name in names:
            os.close(self.fd[name])


def cmd_model(mount, prefix, state):
    seed = int(os.environ.get("S3F_STRESS_SEED", "1"))
    nops = int(os.environ.get("S3F_STRESS_OPS", "2000"))
    print(f"# model: seed {seed} ({nops} operations; S3F_STRESS_SEED=, S3F_STRESS_OPS= to change)",
          flush=True)
    rng = random.Random(seed)
    s3 = S3()
    m = Model(mount, prefix, rng, s3)
    # objects uploaded by the independent client: their clean ranges
    # come from the base object at commit
    m.add("base-1m", rng.randbytes((1 << 20) + 123), 3 << 20)
    m.add("base-small", rng.randbytes(5000), 2 << 20)
    m.add("base-10m", rng.randbytes(10 << 20), 12 << 20)	# > part size: multipart, copies
    m.add("new-a", None, 3 << 20)
    m.add("new-b", None, 1 << 20)
    m.run(seed, nops)
    for name, d in m.data.items():
        state_save(state, m.key(name), bytes(d))


# ---------------------------------------------------------------- concurrent writers

def cmd_concurrent(mount, prefix, state, nproc):
    os.makedirs(os.path.join(mount, prefix), exist_ok=True)
    kids = []
    for k in range(nproc):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                rng = random.Random(1000 + k)
                key = f"{prefix}/w{k}"
                fd = os.open(os.path.join(mount, key), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
                d = bytearray()
                for i in range(150):
                    r = rng.random()
                    if r < 0.75:
                        off = rng.randrange(0, len(d) + 65536)
                        buf = rng.randbytes(rng.randint(1, 100000))
                        os.pwrite(fd, buf, off)
                        if off > len(d):
                            d.extend(bytes(off - len(d)))
                        d[off:off + len(buf)] = buf
                    elif r < 0.85:
                        size = rng.randrange(0, len(d) + 10000)
                        os.ftruncate(fd, size)
                        del d[size:]
                        d.extend(bytes(size - len(d)))
                    elif r < 0.95 and d:
                        off = rng.randrange(0, len(d))
                        buf = rng.randbytes(min(5000, len(d) - off))
                        m = mmap.mmap(fd, len(d), flags=mmap.MAP_SHARED)
                        m[off:off + len(buf)] = buf
                        m.close()
                        d[off:off + len(buf)] = buf
                    elif r >= 0.95:
                        os.fsync(fd)
                    if len(d) > (2 << 20):
                        os.ftruncate(fd, 1 << 20)
                        del d[1 << 20:]
                got = os.pread(fd, len(d) + 1, 0)
                os.close(fd)
                state_save(state, key, bytes(d))
                code = 0 if got == d else 2
            except Exception as e:
                print(f"# writer {k}: {e!r}", flush=True)
            os._exit(code)
        kids.append(pid)
    codes = [os.waitpid(p, 0)[1] for p in kids]
    check(f"concurrent: {nproc} writers each wrote its own file and read it back",
          all(c == 0 for c in codes), f"exit statuses {codes}")
    t = time.time()
    os.sync()
    note(f"concurrent: sync took {time.time() - t:.1f} s")
    verify_s3(state, prefix + "/", "concurrent: after sync")


# ---------------------------------------------------------------- SIGKILL of s3fd

def helper_pids():
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        state = st[st.rindex(")") + 2]
        if comm == "s3fd" and state != "Z":
            pids.append(int(p))
    return pids


_children = []


def kill_helper():
    pids = helper_pids()
    for p in pids:
        os.kill(p, signal.SIGKILL)
    deadline = time.time() + 10
    while helper_pids() and time.time() < deadline:
        for c in _children:
            c.poll()
        time.sleep(0.02)
    return pids


def start_helper(binary=S3FD):
    log = open(HELPER_LOG, "ab")
    c = subprocess.Popen([binary, "--foreground", "--staging", STAGING],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True)
    _children.append(c)
    deadline = time.time() + 15
    while time.time() < deadline:
        if subprocess.run([S3FCTL, "status"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0:
            return True
        time.sleep(0.1)
    return False


def version_bytes(ver, size):
    """A version whose every 4 KiB page says which version and page it is."""
    page = 4096
    fill = bytes([ver & 0xFF]) * (page - 16)
    return b"".join(b"V%05dP%09d" % (ver, i) + fill for i in range(size // page))[:size]


def fsync_in_thread(fd):
    res = {}

    def run():
        t = time.time()
        try:
            os.fsync(fd)
            res["err"] = 0
        except OSError as e:
            res["err"] = e.errno
        res["secs"] = time.time() - t
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th, res


def cmd_kill(mount, prefix, state):
    s3 = S3()
    os.makedirs(os.path.join(mount, prefix), exist_ok=True)
    rng = random.Random(77)

    # (a) killed while a file is being written: its pages stay in the page
    # cache and staging file; fsync with no helper waits for one to come
    # back (helper_grace=), and commits everything when it does
    key = f"{prefix}/during-write"
    fd = os.open(os.path.join(mount, key), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    d = bytearray(rng.randbytes(700 << 10))
    os.pwrite(fd, d, 0)
    killed = kill_helper()
    check("kill (a): s3fd killed during writes", killed and not helper_pids(), f"pids {killed}")
    # restarted 1.5 s later, as systemd would: what needs it meanwhile waits
    t = time.time()
    restart = {}
    starter = threading.Timer(1.5, lambda: restart.update(ok=start_helper()))
    starter.start()
    more = rng.randbytes(900 << 10)
    os.pwrite(fd, more, 300 << 10)
    d[300 << 10:] = more
    os.ftruncate(fd, len(d) + 5000)
    d.extend(bytes(5000))
    m = mmap.mmap(fd, len(d), flags=mmap.MAP_SHARED)
    m[10:20] = b"0123456789"
    m.close()
    d[10:20] = b"0123456789"
    try:
        os.fsync(fd)
        err = 0
    except OSError as e:
        err = e.errno
    took = time.time() - t
    starter.join()
    check("kill (a): writes and fsync with no helper wait for the restarted one and succeed",
          err == 0 and took >= 1.4,
          f"errno {err} ({os.strerror(err) if err else 'success'}) after {took:.1f} s")
    check("kill (a): the data written while no helper ran reads back",
          os.pread(fd, len(d) + 10, 0) == d, "differs")
    check("kill (a): s3fd restarted", restart.get("ok"), "s3fctl status fails")
    try:
        os.fsync(fd)
        err = 0
    except OSError as e:
        err = e.errno
    check("kill (a): fsync after the restart succeeds", err == 0, os.strerror(err) if err else "")
    got = s3.get(key)
    check("kill (a): S3 holds every byte written before, during and after the kill",
          got == d, describe(got, bytes(d)))
    os.close(fd)
    state_save(state, key, bytes(d))

    # (b) killed while fsync commits a larger file (multipart: 3 parts)
    key = f"{prefix}/big"
    size = (20 << 20) + 4097
    path = os.path.join(mount, key)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    ver = 1
    os.pwrite(fd, version_bytes(ver, size), 0)
    os.fsync(fd)
    check("kill (b): version 1 committed", s3.get(key) == version_bytes(1, size), "S3 differs")
    for delay in (0.05, 0.4, 1.2, 2.5):
        old, new = version_bytes(ver, size), version_bytes(ver + 1, size)
        os.pwrite(fd, new, 0)
        ver += 1
        th, res = fsync_in_thread(fd)
        time.sleep(delay)
        inflight = th.is_alive()
        c0 = mountstat(mount, "conflicts")
        kill_helper()
        seen, torn = s3.get_settled(key)
        what = "old" if seen == old else "new" if seen == new else "neither"
        if torn:
            note(f"kill (b) {delay}s: {torn} GETs right after the kill were torn by s3rver "
                 "(it was still writing the object the dead helper had sent)")
        check(f"kill (b) {delay}s into fsync{'' if inflight else ' (done before the kill)'}: "
              f"S3 holds a complete version ({what})", what != "neither",
              describe(seen, new))
        restarted = start_helper()
        th.join(180)
        if not check(f"kill (b) {delay}s: fsync returns (no hang)", not th.is_alive(),
                     "still blocked 180 s after the restart"):
            break
        err = res["err"]
        check(f"kill (b) {delay}s: fsync succeeds, or fails with a clear error",
              err in (0, errno.EIO, errno.ENOTCONN, errno.ETIMEDOUT, errno.EINTR),
              f"errno {err} {os.strerror(err)}")
        note(f"kill (b) {delay}s: fsync returned {err and os.strerror(err)} after {res['secs']:.1f} s")
        seen = s3.get(key)
        if err == 0:
            check(f"kill (b) {delay}s: fsync returned 0, so S3 holds the new version",
                  seen == new, describe(seen, new))
        else:
            check(f"kill (b) {delay}s: after the failed fsync S3 holds the old or the new version",
                  seen in (old, new), describe(seen, new))
        try:
            os.fsync(fd)
            err = 0
        except OSError as e:
            err = e.errno
        check(f"kill (b) {delay}s: another fsync after the restart succeeds", err == 0,
              os.strerror(err) if err else "")
        seen = s3.get(key)
        check(f"kill (b) {delay}s: and S3 holds the new version", seen == new,
              describe(seen, new))
        check(f"kill (b) {delay}s: the new helper runs", restarted and helper_pids(), "")
        cs = conflicts_of(s3, key)
        check(f"kill (b) {delay}s: the resent COMMIT is no conflict with itself "
              "(no conflict copy, conflicts counter unchanged)",
              not cs and mountstat(mount, "conflicts") == c0,
              f"conflict copies {cs}, conflicts {c0} -> {mountstat(mount, 'conflicts')}")
        for k in cs:
            s3.request("DELETE", k)	# one report per kill, not every later check
    check("kill (b): the file reads back as the last version",
          os.pread(fd, size + 1, 0) == version_bytes(ver, size), "differs")
    os.close(fd)
    state_save(state, key, version_bytes(ver, size))

    # (a2) killed while the close-time commit (commit_delay) runs
    key = f"{prefix}/at-close"
    d = rng.randbytes((3 << 20) + 77)
    with open(os.path.join(mount, key), "wb") as f:
        f.write(d)
    time.sleep(1.1)
    kill_helper()
    check("kill (c): s3fd restarted after a kill during the close-time commit",
          start_helper(), "s3fctl status fails")
    subprocess.run(["sync"])
    got = s3.get(key)
    check("kill (c): after sync S3 holds the closed file", got == d, describe(got, d))
    # fsync may report the failed timed commit once (errseq); the next
    # one must commit
    fd = os.open(os.path.join(mount, key), os.O_RDWR)
    err1 = try_fsync(fd)
    err = try_fsync(fd)
    os.close(fd)
    note(f"kill (c): the first fsync after that: {os.strerror(err1) if err1 else 'success'}")
    check("kill (c): a second fsync succeeds", err == 0, os.strerror(err) if err else "")
    got = s3.get(key)
    check("kill (c): and then S3 holds the closed file", got == d, describe(got, d))
    state_save(state, key, d)

    # (d) the same without a race: the close-time commit runs while no
    # helper is there (ENOTCONN, "will retry"); after the restart sync(2)
    # must commit the file
    key = f"{prefix}/closed-while-dead"
    d = rng.randbytes(200 << 10)
    fd = os.open(os.path.join(mount, key), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.pwrite(fd, d, 0)
    kill_helper()
    os.close(fd)
    time.sleep(2.5)	# commit_delay=1: the timed commit fails, no helper
    check("kill (d): s3fd restarted", start_helper(), "s3fctl status fails")
    subprocess.run(["sync"])
    got = s3.get(key)
    check("kill (d): a file whose close-time commit found no helper is committed by sync(2) "
          "after the restart", got == d, describe(got, d))
    state_save(state, key, d)


# ---------------------------------------------------------------- conflicts

def mountstat(mount, name):
    with open("/proc/self/mountstats") as f:
        for line in f:
            if f" mounted on {mount} " in line:
                w = line.split()
                return int(w[w.index(name) + 1])
    return None


def conflicts_of(s3, key):
    return [k for k in s3.ls(key + ".s3f-conflict-")
            if re.fullmatch(re.escape(key) + r"\.s3f-conflict-\d{8}T\d{6}Z-[0-9a-f]{8}", k)]


def kmsg_since(mark):
    out = subprocess.run(["dmesg"], capture_output=True, text=True).stdout.splitlines()
    return "\n".join(out[mark:]), len(out)


def try_fsync(fd):
    try:
        os.fsync(fd)
        return 0
    except OSError as e:
        return e.errno


def cmd_conflict(mount, fmount, prefix):
    s3 = S3()
    _, mark = kmsg_since(0)
    # the directory comes from outside (with lookupcache=all, one made by
    # the mount's mkdir would answer lookups of new names itself)
    s3.put(prefix + "/", b"")

    # keep: an update whose base was replaced
    key = f"{prefix}/update"
    s3.put(key, b"base version\n" * 1000)
    c0 = mountstat(mount, "conflicts")
    fd = os.open(os.path.join(mount, key), os.O_WRONLY | os.O_TRUNC)
    ours = b"ours, through the mount\n" * 3000
    os.write(fd, ours)
    theirs = b"theirs, from another client\n" * 500
    s3.put(key, theirs)
    err = try_fsync(fd)
    check("conflict keep, update: fsync succeeds", err == 0, os.strerror(err) if err else "")
    check("conflict keep, update: the key keeps the other writer's bytes",
          s3.get(key) == theirs, describe(s3.get(key), theirs))
    cs = conflicts_of(s3, key)
    check("conflict keep, update: one KEY.s3f-conflict-* object holds ours",
          len(cs) == 1 and s3.get(cs[0]) == ours, f"conflict objects {cs}")
    check("conflict keep, update: the conflicts counter went up by 1",
          mountstat(mount, "conflicts") == c0 + 1, f"{c0} -> {mountstat(mount, 'conflicts')}")
    log, mark = kmsg_since(mark)
    check("conflict keep, update: the kernel log says where ours went",
          cs and re.search(re.escape(f"{key}: changed in S3 by another writer; this version was committed as {cs[0]}"), log),
          log[-300:])
    os.close(fd)
    time.sleep(1.5)	# past commit_delay and ttl
    with open(os.path.join(mount, key), "rb") as f:
        got = f.read()
    check("conflict keep, update: reopened, the file shows the other writer's version",
          got == theirs, describe(got, theirs))

    # keep: a new file whose key another client created meanwhile
    key = f"{prefix}/new"
    c0 = mountstat(mount, "conflicts")
    fd = os.open(os.path.join(mount, key), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    ours = b"new file, ours\n" * 100
    os.write(fd, ours)
    theirs = b"created meanwhile by another client\n"
    s3.put(key, theirs)
    err = try_fsync(fd)
    os.close(fd)
    check("conflict keep, new file: fsync succeeds", err == 0, os.strerror(err) if err else "")
    check("conflict keep, new file: the key keeps the other writer's bytes",
          s3.get(key) == theirs, describe(s3.get(key), theirs))
    cs = conflicts_of(s3, key)
    check("conflict keep, new file: one KEY.s3f-conflict-* object holds ours",
          len(cs) == 1 and s3.get(cs[0]) == ours, f"conflict objects {cs}")
    check("conflict keep, new file: the conflicts counter went up by 1",
          mountstat(mount, "conflicts") == c0 + 1, f"{c0} -> {mountstat(mount, 'conflicts')}")
    log, mark = kmsg_since(mark)
    check("conflict keep, new file: logged", f"{key}: changed in S3 by another writer" in log, log[-300:])

    # keep: a partial write (clean bytes from the base) whose base was
    # replaced cannot keep both: ESTALE, and nothing is overwritten
    key = f"{prefix}/sparse"
    base = b"b" * 65536
    s3.put(key, base)
    fd = os.open(os.path.join(mount, key), os.O_RDWR)
    os.pwrite(fd, b"x" * 10, 100)
    theirs = b"replaced by another client\n"
    s3.put(key, theirs)
    err = try_fsync(fd)
    check("conflict keep, partial write on a replaced base: fsync fails with ESTALE",
          err == errno.ESTALE, os.strerror(err) if err else "success")
    check("conflict keep, partial write: the key keeps the other writer's bytes",
          s3.get(key) == theirs, describe(s3.get(key), theirs))
    # rewrite it whole: now it can be kept beside theirs
    os.ftruncate(fd, 0)
    ours = b"whole rewrite\n" * 10
    os.pwrite(fd, ours, 0)
    err = try_fsync(fd)
    os.close(fd)
    check("conflict keep, whole rewrite after that: fsync succeeds", err == 0,
          os.strerror(err) if err else "")
    check("conflict keep, whole rewrite: the key still keeps the other writer's bytes",
          s3.get(key) == theirs, describe(s3.get(key), theirs))
    cs = conflicts_of(s3, key)
    check("conflict keep, whole rewrite: ours is beside it",
          len(cs) == 1 and s3.get(cs[0]) == ours, f"conflict objects {cs}")
    kmsg_since(mark)

    # conflict=fail: an update
    key = f"{prefix}/fail-update"
    s3.put(key, b"base\n" * 100)
    c0 = mountstat(fmount, "conflicts")
    fd = os.open(os.path.join(fmount, key), os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"ours on the conflict=fail mount\n")
    theirs = b"theirs on the conflict=fail mount\n" * 3
    s3.put(key, theirs)
    err = try_fsync(fd)
    check("conflict=fail, update: fsync fails with ESTALE", err == errno.ESTALE,
          os.strerror(err) if err else "success")
    check("conflict=fail, update: the key keeps the other writer's bytes",
          s3.get(key) == theirs, describe(s3.get(key), theirs))
    check("conflict=fail, update: no conflict copy", not conflicts_of(s3, key), str(conflicts_of(s3, key)))
    check("conflict=fail, update: the conflicts counter did not move (an error, not a kept conflict)",
          mountstat(fmount, "conflicts") == c0, f"{c0} -> {mountstat(fmount, 'conflicts')}")
    os.close(fd)

    # conflict=fail: a new file
    key = f"{prefix}/fail-new"
    fd = os.open(os.path.join(fmount, key), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"ours, new\n")
    theirs = b"theirs, new\n"
    s3.put(key, theirs)
    err = try_fsync(fd)
    check("conflict=fail, new file: fsync fails with EEXIST (or ESTALE)",
          err in (errno.EEXIST, errno.ESTALE), os.strerror(err) if err else "success")
    check("conflict=fail, new file: the key keeps the other writer's bytes",
          s3.get(key) == theirs, describe(s3.get(key), theirs))
    check("conflict=fail, new file: no conflict copy", not conflicts_of(s3, key), "")
    os.close(fd)


# ---------------------------------------------------------------- atomicity

def classify(s3, key, size, versions):
    """One GET: ('ok', v) a complete version; ('torn-server', why) the
    server served a body that is not the one it stored (s3rver writes an
    object in place, so a GET racing a PUT can tear: its body then does
    not match its own ETag, which s3rver always makes the body's MD5);
    ('mixed', why) a body the server stored as such: the writer's fault."""
    st, etag, body, clen = s3.get_whole(key)
    if st != 200:
        return "error", f"HTTP {st}"
    if len(body) != clen or hashlib.md5(body).hexdigest() != etag:
        return "torn-server", f"{len(body)} bytes, Content-Length {clen}"
    if len(body) == size and body and body.count(body[:1]) == size and body[0] in versions:
        return "ok", body[0]
    vals = sorted(set(body))[:8]
    return "mixed", f"{len(body)} bytes (want {size}), byte values {vals}"


def reader_loop(key, size, versions, stop_r, out_w):
    s3 = S3()
    res = collections.Counter()
    last, backwards, bad = 0, 0, []
    stopping = 0	# reads since the writer finished
    while True:
        kind, what = classify(s3, key, size, versions)
        res[kind] += 1
        if kind == "ok":
            if what < last:
                backwards += 1
            last = what
        elif kind != "torn-server" and len(bad) < 3:
            bad.append(f"{kind}: {what}")
        if stopping:
            # the object is still now: read until one read is judged
            stopping += 1
            if res["ok"] or stopping > 5:
                break
            continue
        try:
            if os.read(stop_r, 1) is not None:
                stopping = 1
        except BlockingIOError:
            pass
    os.write(out_w, repr((dict(res), backwards, bad)).encode())


def atomic_run(writer, key, size, nver):
    """Rewrite KEY nver times with writer(v) while a forked reader GETs it."""
    stop_r, stop_w = os.pipe()
    out_r, out_w = os.pipe()
    os.set_blocking(stop_r, False)
    versions = set(range(1, nver + 1))
    pid = os.fork()
    if pid == 0:
        try:
            reader_loop(key, size, versions, stop_r, out_w)
        finally:
            os._exit(0)
    t = time.time()
    for v in range(2, nver + 1):
        writer(v)
    time.sleep(0.3)
    os.write(stop_w, b"x")
    os.waitpid(pid, 0)
    res = eval(os.read(out_r, 65536).decode())
    for f in (stop_r, stop_w, out_r, out_w):
        os.close(f)
    return res, time.time() - t


def cmd_atomic(mount, prefix):
    s3 = S3()
    os.makedirs(os.path.join(mount, prefix), exist_ok=True)
    size, nver = (2 << 20) + 1234, 12
    key = f"{prefix}/rewritten"
    fd = os.open(os.path.join(mount, key), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.pwrite(fd, bytes([1]) * size, 0)
    os.fsync(fd)
    errs = []

    def through_mount(v):
        os.pwrite(fd, bytes([v]) * size, 0)
        try:
            os.fsync(fd)
        except OSError as e:
            errs.append(f"v{v}: {e}")
        got = s3.get(key)
        if got != bytes([v]) * size:
            errs.append(f"v{v} after fsync: {describe(got, bytes([v]) * size)}")

    (res, backwards, bad), secs = atomic_run(through_mount, key, size, nver)
    os.close(fd)
    note(f"atomic: {nver} versions through the mount in {secs:.1f} s; outside reads: {res}")
    check("atomic: every fsync succeeded and S3 then held exactly that version",
          not errs, "; ".join(errs[:3]))
    check(f"atomic: {sum(res.values())} outside reads while the mount rewrote the object: "
          "each a complete version, never a mix", not bad and res.get("ok", 0) > 0,
          "; ".join(bad) or f"no complete read: {res}")
    check("atomic: readers never saw an older version after a newer one", backwards == 0,
          f"{backwards} times")
    if res.get("torn-server"):
        # the same with the independent client as the writer: the server's share
        ckey = f"{prefix}/control"
        s3.put(ckey, bytes([1]) * size)
        (cres, _, _), _ = atomic_run(lambda v: s3.put(ckey, bytes([v]) * size), ckey, size, nver)
        note(f"atomic: {res['torn-server']} reads were torn by s3rver itself (a body not "
             f"matching its own ETag: it writes objects in place); the control with "
             f"PUTs from the independent client: {cres}")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    try:
        if cmd == "model":
            cmd_model(*args)
        elif cmd == "verify-s3":
            verify_s3(args[0], args[1], args[2] if len(args) > 2 else "verify")
        elif cmd == "verify-mount":
            verify_mount(args[0], args[1], args[2], args[3] if len(args) > 3 else "verify")
        elif cmd == "concurrent":
            cmd_concurrent(args[0], args[1], args[2], int(args[3]))
        elif cmd == "kill":
            cmd_kill(*args)
        elif cmd == "conflict":
            cmd_conflict(*args)
        elif cmd == "atomic":
            cmd_atomic(*args)
        else:
            print(f"wstress.py: unknown command {cmd}", file=sys.stderr)
            return 2
    except Exception as e:
        import traceback
        traceback.print_exc()
        check(f"{cmd}: runs to the end", False, repr(e))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
