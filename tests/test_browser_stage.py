"""The lectern's screen, the stream's lower third and the audience screen's blackout, in
Chromium against `kiosk serve`.

The day of 3 July 2023, Session 3 with 7-minute budgets: Khalil Harfouche spoke from 14:30,
Bertrand Gallet took the floor at 14:40:00 (before Stéphane Troussel). The server is then
started on a simulated clock at the moment each state of the countdown needs: 3 minutes
left, 1 min 30, the end, 1 min 30 over.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path

import pytest

from kiosk import db as database
from kiosk.live import LiveStore
from kiosk.schedule import load

from .browsing import ARTIFACTS
from .conftest import PARIS, Server, free_port
from .pixels import Image

pytestmark = pytest.mark.browser

ROOM = "lamartine"
# Screenshots go with the other test artifacts; the README shows copies in docs/screenshots.
SHOTS = ARTIFACTS
WORD = "Merci de conclure"


def moment(hhmmss: str) -> dt.datetime:
    return dt.datetime.combine(dt.date(2023, 7, 3), dt.time.fromisoformat(hhmmss), PARIS)


def perform(db: Path, when: str, *commands) -> None:
    """Commands run through the domain at `when`, as the tablet would have sent them."""
    connection = database.connect(str(db))
    database.migrate(connection)
    store = LiveStore(connection, load())
    for action, args in commands:
        store.perform(ROOM, action, args, moment(when))


def gallet_at_the_lectern(db: Path) -> None:
    perform(db, "14:30:00", ("times", {"session": "session-3", "turn_minutes": 7}))
    perform(db, "14:30:00", ("goto", {"session": "session-3", "turn": "session-3-1"}))
    perform(db, "14:40:00", ("goto", {"session": "session-3", "turn": "session-3-3"}))


def stage_url(srv: Server) -> str:
    key = database.secret(database.connect(str(srv.db)), "stage_token")
    return f"{srv.url}/stage/{ROOM}?key={key}"


def fulfil(html: str, route, _request=None) -> None:
    route.fulfill(content_type="text/html", body=html)


def colour(page, x: int, y: int, omit_background: bool = False) -> tuple[int, ...]:
    """(r, g, b, a) of the page's pixel at (x, y), from a screenshot of that pixel."""
    clip = {"x": x, "y": y, "width": 1, "height": 1}
    return Image(page.screenshot(clip=clip, omit_background=omit_background)).pixel(0, 0)


COUNTDOWN = [
    # state, server's clock, what the countdown may read by the time it is looked at
    ("normal", "14:44:00", r"3:[0-5]\d|3:00|2:5\d", "Temps restant"),
    ("warning", "14:45:30", r"1:[0-3]\d", "Temps restant"),
    # two seconds before the end: the screen goes red when it reaches zero, and holds
    # 0:00 a moment before the overtime counts
    ("time-up", "14:46:58", r"0:00", "Temps écoulé"),
    ("overtime", "14:48:30", r"\+1:[3-5]\d", "Dépassement"),
]


def test_the_countdown_changes_colour_at_two_minutes_at_zero_and_in_overtime(pages, tmp_path):
    from playwright.sync_api import expect

    db = tmp_path / "kiosk.db"
    gallet_at_the_lectern(db)
    perform(db, "14:40:00", ("stage_message", {"text": WORD}))
    seen = {}
    for state, clock, reading, label in COUNTDOWN:
        srv = Server(db, free_port(), f"2023-07-03T{clock}").start()
        try:
            page = pages.open(stage_url(srv))
            expect(page.locator("body")).to_have_attribute("data-online", "yes")
            expect(page.locator("body")).to_have_attribute("data-timer", state)
            expect(page.locator("#count")).to_have_text(re.compile(rf"^({reading})$"))
            expect(page.locator("#timer-label")).to_have_text(label)
            expect(page.locator(".stage-name")).to_have_text("M. Bertrand Gallet")
            expect(page.locator(".stage-function")).to_have_text("Président de ACTED")
            expect(page.locator("#next .next-label")).to_have_text("Ensuite :")
            expect(page.locator("#next .next-who")).to_have_text("M. Stéphane Troussel")
            expect(page.locator("#stage-message")).to_have_text(WORD)
            box = page.locator("#count").bounding_box()
            assert box["height"] >= 0.25 * 1080, box  # readable at three metres
            assert box["x"] >= 0 and box["x"] + box["width"] <= 1920, box
            flashing = "getComputedStyle(document.getElementById('timer')).animationName"
            assert page.evaluate(flashing) == ("overtime" if state == "overtime" else "none")
            if state == "overtime":  # no flashing for whom motion is a nuisance; still red
                page.emulate_media(reduced_motion="reduce")
                assert page.evaluate(flashing) == "none"
            panel = page.locator("#timer").bounding_box()
            # the countdown's panel, beside the digits
            middle = int(panel["y"] + panel["height"] / 2)
            seen[state] = colour(page, int(panel["x"] + 30), middle)[:3]
            page.wait_for_function("document.fonts.ready.then(() => true)")
            # (a flash is caught in its bright phase: the screenshot stops animations)
            page.screenshot(path=SHOTS / f"stage-{state}.png", animations="disabled")
            page.close()
        finally:
            srv.kill()
    # dark, then amber at two minutes, red at zero and after
    assert max(seen["normal"]) < 60, seen
    r, g, b = seen["warning"]
    assert r > 200 and 120 < g < 200 and b < 60, seen
    assert seen["time-up"] == seen["overtime"] == (208, 0, 0), seen


def test_the_countdown_runs_on_its_own_and_holds_when_paused(pages, tmp_path):
    """One page, no reload: at ×12 a 3-minute budget goes through every state (0:00 holds
    for 10 s of the event, under a second here, the page looks five times a second)."""
    from playwright.sync_api import expect

    db = tmp_path / "kiosk.db"
    srv = Server(db, free_port(), "2023-07-03T14:40", speed=12).start()
    try:
        page = pages.open(stage_url(srv))
        expect(page.locator("body")).to_have_attribute("data-online", "yes")
        page.evaluate("""() => {
            window.timerStates = [];
            const note = () => {
              const s = document.body.dataset.timer;
              if (window.timerStates.at(-1) !== s) window.timerStates.push(s);
            };
            note();
            new MutationObserver(note).observe(document.body, { attributes: true });
        }""")
        expect(page.locator("body")).to_have_attribute("data-timer", "none")
        assert srv.post(f"/api/rooms/{ROOM}/budget", {"session": "session-3", "minutes": 3}).ok
        assert srv.post(f"/api/rooms/{ROOM}/goto", {"session": "session-3"}).ok
        expect(page.locator(".stage-name")).to_have_text("M. Khalil Harfouche")
        expect(page.locator("body")).to_have_attribute("data-timer", "overtime", timeout=30000)
        states = page.evaluate("window.timerStates")
        assert states == ["none", "normal", "warning", "time-up", "overtime"]
        expect(page.locator("#count")).to_have_text(re.compile(r"^\+0:[1-5]\d$"))
        # held: « En pause », and the figures stay put while the clock runs on
        assert srv.post(f"/api/rooms/{ROOM}/hold_timer").ok
        expect(page.locator("body")).to_have_attribute("data-timer", "paused")
        expect(page.locator("#timer-label")).to_have_text("En pause")
        held = page.locator("#count").text_content()
        start = page.evaluate("Kiosk.clock.now()")
        page.wait_for_function(f"() => Kiosk.clock.now() > {start} + 30000")  # half a minute later
        assert page.locator("#count").text_content() == held
        # given back, with two minutes more: the countdown runs again from where it stood
        assert srv.post(f"/api/rooms/{ROOM}/resume_timer").ok
        assert srv.post(f"/api/rooms/{ROOM}/extra_time", {"minutes": 2}).ok
        expect(page.locator("body")).to_have_attribute("data-timer", "warning")
        expect(page.locator("#timer-label")).to_have_text("Temps restant · temps accordé : +2 min")
        expect(page.locator("#count")).to_have_text(re.compile(r"^1:[2-5]\d$"))
    finally:
        srv.kill()


def test_the_stage_without_a_budget_a_speaker_or_in_a_pause(pages, tmp_path):
    from playwright.sync_api import expect

    db = tmp_path / "kiosk.db"
    srv = Server(db, free_port(), "2023-07-03T16:35").start()
    try:
        page = pages.open(stage_url(srv))
        expect(page.locator("body")).to_have_attribute("data-online", "yes")
        # the closing session prints no budget: nothing counts down, no colour
        assert srv.post(f"/api/rooms/{ROOM}/goto", {"session": "conclusions"}).ok
        expect(page.locator(".stage-name")).to_have_text("Mme Sina Schlimmer")
        expect(page.locator("body")).to_have_attribute("data-timer", "none")
        expect(page.locator("#timer")).to_be_hidden()
        expect(page.locator("#elapsed")).to_have_text(
            re.compile(r"^Temps de parole : 0:0\d \(sans durée prévue\)$")
        )
        expect(page.locator("#next .next-who")).to_have_text("M. Lorenzo Kihlgren Grandi")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "stage-no-budget.png")
        # the block opened, nobody at the lectern yet
        assert srv.post(f"/api/rooms/{ROOM}/goto", {"session": "conclusions", "turn": None}).ok
        expect(page.locator(".stage-big")).to_have_text("Session ouverte — personne à la tribune")
        expect(page.locator("#elapsed")).to_be_hidden()
        # she has spoken (done comes from what happened): next is who has not
        expect(page.locator("#next .next-who")).to_have_text("M. Lorenzo Kihlgren Grandi")
        page.screenshot(path=ARTIFACTS / "stage-open.png")
        # a pause nobody printed
        assert srv.post(f"/api/rooms/{ROOM}/pause", {"until": "16:50"}).ok
        expect(page.locator(".stage-big")).to_have_text("Pause — reprise à 16 h 50")
        expect(page.locator("#next .next-label")).to_have_text("Ensuite :")  # not « à 16 h 30 »
        expect(page.locator("#next .next-who")).to_contain_text("Conclusions")
        expect(page.locator("#clock")).to_have_text(re.compile(r"^16 h 3\d$"))
        page.screenshot(path=SHOTS / "stage-pause.png")
    finally:
        srv.kill()


def test_the_word_for_the_lectern_never_reaches_the_audience_screen(pages, tmp_path):
    from playwright.sync_api import expect

    db = tmp_path / "kiosk.db"
    gallet_at_the_lectern(db)
    srv = Server(db, free_port(), "2023-07-03T14:45").start()
    try:
        stage = pages.open(stage_url(srv))
        screen = pages.open(f"{srv.url}/screen/{ROOM}")
        for page in (stage, screen):
            expect(page.locator("body")).to_have_attribute("data-online", "yes")
        assert srv.post(f"/api/rooms/{ROOM}/stage_message", {"text": WORD}).ok
        expect(stage.locator("#stage-message")).to_have_text(WORD)
        # the screen heard of the command (its version moved) but not of the word
        expect(screen.locator("body")).to_have_attribute("data-version", "4")
        assert WORD not in screen.content()
        assert screen.evaluate(f"document.documentElement.outerHTML.includes({WORD!r})") is False
        assert srv.post(f"/api/rooms/{ROOM}/stage_message", {"text": None}).ok
        expect(stage.locator("#stage-message")).to_be_hidden()
    finally:
        srv.kill()


def test_the_overlay_is_transparent_and_names_the_speaker(pages, tmp_path):
    from playwright.sync_api import expect

    db = tmp_path / "kiosk.db"
    gallet_at_the_lectern(db)
    srv = Server(db, free_port(), "2023-07-03T14:45").start()
    try:
        overlay = pages.open(f"{srv.url}/overlay/{ROOM}")
        expect(overlay.locator("body")).to_have_attribute("data-online", "yes")
        lower = overlay.locator("#lower-third")
        expect(lower).to_be_visible()
        expect(overlay.locator(".lt-name")).to_have_text("M. Bertrand Gallet")
        expect(overlay.locator(".lt-function")).to_have_text("Président de ACTED")
        assert overlay.locator(".clock, .qr, #clock, img").count() == 0
        box = lower.bounding_box()
        assert box["y"] > 1080 / 2  # a lower third
        # away from the lower third, nothing: fully transparent
        for x, y in ((960, 100), (1800, 1000), (100, 100)):
            assert colour(overlay, x, y, omit_background=True)[3] == 0, (x, y)
        inside = colour(overlay, int(box["x"] + box["width"] / 2), int(box["y"] + 6), True)
        assert inside[3] > 200  # the lower third itself is drawn
        # over a dark and a light picture, as a stream's mixer lays it on the video
        for name, background in (("dark", "#1b2a38"), ("light", "#e9eef3")):
            host = f"{srv.url}/test-{name}-background"
            page = overlay.context.new_page()
            # a page of the server's origin (the app allows framing by itself only)
            html = (
                f'<html><body style="margin:0;background:{background}">'
                f'<iframe src="/overlay/{ROOM}" style="border:0;width:1920px;height:1080px">'
                "</iframe></body></html>"
            )
            page.route(host, functools.partial(fulfil, html))
            page.goto(host)
            frame = page.frame_locator("iframe")
            expect(frame.locator(".lt-name")).to_have_text("M. Bertrand Gallet")
            rgb = background.lstrip("#")
            expected = tuple(int(rgb[i : i + 2], 16) for i in (0, 2, 4))
            assert colour(page, 960, 100)[:3] == expected  # the picture shows through
            page.screenshot(path=SHOTS / f"overlay-{name}.png")
            page.close()
        # nobody at the lectern: the lower third goes
        assert srv.post(f"/api/rooms/{ROOM}/goto", {"session": "session-3", "turn": None}).ok
        expect(lower).to_be_hidden()
        assert colour(overlay, int(box["x"] + 20), int(box["y"] + 6), True)[3] == 0
        # a turn without a person has nobody to name
        assert srv.post(
            f"/api/rooms/{ROOM}/goto", {"session": "session-3", "turn": "session-3-5"}
        ).ok
        expect(overlay.locator("body")).to_have_attribute("data-speaker", "")
        expect(lower).to_be_hidden()
    finally:
        srv.kill()


def test_blackout_and_its_return(pages, tmp_path):
    from playwright.sync_api import expect

    db = tmp_path / "kiosk.db"
    gallet_at_the_lectern(db)
    srv = Server(db, free_port(), "2023-07-03T14:45").start()
    try:
        screen = pages.open(f"{srv.url}/screen/{ROOM}")
        expect(screen.locator("body")).to_have_attribute("data-online", "yes")
        expect(screen.locator(".turn.current .name")).to_have_text("M. Bertrand Gallet")
        screen.evaluate("window.notReloaded = true")
        points = [(x, y) for x in (20, 500, 960, 1500, 1880) for y in (20, 60, 540, 900, 1060)]

        assert srv.post(f"/api/rooms/{ROOM}/blackout", {"screen": "black"}).ok
        expect(screen.locator("body")).to_have_attribute("data-blackout", "black")
        expect(screen.locator("#clock")).to_be_hidden()
        expect(screen.locator(".turn.current")).to_be_hidden()
        assert {colour(screen, x, y)[:3] for x, y in points} == {(0, 0, 0)}
        screen.screenshot(path=SHOTS / "screen-blackout.png")

        assert srv.post(f"/api/rooms/{ROOM}/blackout", {"screen": "title"}).ok
        expect(screen.locator("body")).to_have_attribute("data-blackout", "title")
        title = screen.locator("#blackout-title")
        expect(title).to_have_text(load().event.title)
        expect(title).to_be_visible()
        visible = screen.evaluate("""() => [...document.body.querySelectorAll('*')]
            .filter((e) => e.checkVisibility({ visibilityProperty: true })
                           && e.getClientRects().length && !e.children.length
                           && e.textContent.trim())
            .map((e) => e.id || e.className)""")
        assert visible == ["blackout-title"]
        box = title.bounding_box()
        assert abs(box["x"] + box["width"] / 2 - 960) < 10
        assert abs(box["y"] + box["height"] / 2 - 540) < 10
        screen.screenshot(path=SHOTS / "screen-blackout-title.png")

        assert srv.post(f"/api/rooms/{ROOM}/blackout", {"screen": None}).ok
        expect(screen.locator("body")).to_have_attribute("data-blackout", "")
        expect(screen.locator(".turn.current .name")).to_be_visible()
        expect(screen.locator("#clock")).to_be_visible()
        expect(screen.locator("#blackout")).to_be_hidden()
        assert screen.evaluate("window.notReloaded") is True
    finally:
        srv.kill()


def test_the_progress_bar_shows_the_running_turn_on_request(pages, tmp_path):
    from playwright.sync_api import expect

    db = tmp_path / "kiosk.db"
    gallet_at_the_lectern(db)
    srv = Server(db, free_port(), "2023-07-03T14:43:30").start()  # half of 7 minutes
    try:
        screen = pages.open(f"{srv.url}/screen/{ROOM}")
        expect(screen.locator("body")).to_have_attribute("data-online", "yes")
        bar = screen.locator("#progress")
        expect(bar).to_be_hidden()  # opt-in
        assert srv.post(f"/api/rooms/{ROOM}/progress", {"show": True}).ok
        expect(bar).to_be_visible()
        box = bar.bounding_box()
        assert box["width"] == 1920 and box["y"] + box["height"] == 1080
        assert box["height"] <= 10  # discreet
        share = screen.evaluate(
            "() => document.getElementById('progress-fill').getBoundingClientRect().width / 1920"
        )
        assert 0.49 < share < 0.56, share
        screen.screenshot(path=SHOTS / "screen-progress.png")
        # a turn without a budget: no bar, nothing guessed
        assert srv.post(f"/api/rooms/{ROOM}/budget", {"session": "session-3", "minutes": None}).ok
        expect(bar).to_be_hidden()
        assert srv.post(f"/api/rooms/{ROOM}/budget", {"session": "session-3", "minutes": 7}).ok
        expect(bar).to_be_visible()
        assert srv.post(f"/api/rooms/{ROOM}/progress", {"show": False}).ok
        expect(bar).to_be_hidden()
    finally:
        srv.kill()
