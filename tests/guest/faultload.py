#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The fault campaign's workload and checks (tests/guest/faults-campaign.sh).

Runs inside the test guest with tests/host/fault-proxy.py between s3fd and
RGW (scripts/guest-run --faults RATE).  While the proxy faults requests:

  big      large files written sequentially (multipart), fsynced, closed,
           overwritten with other sizes
  small    small files created, overwritten, appended, renamed (over
           existing names too), deleted
  helper   s3fd killed (SIGKILL) and restarted a second later (every
           other time with helper/alt/s3fd, another build of the same
           sources, as an upgrade would), or stopped (SIGSTOP) for two
           seconds, at random points

Every operation must succeed: the faults are transient, and a helper
that is restarted within helper_grace is waited for.  The model records
what each file holds once its close (or fsync) returned.  Then the proxy
stops faulting, sync(2) commits the rest, and: every file of the model is
its object in S3 byte for byte, and reads back through a fresh mount; no
other object exists under the prefix (no conflict copy, nothing half
written); no multipart upload is left in progress.

  faultload.py run MOUNT PREFIX SECONDS SEED
"""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wstress  # noqa: E402
from wstress import S3, check, describe, note  # noqa: E402

PROXY = "http://10.0.2.100/__fault-proxy/"
S3FCTL = wstress.S3FCTL


def proxy(what):
    with urllib.request.urlopen(PROXY + what, timeout=30) as r:
        return r.read().decode()


class Model:
    """key -> bytes once a close returned; errors of operations."""

    def __init__(self):
        self.lock = threading.Lock()
        self.files = {}
        self.errors = []
        self.ops = 0

    def done(self, key, data):
        with self.lock:
            self.ops += 1
            if data is None:
                self.files.pop(key, None)
            else:
                self.files[key] = bytes(data)

    def error(self, what, e):
        with self.lock:
            self.errors.append(f"{what}: {e!r}")


def write_file(path, data, fsync=False):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        off = 0
        while off < len(view):
            off += os.write(fd, view[off:off + (1 << 20)])
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def big_writer(mount, prefix, model, stop, seed):
    rng = random.Random(seed)
    i = 0
    while not stop.is_set():
        key = f"{prefix}/big{i % 2}"
        size = rng.randrange(5 << 20, 13 << 20)
        data = rng.randbytes(size)
        try:
            write_file(os.path.join(mount, key), data, fsync=True)
            model.done(key, data)
        except OSError as e:
            model.error(f"big {key} {size} bytes", e)
        i += 1


def small_writer(mount, prefix, model, stop, seed, wid):
    rng = random.Random(seed)
    names = [f"{prefix}/s{wid}-{n}" for n in range(6)]
    while not stop.is_set():
        key = rng.choice(names)
        path = os.path.join(mount, key)
        r = rng.random()
        what = "write"
        try:
            if r < 0.4:
                data = rng.randbytes(rng.randrange(0, 200000))
                write_file(path, data)
                model.done(key, data)
            elif r < 0.6:
                with model.lock:
                    old = model.files.get(key)
                if old is None:
                    continue
                more = rng.randbytes(rng.randrange(1, 50000))
                what = "append"
                with open(path, "ab") as f:
                    f.write(more)
                model.done(key, old + more)
            elif r < 0.85:
                dst = rng.choice(names)
                with model.lock:
                    old = model.files.get(key)
                if old is None or dst == key:
                    continue
                what = f"rename to {dst}"
                os.rename(path, os.path.join(mount, dst))
                with model.lock:
                    model.files.pop(key, None)
                    model.files[dst] = old
                    model.ops += 1
            else:
                with model.lock:
                    known = key in model.files
                if not known:
                    continue
                what = "unlink"
                os.unlink(path)
                model.done(key, None)
        except OSError as e:
            model.error(f"small {key} {what} at {time.time():.3f}", e)


# Another build of s3fd from the same sources (helper/Makefile, alt/s3fd):
# every other restart uses it, as an upgrade of s3fd would.
S3FD_ALT = os.path.join(wstress.TOP, "helper", "alt", "s3fd")


def helper_faults(stop, seed, n):
    """n times: SIGKILL and a restart a second later (every other one with
    the other s3fd build), or SIGSTOP for 2 s."""
    rng = random.Random(seed)
    done = []
    kills = 0
    for i in range(n):
        if stop.wait(rng.uniform(2, 8)):
            break
        pids = wstress.helper_pids()
        if not pids:
            continue
        # the first is always a kill: its restart is the other build
        if not i or rng.random() < 0.6:
            wstress.kill_helper()
            time.sleep(1)
            kills += 1
            if kills % 2:
                done.append(("kill, restart with alt/s3fd", wstress.start_helper(S3FD_ALT)))
            else:
                done.append(("kill", wstress.start_helper()))
        else:
            for p in pids:
                os.kill(p, signal.SIGSTOP)
            time.sleep(2)
            for p in pids:
                os.kill(p, signal.SIGCONT)
            done.append(("stop", True))
    return done


def s3fd_hwm_kib():
    pids = wstress.helper_pids()
    if not pids:
        return None
    with open(f"/proc/{pids[0]}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def cmd_run(mount, prefix, seconds, seed):
    seconds, seed = float(seconds), int(seed)
    os.makedirs(os.path.join(mount, prefix), exist_ok=True)
    model, stop = Model(), threading.Event()
    threads = [threading.Thread(target=big_writer, args=(mount, prefix, model, stop, seed))]
    threads += [threading.Thread(target=small_writer,
                                 args=(mount, prefix, model, stop, seed * 100 + w, w))
                for w in range(3)]
    helper_done = []
    nhelper = int(os.environ.get("S3F_CAMPAIGN_HELPER_FAULTS", "3"))
    hth = threading.Thread(target=lambda: helper_done.extend(helper_faults(stop, seed, nhelper)))
    t0 = time.time()
    for t in threads + [hth]:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads + [hth]:
        t.join(600)
    note(f"campaign: {model.ops} operations in {time.time() - t0:.0f} s; helper faults {helper_done}")
    check("campaign: every thread ended", not any(t.is_alive() for t in threads + [hth]),
          "a workload thread is still blocked")
    check("campaign: every restarted helper registered", all(ok for _, ok in helper_done),
          f"{helper_done}")
    check("campaign: a restart was with another s3fd build of the same protocol",
          nhelper < 1 or any(k.endswith("alt/s3fd") for k, _ in helper_done),
          f"{helper_done}")
    if not wstress.helper_pids():
        wstress.start_helper()
    check("campaign: no operation failed (every fault was transient)", not model.errors,
          "; ".join(model.errors[:5]) + (f" (+{len(model.errors) - 5})" if len(model.errors) > 5 else ""))
    check("campaign: the workload ran", model.ops >= 20, f"only {model.ops} operations")
    hwm = s3fd_hwm_kib()
    note(f"campaign: s3fd VmHWM {hwm} KiB")

    stats = proxy("off")
    note(f"campaign: fault proxy: {stats}")
    st = json.loads(stats)
    kinds = [k for k in st if k not in ("requests", "on", "rate")]
    check("campaign: the proxy faulted requests of several kinds",
          sum(st[k] for k in kinds) >= 10 and len(kinds) >= 5, stats)

    subprocess.run(["sync"], check=False)
    s3 = S3()
    bad = []
    for key, data in sorted(model.files.items()):
        got = s3.get(key)
        if got != data:
            bad.append(f"{key}: {describe(got, data)}")
    check(f"campaign: every closed file ({len(model.files)}) is its object in S3",
          not bad, "; ".join(bad[:5]))
    keys = [k for k in s3.ls(prefix + "/") if not k.endswith("/")]	# not the marker
    extra = [k for k in keys if k not in model.files]
    check("campaign: no other object under the prefix (no conflict copy, nothing half written)",
          not extra, f"{extra[:10]}")
    out = subprocess.run([S3FCTL, "s3", "mpu-ls", prefix + "/"], capture_output=True, text=True)
    check("campaign: no multipart upload left in progress",
          out.returncode == 0 and not out.stdout.strip(), out.stdout.strip()[:300] or out.stderr)
    return hwm


def cmd_verify_mount(mount, prefix, seed):
    """After a remount: every object under the prefix reads back through
    it (the objects were checked equal to the model before)."""
    s3 = S3()
    bad = []
    keys = [k for k in s3.ls(prefix + "/") if not k.endswith("/")]
    for key in keys:
        with open(os.path.join(mount, key), "rb") as f:
            got = f.read()
        want = s3.get(key)
        if got != want:
            bad.append(f"{key}: {describe(got, want)}")
    check(f"campaign: after a remount, every file ({len(keys)}) reads back as in S3",
          keys and not bad, "; ".join(bad[:5]) or "no files")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    try:
        if cmd == "run":
            cmd_run(*args)
        elif cmd == "verify-mount":
            cmd_verify_mount(*args)
        else:
            print(f"faultload.py: unknown command {cmd}", file=sys.stderr)
            return 2
    except Exception as e:
        import traceback
        traceback.print_exc()
        check(f"{cmd}: runs to the end", False, repr(e))
    return 1 if wstress.failures else 0


if __name__ == "__main__":
    sys.exit(main())
