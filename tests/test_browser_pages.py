"""Every page, in the states users meet it in, opens without a page error.

The arrivals page once threw as soon as one guest had arrived, and its test, which
opened it before any check-in, passed. So each page is opened here in every phase of
the day, in auto and manual mode, and the desk's pages before and after check-ins (a
VIP among them); the `pages` fixture fails the test on any uncaught exception or
console.error.
"""

from __future__ import annotations

import pytest

from kiosk import db as database
from kiosk.attendees import import_csv

from .conftest import KIOSK_TOKEN, TOKEN, Server, at, free_port, scan

pytestmark = pytest.mark.browser

GUESTS = (
    "Civilité;Prénom;Nom;Organisation;Fonction;Catégorie\n"
    "Mme;Camille;Dupont;Ville de Lyon;Adjointe au maire;Élu·e\n"
    "M.;François;Hollande;;Ancien Président de la République française;Élu·e\n"
    "M.;Jean;Fabre;Cités Unies France;Chargé de mission;Agent\n"
)

# (clock, phase the room is in then, where the organiser holds it in manual mode)
MOMENTS = [
    ("07:00", "before", {"session": "accueil"}),
    ("08:40", "break", {"session": "ouverture", "turn": 1}),
    ("10:20", "session", {"session": "session-1", "turn": 2}),
    ("12:50", "break", {"session": "pause-dejeuner"}),
    ("13:30", "break", {"session": "session-3", "turn": 2}),
    ("18:00", "after", {"session": "conclusions", "turn": 0}),
]

LIVE_PAGES = [("/screen/lamartine", 1920, 1080), ("/programme", 390, 844)]


def _shows_version(page, version: int) -> None:
    """Wait until the page shows the room's state of that version."""
    from playwright.sync_api import expect

    marker = page.locator('body[data-version], .status-line[data-room="lamartine"]').first
    expect(marker).to_have_attribute("data-version", str(version))


def _ready(page) -> None:
    from playwright.sync_api import expect

    if page.locator("body[data-online]").count() or page.locator("#link").count():
        expect(page.locator("body")).to_have_attribute("data-online", "yes")


@pytest.mark.parametrize(("clock", "phase", "held"), MOMENTS, ids=[m[0] for m in MOMENTS])
def test_live_pages_in_every_phase_auto_and_manual(pages, tmp_path, clock, phase, held):

    srv = Server(tmp_path / "kiosk.db", free_port(), f"2023-07-03T{clock}").start()
    try:
        assert srv.state()["phase"] == phase
        tablet = pages.open(f"{srv.url}/organiser?token={TOKEN}", 1280, 800)
        _ready(tablet)
        live = [pages.open(srv.url + path, w, h) for path, w, h in LIVE_PAGES]
        for page in live:
            _ready(page)
        assert srv.post("/api/rooms/lamartine/goto", held).ok  # manual
        for page in [tablet, *live]:
            _shows_version(page, 1)
        assert srv.post("/api/rooms/lamartine/delay", {"minutes": 15}).ok
        assert srv.post("/api/rooms/lamartine/message", {"text": "Reprise à 15 h"}).ok
        assert srv.post("/api/rooms/lamartine/auto").ok  # back to the clock
        for page in [tablet, *live]:
            _shows_version(page, 4)
        # A page opened in that state, not only one that lived through the changes.
        for path, w, h in LIVE_PAGES:
            _ready(pages.open(srv.url + path, w, h))
        pages.check()
    finally:
        srv.kill()


def test_desk_pages_before_and_after_check_ins(pages, tmp_path):
    from playwright.sync_api import expect

    srv = Server(tmp_path / "kiosk.db", free_port(), "2023-07-03T09:30").start()
    try:
        db = database.connect(str(srv.db))
        import_csv(db, GUESTS.encode(), at("07:00"))
        codes = dict(db.execute("SELECT last_name, code FROM attendees").fetchall())
        organiser = pages.open(f"{srv.url}/organiser?token={TOKEN}", 1280, 800)
        desk = ["/organiser/attendees", "/organiser/sign-in-sheet", "/organiser/badges"]

        def open_all():
            for path in desk:
                page = pages.open(srv.url + path, context=organiser.context)
                _ready(page)
            kiosk = pages.open(f"{srv.url}/kiosk?token={KIOSK_TOKEN}&device=k1", 1280, 800)
            expect(kiosk.locator("#code")).to_be_focused()
            for path in ("/", "/organiser", "/kiosk"):  # logged out: the login pages
                pages.open(srv.url + path, 1280, 800)

        open_all()
        arrivals = pages.open(srv.url + desk[0], context=organiser.context)
        _ready(arrivals)
        for name in ("Dupont", "Hollande"):  # Hollande is a VIP
            assert scan(srv.url, codes[name])["status"] == "checked_in"
        expect(arrivals.locator("#n-checked-in")).to_have_text("2")
        expect(arrivals.locator("#vip-alert")).to_be_visible()
        open_all()
        pages.check()
    finally:
        srv.kill()
