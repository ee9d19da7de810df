#!/usr/bin/env python3
"""Compare files read through the s3f mount with local copies.

readcheck.py LOCAL MOUNTED [LOCAL MOUNTED ...]

For each pair: whole-file compare, random pread offsets and lengths
(fixed seed), mmap reads (MAP_PRIVATE and MAP_SHARED, read-only).
Prints PASS:/FAIL: lines like the shell suites.
"""
import mmap
import os
import random
import sys

failures = 0


def check(name, ok, why=""):
    global failures
    if ok:
        print(f"PASS: {name}")
    else:
        failures += 1
        print(f"FAIL: {name}: {why}")


def compare(local, mounted):
    base = os.path.basename(mounted)
    with open(local, "rb") as f:
        want = f.read()
    with open(mounted, "rb") as f:
        got = f.read()
    check(f"read {base}: {len(want)} bytes identical", got == want,
          f"got {len(got)} bytes, want {len(want)}")
    check(f"read {base}: st_size", os.stat(mounted).st_size == len(want),
          f"st_size {os.stat(mounted).st_size}")
    if not want:
        return
    rng = random.Random(len(want))
    fd = os.open(mounted, os.O_RDONLY)
    try:
        bad = None
        for _ in range(200):
            off = rng.randrange(0, len(want) + 4096)
            n = rng.choice([1, 17, 512, 4096, 4097, 65536, 1 << 20])
            if os.pread(fd, n, off) != want[off:off + n]:
                bad = (off, n)
                break
        check(f"pread {base}: 200 random offsets and lengths", bad is None,
              f"mismatch at offset {bad}")
        for flags, kind in ((mmap.MAP_PRIVATE, "private"), (mmap.MAP_SHARED, "shared")):
            m = mmap.mmap(fd, len(want), flags=flags, prot=mmap.PROT_READ)
            bad = None
            for _ in range(200):
                off = rng.randrange(0, len(want))
                n = rng.choice([1, 100, 4096, 10000])
                if m[off:off + n] != want[off:off + n]:
                    bad = off
                    break
            m.close()
            check(f"mmap {kind} {base}: 200 random reads", bad is None,
                  f"mismatch at offset {bad}")
    finally:
        os.close(fd)


def main():
    args = sys.argv[1:]
    for i in range(0, len(args) - 1, 2):
        try:
            compare(args[i], args[i + 1])
        except OSError as e:
            check(f"read {args[i + 1]}", False, str(e))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
