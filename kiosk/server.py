"""The production server: gevent's WSGI server, with websockets through simple-websocket.

Used by `kiosk serve`, and by the benchmarks' floor so that both are served the same way.
"""

from __future__ import annotations

import gc
import logging
import resource
import socket

import gevent
from gevent import pywsgi

from . import db as database

log = logging.getLogger(__name__)

# The WAL size (in pages, 4 KiB each) at which a request checkpoints on its own anyway,
# should the background checkpointer fall behind or stop: a safety net, never reached
# while it runs (a busy welcome desk writes a few thousand pages a second at most).
AUTOCHECKPOINT_SAFETY_NET = 20_000


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
    gc.collect()
    gc.freeze()
    tls = {"certfile": certfile, "keyfile": keyfile} if certfile else {}
    server = pywsgi.WSGIServer(listener(host, port), app, log=None, **tls)
    server.serve_forever()


def run_checkpoints(path: str, interval: float = 0.2) -> None:
    """Checkpoint the WAL every `interval` seconds, in a native thread.

    Left to SQLite, the write that fills the WAL (every 1,000 pages: about 400
    check-ins) copies it back into the database file and fsyncs: 4-5 ms during which
    this single-threaded server answers no one, the p99 of every kiosk and screen. In
    gevent's thread pool the copy runs on another core while the loop serves (sqlite3
    releases the GIL). A fifth of a second keeps the WAL small (cached, quick to search)
    at a busy welcome desk; 0.1 s and 1 s measured no better (docs/performance.md).
    """
    db = database.connect(path)
    pool = gevent.get_hub().threadpool
    while True:
        gevent.sleep(interval)
        try:
            pool.apply(database.checkpoint, (db,))
        except Exception:  # retried at the next interval; requests checkpoint meanwhile
            log.exception("WAL checkpoint failed")
