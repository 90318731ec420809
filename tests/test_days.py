"""An event over several days: the timetable, what a room shows on each day, the phone's
tabs, and `--clock` on any day."""

from __future__ import annotations

import datetime as dt
import signal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk import db as database
from kiosk.live import LiveStore, RoomState, view
from kiosk.schedule import ScheduleError, load, parse

from .browsing import ARTIFACTS
from .conftest import TOKEN, Server, free_port, run_kiosk

TWO_DAYS = Path(__file__).parent / "data" / "two-days.yaml"
PARIS = ZoneInfo("Europe/Paris")


def moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=PARIS)


@pytest.fixture
def days():
    return load(TWO_DAYS)


def test_blocks_fall_on_their_day(days):
    assert [d.isoformat() for d in days.days()] == ["2024-05-02", "2024-05-03"]
    assert days.block("d2-pleniere").start == moment("2024-05-03T09:30")
    assert days.to_json()["event"]["end_date"] == "2024-05-03"
    assert days.to_json()["blocks"][-1]["date"] == "2024-05-03"


def test_the_one_day_colloque_is_one_day(schedule):
    assert [d.isoformat() for d in schedule.days()] == ["2023-07-03"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("date: 2024-05-03, start", "date: 2024-05-04, start", "is not a day of the event"),
        ("date: 2024-05-03, start", "date: 3 May, start", "is not YYYY-MM-DD"),
        ("end_date: 2024-05-03", "end_date: 2024-05-01", "end_date 2024-05-01 must be from"),
        ("end_date: 2024-05-03", "end_date: 2024-07-03", "end_date 2024-07-03 must be from"),
    ],
)
def test_days_outside_the_event_are_refused(old, new, expected):
    text = TWO_DAYS.read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(ScheduleError, match=expected):
        parse(text.replace(old, new, 1), "days.yaml")


@pytest.mark.parametrize(
    ("when", "phase", "session", "following"),
    [
        ("2024-05-01T12:00", "before", None, "d1-ouverture"),  # the eve: day 1 to come
        ("2024-05-02T09:30", "session", "d1-ouverture", "d1-table-ronde"),
        ("2024-05-02T18:00", "after", None, None),  # day 1 over; day 2 is tomorrow
        ("2024-05-03T08:00", "before", None, "d2-pleniere"),  # welcome to day 2
        ("2024-05-03T10:00", "session", "d2-pleniere", "d2-cloture"),
        ("2024-05-04T10:00", "after", None, None),
    ],
)
def test_a_room_shows_the_day_of_its_clock(days, when, phase, session, following):
    data = view(days, RoomState("a"), moment(when))
    assert data["phase"] == phase
    assert (data["session"] or {}).get("id") == session
    assert (data["next"] or {}).get("id") == following
    # the timeline a screen follows offline stays within the day shown
    assert len({e["at"][:10] for e in data["timeline"]}) <= 1


def test_next_goes_on_to_the_next_day_and_the_screen_follows(tmp_path, days):
    db = database.connect(str(tmp_path / "days.db"))
    database.migrate(db)
    store = LiveStore(db, days)
    at = moment("2024-05-02T16:00")
    store.perform("a", "goto", {"session": "d1-table-ronde", "turn": "d1-table-ronde-1"}, at)
    assert store.perform("a", "next", {}, at).turn_id == "d1-table-ronde-2"
    state = store.perform("a", "next", {}, at)
    assert (state.block_id, state.turn_id) == ("d2-pleniere", "d2-pleniere-1")
    # held on a block of day 2, the room shows day 2, whatever the clock says
    data = view(store.day("a"), state, at)
    assert (data["session"]["id"], data["next"]["id"]) == ("d2-pleniere", "d2-cloture")


def test_kiosk_check_names_the_days():
    out = run_kiosk("check", str(TWO_DAYS))
    assert out.returncode == 0, out.stderr
    assert "2 days: 2024-05-02, 2024-05-03" in out.stdout
    assert "Salle A (a): 4 blocks, 4 turns, 2024-05-02 09:00–2024-05-03 16:00" in out.stdout


def test_the_clock_on_day_2_shows_day_2(tmp_path):
    srv = Server(
        tmp_path / "kiosk.db", free_port(), "2024-05-03T09:45", extra=["--schedule", str(TWO_DAYS)]
    ).start()
    try:
        state = srv.state("a")
        assert (state["phase"], state["session"]["id"]) == ("session", "d2-pleniere")
        assert srv.state("b")["next"]["id"] == "d2-atelier"
    finally:
        srv.kill(signal.SIGTERM)


@pytest.mark.browser
def test_the_phone_programme_has_a_tab_per_day_and_opens_on_today(pages, tmp_path):
    from playwright.sync_api import expect

    srv = Server(
        tmp_path / "kiosk.db", free_port(), "2024-05-03T09:45", extra=["--schedule", str(TWO_DAYS)]
    ).start()
    try:
        phone = pages.open(srv.url + "/programme", 390, 844)
        tabs = phone.locator(".day-tab")
        expect(tabs).to_have_count(2)
        expect(tabs.nth(1)).to_have_attribute("aria-current", "page")
        expect(phone.locator("#block-d2-pleniere")).to_be_visible()
        expect(phone.locator("#block-d1-ouverture")).to_be_hidden()
        expect(phone.locator("#block-d2-pleniere")).to_have_class("block kind-session now")
        phone.screenshot(path=ARTIFACTS / "programme-two-days.png")
        tabs.nth(0).click()
        expect(phone.locator("#block-d1-ouverture")).to_be_visible()
        expect(phone.locator("#block-d2-pleniere")).to_be_hidden()
        expect(tabs.nth(0)).to_have_attribute("aria-current", "page")
    finally:
        srv.kill(signal.SIGTERM)


@pytest.mark.browser
def test_the_tablet_heads_each_day_and_opens_on_today(pages, tmp_path):
    from playwright.sync_api import expect

    srv = Server(
        tmp_path / "kiosk.db", free_port(), "2024-05-03T08:30", extra=["--schedule", str(TWO_DAYS)]
    ).start()
    try:
        tablet = pages.open(f"{srv.url}/organiser?token={TOKEN}", 1280, 800)
        days = tablet.locator(".o-day")
        expect(days).to_have_count(2)
        expect(days.nth(1)).to_have_text("vendredi 3 mai")  # the stylesheet capitalises it
        # before day 2 starts, the tablet says what the room's screen shows: welcome
        expect(tablet.locator("#now-session")).to_have_text("Bienvenue")
        coming = tablet.locator('.o-block[data-block="d2-pleniere"]')
        expect(coming).to_be_in_viewport()
        tablet.screenshot(path=ARTIFACTS / "tablet-two-days.png")
    finally:
        srv.kill(signal.SIGTERM)
