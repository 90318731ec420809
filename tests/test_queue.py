"""What several processes of one event share or own, in one process (kiosk.queue, the
shared lock of kiosk.server.claim, kiosk.push.heard)."""

from __future__ import annotations

import pytest

from kiosk import db as database
from kiosk.live import LiveStore, view
from kiosk.push import heard, stage_channel, tick
from kiosk.queue import Owner, channel_name
from kiosk.server import AlreadyServing, claim

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
