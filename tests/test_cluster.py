"""Several `kiosk serve` processes on one database, sharing a real Redis (kiosk.queue).

The tests start Debian's redis-server themselves, on a port of their own (.ci/run installs
it). The processes share one simulated clock (--clock-epoch), as `--workers` gives them.
"""

from __future__ import annotations

import json
import queue
import signal
import time
from contextlib import closing, contextmanager

import pytest
import requests

from .browsing import ARTIFACTS
from .cluster import Listener
from .conftest import KIOSK_TOKEN, TOKEN, Server, free_port, run_kiosk


@contextmanager
def pair(tmp_path, redis_url: str, clock: str = "2023-07-03T10:20", speed: float = 1.0):
    """Two processes of one event (same database, same queue, same clock), stopped at
    the end of the block."""
    epoch = str(time.time())
    extra = ["--message-queue", redis_url, "--clock-epoch", epoch]
    db = tmp_path / "kiosk.db"
    first = Server(db, free_port(), clock, speed, extra=extra).start()
    second = Server(db, free_port(), clock, speed, extra=extra)
    second.log = db.with_suffix(".second.log")
    try:
        yield first, second.start()
    finally:
        first.kill(signal.SIGTERM)
        second.kill(signal.SIGTERM)


def test_a_command_through_one_process_reaches_a_screen_on_the_other(tmp_path, redis_server):
    with pair(tmp_path, redis_server.url) as (first, second):
        screen = Listener(first.url)
        assert screen.client.call("join", {"room": "lamartine"}, timeout=5) == {"ok": True}
        screen.wait_for("state")
        answer = second.post("/api/rooms/lamartine/message", {"text": "Reprise à 11 h"})
        assert answer.ok, answer.text
        state = screen.wait_for("state", lambda s: s["message"] == "Reprise à 11 h")
        assert state["version"] == answer.json()["version"]
        # and the state the first process serves over HTTP is the same
        assert first.state()["message"] == "Reprise à 11 h"
        screen.close()


def test_a_check_in_through_one_process_reaches_the_arrivals_of_the_other(tmp_path, redis_server):
    with pair(tmp_path, redis_server.url) as (first, second):
        desk = Listener(first.url, token=TOKEN)
        assert desk.client.call("watch_attendance", {}, timeout=5) == {"ok": True}
        assert desk.wait_for("attendance")["checked_in"] == 0
        walk_in = requests.post(
            second.url + "/api/attendees",
            json={"first_name": "Léa", "last_name": "Martin", "category": "presse"},
            headers={"Authorization": f"Bearer {KIOSK_TOKEN}"},
            timeout=5,
        )
        assert walk_in.status_code == 201, walk_in.text
        desk.wait_for("attendance", lambda a: a["checked_in"] == 1)
        desk.close()


def test_a_process_without_the_queue_is_refused_beside_them_and_they_beside_it(
    tmp_path, redis_server
):
    with pair(tmp_path, redis_server.url) as (first, second):
        alone = run_kiosk("serve", "--db", str(first.db), "--port", str(free_port()))
        assert alone.returncode != 0
        assert "already served" in alone.stderr
    single = Server(tmp_path / "single.db", free_port(), None).start()
    try:
        joined = run_kiosk(
            "serve", "--db", str(single.db), "--port", str(free_port()),
            "--message-queue", redis_server.url,
        )  # fmt: skip
        assert joined.returncode != 0
        assert "already served" in joined.stderr
    finally:
        single.kill(signal.SIGTERM)


def test_the_clock_keeps_moving_the_screens_when_its_process_dies(tmp_path, redis_server):
    # The first process started owns the clock ticker; killed, the second takes it over
    # and pushes the 09:00 change of block to its screens. At ×10 the simulated 08:58
    # reaches 09:00 twelve seconds after the processes' common epoch.
    with pair(tmp_path, redis_server.url, clock="2023-07-03T08:58", speed=10) as (first, second):
        first.kill(signal.SIGKILL)
        screen = Listener(second.url)
        assert screen.client.call("join", {"room": "lamartine"}, timeout=5) == {"ok": True}
        assert screen.wait_for("state")["session"]["id"] == "accueil"
        state = screen.wait_for(
            "state", lambda s: (s["session"] or {}).get("id") == "ouverture", timeout=30
        )
        assert state["phase"] == "session"
        screen.close()


def test_a_redis_restart_loses_nothing_and_pushes_resume(tmp_path, redis_server):
    with pair(tmp_path, redis_server.url) as (first, second):
        screen = Listener(first.url)
        assert screen.client.call("join", {"room": "lamartine"}, timeout=5) == {"ok": True}
        screen.wait_for("state")
        tablet = Listener(first.url, token=TOKEN)
        assert tablet.client.call("watch_attendance", {}, timeout=5) == {"ok": True}
        redis_server.stop()
        assert tablet.wait_for("queue") == {"up": False}
        # a tablet opened meanwhile is told at once
        late = Listener(first.url, token=TOKEN)
        assert late.client.call("watch_attendance", {}, timeout=5) == {"ok": True}
        assert late.wait_for("queue") == {"up": False}
        late.close()
        # Redis down: the first process still pushes its own commands to its screens ...
        own = first.post("/api/rooms/lamartine/delay", {"minutes": 5})
        assert own.ok, own.text
        screen.wait_for("state", lambda s: s["delay_minutes"] == 5)
        # ... and the second still takes commands (kept in SQLite), its push lost.
        answer = second.post("/api/rooms/lamartine/message", {"text": "Pendant la coupure"})
        assert answer.ok, answer.text
        redis_server.start()
        assert tablet.wait_for("queue") == {"up": True}
        # Back: the first process re-sends its screens the state as it stands, the
        # second's message included, then pushes flow between the processes again.
        screen.wait_for("state", lambda s: s["message"] == "Pendant la coupure")
        after = second.post("/api/rooms/lamartine/message", {"text": "Rétabli"})
        assert after.ok, after.text
        screen.wait_for("state", lambda s: s["message"] == "Rétabli")
        screen.close()
        tablet.close()
        log = first.log.read_text()
        assert "unreachable: serving this process's screens only" in log
        assert "reachable again" in log


def test_a_logout_through_one_process_ends_the_session_on_the_other(tmp_path, redis_server):
    with pair(tmp_path, redis_server.url) as (first, second):
        browser = requests.Session()  # cookies are per host, whatever the port
        assert browser.get(f"{first.url}/organiser?token={TOKEN}", timeout=5).ok
        page = browser.get(f"{first.url}/organiser", timeout=5).text
        csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
        cookie = browser.cookies.get("session")
        tablet = Listener(first.url, headers={"Cookie": f"session={cookie}"})
        dropped = queue.Queue()
        tablet.client.on("disconnect", lambda *reason: dropped.put(True))
        assert tablet.client.call("watch_attendance", {}, timeout=5) == {"ok": True}
        thief = requests.Session()
        thief.cookies.set("session", cookie)
        assert thief.get(f"{first.url}/api/attendees?q=", timeout=5).status_code == 200
        out = browser.post(
            f"{second.url}/organiser/logout", data={"csrf": csrf}, allow_redirects=False, timeout=5
        )
        assert out.status_code == 302
        # The first process refuses the session's cookie, copies included, and drops
        # its socket, though the logout went through the other.
        assert thief.get(f"{first.url}/api/attendees?q=", timeout=5).status_code == 401
        assert dropped.get(timeout=10)


@pytest.mark.browser
def test_the_tablet_and_the_board_say_when_redis_is_away(tmp_path, redis_server, pages):
    from playwright.sync_api import expect

    with pair(tmp_path, redis_server.url) as (first, second):
        tablet = pages.open(f"{first.url}/organiser?token={TOKEN}", 1280, 800)
        board = pages.open(f"{first.url}/organiser/board?token={TOKEN}", 1280, 800)
        for page in (tablet, board):
            expect(page.locator("body[data-online=yes]")).to_have_count(1)
            expect(page.locator("#queue-down")).to_be_hidden()
        redis_server.stop()
        for page in (tablet, board):
            expect(page.locator("#queue-down")).to_be_visible()
            expect(page.locator("#queue-down")).to_contain_text("File de messages injoignable")
        tablet.screenshot(path=ARTIFACTS / "tablet-queue-down.png")
        redis_server.start()
        for page in (tablet, board):
            expect(page.locator("#queue-down")).to_be_hidden(timeout=15_000)


def test_processes_started_before_redis_catch_up_once_it_is_there(tmp_path):
    from .cluster import Redis

    redis_server = Redis(tmp_path)  # its port chosen, not started yet
    try:
        with pair(tmp_path, redis_server.url) as (first, second):
            # the screen on the second process: the first, which owns the clock ticker (it
            # started first), pushes what it changes itself only once
            screen = Listener(second.url)
            assert screen.client.call("join", {"room": "lamartine"}, timeout=5) == {"ok": True}
            screen.wait_for("state")
            answer = first.post("/api/rooms/lamartine/message", {"text": "Avant Redis"})
            assert answer.ok, answer.text  # kept in SQLite; its push reaches no other process
            redis_server.start()
            # once subscribed, the second process re-sends its screens the state as it stands
            screen.wait_for("state", lambda s: s["message"] == "Avant Redis", timeout=20)
            screen.close()
    finally:
        redis_server.stop()


def test_what_goes_to_one_client_of_a_process_does_not_go_through_redis(tmp_path, redis_server):
    """A screen's join is answered by its own process only; a command still reaches
    every process (through Redis). python-socketio published both."""
    import redis

    watcher = redis.Redis.from_url(redis_server.url).pubsub()
    with pair(tmp_path, redis_server.url) as (first, second), closing(watcher):
        watcher.psubscribe("kiosk-*")
        assert watcher.get_message(timeout=5)["type"] == "psubscribe"  # listening from here
        screen = Listener(first.url)
        assert screen.client.call("join", {"room": "lamartine"}, timeout=5) == {"ok": True}
        screen.wait_for("state")  # the join's answer, to this screen alone
        assert first.post("/api/rooms/lamartine/message", {"text": "Bienvenue"}).ok
        screen.wait_for("state", lambda s: s["message"] == "Bienvenue")
        published = []
        deadline = time.monotonic() + 1  # the command's publish follows its local push
        while time.monotonic() < deadline:
            message = watcher.get_message(timeout=0.1)
            if message is not None and message["type"] == "pmessage":
                published.append(json.loads(message["data"]))
        to = [(m["event"], m["room"]) for m in published]
        assert ("state", "room:lamartine") in to  # the command's push
        channels = ("room:", "stage:", "organisers", "kiosk:")
        assert all(room.startswith(channels) for _, room in to), to
        screen.close()
