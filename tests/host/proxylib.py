"""Shared pieces of the test proxies (flaky-proxy.py, header-proxy.py)."""
import socket


def pipe(src, dst):
    """Copy src to dst until either side closes, then shut both down."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
