#!/usr/bin/python3
# The in-guest half of scripts/bench: runs every system against one S3
# server and writes measurements.json into --out. Runs as root inside the
# guest that scripts/guest-run boots (s3f.ko loaded, s3fd running, no mount).
# Documentation/benchmarks.md describes the workloads and what each figure is.
import argparse
import json
import mmap
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
S3FCTL = os.path.join(TOP, "helper", "s3fctl")
PORT = 4569
BUCKET = "s3f-bench"
ENDPOINT = f"http://127.0.0.1:{PORT}"
RUN = "/run/bench"
SRC = "/tmp/bench-src"          # local copies of the read data (tmpfs)
MIB = 1 << 20
ALL_SYSTEMS = ["s3f", "s3f-listing", "s3fs", "rclone-off", "rclone-full", "raw", "tmpfs"]
# s3f-listing: s3f mounted with meta=listing (no s3fs metadata fetched for
# listed entries until a permission decision needs it), metadata workloads only
LISTING_WORKLOADS = ["ls_l_10k", "find_tree"]
ALL_WORKLOADS = ["seq_read_cold", "seq_read_warm", "rand_read_cold", "rand_read_warm",
                 "mmap_rand_warm", "seq_write_commit", "small_creates", "ls_l_10k",
                 "find_tree", "pipeline"]
T0 = time.monotonic()


def log(msg):
    print(f"[bench {time.monotonic() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def sh(cmd, check=True, **kw):
    """Run a shell command; return its stdout."""
    r = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"command failed ({r.returncode}): {cmd}")
    return r.stdout


def s3env():
    e = dict(os.environ)
    e.update(S3F_ENDPOINT=ENDPOINT, S3F_BUCKET=BUCKET, AWS_ACCESS_KEY_ID="S3RVER",
             AWS_SECRET_ACCESS_KEY="S3RVER", AWS_REGION="us-east-1")
    return e


def s3ctl(*args, check=True):
    r = subprocess.run([S3FCTL, "s3", *args], env=s3env(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"s3fctl s3 {' '.join(args)}: {r.stderr.strip()}")
    return r


def s3_keys(prefix):
    """Object keys (not directory markers) under prefix."""
    r = s3ctl("ls", "-r", prefix, check=False)
    keys = []
    for line in r.stdout.splitlines():
        f = line.split("\t")
        if len(f) >= 4 and f[0] != "PRE" and not f[3].endswith("/"):
            keys.append((f[3], int(f[0])))
    return keys


def s3_size(key):
    r = s3ctl("head", key, check=False)
    if r.returncode != 0:
        return None
    for line in r.stdout.splitlines():
        k, _, v = line.partition(":")
        if k.strip().lower() in ("size", "content-length"):
            try:
                return int(v.strip())
            except ValueError:
                pass
    return None


CURL_AUTH = ['aws-sigv4 = "aws:amz:us-east-1:s3"', 'user = "S3RVER:S3RVER"',
             'header = "x-amz-content-sha256: UNSIGNED-PAYLOAD"', "silent", "show-error",
             "fail"]


def curl_config(path, entries):
    """entries: list of dicts of curl config options, one transfer each."""
    with open(path, "w") as f:
        for i, ent in enumerate(entries):
            if i:
                f.write("next\n")
            for line in CURL_AUTH:
                f.write(line + "\n")
            for k, v in ent.items():
                for x in (v if isinstance(v, list) else [v]):
                    f.write(f'{k} = "{x}"\n')


def range_gets(url, size, n):
    """curl_config entries: the object at url in n ranged GETs of equal size."""
    part = -(-size // n)
    return [{"url": url, "output": "/dev/null",
             "range": f"{i * part}-{min(size, (i + 1) * part) - 1}"} for i in range(n)]


def curl(cfg, parallel=0):
    cmd = ["curl", "--config", cfg]
    if parallel:
        cmd += ["--parallel", "--parallel-max", str(parallel)]
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"curl {cfg}: {r.stderr.strip()[:300]}")


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def proc_jiffies(pid):
    """utime + stime of a process (all threads), 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            w = f.read().rsplit(")", 1)[1].split()
        return int(w[11]) + int(w[12])
    except OSError:
        return 0


def tcp_time_wait(port):
    """Loopback TCP connections to port in TIME_WAIT: connections closed lately."""
    n = 0
    with open("/proc/net/tcp") as f:
        for line in f:
            w = line.split()
            if len(w) > 3 and w[3] == "06" and w[2].endswith(":%04X" % port):
                n += 1
    return n


def cpu_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal: everything but idle+iowait
    return sum(v[:8]) - v[3] - v[4]


HZ = os.sysconf("SC_CLK_TCK")


def mounted(mp):
    with open("/proc/mounts") as f:
        return any(line.split()[1] == mp for line in f)


def pids_with(arg):
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if arg.encode() in argv:
            out.append(int(p))
    return out


def vmhwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def slab(names):
    res = {}
    with open("/proc/slabinfo") as f:
        for line in f:
            p = line.split()
            if p and p[0] in names:
                res[p[0]] = {"active_objs": int(p[1]), "objsize": int(p[3]),
                             "kib": int(p[1]) * int(p[3]) // 1024}
    return res


def s3f_counters(mp):
    """The s3f mount's counters from /proc/self/mountstats."""
    with open("/proc/self/mountstats") as f:
        for line in f:
            if f" mounted on {mp} " in line and "fstype s3f" in line:
                w = line.split()
                i = w.index("lookups") if "lookups" in w else len(w)
                return {w[j]: int(w[j + 1]) for j in range(i, len(w) - 1, 2)
                        if w[j + 1].isdigit()}
    return {}


# --- systems -----------------------------------------------------------------

class FS:
    """A mounted file system under test."""
    timed_wait = False      # does a write need waiting for an async upload?

    def __init__(self, name, args):
        self.name = name
        self.args = args
        self.mp = f"/mnt/b-{name}"
        self.peak_rss = 0
        os.makedirs(self.mp, exist_ok=True)

    def data(self, *p):
        return os.path.join(self.mp, "data", *p)

    def wkey(self, *p):
        return "/".join(["w", self.name, *p])

    def wpath(self, *p):
        return os.path.join(self.mp, "w", self.name, *p)

    def daemon_pids(self):
        return pids_with(self.mp)

    def note_rss(self):
        for p in self.daemon_pids():
            self.peak_rss = max(self.peak_rss, vmhwm_kib(p))

    def umount(self):
        if not mounted(self.mp):
            return
        self.note_rss()
        pids = self.daemon_pids()
        sh(f"umount {self.mp}")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") and
                                                  vmhwm_kib(p) for p in pids):
            time.sleep(0.05)

    def wait_mounted(self):
        deadline = time.monotonic() + 30
        while not mounted(self.mp):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: {self.mp} not mounted after 30 s")
            time.sleep(0.05)
        # the root must answer
        os.listdir(self.mp)

    def remount(self):
        self.umount()
        self.mount()
        self.wait_mounted()

    def commit_all(self, path):
        """After writes and closes under path: nothing to do but wait (below)."""

    def in_s3_at(self, keys_sizes, t_done, deadline_s=120):
        """When every key had its size in S3.

        t_done is when the system said the data was stored (fsync or close
        returned; for s3f, `s3fctl wait`). A listing right after checks
        that: when it shows every key, the answer is t_done (the listing
        is the benchmark's check, not the system's work, and raw is not
        timed with one either). Otherwise (an asynchronous upload, such as
        rclone-full's) poll, and the answer is the end of the listing that
        showed them all.
        """
        deadline = time.monotonic() + deadline_s
        prefix = os.path.commonprefix([k for k, _ in keys_sizes])
        prefix = prefix[:prefix.rfind("/") + 1]
        want = dict(keys_sizes)
        first = True
        while True:
            have = dict(s3_keys(prefix))
            if all(have.get(k) == s for k, s in want.items()):
                return t_done if first else time.monotonic()
            first = False
            if time.monotonic() > deadline:
                missing = [k for k, s in want.items() if have.get(k) != s]
                raise RuntimeError(f"{self.name}: {len(missing)} objects not in S3 "
                                   f"after {deadline_s}s, e.g. {missing[:3]}")
            time.sleep(0.2)


class S3fFS(FS):
    def __init__(self, name, args, options=""):
        super().__init__(name, args)
        self.options = options

    def mount(self):
        opts = f"endpoint={ENDPOINT},region=us-east-1,addressing=path"
        for o in (self.args.s3f_options, self.options):
            if o:
                opts += "," + o
        sh(f"mount -t s3f -o {opts} {BUCKET} {self.mp}")

    def daemon_pids(self):
        return [int(p) for p in sh("pgrep -x s3fd", check=False).split()]

    def umount(self):
        if mounted(self.mp):
            self.note_rss()
            sh(f"umount {self.mp}")

    def commit_all(self, path):
        sh(f"{S3FCTL} wait {self.mp}")


class S3fsFS(FS):
    def mount(self):
        sh(f"s3fs {BUCKET} {self.mp} -o passwd_file={RUN}/s3fs.passwd,url={ENDPOINT},"
           f"use_path_request_style,endpoint=us-east-1")


class RcloneFS(FS):
    def __init__(self, name, args, mode):
        super().__init__(name, args)
        self.mode = mode
        self.cache = f"/var/tmp/rclone-cache-{mode}"

    def mount(self):
        shutil.rmtree(self.cache, ignore_errors=True)
        sh(f"rclone --config {RUN}/rclone.conf mount bench:{BUCKET} {self.mp} "
           f"--vfs-cache-mode {self.mode} --cache-dir {self.cache} --daemon "
           f"--log-file {RUN}/rclone-{self.mode}.log --log-level ERROR")

    def umount(self):
        super().umount()
        shutil.rmtree(self.cache, ignore_errors=True)


class TmpFS(FS):
    def mount(self):
        sh(f"mount -t tmpfs -o size=90% tmpfs {self.mp}")
        # the same read data as in the bucket, and an empty write area
        sh(f"cp -a {SRC}/data {self.mp}/data")

    def remount(self):
        if not mounted(self.mp):
            self.mount()

    def in_s3_at(self, keys_sizes, t_done, deadline_s=0):
        return t_done


# --- workloads ---------------------------------------------------------------

def med(xs):
    return statistics.median(xs) if xs else None


def read_all(path, bufsize=MIB):
    n = 0
    buf = bytearray(bufsize)
    fd = os.open(path, os.O_RDONLY)
    try:
        while True:
            k = os.readv(fd, [buf])
            if k <= 0:
                break
            n += k
    finally:
        os.close(fd)
    return n


def offsets(size, n, seed):
    rnd = random.Random(seed)
    pages = size // 4096
    return [rnd.randrange(pages) * 4096 for _ in range(n)]


def pread_loop(path, offs, cap_s):
    fd = os.open(path, os.O_RDONLY)
    done = 0
    t = time.monotonic()
    try:
        for o in offs:
            if len(os.pread(fd, 4096, o)) != 4096:
                raise RuntimeError(f"short pread at {o} in {path}")
            done += 1
            if time.monotonic() - t > cap_s:
                break
    finally:
        os.close(fd)
    return done / (time.monotonic() - t)


def mmap_loop(path, offs, cap_s):
    fd = os.open(path, os.O_RDONLY)
    try:
        mm = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
    finally:
        os.close(fd)
    done = 0
    t = time.monotonic()
    for o in offs:
        if len(mm[o:o + 4096]) != 4096:
            raise RuntimeError("short mmap read")
        done += 1
        if time.monotonic() - t > cap_s:
            break
    el = time.monotonic() - t
    mm.close()
    return done / el


class Bench:
    def __init__(self, a):
        self.a = a
        self.size = a.size_mib * MIB
        self.res = {}          # workload -> system -> {"values": [...], "unit": u}
        self.cpu = {}          # system -> {"read": [jiffies, bytes], "write": [...]}
        self.extra = {}
        self.errors = {}
        self.only = None       # the workloads the current system runs (None: all)

    def counters_begin(self, fs):
        self._ctr = s3f_counters(fs.mp) if isinstance(fs, S3fFS) else None

    def counters_end(self, fs, wl):
        if not isinstance(fs, S3fFS) or self._ctr is None:
            return
        if fs.name != "s3f":
            wl = f"{wl} ({fs.name})"
        now = s3f_counters(fs.mp)
        d = {k: now[k] - self._ctr.get(k, 0) for k in now if now[k] != self._ctr.get(k, 0)}
        self.extra.setdefault("s3f_counters", {}).setdefault(wl, []).append(d)
        log(f"  s3f counters for {wl}: {d}")

    def rec(self, wl, sysname, value, unit):
        e = self.res.setdefault(wl, {}).setdefault(sysname, {"values": [], "unit": unit})
        e["values"].append(value)
        log(f"  {wl:17s} {sysname:12s} {value:12.2f} {unit}")

    def cpu_add(self, sysname, kind, jiffies, nbytes):
        c = self.cpu.setdefault(sysname, {}).setdefault(kind, [0, 0])
        c[0] += jiffies
        c[1] += nbytes

    def want(self, wl):
        return wl in self.a.workloads and (self.only is None or wl in self.only)

    # --- setup ---------------------------------------------------------------

    def setup(self):
        a = self.a
        os.makedirs(RUN, exist_ok=True)
        os.chdir(RUN)
        sh("modprobe fuse")
        log("starting s3rver (port %d, --quiet --allow-mismatched-signatures "
            "--conditional-writes)" % PORT)
        self.s3rver = subprocess.Popen(
            ["node", os.path.join(TOP, "scripts/s3rver.js"), "--dir", f"{RUN}/s3data",
             "--port", str(PORT), "--bucket", BUCKET, "--quiet",
             "--allow-mismatched-signatures", "--conditional-writes"],
            stdout=subprocess.PIPE, stderr=open(f"{RUN}/s3rver.log", "w"), text=True)
        line = self.s3rver.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError("s3rver did not start: " + open(f"{RUN}/s3rver.log").read())
        with open(f"{RUN}/s3fs.passwd", "w") as f:
            f.write("S3RVER:S3RVER\n")
        os.chmod(f"{RUN}/s3fs.passwd", 0o600)
        with open(f"{RUN}/rclone.conf", "w") as f:
            f.write(f"[bench]\ntype = s3\nprovider = Other\naccess_key_id = S3RVER\n"
                    f"secret_access_key = S3RVER\nendpoint = {ENDPOINT}\n"
                    f"region = us-east-1\nforce_path_style = true\n")

        log(f"generating data: {a.size_mib} MiB object, {a.dir_entries} + "
            f"{a.tree_entries} small objects, pipeline input ({a.reads} reads)")
        d = f"{SRC}/data"
        os.makedirs(f"{d}/d10k")
        os.makedirs(f"{d}/pipe")
        with open(f"{d}/big.bin", "wb") as f:
            for _ in range(a.size_mib):
                f.write(os.urandom(MIB))
        self.wbuf = os.urandom(MIB)
        small = b"s3f bench object\n" * 4
        entries = []
        for i in range(a.dir_entries):
            p = f"{d}/d10k/f{i:05d}"
            with open(p, "wb") as f:
                f.write(small)
            entries.append(p)
        # the tree: tree/N/M/fKKKKK, 5 x 5 directories
        for i in range(a.tree_entries):
            p = f"{d}/tree/{i % 5}/{(i // 5) % 5}/f{i:05d}"
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(small)
            entries.append(p)
        self.make_genome(f"{d}/pipe")
        for fn in sorted(os.listdir(f"{d}/pipe")):
            entries.append(f"{d}/pipe/{fn}")
        # one GET of the large object: raw-1's cold read, and cold_start()'s
        self.get1_cfg = f"{RUN}/get1.cfg"
        curl_config(self.get1_cfg, [{"url": f"{ENDPOINT}/{BUCKET}/data/big.bin",
                                     "output": "/dev/null"}])
        log(f"uploading {len(entries) + 1} objects with curl --parallel")
        t = time.monotonic()
        curl_config(f"{RUN}/upload.cfg",
                    [{"upload-file": p, "url": f"{ENDPOINT}/{BUCKET}/{p[len(SRC) + 1:]}",
                      "output": "/dev/null"} for p in [f"{d}/big.bin"] + entries])
        curl(f"{RUN}/upload.cfg", parallel=8)
        n = len(s3_keys("data/"))
        log(f"uploaded {n} objects in {time.monotonic() - t:.1f}s")
        if n != len(entries) + 1:
            raise RuntimeError(f"expected {len(entries) + 1} objects in S3, found {n}")

    def make_genome(self, d):
        a = self.a
        rnd = random.Random(42)
        ref = "".join(rnd.choice("ACGT") for _ in range(a.ref_bp))
        with open(f"{d}/ref.fa", "w") as f:
            f.write(">chr1\n")
            for i in range(0, len(ref), 60):
                f.write(ref[i:i + 60] + "\n")
        comp = str.maketrans("ACGT", "TGCA")
        with open(f"{d}/reads.fq", "w") as f:
            for i in range(a.reads):
                p = rnd.randrange(len(ref) - 100)
                s = list(ref[p:p + 100])
                for _ in range(2):
                    s[rnd.randrange(100)] = rnd.choice("ACGT")
                s = "".join(s)
                if rnd.random() < 0.5:
                    s = s.translate(comp)[::-1]
                f.write(f"@r{i}\n{s}\n+\n{'I' * 100}\n")
        sh(f"bwa index {d}/ref.fa 2>/dev/null")

    # --- per system ----------------------------------------------------------

    def run_fs(self, fs, rep):
        """One repetition of every workload on fs: mount, run, unmount."""
        a = self.a
        big = "big.bin"
        fs.mount()
        fs.wait_mounted()
        log(f"{fs.name}: mounted at {fs.mp}")
        if isinstance(fs, S3fFS):
            sh(f"{S3FCTL} status --ping")
        log(f"{fs.name}: repetition {rep + 1}/{a.reps}")
        if self.want("rand_read_cold") or self.want("rand_read_warm") or \
                self.want("mmap_rand_warm"):
            fs.remount()
            self.cold_start(fs=fs)
            offs = offsets(self.size, a.rand_ops, 1000 + rep)
            if self.want("rand_read_cold"):
                self.counters_begin(fs)
                self.rec("rand_read_cold", fs.name,
                         pread_loop(fs.data(big), offs, a.cap_s), "ops/s")
                self.counters_end(fs, "rand_read_cold")
            if self.want("rand_read_warm") or self.want("mmap_rand_warm"):
                read_all(fs.data(big))
                offs = offsets(self.size, a.warm_ops, 2000 + rep)
                if self.want("rand_read_warm"):
                    self.rec("rand_read_warm", fs.name,
                             pread_loop(fs.data(big), offs, a.cap_s), "ops/s")
                if self.want("mmap_rand_warm"):
                    self.rec("mmap_rand_warm", fs.name,
                             mmap_loop(fs.data(big), offs, a.cap_s), "ops/s")
        if self.want("seq_read_cold") or self.want("seq_read_warm"):
            fs.remount()
            self.cold_start(fs=fs)
            self.counters_begin(fs)
            c = cpu_jiffies()
            t = time.monotonic()
            n = read_all(fs.data(big))
            el = time.monotonic() - t
            self.counters_end(fs, "seq_read_cold")
            self.cpu_add(fs.name, "read", cpu_jiffies() - c, n)
            if n != self.size:
                raise RuntimeError(f"read {n} bytes of {self.size}")
            if self.want("seq_read_cold"):
                self.rec("seq_read_cold", fs.name, n / MIB / el, "MiB/s")
            if self.want("seq_read_warm"):
                t = time.monotonic()
                n = read_all(fs.data(big))
                self.rec("seq_read_warm", fs.name, n / MIB / (time.monotonic() - t),
                         "MiB/s")
        if self.want("seq_write_commit"):
            self.seq_write(fs, rep)
        if self.want("small_creates"):
            self.small_creates(fs, rep)
        if self.want("ls_l_10k"):
            self.ls_l(fs, rep)
        if self.want("find_tree"):
            fs.remount()
            self.cold_start("data/tree/", fs)
            self.counters_begin(fs)
            t = time.monotonic()
            out = sh(f"find {fs.data('tree')} -type f")
            el = time.monotonic() - t
            self.counters_end(fs, "find_tree")
            n = len(out.splitlines())
            if n != a.tree_entries:
                raise RuntimeError(f"find saw {n} files, expected {a.tree_entries}")
            self.rec("find_tree", fs.name, n / el, "entries/s")
        if self.want("pipeline"):
            self.pipeline(fs, rep)
        fs.note_rss()
        fs.umount()
        if fs.peak_rss:
            rss = self.extra.setdefault("peak_rss_kib", {})
            rss[fs.name] = max(rss.get(fs.name, 0), fs.peak_rss)

    def seq_write(self, fs, rep):
        a = self.a
        path = fs.wpath(f"big-{rep}.bin")
        key = fs.wkey(f"big-{rep}.bin")
        n = a.write_mib * MIB
        os.makedirs(fs.wpath(), exist_ok=True)
        self.counters_begin(fs)
        c = cpu_jiffies()
        t = time.monotonic()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        for _ in range(a.write_mib):
            os.write(fd, self.wbuf)
        os.fsync(fd)
        os.close(fd)
        t_done, c_done = time.monotonic(), cpu_jiffies()
        t_in = fs.in_s3_at([(key, n)], t_done)
        el = t_in - t
        # the CPU up to the same point as the clock: not the check's listing
        self.cpu_add(fs.name, "write", (c_done if t_in == t_done else cpu_jiffies()) - c, n)
        self.counters_end(fs, "seq_write_commit")
        self.rec("seq_write_commit", fs.name, n / MIB / el, "MiB/s")
        if fs.name != "tmpfs":
            size = s3_size(key)
            if size is not None and size != n:
                raise RuntimeError(f"{key}: {size} bytes in S3, wrote {n}")
        os.unlink(path)

    def small_creates(self, fs, rep):
        a = self.a
        d = fs.wpath(f"small-{rep}")
        buf = self.wbuf[:4096]
        os.makedirs(fs.wpath(), exist_ok=True)
        self.counters_begin(fs)
        who = {"server": [self.s3rver.pid], "daemon": fs.daemon_pids()}
        j0 = {k: sum(proc_jiffies(p) for p in v) for k, v in who.items()}
        c = cpu_jiffies()
        t = time.monotonic()
        os.mkdir(d)
        for i in range(a.small_files):
            fd = os.open(f"{d}/f{i:04d}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, buf)
            os.close(fd)
        t_created = time.monotonic()
        fs.commit_all(d)

        def cpu_since():	# up to the same point as the clock (as seq_write)
            s = {k: (sum(proc_jiffies(p) for p in v) - j0[k]) / HZ for k, v in who.items()}
            s["guest"] = (cpu_jiffies() - c) / HZ
            return s
        t_done, cpu = time.monotonic(), cpu_since()
        t_in = fs.in_s3_at([(fs.wkey(f"small-{rep}", f"f{i:04d}"), 4096)
                            for i in range(a.small_files)], t_done)
        if t_in != t_done:
            cpu = cpu_since()
        el = t_in - t
        self.extra.setdefault("small_creates_create_s", {}).setdefault(
            fs.name, []).append(round(t_created - t, 2))
        cpu["time_wait"] = tcp_time_wait(PORT)
        self.extra.setdefault("small_creates_cpu_s", {}).setdefault(fs.name, []).append(
            {k: round(v, 2) for k, v in cpu.items()})
        self.counters_end(fs, "small_creates")
        self.rec("small_creates", fs.name, a.small_files / el, "files/s")

    def ls_l(self, fs, rep):
        a = self.a
        fs.remount()
        self.cold_start("data/d10k/", fs)
        names = ["s3f_inode", "dentry", "inode_cache"]
        before = slab(names)
        self.counters_begin(fs)
        t = time.monotonic()
        out = sh(f"ls -l {fs.data('d10k')}")
        el = time.monotonic() - t
        self.counters_end(fs, "ls_l_10k")
        n = sum(1 for line in out.splitlines() if line.startswith("-"))
        if n != a.dir_entries:
            raise RuntimeError(f"ls -l listed {n} files, expected {a.dir_entries}")
        self.rec("ls_l_10k", fs.name, n / el, "entries/s")
        if fs.name == "s3f" and rep == 0:
            after = slab(names)
            self.extra["s3f_slab_after_ls"] = {
                "entries": n, "before": before, "after": after,
                "delta_kib": {k: after[k]["kib"] - before.get(k, {"kib": 0})["kib"]
                              for k in after}}

    def pipeline(self, fs, rep):
        fs.remount()
        drop_caches()
        od = fs.wpath(f"pipe-{rep}")
        src = fs.data("pipe")
        os.makedirs(fs.wpath(), exist_ok=True)
        t = time.monotonic()
        os.mkdir(od)
        sh(f"set -o pipefail; bwa mem -t 2 {src}/ref.fa {src}/reads.fq 2>{RUN}/bwa.log | "
           f"samtools sort -@ 1 -o {od}/out.bam - && samtools index {od}/out.bam",
           executable="/bin/bash")
        fs.commit_all(od)
        t_done = time.monotonic()
        sizes = [(fs.wkey(f"pipe-{rep}", fn), os.path.getsize(f"{od}/{fn}"))
                 for fn in ("out.bam", "out.bam.bai")]
        el = fs.in_s3_at(sizes, t_done) - t
        self.rec("pipeline", fs.name, 60.0 / el, "runs/min")
        if rep == 0:
            self.extra.setdefault("pipeline_output_bytes", {})[fs.name] = \
                sum(s for _, s in sizes)

    def cold_start(self, prefix=None, fs=None):
        """Before every cold measurement, of every system alike: drop the
        guest's caches, then have the server do, untimed, what the
        measurement will ask of it (a GET of the object, or a listing of
        prefix).

        Dropping the caches also drops the page cache of the guest's own
        root (the host's, over 9p): the server then faults its code and
        files back in during whatever runs next, and its first requests
        after a drop run up to 1.3x slower (probe of 2026-12-02). Only the
        file systems used to drop their caches, so they alone paid for
        it; and raw's parallel GET followed raw's single GET of the same
        object, which made it up to 1.25x faster than after anything
        else. The request here puts every system's cold run after the
        same server work; the client's caches stay cold. tmpfs asks
        nothing of the server: its caches are dropped, no more."""
        drop_caches()
        if isinstance(fs, TmpFS):
            return		# it asks nothing of the server
        if prefix is None:
            curl(self.get1_cfg)
        else:
            s3_keys(prefix)

    # --- the raw client ------------------------------------------------------

    def run_raw(self, rep):
        a = self.a
        url = f"{ENDPOINT}/{BUCKET}/data/big.bin"
        N = a.raw_streams
        log(f"raw: repetition {rep + 1}/{a.reps}")
        if self.want("seq_read_cold"):
            self.cold_start()
            c = cpu_jiffies()
            t = time.monotonic()
            curl(self.get1_cfg)
            el = time.monotonic() - t
            self.cpu_add("raw-1", "read", cpu_jiffies() - c, self.size)
            self.rec("seq_read_cold", "raw-1", self.a.size_mib / el, "MiB/s")
            curl_config(f"{RUN}/getN.cfg", range_gets(url, self.size, N))
            self.cold_start()
            c = cpu_jiffies()
            t = time.monotonic()
            curl(f"{RUN}/getN.cfg", parallel=N)
            el = time.monotonic() - t
            self.cpu_add(f"raw-{N}", "read", cpu_jiffies() - c, self.size)
            self.rec("seq_read_cold", f"raw-{N}", self.a.size_mib / el, "MiB/s")
        if self.want("rand_read_cold"):
            offs = offsets(self.size, a.rand_ops, 1000 + rep)
            ents = [{"url": url, "output": "/dev/null", "range": f"{o}-{o + 4095}"}
                    for o in offs]
            curl_config(f"{RUN}/rand.cfg", ents)
            self.cold_start()
            t = time.monotonic()
            curl(f"{RUN}/rand.cfg")
            self.rec("rand_read_cold", "raw-1", len(offs) / (time.monotonic() - t),
                     "ops/s")
            self.cold_start()
            t = time.monotonic()
            curl(f"{RUN}/rand.cfg", parallel=N)
            self.rec("rand_read_cold", f"raw-{N}", len(offs) / (time.monotonic() - t),
                     "ops/s")
        if self.want("seq_write_commit"):
            n = a.write_mib * MIB
            with open(f"{RUN}/w.bin", "wb") as f:
                for _ in range(a.write_mib):
                    f.write(self.wbuf)
            key = f"w/raw/big-{rep}.bin"
            curl_config(f"{RUN}/put1.cfg", [{"upload-file": f"{RUN}/w.bin",
                                             "url": f"{ENDPOINT}/{BUCKET}/{key}",
                                             "output": "/dev/null"}])
            c = cpu_jiffies()
            t = time.monotonic()
            curl(f"{RUN}/put1.cfg")
            el = time.monotonic() - t
            self.cpu_add("raw-1", "write", cpu_jiffies() - c, n)
            self.rec("seq_write_commit", "raw-1", a.write_mib / el, "MiB/s")
            key = f"w/raw/bigmp-{rep}.bin"
            c = cpu_jiffies()
            t = time.monotonic()
            s3ctl("put", "--jobs", str(N), "--part-size", str(8 * MIB), f"{RUN}/w.bin", key)
            el = time.monotonic() - t
            self.cpu_add(f"raw-{N}", "write", cpu_jiffies() - c, n)
            self.rec("seq_write_commit", f"raw-{N}", a.write_mib / el, "MiB/s")
            for k in (f"w/raw/big-{rep}.bin", key):
                if s3_size(k) != n:
                    raise RuntimeError(f"raw: {k} has the wrong size")
            os.unlink(f"{RUN}/w.bin")
        if self.want("small_creates"):
            with open(f"{RUN}/small4k", "wb") as f:
                f.write(self.wbuf[:4096])
            for par, tag in ((0, "raw-1"), (N, f"raw-{N}")):
                pre = f"w/raw/small-{rep}-{tag}"
                curl_config(f"{RUN}/small.cfg",
                            [{"upload-file": f"{RUN}/small4k", "output": "/dev/null",
                              "url": f"{ENDPOINT}/{BUCKET}/{pre}/f{i:04d}"}
                             for i in range(a.small_files)])
                t = time.monotonic()
                curl(f"{RUN}/small.cfg", parallel=par)
                self.rec("small_creates", tag, a.small_files / (time.monotonic() - t),
                         "files/s")
                if len(s3_keys(pre + "/")) != a.small_files:
                    raise RuntimeError("raw: small files missing")
        if self.want("ls_l_10k"):
            self.cold_start("data/d10k/")
            t = time.monotonic()
            n = len(s3_keys("data/d10k/"))
            self.rec("ls_l_10k", "raw-1", n / (time.monotonic() - t), "entries/s")
        if self.want("find_tree"):
            self.cold_start("data/tree/")
            t = time.monotonic()
            n = len(s3_keys("data/tree/"))
            self.rec("find_tree", "raw-1", n / (time.monotonic() - t), "entries/s")

    # --- main ----------------------------------------------------------------

    def warm_server(self):
        """Warm the S3 server up before anything is measured.

        s3rver is a Node.js program: its first requests of each kind run
        before the JIT has compiled their paths, and are several times
        slower. Without this the first system measured (s3f) paid for it
        alone. Every kind of request the workloads make, a few times.
        """
        t = time.monotonic()
        url = f"{ENDPOINT}/{BUCKET}/data/big.bin"
        N = self.a.raw_streams
        curl_config(f"{RUN}/warm.cfg",
                    range_gets(url, self.size, N) +
                    [{"url": url, "output": "/dev/null", "range": f"{o}-{o + 4095}"}
                     for o in offsets(self.size, 50, 7)])
        with open(f"{RUN}/warm4k", "wb") as f:
            f.write(self.wbuf[:4096])
        with open(f"{RUN}/warm.bin", "wb") as f:
            for _ in range(min(self.a.write_mib, 16)):
                f.write(self.wbuf)
        # PUTs as file systems send them: metadata, create-only conditions
        fs_headers = ["x-amz-meta-mode: 33188", "x-amz-meta-uid: 0", "x-amz-meta-gid: 0",
                      "x-amz-meta-mtime: 1764650000", "If-None-Match: *"]
        for i in range(3):
            curl(f"{RUN}/warm.cfg", parallel=N)
            curl_config(f"{RUN}/warmput.cfg",
                        [{"upload-file": f"{RUN}/warm4k", "output": "/dev/null",
                          "url": f"{ENDPOINT}/{BUCKET}/warm/{i}/f{j:04d}",
                          **({"header": fs_headers} if j % 2 else {})}
                         for j in range(40)])
            curl(f"{RUN}/warmput.cfg", parallel=N)
            s3ctl("put", "--jobs", str(N), "--part-size", str(8 * MIB), f"{RUN}/warm.bin",
                  f"warm/big{i}.bin")
            # s3f's commit engine: a conditional PUT, a conditional multipart
            s3ctl("commit", f"{RUN}/warm4k", f"warm/c{i}")
            s3ctl("commit", f"{RUN}/warm.bin", f"warm/cbig{i}.bin")
            s3_keys("data/")
            s3ctl("ls", "data/")
            s3ctl("head", "data/big.bin")
        s3ctl("rm", *[k for k, _ in s3_keys("warm/")], check=False)
        sh(f"rm -f {RUN}/warm4k")
        os.unlink(f"{RUN}/warm.bin")
        log(f"warmed the server up in {time.monotonic() - t:.1f}s")

    def make_fs(self, s):
        return {"s3f": lambda: S3fFS("s3f", self.a),
                "s3f-listing": lambda: S3fFS("s3f-listing", self.a, "meta=listing"),
                "s3fs": lambda: S3fsFS("s3fs", self.a),
                "rclone-off": lambda: RcloneFS("rclone-off", self.a, "off"),
                "rclone-full": lambda: RcloneFS("rclone-full", self.a, "full"),
                "tmpfs": lambda: TmpFS("tmpfs", self.a)}[s]()

    def run(self):
        """Repetition-major: every system runs its repetition k before any
        runs k + 1, so a drift of the host or the server over the run
        (other load, the server's state) falls on every system alike."""
        self.setup()
        self.warm_server()
        failed = set()
        secs = self.extra.setdefault("system_seconds", {})
        for rep in range(self.a.reps):
            for s in self.a.systems:
                if s in failed:
                    continue
                t = time.monotonic()
                self.only = LISTING_WORKLOADS if s == "s3f-listing" else None
                try:
                    if s == "raw":
                        self.run_raw(rep)
                    elif not self.only or any(self.want(w) for w in self.only):
                        fs = self.make_fs(s)
                        try:
                            self.run_fs(fs, rep)
                        finally:
                            try:
                                fs.umount()
                            except Exception as e:  # noqa: BLE001
                                log(f"{s}: umount failed: {e}")
                except Exception as e:  # noqa: BLE001
                    log(f"{s}: FAILED: {e}")
                    self.errors[s] = str(e)
                    failed.add(s)
                secs[s] = round(secs.get(s, 0) + time.monotonic() - t, 1)
                log(f"{s}: repetition {rep + 1} done in {time.monotonic() - t:.1f}s")
                # keep the server's memory down: drop the large objects written
                big = [k for k, sz in s3_keys("w/") if sz >= MIB]
                if big:
                    s3ctl("rm", *big, check=False)
        self.extra["s3fd_peak_rss_kib"] = max(
            [vmhwm_kib(int(p)) for p in sh("pgrep -x s3fd", check=False).split()] or [0])

    def write(self):
        cpu = {}
        for s, kinds in self.cpu.items():
            cpu[s] = {k: {"cpu_s": round(j / HZ, 2), "bytes": b,
                          "cpu_s_per_gib": round(j / HZ / (b / (1 << 30)), 1) if b else None}
                      for k, (j, b) in kinds.items()}
        out = {"params": vars(self.a), "results": {}, "cpu": cpu, "extra": self.extra,
               "errors": self.errors, "guest_seconds": round(time.monotonic() - T0, 1),
               "kernel": os.uname().release, "ncpu": os.cpu_count()}
        for wl, systems in self.res.items():
            out["results"][wl] = {s: {"median": med(e["values"]), "values": e["values"],
                                      "unit": e["unit"]} for s, e in systems.items()}
        os.makedirs(self.a.out, exist_ok=True)
        with open(os.path.join(self.a.out, "measurements.json"), "w") as f:
            json.dump(out, f, indent=1)
        log(f"wrote {self.a.out}/measurements.json")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--reps", type=int)
    p.add_argument("--size-mib", type=int)
    p.add_argument("--write-mib", type=int)
    p.add_argument("--rand-ops", type=int)
    p.add_argument("--warm-ops", type=int)
    p.add_argument("--small-files", type=int)
    p.add_argument("--dir-entries", type=int)
    p.add_argument("--tree-entries", type=int)
    p.add_argument("--reads", type=int)
    p.add_argument("--ref-bp", type=int)
    p.add_argument("--raw-streams", type=int, default=4)
    p.add_argument("--cap-s", type=float)
    p.add_argument("--s3f-options", default="", help="more s3f mount options")
    p.add_argument("--systems", default=",".join(ALL_SYSTEMS))
    p.add_argument("--workloads", default=",".join(ALL_WORKLOADS))
    a = p.parse_args()
    # Scaled to finish in 20 minutes on a 2-core host under TCG, where the
    # in-guest s3rver answers 10-30 requests/s (Documentation/benchmarks.md).
    defaults = dict(reps=3, size_mib=32, write_mib=16, rand_ops=100, warm_ops=20000,
                    small_files=50, dir_entries=200, tree_entries=100, reads=1000,
                    ref_bp=100000, cap_s=3.0)
    quick = dict(reps=1, size_mib=4, write_mib=4, rand_ops=20, warm_ops=1000,
                 small_files=10, dir_entries=30, tree_entries=20, reads=100,
                 ref_bp=10000, cap_s=1.0)
    for k, v in (quick if a.quick else defaults).items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    a.systems = [s for s in a.systems.split(",") if s]
    a.workloads = [w for w in a.workloads.split(",") if w]
    for s in a.systems:
        if s not in ALL_SYSTEMS:
            p.error(f"unknown system {s}")
    for w in a.workloads:
        if w not in ALL_WORKLOADS:
            p.error(f"unknown workload {w}")
    b = Bench(a)
    try:
        b.run()
    finally:
        b.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
