"""Several `kiosk serve` processes, one event: the message queue they share, and the jobs
only one of them runs.

Flask-SocketIO's documented way to spread Socket.IO over several processes is a message
queue: every process publishes what it emits, and each delivers to its own clients what
the others published. `MessageQueue` is python-socketio's Redis manager with these
changes for a day at a venue, where Redis can restart under us:

- while Redis is unreachable, a process keeps serving its own screens (the manager
  delivers locally before it publishes) and stops trying to publish: each attempt
  would hold up the command that emitted it;
- it reconnects by itself, at most `RETRY_MAX` seconds apart (the manager's backoff
  grows to a minute), and once subscribed again calls `on_resubscribed`, so that the
  process re-sends its screens what they missed: pushes from the other processes were
  lost meanwhile (Redis' publish/subscribe keeps nothing), the states are in SQLite;
- the other processes' emits are shown to `heard` (the clock ticker's owner learns there
  which states the others pushed, and does not push them again);
- what goes to one client of this process (a join's answer) is not published: python-
  socketio publishes every emit, which each other process receives and drops;
- a publish that fails while the listener still hears (a slow new connection under load)
  sets the queue down too, and `probe`, called by the clock ticker, finds it back.

`Owner` says which process runs the jobs that must run once per event (the clock ticker,
the WAL checkpointer): the one holding `<db>.owner`, an flock the kernel releases when
the process dies, even by kill -9; another then takes it within a second.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Callable
from typing import IO, Any

from socketio import RedisManager

log = logging.getLogger(__name__)

# Seconds between two attempts to reach Redis again.
RETRY_MAX = 2.0
# Seconds a connection to Redis may take: a Redis host that drops packets must not hold
# a command for longer.
CONNECT_TIMEOUT = 2.0


class MessageQueue(RedisManager):
    """python-socketio's Redis manager, surviving a Redis outage (see the module)."""

    def __init__(
        self,
        url: str,
        channel: str,
        on_resubscribed: Callable[[], None] | None = None,
        heard: Callable[[str, Any, str | None], None] | None = None,
        on_change: Callable[[bool], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(
            url,
            channel=channel,
            redis_options={
                "socket_connect_timeout": CONNECT_TIMEOUT,
                "socket_keepalive": True,
                "health_check_interval": 10,
            },
        )
        self.up = True
        self.clock = clock
        self.next_try = 0.0  # while down: when `probe` may try again
        self.on_resubscribed = on_resubscribed
        self.heard = heard
        self.on_change = on_change

    def _set_up(self, up: bool, reason: object = None) -> None:
        if up == self.up:
            return
        self.up = up
        if up:
            log.warning("message queue %s reachable again", self.redis_url)
        else:
            log.error(
                "message queue %s unreachable: serving this process's screens only, "
                "reconnecting (%s)",
                self.redis_url,
                reason,
            )
        if self.on_change is not None:
            self.on_change(up)

    def emit(self, event, data, namespace=None, room=None, skip_sid=None, callback=None,
             to=None, **kwargs):  # fmt: skip
        # To a client of this process (its sid, a room of its own here): no other process
        # has it, so not published. python-socketio publishes every emit, and 2,000
        # screens joining sent each other process 2,000 answers to drop, and this one
        # 2,000 publishes, each a pooled Redis connection while they overlap.
        target = to or room
        here = self.rooms.get(namespace or "/", {}).get(None)
        if isinstance(target, str) and here is not None and target in here:
            kwargs["ignore_queue"] = True
        return super().emit(
            event, data, namespace=namespace, room=target, skip_sid=skip_sid, callback=callback,
            **kwargs,
        )  # fmt: skip

    def _publish(self, data):
        # While Redis is away, no try: each would hold up the command that emits for the
        # connection's timeout. The listener, reconnecting, says when it is back, and so
        # does `probe` (a publish can fail while the listener's connection lives on: a
        # new pooled connection slower than its timeout while 2,000 screens were joining;
        # the process then stopped publishing for good).
        if not self.up:
            return None
        for attempt in (1, 2):  # a dropped connection: once more on a fresh one
            try:
                return self._on_redis(
                    lambda: self.redis.publish(self.channel, self.json.dumps(data))
                )
            except Exception as exc:
                log.debug("publish failed (attempt %d): %s", attempt, exc)
                failure = exc
        self.next_try = self.clock() + RETRY_MAX
        self._set_up(False, failure)
        return None

    def _on_redis(self, command: Callable[[], Any]) -> Any:
        """`command` on the publishing connection, opened first if it is not; a failure
        leaves it to be opened afresh next time."""
        try:
            if not self.connected:
                self._redis_connect()
            return command()
        except Exception:
            self.connected = False
            raise

    def probe(self) -> None:
        """While Redis is away, try it again every RETRY_MAX seconds (the clock ticker
        calls this each second, apart from any command): a process whose publishes
        failed while its listener kept its connection learns here that it is back."""
        now = self.clock()
        if self.up or now < self.next_try:
            return
        try:
            self._on_redis(lambda: self.redis.ping())
        except Exception as exc:
            self.next_try = now + RETRY_MAX
            log.debug("probe failed: %s", exc)
            return
        self._set_up(True)

    def _redis_listen_with_retries(self):
        pause = 0.25
        failed = False  # since the last subscription (or the start: Redis may be late)
        while True:
            try:
                self._redis_connect()
                self.pubsub.subscribe(self.channel)
                self._set_up(True)
                if failed and self.on_resubscribed is not None:
                    try:
                        self.on_resubscribed()
                    except Exception:
                        log.exception("resync after the message queue came back failed")
                failed = False
                pause = 0.25
                yield from self.pubsub.listen()
            except Exception as exc:
                self.connected = False
                failed = True
                log.debug("listen failed: %s", exc)
                self._set_up(False, exc)
                time.sleep(pause)
                pause = min(pause * 2, RETRY_MAX)

    def _handle_emit(self, message):
        super()._handle_emit(message)
        if self.heard is not None and message.get("host_id") != self.host_id:
            data = message.get("data")
            if isinstance(data, list) and len(data) == 1:
                data = data[0]
            self.heard(message.get("event"), data, message.get("room"))


def listen_now(server) -> None:
    """Hear the other processes from the start. python-socketio starts its manager's
    listener when the first client connects: until then a process would not hear that
    organisers elsewhere follow arrivals (and push its check-ins' counters), nor which
    states the others pushed (its clock ticker would push them again)."""
    if not server.manager_initialized:
        server.manager_initialized = True
        server.manager.initialize()


def channel_name(db_path: str) -> str:
    """The queue's channel: the same for every process of one event (one database), and
    different for two events sharing one Redis."""
    return "kiosk-" + hashlib.sha256(os.path.abspath(db_path).encode()).hexdigest()[:16]


class Owner:
    """Whether this process runs the event's once-only jobs: holds `<db>.owner`."""

    def __init__(self, db_path: str):
        self.path = f"{db_path}.owner"
        self.handle: IO[str] | None = None

    def try_take(self) -> bool:
        if self.handle is not None:
            return True
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held while owned
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.handle = handle
        return True

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
