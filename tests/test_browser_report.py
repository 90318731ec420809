"""The record of the day in a real browser: the organiser's printable page after a day
replayed with a fake clock (Session 3 as it happened), on screen and as printed."""

from __future__ import annotations

import pytest

from kiosk import db as database
from kiosk.live import LiveStore
from kiosk.schedule import load

from .browsing import ARTIFACTS
from .conftest import TOKEN, Server, at, free_port
from .test_report import replay_session_3

pytestmark = pytest.mark.browser

ROOM = "lamartine"


def the_day(store):
    """A whole day in the Salle Lamartine: every block run from the tablet, a cancelled
    speaker and a replacement, a microphone that fails, a delay and two messages."""
    steps = [
        ("09:04", "goto", {"session": "ouverture"}),
        ("09:16", "next", {}),
        ("09:29", "next", {}),
        ("09:41", "next", {}),
        ("09:58", "auto", {}),
        ("10:03", "goto", {"session": "session-1"}),
        ("10:15", "next", {}),
        ("10:28", "next", {}),
        ("10:40", "next", {}),
        ("10:41", "message", {"text": "Micros dans la salle : levez la main"}),
        ("10:59", "auto", {}),
        ("10:59", "message", {"text": None}),
        ("11:00", "times", {"session": "session-2", "turn_minutes": 12}),
        ("11:01", "update", {"turn": "session-2-2", "cancelled": True}),
        (
            "11:02",
            "insert",
            {
                "session": "session-2",
                "civility": "Mme",
                "name": "Anne Dupont",
                "function": "Adjointe au maire de Gennevilliers",
                "before": "session-2-3",
            },
        ),
        ("11:20", "delay", {"minutes": 5}),
        ("11:20", "goto", {"session": "session-2"}),
        ("11:33", "next", {}),
        ("11:44", "next", {}),
        ("11:57", "next", {}),
        ("12:01", "hold_timer", {}),
        ("12:03", "resume_timer", {}),
        ("12:08", "extra_time", {"minutes": 2}),
        ("12:13", "next", {}),
        ("12:44", "auto", {}),
        ("12:45", "message", {"text": "Déjeuner au salon Delthil — reprise à 14 h 30"}),
        ("14:29", "message", {"text": None}),
        ("14:29", "delay", {"minutes": 0}),
    ]
    for hhmm, action, args in steps:
        store.perform(ROOM, action, args, at(hhmm))
    replay_session_3(store)
    for hhmm, action in [("16:34", "goto"), ("16:47", "next"), ("16:58", "next")]:
        store.perform(
            ROOM, action, {"session": "conclusions"} if action == "goto" else {}, at(hhmm)
        )
    store.perform(ROOM, "auto", {}, at("17:12"))


@pytest.fixture
def day_server(tmp_path):
    path = tmp_path / "kiosk.db"
    db = database.connect(str(path))
    database.migrate(db)
    the_day(LiveStore(db, load()))
    db.conn.close()
    srv = Server(path, free_port(), "2023-07-03T17:30").start()
    yield srv
    srv.kill()


def test_report_page_after_the_day_prints_on_a4(pages, day_server):
    page = pages.open(f"{day_server.url}/organiser?token={TOKEN}", 1000, 1400)
    page.goto(f"{day_server.url}/organiser/report")
    page.wait_for_selector("h1")
    names = page.locator("tr[data-turn^='session-3-'] .name").all_inner_texts()
    assert names == [
        "M. Khalil Harfouche",
        "M. Bertrand Gallet",
        "M. Stéphane Troussel",
        "Mme Benedetta Oddo",
        "Débat avec la salle",
    ]
    troussel = page.locator("tr[data-turn='session-3-2']")
    assert "over" in troussel.get_attribute("class")
    assert troussel.locator(".overrun").inner_text() == "+3"
    gallet = page.locator("tr[data-turn='session-3-3'] .flag").inner_text()
    assert gallet == "hors ordre (avant M. Stéphane Troussel)"
    cancelled = page.locator("tr[data-turn='session-2-2']")
    assert cancelled.locator(".badge").inner_text() == "annulée"
    assert "line-through" in cancelled.locator(".name").evaluate(
        "e => getComputedStyle(e).textDecorationLine"
    )
    # Nothing wider than the page: an A4 sheet has no horizontal scroll.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1000
    pages.check()
    page.screenshot(path=ARTIFACTS / "report-1000x1400.png")
    page.screenshot(path=ARTIFACTS / "report-full.png", full_page=True)
    session_3 = page.locator("section.block", has=page.locator("tr[data-turn='session-3-1']"))
    # The afternoon of the day: Session 2's edits, Session 3 as it happened, the log
    # (docs/screenshots/report.png).
    page.evaluate(
        "document.querySelector(\"tr[data-turn='session-2-1']\").closest('section')"
        ".scrollIntoView()"
    )
    page.screenshot(path=ARTIFACTS / "report-afternoon-1000x1400.png")
    session_3.screenshot(path=ARTIFACTS / "report-session-3.png")

    page.emulate_media(media="print")
    assert page.locator(".report-bar").is_hidden()
    # The width of an A4 sheet inside its margins (210 mm - 2 x 12 mm, at 96 px an inch):
    # the table fits without being cut.
    page.set_viewport_size({"width": 703, "height": 1000})
    assert page.evaluate("document.documentElement.scrollWidth") <= 703
    page.screenshot(path=ARTIFACTS / "report-print.png", full_page=True)
    session_3.screenshot(path=ARTIFACTS / "report-print-session-3.png")
    page.locator("section.log").screenshot(path=ARTIFACTS / "report-print-log.png")
    pdf = page.pdf(format="A4", print_background=True)
    (ARTIFACTS / "report.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF")


def test_report_page_in_english(pages, day_server):
    page = pages.open(f"{day_server.url}/organiser?token={TOKEN}", 1000, 1400)
    page.goto(f"{day_server.url}/organiser/report?lang=en")
    assert page.locator(".report-kicker").inner_text().lower() == "record of the day"
    flag = page.locator("tr[data-turn='session-3-3'] .flag").inner_text()
    assert flag == "out of order (before M. Stéphane Troussel)"
