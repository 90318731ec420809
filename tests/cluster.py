"""Helpers for the tests (and benchmarks) of several processes: Debian's redis-server on a
port of its own, the processes of a front, and a socket.io client that queues what it
receives."""

from __future__ import annotations

import queue
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import socketio

from .conftest import free_port

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


def processes():
    """(pid, command line split at NULs) of every process running."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                yield int(entry.name), (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:  # ended meanwhile
                continue


def children(parent: int, name: bytes) -> list[int]:
    """The processes `parent` started whose command line begins with `name`."""
    found = []
    for pid, args in processes():
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and args[0].startswith(name):
            found.append(pid)
    return found


def process_on(port: int) -> int:
    """The kiosk process behind a front that listens on `port` (its command line says so)."""
    for pid, args in processes():
        if b"--behind-proxy" not in args or b"--port" not in args:
            continue
        if args[args.index(b"--port") + 1] == str(port).encode():
            return pid
    raise LookupError(port)


def front_arguments(workers: int, redis_url: str, port: int, db: Path, clock: str) -> list[str]:
    """`kiosk serve --workers` on loopback, as the tests and the bench start it (after the
    command that runs kiosk)."""
    return [
        "serve", "--workers", str(workers), "--message-queue", redis_url,
        "--host", "127.0.0.1", "--port", str(port), "--db", str(db), "--clock", clock,
    ]  # fmt: skip


def nginx_of(supervisor: int) -> list[int]:
    """The nginx of `kiosk serve --workers` (the process `supervisor`): its master and
    workers, named by the titles nginx gives them."""
    masters = children(supervisor, b"nginx")
    return masters + [pid for master in masters for pid in children(master, b"nginx")]


class Redis:
    """redis-server on loopback, nothing saved to disk; restartable on the same port."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Redis:
        if not Path(REDIS).exists():
            pytest.fail("redis-server not found: apt-get install redis-server")
        self.proc = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                import redis

                if redis.Redis(port=self.port, socket_connect_timeout=0.5).ping():
                    return self
            except Exception:
                time.sleep(0.05)  # polling for readiness
        self.stop()  # not left running behind the error
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Listener:
    """A socket.io client that queues the events it receives, with the moment each came."""

    def __init__(self, url: str, token: str | None = None, headers=None, **options):
        self.events: queue.Queue = queue.Queue()
        self.arrived = 0.0  # time.monotonic() when the event wait_for returned came
        self.client = socketio.Client(reconnection=False, **options)
        for name in ("state", "attendance", "queue"):
            self.client.on(
                name,
                lambda data, name=name: self.events.put((name, data, time.monotonic())),
            )
        self.client.connect(
            url,
            transports=["websocket"],
            auth={"token": token} if token else None,
            headers=headers or {},
        )

    def wait_for(self, name: str, check=lambda data: True, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {name} event as expected within {timeout} s")
            try:
                got, data, at = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if got == name and check(data):
                self.arrived = at
                return data

    def close(self) -> None:
        self.client.disconnect()
