"""The room screen: what its pauses say, and its type read from the back of the room."""

from __future__ import annotations

import pytest

from .browsing import ARTIFACTS
from .conftest import Server, free_port
from .test_browser import set_state

pytestmark = pytest.mark.browser


# What a pause screen says, in each language: (big word, when, what comes next).
PAUSES = {
    "fr": {
        "gap before lunch": ("Pause", "Ensuite à 13 h 00", "Pause déjeuner"),
        "lunch": ("Pause déjeuner", "Reprise à 14 h 30", "Session 3 · La spécificité"),
        "welcome desk": ("Accueil", "Début à 9 h 00", "Ouverture"),
    },
    "en": {
        "gap before lunch": ("Break", "Next at 13:00", "Pause déjeuner"),
        "lunch": ("Pause déjeuner", "Resumes at 14:30", "Session 3 · La spécificité"),
        "welcome desk": ("Accueil", "Starts at 9:00", "Ouverture"),
    },
}


@pytest.mark.parametrize("lang", PAUSES)
def test_a_pause_before_a_break_announces_it_as_next_not_as_a_resumption(pages, tmp_path, lang):
    """12:45-13:00 is a gap before lunch: nothing resumes at 13:00, lunch comes next."""
    from playwright.sync_api import expect

    db = tmp_path / "kiosk.db"
    srv = Server(db, free_port(), "2023-07-03T12:50").start()
    try:
        for case, held in (
            ("gap before lunch", None),  # auto mode, at 12:50
            ("lunch", {"session": "pause-dejeuner"}),
            ("welcome desk", {"session": "accueil"}),
        ):
            if held:
                set_state(db, ("goto", held))
            word, when, what = PAUSES[lang][case]
            page = pages.open(f"{srv.url}/screen/lamartine?lang={lang}", 1280, 720)
            expect(page.locator(".big-word")).to_have_text(word)
            expect(page.locator(".pause .next-when")).to_have_text(when)
            expect(page.locator(".pause .next-what")).to_contain_text(what)
            if case == "gap before lunch":
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=ARTIFACTS / f"screen-gap-before-lunch-{lang}-1280x720.png")
            page.close()
    finally:
        srv.kill()
