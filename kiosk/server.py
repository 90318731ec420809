"""The production server: gevent's WSGI server, with websockets through simple-websocket.

Used by `kiosk serve`, and by the benchmarks' floor so that both are served the same way.
"""

from __future__ import annotations

import fcntl
import gc
import logging
import os
import resource
import signal
import socket
import sqlite3
from typing import IO

import gevent
from gevent import pywsgi
from gevent.event import Event

from . import db as database
from .errors import N_, Explained, Message

log = logging.getLogger(__name__)

# The WAL size (in pages, 4 KiB each) at which a request checkpoints on its own anyway,
# should the background checkpointer fall behind or stop: a safety net, never reached
# while it runs (the benchmark's 2,500 check-ins a second write about 6,000 pages
# between two checkpoints; a real welcome desk, a few dozen).
AUTOCHECKPOINT_SAFETY_NET = 20_000


class AlreadyServing(Explained):
    """Another `kiosk serve` holds the database; the message names it (untranslated:
    the command line says it in its language)."""


def claim(db_path: str, address: str, shared: bool = False) -> IO[str]:
    """Hold `<db>.lock` for as long as this process lives, our pid and address written in it.

    Two servers on one database, each alone, keep their own arrivals counters and record
    of what the screens were sent, and drift apart; so one server holds the lock alone,
    unless it shares a message queue (`shared`): then any number of processes sharing
    one hold it together, and one without a queue is refused (as they are if one
    without a queue holds it). flock() is released by the kernel when the process ends,
    even by kill -9: no stale lock to clear after a crash. Keep the returned file open
    while serving.
    """
    # "a+": not emptied before we hold it. Open for the life of the process, on purpose.
    handle = open(f"{db_path}.lock", "a+", encoding="utf-8")  # noqa: SIM115
    try:
        fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().split()
        handle.close()
        who = Message(N_("another process"))
        if len(holder) == 2:
            who = Message(N_("process %(pid)s (%(address)s)"), pid=holder[0], address=holder[1])
        raise AlreadyServing(
            N_("%(db)s is already served by %(who)s; stop it first, or serve another --db"),
            db=db_path,
            who=who,
        ) from None
    if not shared:  # processes sharing the lock would overwrite each other's line
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} {address}\n")
        handle.flush()
    return handle


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


# Allocations between two young-generation collections (CPython's default: 700).
GC_THRESHOLDS = (50_000, 20, 10)


def tune_garbage_collector() -> None:
    """Keep the garbage collector's pauses out of the screens' latency.

    A broadcast to 2,000 screens queues a few packets per screen; with CPython's default
    thresholds, collections ran in the middle of nearly every broadcast and promoted
    those short-lived packets, which then set off full collections: measured over a
    fan-out run at 2,000 screens, 16 full collections of 100-170 ms each and 4 s of
    pauses in all, the p99 doubled (243 ms against 120). Collecting every 50,000
    allocations lets a broadcast's packets die of their reference counts first: one
    full collection in the same run. The objects made at start-up (app, timetable,
    templates, catalogs: 62,000 of them) live for the whole run: frozen, no collection
    walks them again (a full collection of them alone took 17 ms).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


# Seconds a stopping server gives the requests in flight to finish.
DRAIN_SECONDS = 5
# Seconds a connection may send nothing before it is closed. Screens, tablets and phones
# answer the server's ping every 4 s (Socket.IO), so only dead or hostile clients reach it.
IDLE_TIMEOUT = 60.0


_REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-length: 0\r\n\r\n"


_MSG_MORE = getattr(socket, "MSG_MORE", 0)


class _Handler(pywsgi.WSGIHandler):
    """gevent's handler, counting the requests being answered: a stopping server waits
    for those, not for keep-alive connections idling until their next request."""

    def handle(self):
        # Without a timeout, a client that opens connections and sends nothing holds a
        # socket and a greenlet for good. gevent applies it to each read and write of
        # this socket, websockets included.
        self.socket.settimeout(self.server.idle_timeout)
        return super().handle()

    def handle_one_request(self):
        # The per-read timeout does not stop a client that trickles its request a byte
        # at a time (slowloris): the whole head, request line and headers, must come
        # within the idle timeout. The timer stops once the head is in (see below), so a
        # long-poll or a websocket's life is not bounded by it.
        self._head_timer = gevent.Timeout.start_new(
            self.server.idle_timeout, TimeoutError("request head too slow")
        )
        try:
            return super().handle_one_request()
        finally:
            self._head_timer.close()

    def log_request(self):
        # `kiosk serve` keeps no access log (the server's log=None): gevent formatted each
        # request's line anyway, for a log that drops it (7-12 µs a request in py-spy).
        pass

    def _handle_client_error(self, ex):
        # The idle timeout ran out in the middle of a request's head: an expected end for
        # a slow client, answered 408 and closed, without gevent's traceback on stderr.
        if isinstance(ex, TimeoutError):
            return ("408", _REQUEST_TIMEOUT)
        return super()._handle_client_error(ex)

    # The answer's head waits in the kernel for its body (MSG_MORE): gevent sends them in
    # two calls, which went out as two segments, and nginx woke, read and forwarded twice
    # for each answer. A head with no body (a 204, a 304) goes at once.
    _body_follows = False

    def _write_with_headers(self, data):
        # Not over TLS: an SSL socket's sendall takes no flags (head and body go as two
        # records, as before); nor where the system has no MSG_MORE (Linux has).
        self._body_follows = bool(data and _MSG_MORE) and not self.server.ssl_enabled
        try:
            super()._write_with_headers(data)
        finally:
            self._body_follows = False

    def _sendall(self, data):
        if not self._body_follows:
            return super()._sendall(data)
        self._body_follows = False  # the head's send: the body's is the next one
        try:
            self.socket.sendall(data, _MSG_MORE)
        except OSError as ex:  # as gevent's own _sendall
            self.status = f"socket error: {ex}"
            if self.code > 0:
                self.code = -self.code
            raise
        self.response_length += len(data)

    def handle_one_response(self):
        self._head_timer.close()  # the head is in: what follows is the answer's own time
        server = self.server
        server.in_flight += 1
        if server.stopping:  # the client's next request goes to the next server
            self.close_connection = True
        try:
            return super().handle_one_response()
        finally:
            # A websocket's end is its connection's end: gevent kept the connection for a
            # next HTTP request, and read what the client still sent (its last frames)
            # as one (« Expected GET method » and the frames in the log, a 400 sent back).
            # Taken over, the socket got no answer through gevent; a refused upgrade got
            # one and stays open like any answer (nginx may send the next request on it).
            upgrade = self.environ.get("HTTP_UPGRADE", "")
            if not self.headers_sent and upgrade.lower() == "websocket":
                self.close_connection = True
            server.in_flight -= 1
            if server.stopping and not server.in_flight:
                server.drained.set()


class _Server(pywsgi.WSGIServer):
    handler_class = _Handler

    def __init__(self, *args, idle_timeout: float = IDLE_TIMEOUT, **kwargs):
        super().__init__(*args, **kwargs)
        self.idle_timeout = idle_timeout
        self.in_flight = 0
        self.stopping = False
        self.drained = Event()


def stop(server: _Server, app, stopped: Event, drain: float = DRAIN_SECONDS) -> None:
    """Stop gracefully: SIGTERM ended the process on the spot, a scan or a command half
    answered, and screens noticed only at their ping timeout.

    No new connections; Socket.IO clients disconnected at the Engine.IO level, which
    screens, tablets and phones take as a lost link and reconnect from, to whichever
    server listens next (a Socket.IO-level disconnect would tell them not to); the
    requests in flight finished, for `drain` seconds at most. A second signal stops
    waiting for them.
    """
    if server.stopping:
        stopped.set()
        return
    server.stopping = True
    log.info("stopping: no new connections, %d requests in flight", server.in_flight)
    server.close()
    sio = getattr(app, "extensions", {}).get("socketio")
    if sio is not None and sio.server is not None:
        gevent.spawn(sio.server.eio.disconnect)
    if server.in_flight:
        server.drained.wait(drain)
    stopped.set()


def serve(
    app,
    host: str,
    port: int,
    certfile: str | None = None,
    keyfile: str | None = None,
    idle_timeout: float = IDLE_TIMEOUT,
) -> None:
    """Serve the app until SIGTERM or SIGINT, then stop() (the socketio extension must use
    async_mode gevent)."""
    raise_open_files_limit()
    tune_garbage_collector()
    tls = {"certfile": certfile, "keyfile": keyfile} if certfile else {}
    server = _Server(listener(host, port), app, log=None, idle_timeout=idle_timeout, **tls)
    stopped = Event()
    handlers = [  # kept: a signal handler lives as long as its watcher
        gevent.signal_handler(signum, stop, server, app, stopped)
        for signum in (signal.SIGTERM, signal.SIGINT)
    ]
    server.start()
    stopped.wait()
    for handler in handlers:
        handler.cancel()


def run_checkpoints(path: str, interval: float = 1.0, owner=None) -> None:
    """Checkpoint the WAL every `interval` seconds, in a native thread.

    Left to SQLite, the write that fills the WAL (every 1,000 pages: about 400
    check-ins) copies it back into the database file and fsyncs: 4-5 ms during which
    this single-threaded server answers no one. In gevent's thread pool the copy runs on
    another core while the loop serves (sqlite3 releases the GIL). Each checkpoint still
    slows the requests running at that moment by a millisecond or so (the disk is shared):
    once a second kept the sequential check-in p99 at the floor's, where every 0.2 s set
    it (measured; docs/performance.md). The WAL then holds at most a second of writes.

    Once a second it also reports the storage faults counted since their last log line.
    Of several processes sharing the database, the one holding `owner` checkpoints.
    """
    db = database.connect(path)
    pool = gevent.get_hub().threadpool
    while True:
        gevent.sleep(interval)
        database.faults.flush()
        if owner is not None and not owner.try_take():  # another process checkpoints
            continue
        # A failure is retried at the next interval; requests checkpoint meanwhile.
        try:
            pool.apply(database.checkpoint, (db,))
        except sqlite3.Error as exc:
            # A full or failing disk is logged once per interval with the requests' own.
            if database.unavailable(exc, path) is None:
                log.exception("WAL checkpoint failed")
        except Exception:
            log.exception("WAL checkpoint failed")
