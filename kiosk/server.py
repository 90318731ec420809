"""The production server: gevent's WSGI server, with websockets through simple-websocket.

Used by `kiosk serve`, and by the benchmarks' floor so that both are served the same way.
"""

from __future__ import annotations

import resource
import socket

from gevent import pywsgi


def raise_open_files_limit() -> int:
    """Every screen, tablet and phone holds a socket: allow as many as the system lets us."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


def listener(host: str, port: int) -> socket.socket:
    """A listening socket whose connections send small writes at once.

    gevent's server writes a response's head and body separately; with Nagle's algorithm
    the body then waits for the client's delayed ACK (40 ms on Linux) on every
    keep-alive request. Accepted sockets inherit TCP_NODELAY from the listener on Linux.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(socket.SOMAXCONN)
    return sock


def serve(
    app, host: str, port: int, certfile: str | None = None, keyfile: str | None = None
) -> None:
    """Serve the app until stopped (the socketio extension must use async_mode gevent)."""
    raise_open_files_limit()
    tls = {"certfile": certfile, "keyfile": keyfile} if certfile else {}
    server = pywsgi.WSGIServer(listener(host, port), app, log=None, **tls)
    server.serve_forever()
