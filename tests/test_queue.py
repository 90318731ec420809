"""What several processes of one event share or own, in one process (kiosk.queue, the
shared lock of kiosk.server.claim, kiosk.push.heard)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kiosk import db as database
from kiosk.live import LiveStore, view
from kiosk.push import (
    PROCESSES,
    WATCHING,
    WATCHING_EVERY,
    WATCHING_FOR,
    announce_checkin,
    flush_attendance,
    heard,
    stage_channel,
    tell_watching,
    tick,
)
from kiosk.queue import RETRY_MAX, MessageQueue, Owner, channel_name
from kiosk.server import AlreadyServing, claim
from kiosk.web import Forwarded, socketio

from .conftest import TOKEN

ROOM = "lamartine"


def command_by_another_process(app, clock) -> dict:
    """A command another process ran: written to the shared database, pushed by it, not
    by this one; its full state as that process sent it to the stages."""
    rt = app.extensions["kiosk"]
    db = database.connect(app.config["DATABASE"])
    store = LiveStore(db, rt.schedule)
    state = store.perform(ROOM, "next", {}, clock.now(), None)
    return view(store.day(ROOM), state, clock.now(), rt.clock.speed)


def test_the_clock_ticker_does_not_push_again_what_another_process_pushed(app, clock):
    rt = app.extensions["kiosk"]
    db = database.connect(app.config["DATABASE"])
    assert tick(rt, db) == []  # first look
    data = command_by_another_process(app, clock)
    heard(rt, "state", data, stage_channel(ROOM))  # its push, through the queue
    assert tick(rt, db) == []


def test_unheard_the_ticker_would_push_it_again(app, clock):
    """The test above can fail: without the other process's push heard, the ticker sees
    a state its screens were not sent, and sends it."""
    rt = app.extensions["kiosk"]
    db = database.connect(app.config["DATABASE"])
    assert tick(rt, db) == []
    command_by_another_process(app, clock)
    assert tick(rt, db) == [ROOM]


def test_only_a_full_state_to_a_stage_counts_as_pushed(app, clock):
    rt = app.extensions["kiosk"]
    db = database.connect(app.config["DATABASE"])
    tick(rt, db)
    data = command_by_another_process(app, clock)
    heard(rt, "state", data, f"room:{ROOM}")  # the audience's copy: not what tick compares
    heard(rt, "attendance", {"checked_in": 1}, "organisers")
    assert tick(rt, db) == [ROOM]


def test_with_a_queue_the_counters_wait_for_organisers_watching_in_some_process(app):
    """A busy welcome desk that nobody follows costs no counting (two scans of the
    attendees a second, in every process); counters due are pushed once someone does."""
    rt = app.extensions["kiosk"]
    rt.queue = SimpleNamespace(up=True)  # with --message-queue: the others' clients unseen
    db = database.connect(app.config["DATABASE"])
    announce_checkin(rt, None)  # a check-in through this process
    assert flush_attendance(rt, db, now=100.0) is False
    assert rt.attendance_dirty  # still due
    heard(rt, WATCHING, {}, PROCESSES, now=100.0)  # organisers follow them elsewhere
    assert flush_attendance(rt, db, now=101.0) is True
    announce_checkin(rt, None)
    assert flush_attendance(rt, db, now=100.0 + WATCHING_FOR - 1) is True
    announce_checkin(rt, None)
    assert flush_attendance(rt, db, now=100.0 + WATCHING_FOR + 1) is False  # no word since
    heard(rt, WATCHING, {}, "organisers", now=200.0)  # not the processes' channel
    assert flush_attendance(rt, db, now=200.0) is False


def test_a_process_whose_organisers_follow_arrivals_tells_the_others(app, client, monkeypatch):
    rt = app.extensions["kiosk"]
    rt.queue = SimpleNamespace(up=True)
    told = []
    emit = socketio.emit

    def spy(event, *args, **kwargs):
        if kwargs.get("to") == PROCESSES:
            told.append(event)
        return emit(event, *args, **kwargs)

    monkeypatch.setattr(socketio, "emit", spy)
    assert tell_watching(rt, now=0.0) is False  # nobody follows arrivals here
    client.get(f"/organiser?token={TOKEN}")
    organiser = socketio.test_client(app, flask_test_client=client)
    assert organiser.emit("watch_attendance", callback=True) == {"ok": True}
    assert told == [WATCHING]  # at once, not at the next word
    now = rt.watching_told
    assert tell_watching(rt, now=now + 1) is False
    assert tell_watching(rt, now=now + WATCHING_EVERY) is True
    assert told == [WATCHING, WATCHING]
    organiser.disconnect()
    assert tell_watching(rt, now=now + 3 * WATCHING_EVERY) is False
    assert len(told) == 2


def test_one_process_owns_the_once_only_jobs_until_it_lets_go(tmp_path):
    db = str(tmp_path / "kiosk.db")
    first, second = Owner(db), Owner(db)
    assert first.try_take() and first.try_take()  # taking again is keeping
    assert not second.try_take()
    first.release()  # as the kernel does when the process dies
    assert second.try_take()
    second.release()


def test_processes_of_one_event_share_a_channel_and_two_events_do_not(tmp_path):
    one = channel_name(str(tmp_path / "a" / ".." / "kiosk.db"))
    assert one == channel_name(str(tmp_path / "kiosk.db"))
    assert one != channel_name(str(tmp_path / "other.db"))


def test_processes_sharing_a_queue_share_the_database_and_no_one_alone(tmp_path):
    db = str(tmp_path / "kiosk.db")
    with (
        claim(db, "http://127.0.0.1:5001", shared=True),
        claim(db, "http://127.0.0.1:5002", shared=True),
        pytest.raises(AlreadyServing),
    ):
        claim(db, "http://127.0.0.1:5000")
    with claim(db, "http://127.0.0.1:5000"), pytest.raises(AlreadyServing):
        claim(db, "http://127.0.0.1:5001", shared=True)


@pytest.mark.parametrize(
    ("forwarded_for", "proto", "address", "scheme"),
    [
        ("203.0.113.7", "https", "203.0.113.7", "https"),
        # a client's own X-Forwarded-For, to which the front appended the address it saw
        ("10.0.0.1, 203.0.113.7", "http", "203.0.113.7", "http"),
        (None, None, "127.0.0.1", "http"),  # not through the front: as it came
    ],
)
def test_behind_the_front_a_process_sees_the_clients_address_and_scheme(
    forwarded_for, proto, address, scheme
):
    seen = {}

    def app(environ, start_response):
        seen.update(address=environ["REMOTE_ADDR"], scheme=environ["wsgi.url_scheme"])
        return []

    environ = {"REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http"}
    if forwarded_for:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded_for
    if proto:
        environ["HTTP_X_FORWARDED_PROTO"] = proto
    Forwarded(app)(environ, None)
    assert seen == {"address": address, "scheme": scheme}


class FlakyRedis:
    """Redis as a publishing process sees it: `fail` calls fail, then it answers."""

    def __init__(self):
        self.fail = 0
        self.published: list[str] = []

    def publish(self, channel: str, message: str) -> int:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("Timeout connecting to server")
        self.published.append(message)
        return 1

    def ping(self) -> bool:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("Connection refused")
        return True


@pytest.fixture
def flaky():
    """A MessageQueue on a FlakyRedis, with a clock the test moves."""
    now = SimpleNamespace(t=100.0)
    changes: list[bool] = []
    redis = FlakyRedis()
    mq = MessageQueue(
        "redis://127.0.0.1:1/0", "kiosk-test", on_change=changes.append, clock=lambda: now.t
    )

    def connect():
        mq.redis, mq.connected = redis, True

    mq._redis_connect = connect
    return SimpleNamespace(mq=mq, redis=redis, now=now, changes=changes)


def test_publishing_comes_back_after_failing_while_the_listener_held_on(flaky):
    """A publish that fails twice (a pooled connection slower than its timeout under
    load) sets the queue down; the ticker's probe finds it back and publishing goes on:
    the listener, which never lost its connection, would never have said so."""
    flaky.redis.fail = 2
    assert flaky.mq._publish({"event": "state"}) is None
    assert flaky.mq.up is False and flaky.changes == [False]
    assert flaky.mq._publish({"event": "state"}) is None  # down: no try, no wait
    assert flaky.redis.published == []
    flaky.mq.probe()  # too soon after the failure: not tried
    assert flaky.mq.up is False
    flaky.now.t += RETRY_MAX
    flaky.mq.probe()
    assert flaky.mq.up is True and flaky.changes == [False, True]
    assert flaky.mq._publish({"event": "state"}) == 1
    assert len(flaky.redis.published) == 1


def test_a_dropped_connection_is_retried_once_at_once(flaky):
    flaky.redis.fail = 1
    assert flaky.mq._publish({"event": "state"}) == 1
    assert flaky.mq.up is True and flaky.changes == []


def test_the_probe_tries_again_every_few_seconds_while_redis_is_away(flaky):
    flaky.redis.fail = 2
    flaky.mq._publish({"event": "state"})
    flaky.redis.fail = 1
    flaky.now.t += RETRY_MAX
    flaky.mq.probe()  # tried: still away
    assert flaky.redis.fail == 0 and flaky.mq.up is False
    flaky.mq.probe()  # not again before RETRY_MAX (Redis would answer now)
    assert flaky.mq.up is False
    flaky.now.t += RETRY_MAX
    flaky.mq.probe()
    assert flaky.mq.up is True and flaky.changes == [False, True]
