#!/usr/bin/env python3
"""An HTTP/1.1 reverse proxy on 127.0.0.1 that injects S3's everyday faults.

Sits between s3fd (in the test guest, through QEMU's one forward) and the
RADOS Gateway.  Each request is parsed; with probability --rate one fault,
chosen by a random generator seeded with --seed, happens to it:

  reset-before     the connection is closed before the request reaches RGW
  reset-request    half the request body reaches RGW, then both close
  lost-response    RGW carries the request out, the answer never arrives
                   (the connection closes): PUT, POST, DELETE, copies
  reset-response   half the response body arrives, then the connection closes
  err-500          500 InternalError instead of forwarding
  err-503          503 SlowDown instead of forwarding
  err-timeout      400 RequestTimeout instead of forwarding
  expired-token    400 ExpiredToken instead of forwarding
  error-body-200   CompleteMultipartUpload / CopyObject: 200 with an
                   <Error>InternalError</Error> body, nothing done
  stall            the answer waits --stall seconds, then arrives

Control requests (never forwarded, from the guest): GET /__fault-proxy/off,
/__fault-proxy/on, /__fault-proxy/stats (counts as JSON),
/__fault-proxy/rate?value=R (the share of requests faulted), and
/__fault-proxy/stall-gets?seconds=N (every GET of an object waits N
seconds, then its connection closes; seconds=0 ends it), and
/__fault-proxy/hold-answers?method=M&seconds=N (every request of method M
is carried out, and its answer waits N seconds; seconds=0 ends it).
Prints "port N" when listening; writes every fault to --log.
"""
import argparse
import json
import os
import random
import re
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxylib import listen_loopback, shutdown_all  # noqa: E402

ERROR = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code>'
         '<Message>%s</Message><RequestId>fault-proxy</RequestId></Error>')
CANNED = {
    "err-500": (500, "Internal Server Error", "InternalError", "injected"),
    "err-503": (503, "Slow Down", "SlowDown", "Please reduce your request rate."),
    "err-timeout": (400, "Bad Request", "RequestTimeout", "injected"),
    "expired-token": (400, "Bad Request", "ExpiredToken", "The provided token has expired."),
}


class State:
    """Shared between connection threads; lock guards everything."""

    def __init__(self, seed, rate, stall, log, kinds=None, first=0, match=None):
        self.lock = threading.Lock()
        self.match = match		# only requests "METHOD path?query" matching this
        self.matched = 0
        self.kinds = kinds		# only these faults, or all
        self.first = first		# > 0: fault exactly the first N requests
        self.rng = random.Random(seed)
        self.rate = rate
        self.on = True
        self.stall = stall
        self.stall_gets = 0.0
        self.hold_method = None	# hold-answers: the server applied it, the answer waits
        self.hold_seconds = 0.0
        self.log = log
        self.counts = {"requests": 0}

    def count(self, what):
        self.counts[what] = self.counts.get(what, 0) + 1

    def choose(self, method, path, query, headers):
        """The fault for this request, or None."""
        with self.lock:
            self.count("requests")
            if not self.on:
                return None
            if self.match and not self.match.search(f"{method} {path}?{query}"):
                return None
            self.matched += 1
            if self.first:
                if self.matched > self.first:
                    return None
            elif self.rng.random() >= self.rate:
                return None
            kinds = ["reset-before", "reset-response", "err-500", "err-503",
                     "err-timeout", "expired-token", "stall"]
            if headers.get("content-length", "0") not in ("0", ""):
                kinds.append("reset-request")
            if method in ("PUT", "POST", "DELETE"):
                kinds += ["lost-response"] * 3
            if (method == "POST" and "uploadId" in query) or \
               (method == "PUT" and "x-amz-copy-source" in headers and "partNumber" not in query):
                kinds += ["error-body-200"] * 3
            if self.kinds:
                kinds = [k for k in kinds if k in self.kinds] or list(self.kinds)
            kind = self.rng.choice(kinds)
            self.count(kind)
            self.log.write(f"{time.time():.3f} {kind} {method} {path}?{query}\n")
            self.log.flush()
            return kind


def read_head(f):
    """Request or response head: (first line, [(name, value)]) or None at EOF."""
    line = f.readline(65536)
    if not line:
        return None
    first = line.decode("latin-1").rstrip("\r\n")
    hdrs = []
    while True:
        line = f.readline(65536)
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("latin-1").partition(":")
        hdrs.append((name.strip(), value.strip()))
    return first, hdrs


def head_bytes(first, hdrs):
    return (first + "\r\n" + "".join(f"{n}: {v}\r\n" for n, v in hdrs) + "\r\n").encode("latin-1")


def read_body(f, hdrs, no_body=False):
    """The body as it came on the wire (chunked stays chunked)."""
    h = {n.lower(): v for n, v in hdrs}
    if no_body:
        return b""
    if h.get("transfer-encoding", "").lower() == "chunked":
        out = b""
        while True:
            line = f.readline(65536)
            if not line:
                raise ConnectionError("chunked body cut short")
            out += line
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:
                    t = f.readline(65536)
                    out += t
                    if t in (b"\r\n", b"\n", b""):
                        return out
            data = f.read(size + 2)
            if len(data) < size + 2:
                raise ConnectionError("chunk cut short")
            out += data
    n = int(h.get("content-length", "0") or 0)
    data = f.read(n) if n else b""
    if len(data) < n:
        raise ConnectionError("body cut short")
    return data


def canned(code, reason, s3code, message, head=False):
    """An S3 error answer; to a HEAD without its body, as S3 sends it."""
    body = (ERROR % (s3code, message)).encode()
    hdrs = [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
    return head_bytes(f"HTTP/1.1 {code} {reason}", hdrs) + (b"" if head else body)


def control(st, path, query):
    q = urllib.parse.parse_qs(query)
    with st.lock:
        if path.endswith("/off"):
            st.on = False
        elif path.endswith("/on"):
            st.on = True
        elif path.endswith("/stall-gets"):
            st.stall_gets = float(q.get("seconds", ["0"])[0])
        elif path.endswith("/hold-answers"):
            st.hold_method = q.get("method", [None])[0]
            st.hold_seconds = float(q.get("seconds", ["0"])[0])
        elif path.endswith("/rate"):
            st.rate = float(q.get("value", [str(st.rate)])[0])
        body = json.dumps(dict(st.counts, on=st.on, rate=st.rate)).encode()
    return head_bytes("HTTP/1.1 200 OK", [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(body)))]) + body


def serve(conn, st, target):
    up = None
    cf = conn.makefile("rb")
    try:
        while True:
            head = read_head(cf)
            if head is None:
                return
            first, hdrs = head
            method, target_path, _ = first.split(" ", 2)
            path, _, query = target_path.partition("?")
            h = {n.lower(): v for n, v in hdrs}
            body = read_body(cf, hdrs)
            if path.startswith("/__fault-proxy/"):
                conn.sendall(control(st, path, query))
                continue
            with st.lock:
                stall_gets = st.stall_gets
            if stall_gets and method == "GET" and path.count("/") >= 2 and "list-type" not in query \
                    and "prefix" not in query:
                time.sleep(stall_gets)
                return
            with st.lock:
                hold = st.hold_seconds if st.hold_method == method else 0
            kind = None if hold else st.choose(method, path, query, h)
            if kind == "reset-before":
                return
            if kind in CANNED:
                conn.sendall(canned(*CANNED[kind], head=(method == "HEAD")))
                continue
            if kind == "error-body-200":
                body200 = (ERROR % ("InternalError", "injected after the 200")).encode()
                conn.sendall(head_bytes("HTTP/1.1 200 OK", [("Content-Type", "application/xml"),
                                                            ("Content-Length", str(len(body200)))]) + body200)
                continue
            if up is None:
                up = socket.create_connection(("127.0.0.1", target))
                uf = up.makefile("rb")
            if kind == "reset-request":
                up.sendall(head_bytes(first, hdrs) + body[:len(body) // 2])
                return
            up.sendall(head_bytes(first, hdrs) + body)
            rhead = read_head(uf)
            if rhead is None:
                return
            rfirst, rhdrs = rhead
            status = int(rfirst.split(" ", 2)[1])
            rbody = read_body(uf, rhdrs, no_body=(method == "HEAD" or status in (204, 304)
                                                   or 100 <= status < 200))
            if kind == "lost-response":
                return
            if hold:	# applied; its answer comes late, or to nobody
                time.sleep(hold)
            if kind == "stall":
                time.sleep(st.stall)
            out = head_bytes(rfirst, rhdrs) + rbody
            if kind == "reset-response":
                conn.sendall(out[:len(out) - max(1, len(rbody) // 2)] if rbody else out[:len(out) // 2])
                return
            conn.sendall(out)
            if h.get("connection", "").lower() == "close":
                return
    except (OSError, ValueError, ConnectionError, IndexError):
        return
    finally:
        shutdown_all(conn, *( [up] if up else []))
        conn.close()
        if up:
            up.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", type=int, required=True, help="RGW's port on 127.0.0.1")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=0.1, help="share of requests faulted")
    ap.add_argument("--stall", type=float, default=3.0, help="seconds a stalled answer waits")
    ap.add_argument("--log", default="/dev/null")
    ap.add_argument("--lifetime", type=float, default=3600, help="exit after this many seconds")
    ap.add_argument("--kinds", default="", help="comma-separated faults to choose from (default all)")
    ap.add_argument("--first", type=int, default=0, help="fault exactly the first N requests")
    ap.add_argument("--match", default="", help="fault only requests whose 'METHOD path?query' matches")
    a = ap.parse_args()
    kinds = [k for k in a.kinds.split(",") if k] or None
    st = State(a.seed, a.rate, a.stall, open(a.log, "a"), kinds, a.first,
               re.compile(a.match) if a.match else None)
    srv = listen_loopback()
    end = time.time() + a.lifetime
    while time.time() < end:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(conn, st, a.target), daemon=True).start()


if __name__ == "__main__":
    main()
