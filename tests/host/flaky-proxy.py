#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that misbehaves on purpose, for retry tests.

The first --reset connections are accepted and reset (RST) at once; the
next --slowdown connections get "503 SlowDown" after the request head;
every later connection is relayed to 127.0.0.1:--target unchanged.
Prints "port N" when listening; exits by itself after --lifetime seconds.
"""
import argparse
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxylib import listen_loopback, pipe  # noqa: E402

SLOWDOWN = (b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n%s")
BODY = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
        b'<Message>Please reduce your request rate.</Message>'
        b'<RequestId>flaky-proxy</RequestId></Error>')


def relay(conn, target):
    up = socket.create_connection(("127.0.0.1", target))
    threading.Thread(target=pipe, args=(conn, up), daemon=True).start()
    threading.Thread(target=pipe, args=(up, conn), daemon=True).start()


def read_head(conn):
    data = b""
    conn.settimeout(10)
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", type=int, required=True)
    ap.add_argument("--reset", type=int, default=0)
    ap.add_argument("--slowdown", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=300)
    a = ap.parse_args()

    srv = listen_loopback()
    deadline = time.time() + a.lifetime
    resets, slowdowns = a.reset, a.slowdown
    while time.time() < deadline:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        if resets > 0:
            resets -= 1
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
            conn.close()
            print("reset", flush=True)
        elif slowdowns > 0:
            slowdowns -= 1
            read_head(conn)
            conn.sendall(SLOWDOWN % (len(BODY), BODY))
            conn.close()
            print("slowdown", flush=True)
        else:
            relay(conn, a.target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
