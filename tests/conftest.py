"""Fixtures: a fake clock, the app on a temporary database, a real server process."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from kiosk.app import create_app
from kiosk.schedule import load

PARIS = ZoneInfo("Europe/Paris")
# The `kiosk` command as its console script runs it, in this interpreter.
KIOSK_COMMAND = [sys.executable, "-c", "from kiosk.cli import main; main()"]


# The variables the command reads its language from (kiosk.cli.language()).
LANGUAGE_VARIABLES = ("KIOSK_LANG", "LC_ALL", "LC_MESSAGES", "LANG")


def run_kiosk(
    *args: str, timeout: float = 60, lang: str | None = "en"
) -> subprocess.CompletedProcess:
    """Run `kiosk ARGS…` in its own process; its output is captured as text.

    In English unless `lang` says otherwise (None: whatever the environment says), so that
    a test asserting its words does not depend on the machine's locale."""
    env = dict(os.environ, KIOSK_LANG=lang) if lang else None
    return subprocess.run(
        [*KIOSK_COMMAND, *args], capture_output=True, text=True, timeout=timeout, env=env
    )


@pytest.fixture
def cli_in_english(monkeypatch):
    """The command line speaks English, whatever the machine's locale."""
    monkeypatch.setenv("KIOSK_LANG", "en")


@pytest.fixture
def no_language_set(monkeypatch):
    """No locale at all, as on many servers and CI machines: the command's default."""
    for name in LANGUAGE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


TOKEN = "test-organiser-token-0123456789abcdef"
KIOSK_TOKEN = "test-kiosk-token-0123456789abcdef"


def at(hhmm: str) -> dt.datetime:
    """A moment of the colloque's day, 3 July 2023, in Paris."""
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime(2023, 7, 3, hour, minute, tzinfo=PARIS)


class FakeClock:
    """A clock the test moves by hand."""

    speed = 1.0

    def __init__(self, moment: dt.datetime):
        self.moment = moment

    def now(self) -> dt.datetime:
        return self.moment

    def set(self, hhmm: str) -> None:
        self.moment = at(hhmm)


class Ticker:
    """A monotonic time source for the throttles, moved by hand."""

    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


@pytest.fixture(scope="session")
def schedule():
    return load()


@pytest.fixture
def clock():
    return FakeClock(at("10:20"))


@pytest.fixture
def ticker():
    return Ticker()


def make_app(db_path, schedule, clock, ticker=None, **config):
    """An app for the test client: the tests' secrets, threads, and `config` on top."""
    settings = {
        "TESTING": True,
        "DATABASE": str(db_path),
        "SCHEDULE": schedule,
        "CLOCK": clock,
        "ASYNC_MODE": "threading",
        "ORGANISER_TOKEN": TOKEN,
        "KIOSK_TOKEN": KIOSK_TOKEN,
    }
    if ticker is not None:
        settings["MONOTONIC"] = ticker
    return create_app({**settings, **config})


@pytest.fixture
def app(tmp_path, clock, schedule, ticker):
    return make_app(tmp_path / "kiosk.db", schedule, clock, ticker)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth():
    return {"Authorization": f"Bearer {TOKEN}"}


def scan(url: str, code: str) -> dict:
    """A kiosk scans `code` at the server at `url`, with the kiosk secret: the answer."""
    response = requests.post(
        f"{url}/api/checkin",
        json={"code": code},
        headers={"Authorization": f"Bearer {KIOSK_TOKEN}"},
        timeout=5,
    )
    return response.json()


def ephemeral_ports() -> range:
    """The ports the kernel gives outgoing connections: Linux says which; if it cannot be
    read, every port that Linux's default (32768-60999) or IANA's (49152-65535) may give."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 65535
    return range(low, high + 1)


def free_ports(count: int = 1) -> int:
    """The first of `count` consecutive free loopback ports, outside the ephemeral range.

    Not port 0's choice: the kernel picks it from the ephemeral range, where outgoing
    connections get their own port. A client that polls a server not yet listening may then
    be given the server's port as its own and connect to itself (a TCP simultaneous open): it
    reads back its own request (CI failed so once: "invalid literal for int() with base 10:
    b'/api/schedule'"); and any connection may take the port before the server binds it.
    """
    ephemeral = ephemeral_ports()
    # Below the range and above it; from 10000 up where there is room (fewer services listen
    # there), from 1024 (the first unprivileged port) where the range starts lower.
    below = range(10000 if ephemeral.start > 11000 else 1024, ephemeral.start - count + 1)
    firsts = [*below, *range(ephemeral.stop, 65536 - count + 1)]
    if not firsts:
        raise RuntimeError(f"the ephemeral ports {ephemeral} leave no {count} for test servers")
    for _ in range(200):
        base = random.choice(firsts)  # at random: test runs side by side rarely collide
        try:
            with contextlib.ExitStack() as held:
                for port in range(base, base + count):
                    held.enter_context(socket.socket()).bind(("127.0.0.1", port))
        except OSError:  # taken: another try
            continue
        return base
    raise RuntimeError(f"no run of {count} free ports")


def free_port() -> int:
    return free_ports(1)


class Server:
    """`kiosk serve` in its own process, exactly as an organiser starts it."""

    def __init__(
        self,
        db: Path,
        port: int,
        clock: str | None,
        speed: float = 1.0,
        tls: tuple[Path, Path] | None = None,
        extra: list[str] | None = None,
    ):
        self.db, self.port, self.clock, self.speed, self.tls = db, port, clock, speed, tls
        self.extra = extra or []  # more options for `kiosk serve`
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        # A self-signed certificate is its own authority.
        self.verify = str(tls[0]) if tls else True
        self.proc: subprocess.Popen | None = None
        self.log = db.with_suffix(".log")

    def start(self) -> Server:
        cmd = [
            *KIOSK_COMMAND,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--db",
            str(self.db),
        ]
        if self.clock:
            cmd += ["--clock", self.clock, "--speed", str(self.speed)]
        cmd += self.extra
        if self.tls:
            cmd += ["--certfile", str(self.tls[0]), "--keyfile", str(self.tls[1])]
        env = dict(
            os.environ,
            KIOSK_ORGANISER_TOKEN=TOKEN,
            KIOSK_KIOSK_TOKEN=KIOSK_TOKEN,
            KIOSK_LANG="en",  # the tests read its printed lines in English
            PYTHONUNBUFFERED="1",
        )
        # Run from the database's folder, not the source tree, so that the installed
        # package (with the static files and templates it ships) is what serves.
        with open(self.log, "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.db.parent
            )
        try:
            return self._ready()
        except BaseException:
            self.kill()  # not left behind: one that never answered ran on after its test
            raise

    def _ready(self) -> Server:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                if requests.get(self.url + "/api/schedule", timeout=1, verify=self.verify).ok:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.05)  # polling for readiness, not waiting for an outcome
        raise RuntimeError(f"server did not start: {self.log.read_text()}")

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)

    def post(self, path: str, json=None, **kw):
        return requests.post(
            self.url + path,
            json=json or {},
            timeout=5,
            headers={"Authorization": f"Bearer {TOKEN}"},
            **kw,
        )

    def state(self, room: str = "lamartine") -> dict:
        return requests.get(f"{self.url}/api/rooms/{room}/state", timeout=5).json()


@pytest.fixture
def server(tmp_path):
    """A real server on a simulated clock at 10:20 on the day, running at real speed."""
    srv = Server(tmp_path / "kiosk.db", free_port(), "2023-07-03T10:20").start()
    yield srv
    srv.kill(signal.SIGTERM)


# --- real browsers: every page goes through `pages` (tests/browsing.py) -------------------


@pytest.fixture(scope="session")
def playwright():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def chromium(playwright):
    from .browsing import launch

    browser = launch(playwright)
    yield browser
    browser.close()


@pytest.fixture
def pages(playwright, chromium):
    """Opens the test's pages; fails the test on any page error it did not declare."""
    from .browsing import Pages

    opened = Pages(playwright, chromium)
    yield opened
    problems = opened.problems()
    opened.close()
    assert problems == [], "page errors (uncaught exceptions or console.error)"


def _bigday():
    """bench/bigday.py, the generator of a congress day, imported from its file."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "bench" / "bigday.py"
    spec = importlib.util.spec_from_file_location("bigday", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bigday_file(tmp_path_factory) -> Path:
    """The generated congress day: 8 rooms, 239 talks, 384 turns (bench/bigday.py)."""
    return _bigday().write(tmp_path_factory.mktemp("bigday") / "bigday.yaml")


@pytest.fixture(scope="session")
def bigday16_file(tmp_path_factory) -> Path:
    """A bigger congress: 16 rooms (the régie's monitor)."""
    path = tmp_path_factory.mktemp("bigday16") / "bigday16.yaml"
    return _bigday().write(path, rooms=16, talks=478, turns=768)


@pytest.fixture(scope="session")
def bigday(bigday_file):
    """The generated congress day as the app reads it."""
    return load(bigday_file)


@pytest.fixture
def redis_server(tmp_path):
    """Debian's redis-server on a loopback port of its own, for this test alone."""
    from .cluster import Redis

    server = Redis(tmp_path).start()
    yield server
    server.stop()
