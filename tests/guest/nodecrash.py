#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The two guests of the node-crash test (tests/host/node-crash.sh).

  nodecrash.py write MOUNT STAGING PERSIST
      Mounts the bucket at MOUNT with staging=STAGING (a host directory
      that outlives the guest), leaves files in every state a crash can
      find them in, records what each must hold afterwards in
      PERSIST/expect.json, writes PERSIST/ready, and then appends to one
      more file until the host kills QEMU (kill -9).

  nodecrash.py check MOUNT STAGING PERSIST
      A new boot: mounts the same bucket with the same staging
      directory; s3fd recovers what the crash left in the background.
      Waits for it, then checks every file through the mount and in S3,
      and what `s3fctl recover list` still holds.

The files (every one above S3F_LAZY_STAGE_MAX, so it is staged as it is
written; sync_file_range stages dirty pages without committing):
  fsynced     written, fsynced, closed: in S3 before the crash, untouched
  grown       fsynced, then more staged, left open: recovered, all of it
  new         staged, never committed, left open: recovered
  edited      an object edited in place (one page), staged: held, since
              the staging file system (9p) cannot tell staged pages from
              holes, and the base's bytes stay
  rewritten   an object rewritten from offset 0 (O_TRUNC), staged:
              recovered onto its base
  unlinked    staged, unlinked while open: never comes back
  renamed     staged, renamed while open: recovered under its new name
  idle        fsynced and left open, nothing written after: not committed
              again
  appending   appended to until the crash: recovered as a prefix
"""
import ctypes
import hashlib
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wstress  # noqa: E402
from wstress import S3, check, note  # noqa: E402

S3FCTL = wstress.S3FCTL
MiB = 1 << 20
CHUNK = 256 << 10
libc = ctypes.CDLL(None, use_errno=True)
libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_longlong,
                                 ctypes.c_longlong, ctypes.c_uint]


def stage(fd):
    """Write the dirty pages to the staging file (no commit), and wait."""
    if libc.sync_file_range(fd, 0, 0, 1 | 2 | 4):
        e = ctypes.get_errno()
        raise OSError(e, f"sync_file_range: {os.strerror(e)}")


def sha(data):
    return hashlib.sha256(data).hexdigest()


def mount(mnt, staging):
    os.makedirs(mnt, exist_ok=True)
    opts = os.environ["S3F_MOUNT_OPTIONS"] + ",staging=" + staging
    subprocess.run(["mount", "-t", "s3f", "-o", opts, os.environ["S3F_BUCKET"], mnt],
                   check=True)


def pattern(i):
    return bytes([(i * 7 + 1) % 256]) * CHUNK


def put_through_mount(path, data):
    with open(path, "wb") as f:
        f.write(data)
        os.fsync(f.fileno())


def write(mnt, staging, persist):
    mount(mnt, staging)
    d = os.path.join(mnt, "crash")
    os.makedirs(d)
    expect, keep = {}, []

    def opened(name, flags=os.O_RDWR | os.O_CREAT):
        fd = os.open(os.path.join(d, name), flags, 0o640)
        keep.append(fd)
        return fd

    data = os.urandom(MiB + 5000)
    put_through_mount(os.path.join(d, "fsynced"), data)
    expect["fsynced"] = sha(data)

    fd = opened("grown")
    a, b = os.urandom(MiB + 300), os.urandom(100 << 10)
    os.write(fd, a)
    os.fsync(fd)
    os.write(fd, b)
    stage(fd)
    expect["grown"] = sha(a + b)

    fd = opened("new")
    data = os.urandom(2 * MiB + 123)
    os.write(fd, data)
    stage(fd)
    expect["new"] = sha(data)

    base = os.urandom(MiB + 4096 * 3)
    put_through_mount(os.path.join(d, "edited"), base)
    fd = opened("edited", os.O_RDWR)
    os.pwrite(fd, os.urandom(4096), 8192)
    stage(fd)
    expect["edited"] = sha(base)	# held: S3 keeps the base

    put_through_mount(os.path.join(d, "rewritten"), os.urandom(MiB + 777))
    fd = opened("rewritten", os.O_RDWR | os.O_TRUNC)
    data = os.urandom(MiB + 999)
    os.write(fd, data)
    stage(fd)
    expect["rewritten"] = sha(data)

    fd = opened("unlinked")
    os.write(fd, os.urandom(MiB + 1))
    stage(fd)
    os.unlink(os.path.join(d, "unlinked"))
    expect["unlinked"] = None

    fd = opened("renamed")
    data = os.urandom(MiB + 2)
    os.write(fd, data)
    stage(fd)
    os.rename(os.path.join(d, "renamed"), os.path.join(d, "renamed-to"))
    expect["renamed"] = None
    expect["renamed-to"] = sha(data)

    fd = opened("idle")
    data = os.urandom(MiB + 3)
    os.write(fd, data)
    os.fsync(fd)
    expect["idle"] = sha(data)

    journals = sorted(n for n in os.listdir(staging) if n.endswith(".journal"))
    note(f"journals before the crash: {len(journals)}")
    with open(os.path.join(persist, "expect.json"), "w") as f:
        json.dump(expect, f)
        f.flush()
        os.fsync(f.fileno())

    fd = opened("appending")
    # the host kills QEMU once it sees "ready": appends go on until then
    i = 0
    while True:
        os.write(fd, pattern(i))
        stage(fd)
        i += 1
        if i == 4:
            with open(os.path.join(persist, "ready"), "w") as f:
                f.write("ready\n")


def recover_list(staging):
    r = subprocess.run([S3FCTL, "recover", "--staging", staging, "list"],
                       capture_output=True, text=True)
    return [ln.split("\t") for ln in r.stdout.splitlines() if ln]


def check_after(mnt, staging, persist):
    with open(os.path.join(persist, "expect.json")) as f:
        expect = json.load(f)
    keys = {n: f"crash/{n}" for n in list(expect) + ["appending"]}
    names = sorted(expect)
    check("nodecrash: the crash left staging journals",
          len(recover_list(staging)) >= 7, f"{recover_list(staging)}")
    mount(mnt, staging)
    # s3fd recovers in the background: until only what it holds is left
    deadline = time.time() + 240
    while time.time() < deadline:
        left = recover_list(staging)
        if all(row[3].endswith("/crash/edited") for row in left):
            break
        time.sleep(1)
    left = recover_list(staging)
    check("nodecrash: recovery is done within 240 s, one file held",
          [row[3].rsplit("/", 1)[-1] for row in left] == ["edited"], f"{left}")
    r = subprocess.run([S3FCTL, "recover", "--staging", staging, "commit", "all"],
                       capture_output=True, text=True)
    check("nodecrash: s3fctl recover commit says why it holds one",
          r.returncode == 1 and "\theld\t" in r.stdout and
          "does not report holes" in r.stdout, r.stdout + r.stderr)

    d = os.path.join(mnt, "crash")
    for n in names:
        path = os.path.join(d, n)
        if expect[n] is None:
            check(f"nodecrash: {n} did not come back", not os.path.exists(path),
                  "it exists")
            continue
        try:
            with open(path, "rb") as f:
                got = sha(f.read())
        except OSError as e:
            got = str(e)
        check(f"nodecrash: {n} reads back as expected", got == expect[n], got)

    with open(os.path.join(d, "appending"), "rb") as f:
        data = f.read()
    whole = len(data) // CHUNK
    good = all(data[i * CHUNK:(i + 1) * CHUNK] == pattern(i) for i in range(whole))
    tail = data[whole * CHUNK:]
    check("nodecrash: the file being appended to comes back as a prefix",
          len(data) >= 4 * CHUNK and good and tail == pattern(whole)[:len(tail)],
          f"{len(data)} bytes, whole chunks intact {good}")

    s3 = S3()
    listed = s3.ls("crash/")
    check("nodecrash: no conflict copy, nothing else in S3",
          sorted(k for k in listed) ==
          sorted(["crash/"] + [keys[n] for n in list(expect) + ["appending"]
                               if expect.get(n, 1) is not None]),
          f"{sorted(listed)}")
    with open(os.path.join(persist, "etags.json"), "w") as f:
        heads = {}
        for n in names + ["appending"]:
            st, h, _ = s3.request("HEAD", keys[n])
            if st == 200:
                heads[n] = [h.get("etag", "").strip('"'), h.get("last-modified", "")]
        json.dump(heads, f)

    r = subprocess.run([S3FCTL, "recover", "--staging", staging, "discard", "all"],
                       capture_output=True, text=True)
    check("nodecrash: s3fctl recover discard drops the held file",
          r.returncode == 0 and not recover_list(staging), r.stdout + r.stderr)
    with open(os.path.join(d, "edited"), "rb") as f:
        check("nodecrash: the held file's object is its base",
              sha(f.read()) == expect["edited"], "changed")
    subprocess.run(["umount", mnt], check=True)
    left = [n for n in os.listdir(staging) if not n.startswith(".")]
    check("nodecrash: the staging directory is empty", not left, f"{left}")


def main():
    what, mnt, staging, persist = sys.argv[1:5]
    if what == "write":
        write(mnt, staging, persist)
    else:
        check_after(mnt, staging, persist)
    sys.exit(1 if wstress.failures else 0)


if __name__ == "__main__":
    main()
