"""The organiser's tablet on the day (issue 10): the running order edited from the tablet
and seen on the room screen without reload, the countdown and its projection, pauses,
the lectern's message and the screen's blackout. Real server, real Chromium."""

from __future__ import annotations

import math
import re

import pytest

from kiosk import db as database
from kiosk.live import LiveStore
from kiosk.schedule import load

from .browsing import ARTIFACTS
from .conftest import TOKEN, Server, at, free_port

pytestmark = pytest.mark.browser

# Screenshots go with the other test artifacts; the README shows copies in docs/screenshots.
SCREENSHOTS = ARTIFACTS


@pytest.fixture
def afternoon(tmp_path):
    """A real server whose clock shows 14:35 on the day: session 3 is running."""
    srv = Server(tmp_path / "kiosk.db", free_port(), "2023-07-03T14:35").start()
    yield srv
    srv.kill()


def perform(srv: Server, *commands) -> None:
    """Commands as the tablet sends them, each at its moment of the day (HH:MM)."""
    store = LiveStore(database.connect(str(srv.db)), load())
    for hhmm, action, args in commands:
        store.perform("lamartine", action, args, at(hhmm))


def open_tablet(pages, srv: Server, width: int = 1280, height: int = 800):
    from playwright.sync_api import expect

    tablet = pages.open(f"{srv.url}/organiser?token={TOKEN}", width, height)
    expect(tablet.locator("body")).to_have_attribute("data-online", "yes")
    return tablet


def open_screen(pages, srv: Server):
    from playwright.sync_api import expect

    screen = pages.open(srv.url + "/screen/lamartine", 1280, 720)
    expect(screen.locator("body")).to_have_attribute("data-online", "yes")
    screen.evaluate("window.notReloaded = true")
    return screen


def row(tablet, turn_id: str):
    return tablet.locator(f'.o-row[data-turn-id="{turn_id}"]')


def editing(tablet) -> None:
    from playwright.sync_api import expect

    tablet.locator("#edit-toggle").click()
    expect(tablet.locator("#edit-toggle")).to_have_attribute("aria-pressed", "true")


def settled(tablet) -> None:
    """The tablet has its answer and its buttons back (the double-tap guard is over)."""
    from playwright.sync_api import expect

    expect(tablet.locator("body")).not_to_have_class(re.compile(r"\bbusy\b"))


def screen_order(screen) -> list[str]:
    return screen.locator("ol.order li.turn").evaluate_all(
        "(items) => items.map((li) => (li.querySelector('.name') || li).textContent.trim())"
    )


SESSION_3_AS_HEARD = [
    "M. Khalil Harfouche",
    "M. Bertrand Gallet",
    "M. Stéphane Troussel",
    "Mme Benedetta Oddo",
    "Débat avec la salle",
]


def test_the_tablet_reorders_session_3_and_the_screen_follows(pages, afternoon):
    from playwright.sync_api import expect

    screen = open_screen(pages, afternoon)
    tablet = open_tablet(pages, afternoon)
    # Nothing to edit by accident: the controls come with « Modifier l'ordre ».
    assert tablet.locator(".o-tools").count() == 0
    editing(tablet)
    row(tablet, "session-3-3").locator("button.up").click()
    expect(screen.locator("ol.order li.turn")).to_have_count(5)
    expect(screen.locator("ol.order li.turn").nth(1)).to_contain_text("Bertrand Gallet")
    assert screen_order(screen) == SESSION_3_AS_HEARD
    order = tablet.locator('.o-block[data-block="session-3"] .o-turn .who')
    expect(order).to_have_text(SESSION_3_AS_HEARD[:4])
    expect(row(tablet, "session-3-3").locator(".flag")).to_have_text("déplacée")
    settled(tablet)
    # The real day: Harfouche, then the organiser taps Gallet.
    row(tablet, "session-3-1").locator(".o-turn").click()
    expect(screen.locator("li.current .name")).to_have_text("M. Khalil Harfouche")
    settled(tablet)
    row(tablet, "session-3-3").locator(".o-turn").click()
    expect(screen.locator("li.current .name")).to_have_text("M. Bertrand Gallet")
    expect(screen.locator("li.past .name")).to_have_text(["M. Khalil Harfouche"])
    expect(row(tablet, "session-3-1").locator(".o-turn")).to_have_class(re.compile(r"\bdone\b"))
    expect(row(tablet, "session-3-3").locator(".o-turn")).to_have_class(re.compile(r"\bcurrent\b"))
    expect(row(tablet, "session-3-2").locator(".o-turn")).not_to_have_class(re.compile("done"))
    settled(tablet)
    # Next after Gallet brings Troussel: what is done comes from what happened.
    tablet.locator("button.next").click()
    expect(screen.locator("li.current .name")).to_have_text("M. Stéphane Troussel")
    expect(screen.locator("li.past .name")).to_have_text(
        ["M. Khalil Harfouche", "M. Bertrand Gallet"]
    )
    assert screen.evaluate("window.notReloaded") is True


def test_a_replacement_speaker_inserted_on_the_tablet_appears_on_the_screen(pages, afternoon):
    from playwright.sync_api import expect

    screen = open_screen(pages, afternoon)
    tablet = open_tablet(pages, afternoon)
    editing(tablet)
    tablet.locator('.o-block[data-block="session-3"] button.insert').click()
    form = tablet.locator("#edit-form")
    expect(form).to_be_visible()
    expect(form.locator(".form-title")).to_have_text("Ajouter une intervention à Session 3")
    form.locator('input[name="civility"]').fill("Mme")
    form.locator('input[name="name"]').fill("Camille Dupont")
    form.locator('input[name="function"]').fill("Adjointe au maire de Lyon")
    form.locator('select[name="before"]').select_option("session-3-2")
    form.locator("button.save").click()
    expect(form).to_be_hidden()
    item = screen.locator("ol.order li.turn").nth(1)
    expect(item.locator(".name")).to_have_text("Mme Camille Dupont")
    expect(item.locator(".function")).to_have_text("Adjointe au maire de Lyon")
    added = tablet.locator('.o-block[data-block="session-3"] .o-row').nth(1)
    expect(added.locator(".who")).to_have_text("Mme Camille Dupont")
    expect(added.locator(".flag")).to_have_text("ajoutée")
    assert screen.evaluate("window.notReloaded") is True
    # A refused form stays open, its field marked, the reason in the toast.
    settled(tablet)
    tablet.locator('.o-block[data-block="session-3"] button.insert').click()
    pages.expect_console(r"status of 400 .*\[.*/api/rooms/lamartine/insert\]$")
    form.locator("button.save").click()
    expect(tablet.locator("#toast")).to_contain_text("« Débat avec la salle »")
    expect(form.locator('input[name="name"]')).to_have_attribute("aria-invalid", "true")
    expect(form).to_be_visible()


def test_cancel_strikes_the_turn_on_the_tablet_hides_it_on_screen_and_undo_restores(
    pages, afternoon
):
    from playwright.sync_api import expect

    screen = open_screen(pages, afternoon)
    tablet = open_tablet(pages, afternoon)
    editing(tablet)
    row(tablet, "session-3-2").locator("button.cancel").click()
    expect(screen.locator("ol.order li.turn")).to_have_count(4)
    assert "M. Stéphane Troussel" not in screen_order(screen)
    turn = row(tablet, "session-3-2").locator(".o-turn")
    expect(turn).to_have_class(re.compile(r"\bcancelled\b"))
    expect(turn.locator(".flag")).to_have_text("annulée")
    struck = turn.locator(".who").evaluate("(e) => getComputedStyle(e).textDecorationLine")
    assert struck == "line-through"
    expect(row(tablet, "session-3-2").locator("button.restore")).to_be_visible()
    settled(tablet)
    tablet.locator(".edit-bar button.undo").click()
    expect(screen.locator("ol.order li.turn")).to_have_count(5)
    assert screen_order(screen) == [
        "M. Khalil Harfouche",
        "M. Stéphane Troussel",
        "M. Bertrand Gallet",
        "Mme Benedetta Oddo",
        "Débat avec la salle",
    ]
    expect(turn).not_to_have_class(re.compile("cancelled"))
    expect(turn.locator(".flag")).to_have_count(0)  # as printed again
    settled(tablet)
    # A typo corrected from the form reaches the screen too.
    row(tablet, "session-3-3").locator("button.correct").click()
    tablet.locator('#edit-form input[name="function"]').fill("Président d’ACTED")
    tablet.locator("#edit-form button.save").click()
    expect(screen.locator("ol.order li.turn").nth(2).locator(".function")).to_have_text(
        "Président d’ACTED"
    )
    expect(row(tablet, "session-3-3").locator(".flag")).to_have_text("corrigée")
    assert screen.evaluate("window.notReloaded") is True


def mmss(seconds: float) -> str:
    """What the tablet shows for that many seconds left (counted down to the second)."""
    whole = math.ceil(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def test_the_countdown_runs_with_a_budget_takes_extra_time_and_pauses(pages, afternoon):
    from playwright.sync_api import expect

    tablet = open_tablet(pages, afternoon)
    # No budget, nothing counts down: the elapsed time only.
    row(tablet, "session-3-1").locator(".o-turn").click()
    countdown = tablet.locator("#countdown")
    expect(countdown).to_have_attribute("data-kind", "elapsed")
    expect(countdown).to_have_text(re.compile(r"^0:0\d$"))
    expect(tablet.locator("#timer-note")).to_contain_text("sans durée prévue")
    settled(tablet)
    editing(tablet)
    tablet.locator('.o-block[data-block="session-3"] button.block-budget').click()
    tablet.locator('#edit-form input[name="minutes"]').fill("7")
    tablet.locator("#edit-form button.save").click()
    expect(row(tablet, "session-3-2").locator(".minutes")).to_have_text("◷ 7 min")
    expect(countdown).to_have_attribute("data-kind", "running")  # Harfouche has 7 min now
    settled(tablet)
    tablet.locator("button.next").click()  # Troussel, 7 minutes
    expect(tablet.locator("#now-speaker")).to_contain_text("Stéphane Troussel")
    expect(countdown).to_have_text(re.compile(r"^(7:00|6:5\d)$"))
    expect(countdown).to_have_attribute("data-kind", "running")
    settled(tablet)
    tablet.locator("button.extra").click()
    expect(countdown).to_have_text(re.compile(r"^(8:00|7:5\d)$"))
    expect(tablet.locator("#timer-note")).to_contain_text("temps accordé : +1 min")
    settled(tablet)
    expect(tablet.locator("#hold")).to_have_text("❚❚ Pause chrono")
    tablet.locator("#hold").click()
    expect(countdown).to_have_attribute("data-paused", "yes")
    expect(tablet.locator("#resume")).to_be_visible()
    frozen = afternoon.state()["timer"]
    assert frozen["paused"] is True
    expect(countdown).to_have_text(mmss(frozen["remaining_seconds"]))
    # Two seconds of the event's clock pass (two of the page's ticks): a paused timer
    # must not move.
    start = tablet.evaluate("Kiosk.clock.now()")
    tablet.wait_for_function(f"() => Kiosk.clock.now() > {start} + 2000")
    expect(countdown).to_have_text(mmss(frozen["remaining_seconds"]))
    settled(tablet)
    tablet.locator("#resume").click()
    expect(countdown).to_have_attribute("data-paused", "no")
    expect(tablet.locator("#hold")).to_be_visible()


def overtime(srv: Server) -> None:
    """Session 3 with 20-minute turns, Troussel three minutes over at 15:13."""
    perform(
        srv,
        ("14:29", "budget", {"session": "session-3", "minutes": 20}),
        ("14:30", "goto", {"session": "session-3", "turn": "session-3-1"}),
        ("14:50", "next", {}),
    )


def test_overtime_shows_red_and_the_projection_applies_as_the_delay(pages, tmp_path):
    from playwright.sync_api import expect

    srv = Server(tmp_path / "kiosk.db", free_port(), "2023-07-03T15:13").start()
    try:
        overtime(srv)
        tablet = open_tablet(pages, srv)
        countdown = tablet.locator("#countdown")
        expect(countdown).to_have_text(re.compile(r"^\+3:0\d$"))
        expect(countdown).to_have_attribute("data-kind", "over")
        red = countdown.evaluate("(e) => getComputedStyle(e).color")
        assert red == "rgb(226, 0, 26)"
        # Three turns of 20 minutes after Troussel: 16 h 13 for a session printed to 16 h.
        expect(tablet.locator("#block-end")).to_contain_text(
            re.compile(r"Fin de la session à 16 h 1[34] \(au lieu de 16 h 00\)")
        )
        expect(tablet.locator("#day-end")).to_contain_text(
            re.compile(r"Fin de la journée à 17 h 2[89] \(au lieu de 17 h 15\)")
        )
        apply = tablet.locator("#apply-delay")
        expect(apply).to_have_text(re.compile(r"^➜ Appliquer le retard \(\+1[34] min\)$"))
        tablet.wait_for_function("document.fonts.ready.then(() => true)")
        tablet.screenshot(path=SCREENSHOTS / "tablet-timer.png")
        minutes = int(apply.get_attribute("data-minutes"))
        apply.click()
        expect(tablet.locator("#delay")).to_have_text(re.compile(r"^Retard de 1[345] min$"))
        assert srv.state()["delay_minutes"] in (minutes, minutes + 1)
        expect(apply).to_be_hidden()
        settled(tablet)
        # +1 min: a minute less over.
        tablet.locator("button.extra").click()
        expect(countdown).to_have_text(re.compile(r"^\+2:[01]\d$"))
        settled(tablet)
        # The delay by the minute, both ways.
        before = srv.state()["delay_minutes"]
        tablet.locator('button[data-delay="-1"]').click()
        expect(tablet.locator("#delay")).to_have_text(f"Retard de {before - 1} min")
    finally:
        srv.kill()


def test_a_manual_pause_from_the_tablet_and_next_resumes(pages, afternoon):
    from playwright.sync_api import expect

    tablet = open_tablet(pages, afternoon)
    tablet.locator('button[data-pause-minutes="15"]').click()
    expect(tablet.locator("#now-pause")).to_be_visible()
    expect(tablet.locator("#now-pause")).to_contain_text(
        re.compile(r"Pause — reprise à 14 h 5[01]")
    )
    expect(tablet.locator("#now-card")).to_have_attribute("data-paused", "yes")
    assert afternoon.state()["pause"] is not None
    settled(tablet)
    tablet.locator("#pause-until").fill("15:10")
    tablet.locator("#pause-form button[type=submit]").click()
    expect(tablet.locator("#now-pause")).to_contain_text("Pause — reprise à 15 h 10")
    settled(tablet)
    tablet.locator("button.next").click()
    expect(tablet.locator("#now-pause")).to_be_hidden()
    expect(tablet.locator("#now-speaker")).to_contain_text("Khalil Harfouche")


def test_the_lectern_message_and_the_screen_controls(pages, afternoon):
    from playwright.sync_api import expect

    tablet = open_tablet(pages, afternoon)
    link = tablet.get_by_role("link", name="Écran pupitre")
    assert link.get_attribute("href") == "/stage/lamartine"
    tablet.get_by_role("button", name="Merci de conclure").click()
    expect(tablet.locator("#current-stage")).to_have_text(
        "Sur l’écran du pupitre : Merci de conclure"
    )
    full = afternoon.post("/api/rooms/lamartine/progress", {"show": False}).json()
    assert full["stage_message"] == "Merci de conclure"
    assert "stage_message" not in afternoon.state()  # never on the audience's side
    settled(tablet)
    tablet.locator("#stage-form button[data-action=clear-stage]").click()
    expect(tablet.locator("#current-stage")).to_have_text("")
    settled(tablet)
    tablet.locator('.screen-buttons button[data-blackout="black"]').click()
    banner = tablet.locator("#blackout-alert")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Écran public masqué — écran noir")
    assert afternoon.state()["blackout"] == "black"
    settled(tablet)
    tablet.locator('.screen-buttons button[data-blackout="title"]').click()
    expect(banner).to_contain_text("Écran public masqué — titre seul")
    settled(tablet)
    banner.get_by_role("button", name="Rétablir l’écran").click()
    expect(banner).to_be_hidden()
    assert afternoon.state()["blackout"] is None
    settled(tablet)
    tablet.locator("#progress").click()
    expect(tablet.locator("#progress")).to_have_attribute("aria-pressed", "true")
    assert afternoon.state()["progress"] is True


EDITS = [
    ("14:30", "move", {"turn": "session-3-3", "by": -1}),
    (
        "14:31",
        "insert",
        {
            "session": "session-3",
            "civility": "Mme",
            "name": "Camille Dupont",
            "function": "Adjointe au maire de Lyon",
            "before": "session-3-2",
        },
    ),
    ("14:31", "update", {"turn": "session-3-2", "cancelled": True}),
    ("14:32", "budget", {"session": "session-3", "minutes": 7}),
    ("14:32", "goto", {"session": "session-3", "turn": "session-3-1"}),
    ("14:39", "goto", {"session": "session-3", "turn": "session-3-3"}),
]

STATES = {
    "edited": EDITS,
    "paused": [("14:33", "pause", {"minutes": 15})],
    "overtime": None,  # overtime() below
    "blackout": [
        ("14:33", "blackout", {"screen": "black"}),
        ("14:33", "stage_message", {"text": "Merci de conclure"}),
    ],
    "session-open": [("14:33", "goto", {"session": "session-3", "turn": None})],
}


@pytest.mark.parametrize("name", list(STATES))
def test_the_tablet_opens_in_the_states_organisers_meet(pages, afternoon, name):
    from playwright.sync_api import expect

    if STATES[name] is None:
        overtime(afternoon)
    else:
        perform(afternoon, *STATES[name])
    for width, height in ((1280, 800), (800, 1280)):
        tablet = open_tablet(pages, afternoon, width, height)
        editing(tablet)
        expect(tablet.locator(".o-block .o-tools").first).to_be_visible()
        if name == "blackout":
            expect(tablet.locator("#blackout-alert")).to_be_visible()
        if name == "paused":
            expect(tablet.locator("#now-pause")).to_be_visible()
        if name == "session-open":
            expect(tablet.locator("#now-speaker")).to_have_text(
                "Session ouverte, personne à la tribune"
            )
        if name == "edited":
            struck = row(tablet, "session-3-2").locator(".o-turn")
            expect(struck).to_have_class(re.compile(r"\bcancelled\b"))
            if width == 1280:
                tablet.wait_for_function("document.fonts.ready.then(() => true)")
                tablet.screenshot(path=SCREENSHOTS / "tablet-edited.png")
            tablet.locator('.o-block[data-block="session-3"] button.insert').click()
            expect(tablet.locator("#edit-form")).to_be_visible()
        small = tablet.evaluate("""() => [...document.querySelectorAll(
            'button, a, input, select, textarea')]
            .filter((e) => e.offsetParent !== null && getComputedStyle(e).visibility !== 'hidden')
            .map((e) => { const r = e.getBoundingClientRect();
                          const what = e.textContent.trim().slice(0, 30) || e.name;
                          return [what, r.width, r.height]; })
            .filter(([, w, h]) => w < 44 || h < 44)""")
        assert small == [], (name, width)
        clipped = tablet.evaluate("""() => [...document.querySelectorAll('button')]
            .filter((b) => b.offsetParent !== null && b.scrollWidth > b.clientWidth + 1)
            .map((b) => b.textContent.trim())""")
        assert clipped == [], (name, width)
        ARTIFACTS.mkdir(exist_ok=True)
        tablet.screenshot(path=ARTIFACTS / f"tablet-{name}-{width}x{height}.png")
        pages.check()


def test_edits_accept_the_version_a_tablet_sends(client, auth):
    """The tablet sends every edit with the version it saw; insert and update took it
    for an unknown field of the turn (400)."""
    answer = client.post(
        "/api/rooms/lamartine/insert",
        json={"session": "session-3", "name": "Camille Dupont", "version": 0},
        headers=auth,
    )
    assert answer.status_code == 200, answer.get_json()
    answer = client.post(
        "/api/rooms/lamartine/update",
        json={"turn": "session-3-2", "cancelled": True, "version": 1},
        headers=auth,
    )
    assert answer.status_code == 200, answer.get_json()
    stale = client.post(
        "/api/rooms/lamartine/update",
        json={"turn": "session-3-2", "cancelled": False, "version": 1},
        headers=auth,
    )
    assert stale.status_code == 409
