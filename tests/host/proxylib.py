"""Shared pieces of the test proxies (flaky-proxy.py, header-proxy.py)."""
import socket


def shutdown_all(*socks):
    """Shut every socket down both ways, ignoring ones already gone."""
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def listen_loopback():
    """A listening socket on 127.0.0.1 (a free port); prints "port N"."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    srv.settimeout(1)
    print("port", srv.getsockname()[1], flush=True)
    return srv


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
        shutdown_all(src, dst)
