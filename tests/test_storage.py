"""Storage faults through the test client: a lock held elsewhere, a full disk.

Each answers 503 with Retry-After and a translated message, reads go on, the log gets a
line per kind of fault and interval, and writes work again once the fault clears.
"""

from __future__ import annotations

import logging
import sqlite3

import pytest

from kiosk import db as database
from kiosk.web import socketio

from .conftest import KIOSK_TOKEN, TOKEN

KIOSK = {"Authorization": f"Bearer {KIOSK_TOKEN}", "X-Kiosk-Device": "kiosque 1"}
ORG = {"Authorization": f"Bearer {TOKEN}"}
UNKNOWN = "unknown-code-0123456789"
FRENCH = "Service momentanément indisponible — réessayez."
ENGLISH = "Service temporarily unavailable — please try again."


@pytest.fixture
def impatient(app):
    """The app, waiting a fifth of a second for a lock instead of two."""
    app.extensions["kiosk"].pool.busy_wait = 0.2
    return app


@pytest.fixture
def fault_log(monkeypatch):
    """A fresh fault log on a clock the test moves: [now]."""
    now = [1000.0]
    monkeypatch.setattr(database, "faults", database.FaultLog(10.0, clock=lambda: now[0]))
    return now


def assert_unavailable(response, message=FRENCH):
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    body = response.get_json()
    assert (body["status"], body["error"], body["message"]) == (503, "unavailable", message)


def test_a_lock_held_elsewhere_answers_writes_503_and_lets_reads_through(impatient, client):
    holder = sqlite3.connect(impatient.config["DATABASE"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, for longer than we wait
    organiser = socketio.test_client(impatient, auth={"token": TOKEN})
    try:
        assert_unavailable(client.post("/api/checkin", json={"code": UNKNOWN}, headers=KIOSK))
        assert_unavailable(
            client.post("/api/rooms/lamartine/next?lang=en", json={}, headers=ORG), ENGLISH
        )
        ack = organiser.emit("command", {"room": "lamartine", "action": "next"}, callback=True)
        assert (ack["ok"], ack["status"], ack["error"]) == (False, 503, "unavailable")
        state = client.get("/api/rooms/lamartine/state")
        assert (state.status_code, state.get_json()["version"]) == (200, 0)
    finally:
        holder.execute("ROLLBACK")
    assert client.post("/api/checkin", json={"code": UNKNOWN}, headers=KIOSK).status_code == 404
    assert client.post("/api/rooms/lamartine/next", json={}, headers=ORG).get_json()["version"] == 1


def fill_the_disk(app) -> None:
    """The pooled connection's database may not grow any more, and has no room left."""
    pool = app.extensions["kiosk"].pool
    db = pool.take()
    (pages,) = db.conn.execute("PRAGMA page_count").fetchone()
    db.conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.OperationalError, match="full"):
        for _ in range(10_000):  # sqlite3's own execute: the fault log hears nothing of this
            sqlite3.Connection.execute(
                db.conn, "INSERT INTO checkin_log (at, kiosk, outcome) VALUES ('', 'test', 'fill')"
            )
    pool.give_back(db)


def test_a_full_disk_answers_503_in_the_readers_language(app, client, fault_log):
    client.get("/api/rooms/lamartine/state")  # one connection in the pool, then full
    fill_the_disk(app)
    assert_unavailable(client.post("/api/checkin", json={"code": UNKNOWN}, headers=KIOSK))
    walk_in = {"first_name": "Léa", "last_name": "Martin", "category": "presse"}
    assert_unavailable(client.post("/api/attendees", json=walk_in, headers=KIOSK))
    assert client.get("/api/rooms/lamartine/state").status_code == 200
    english = client.post("/api/checkin?lang=en", json={"code": UNKNOWN}, headers=KIOSK)
    assert_unavailable(english, ENGLISH)
    # Recovery without a restart: room again, and the next scan goes through.
    pool = app.extensions["kiosk"].pool
    db = pool.take()
    db.conn.execute("PRAGMA max_page_count = 1000000")
    pool.give_back(db)
    assert client.post("/api/checkin", json={"code": UNKNOWN}, headers=KIOSK).status_code == 404


def test_storage_faults_are_logged_once_per_kind_and_interval(app, client, fault_log, caplog):
    client.get("/api/rooms/lamartine/state")
    fill_the_disk(app)
    with caplog.at_level(logging.INFO):
        for _ in range(50):
            assert (
                client.post("/api/checkin", json={"code": UNKNOWN}, headers=KIOSK).status_code
                == 503
            )
        assert [r.getMessage() for r in caplog.records] == [
            f"{app.config['DATABASE']}: database or disk is full; answering 503 until it clears"
        ]
        fault_log[0] += 10
        assert client.post("/api/checkin", json={"code": UNKNOWN}, headers=KIOSK).status_code == 503
    assert [r.getMessage() for r in caplog.records][1:] == [
        f"{app.config['DATABASE']}: database or disk is full: 50 more in the last 10 s"
    ]
    assert all(r.exc_info is None for r in caplog.records)  # no traceback


def test_the_fault_log_reports_counts_when_an_interval_ends_and_starts_afresh(caplog):
    now = [0.0]
    faults = database.FaultLog(10.0, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="kiosk.db"):
        for _ in range(5):
            faults.note("k.db", sqlite3.SQLITE_IOERR, "disk I/O error")
        faults.note("k.db", sqlite3.SQLITE_FULL, "database or disk is full")
        faults.flush()  # the interval is not over: nothing yet
        now[0] = 10.0
        faults.flush()
        now[0] = 20.0
        faults.flush()  # a quiet interval: the kind is forgotten
        faults.note("k.db", sqlite3.SQLITE_IOERR, "disk I/O error")
    assert [r.getMessage() for r in caplog.records] == [
        "k.db: disk I/O error; answering 503 until it clears",
        "k.db: database or disk is full; answering 503 until it clears",
        "k.db: disk I/O error: 4 more in the last 10 s",
        "k.db: disk I/O error; answering 503 until it clears",
    ]
