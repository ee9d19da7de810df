#!/usr/bin/env python3
"""An HTTP/1.1 proxy on 127.0.0.1 that records requests, for the commit tests.

Relays every connection to 127.0.0.1:--target.  Each request (keep-alive
connections carry several) is written to --log as one JSON line:
{"method", "path" (with the query), "headers" (names lower-cased),
"body" (its length), "corrupted", "conn" (the connection's number),
"start", "end" (when its head arrived, when its body was complete)}.
With --corrupt N, the body of each of the first N PUT requests that have
one gets one byte flipped on the way, as a bad network might do: it then
no longer matches its Content-MD5.
Responses are relayed untouched.  Prints "port N" when listening; exits by
itself after --lifetime seconds.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxylib import listen_loopback, pipe, shutdown_all  # noqa: E402

lock = threading.Lock()
state = {"corrupt": 0, "conns": 0}


def recv_exact(conn, buf, n):
    while len(buf) < n:
        chunk = conn.recv(max(65536, n - len(buf)))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def serve(conn, target, log):
    with lock:
        state["conns"] += 1
        serial = state["conns"]
    up = socket.create_connection(("127.0.0.1", target))
    threading.Thread(target=pipe, args=(up, conn), daemon=True).start()
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            start = time.time()
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method, path = lines[0].split(" ")[:2]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if "chunked" in headers.get("transfer-encoding", ""):
                # not parsed: relay the rest of the connection as it is
                up.sendall(head + b"\r\n\r\n" + buf)
                pipe(conn, up)
                return
            n = int(headers.get("content-length", "0"))
            buf = recv_exact(conn, buf, n)
            body, buf = bytearray(buf[:n]), buf[n:]
            end = time.time()
            corrupted = False
            if method == "PUT" and n:
                with lock:
                    if state["corrupt"] > 0:
                        state["corrupt"] -= 1
                        body[n // 2] ^= 0x01
                        corrupted = True
            with lock:
                log.write(json.dumps({"method": method, "path": path,
                                      "headers": headers, "body": n,
                                      "corrupted": corrupted,
                                      "conn": serial, "start": start,
                                      "end": end}) + "\n")
                log.flush()
            up.sendall(head + b"\r\n\r\n" + bytes(body))
    except (OSError, EOFError, ValueError):
        pass
    finally:
        shutdown_all(conn, up)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--corrupt", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=300)
    a = ap.parse_args()
    state["corrupt"] = a.corrupt

    log = open(a.log, "a")
    srv = listen_loopback()
    deadline = time.time() + a.lifetime
    while time.time() < deadline:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(conn, a.target, log),
                         daemon=True).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
