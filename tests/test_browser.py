"""Real browser (Playwright driving Debian's Chromium) against a real server process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk import db as database
from kiosk.live import LiveStore
from kiosk.schedule import load

from .browsing import ARTIFACTS, SERVER_DOWN
from .conftest import TOKEN, Server, at

pytestmark = pytest.mark.browser


def test_tapping_next_on_the_tablet_changes_the_screen_without_reload(pages, server):
    from playwright.sync_api import expect

    screen = pages.open(server.url + "/screen/lamartine")
    expect(screen.locator("body")).to_have_attribute("data-online", "yes")
    screen.evaluate("window.notReloaded = true")
    assert screen.locator(".turn.current").count() == 0  # auto: nobody highlighted
    tablet = pages.open(f"{server.url}/organiser?token={TOKEN}", 1280, 800)
    expect(tablet.locator("body")).to_have_attribute("data-online", "yes")
    tablet.get_by_role("button", name="Suivant ▶").click()
    expect(screen.locator(".turn.current .name")).to_have_text("Mme Dorothée Schmid")
    tablet.locator("button.next").click()
    expect(screen.locator(".turn.current .name")).to_have_text("M. Grégory Doucet")
    expect(tablet.locator("#now-speaker")).to_contain_text("M. Grégory Doucet")
    assert screen.evaluate("window.notReloaded") is True
    # the real day's order: tap Bertrand Gallet in the list of session 3
    tablet.locator('.o-turn[data-goto="session-3"][data-turn="session-3-3"]').click()
    expect(screen.locator(".turn.current .name")).to_have_text("M. Bertrand Gallet")
    tablet.locator("#message-text").fill("Merci de regagner vos places")
    tablet.locator("button.show-message").click()
    expect(screen.locator("#message")).to_have_text("ℹ Merci de regagner vos places")
    tablet.locator('button[data-delay="5"]').click()
    expect(screen.locator(".block-head .delay")).to_have_text("Retard de 5 min")
    # Held in session 3: only what comes after it moves, as the server projects it.
    conclusions = tablet.locator('.o-block[data-block="conclusions"] time')
    expect(conclusions).to_have_text("16 h 35")
    expect(conclusions).to_have_class("moved")
    held = tablet.locator('.o-block[data-block="session-3"] time')
    expect(held).to_have_text("14 h 30")
    expect(held).not_to_have_class("moved")


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (800, 1280)])
def test_tablet_touch_targets_are_at_least_44_px(pages, server, width, height):
    tablet = pages.open(f"{server.url}/organiser?token={TOKEN}", width, height)
    sizes = tablet.evaluate("""() => [...document.querySelectorAll('button, a, textarea')]
        .filter((e) => e.offsetParent !== null)
        .map((e) => { const r = e.getBoundingClientRect();
                      return [e.textContent.trim().slice(0, 30), r.width, r.height]; })""")
    assert sizes
    small = [s for s in sizes if s[1] < 44 or s[2] < 44]
    assert small == []
    next_button = tablet.locator("button.next").bounding_box()
    assert next_button["height"] >= 88
    clipped = tablet.evaluate("""() => [...document.querySelectorAll('button')]
        .filter((b) => b.offsetParent !== null && b.scrollWidth > b.clientWidth + 1)
        .map((b) => b.textContent.trim())""")
    assert clipped == []  # no label runs out of its button
    ARTIFACTS.mkdir(exist_ok=True)
    tablet.screenshot(path=ARTIFACTS / f"organiser-{width}x{height}.png")


OVERFLOW = """() => {
  const vw = innerWidth, vh = innerHeight, out = [];
  for (const e of document.querySelectorAll('#screen *')) {
    if (e.closest('[hidden]') || e.offsetParent === null) continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.left < -1 || r.top < -1 || r.right > vw + 1 || r.bottom > vh + 1)
      out.push(e.className || e.tagName);
  }
  const main = document.getElementById('main');
  if (main.scrollHeight > main.clientHeight + 1) out.push('main content clipped');
  return out;
}"""


def set_state(db_path: Path, *commands):
    """Puts the room in a state through the domain, as the tablet would."""
    store = LiveStore(database.connect(str(db_path)), load())
    for action, args in commands:
        store.perform("lamartine", action, args, at("12:00"))


@pytest.mark.parametrize(
    ("name", "clock", "commands"),
    [
        (
            "session-2-long-title",
            "2023-07-03T11:40",
            [
                ("goto", {"session": "session-2", "turn": 3}),
                ("delay", {"minutes": 10}),
                (
                    "message",
                    {
                        "text": "Mesdames et Messieurs, la séance reprendra après le débat "
                        "avec la salle. Merci de rejoindre vos places et de laisser les "
                        "premiers rangs aux intervenants. Les micros circulent dans la "
                        "salle : levez la main pour poser votre question, et présentez-"
                        "vous brièvement."
                    },
                ),
            ],
        ),
        ("ouverture", "2023-07-03T09:10", [("goto", {"session": "ouverture", "turn": 2})]),
        ("conclusions", "2023-07-03T16:40", [("goto", {"session": "conclusions", "turn": 1})]),
        ("pause", "2023-07-03T11:05", []),
        ("before", "2023-07-03T07:45", []),
        ("after", "2023-07-03T18:00", []),
    ],
)
def test_screen_fits_1920_and_1280_without_overflow(pages, tmp_path, name, clock, commands):
    from .conftest import free_port

    db = tmp_path / "kiosk.db"
    srv = Server(db, free_port(), clock).start()
    try:
        set_state(db, *commands)
        ARTIFACTS.mkdir(exist_ok=True)
        for width, height in ((1920, 1080), (1280, 720)):
            page = pages.open(srv.url + "/screen/lamartine", width, height)
            page.wait_for_function("document.fonts.ready.then(() => true)")
            assert page.evaluate(OVERFLOW) == [], (name, width)
            page.screenshot(path=ARTIFACTS / f"screen-{name}-{width}x{height}.png")
            page.close()
    finally:
        srv.kill()


def test_screen_resyncs_by_itself_after_a_server_restart(pages, server):
    from playwright.sync_api import expect

    pages.expect_console(SERVER_DOWN)  # the server is killed on purpose

    screen = pages.open(server.url + "/screen/lamartine", 1280, 720)
    expect(screen.locator("body")).to_have_attribute("data-online", "yes")
    screen.evaluate("window.notReloaded = true")
    server.kill()
    expect(screen.locator("#offline")).to_be_visible(timeout=10_000)
    expect(screen.locator("#clock")).not_to_have_text("--")
    # While the server is down the state changes in the database (as if another
    # instance had been used); the screen can only learn it by resyncing.
    set_state(server.db, ("goto", {"session": "session-3", "turn": 1}))
    server.start()
    expect(screen.locator(".turn.current .name")).to_have_text(
        "M. Stéphane Troussel", timeout=15_000
    )
    expect(screen.locator("#offline")).to_be_hidden()
    assert screen.evaluate("window.notReloaded") is True


def test_offline_screen_in_auto_mode_keeps_following_the_timetable(pages, tmp_path):
    from playwright.sync_api import expect

    pages.expect_console(SERVER_DOWN)  # the server is killed on purpose

    from .conftest import free_port

    # From 10:55 at ×60 the clock reaches 11:00 (an unprinted pause) five real seconds after
    # the server starts: time to open the screen and cut the link before, and the pause
    # comes while the screen is on its own.
    srv = Server(tmp_path / "kiosk.db", free_port(), "2023-07-03T10:55", speed=60).start()
    screen = pages.open(srv.url + "/screen/lamartine", 1280, 720)
    expect(screen.locator(".block-head .label")).to_have_text("Session 1")
    assert srv.state()["phase"] == "session"  # the pause must not come from the server
    srv.kill()
    expect(screen.locator("#offline")).to_be_visible(timeout=10_000)
    expect(screen.locator(".big-word")).to_have_text("Pause", timeout=15_000)
    expect(screen.locator(".next-what")).to_contain_text("Session 2")


def test_offline_screen_with_a_delay_announces_the_projected_start(pages, tmp_path):
    from playwright.sync_api import expect

    pages.expect_console(SERVER_DOWN)  # the server is killed on purpose

    from .conftest import free_port

    # Ten minutes late, session 1 ends at 11:10: from 11:05 at ×60 that is five real seconds
    # after the server starts, and the pause comes while the screen is on its own.
    srv = Server(tmp_path / "kiosk.db", free_port(), "2023-07-03T11:05", speed=60).start()
    assert srv.post("/api/rooms/lamartine/delay", {"minutes": 10}).ok
    screen = pages.open(srv.url + "/screen/lamartine", 1280, 720)
    expect(screen.locator(".block-head .label")).to_have_text("Session 1")
    assert srv.state()["phase"] == "session"  # the pause must not come from the server
    srv.kill()
    expect(screen.locator("#offline")).to_be_visible(timeout=10_000)
    expect(screen.locator(".big-word")).to_have_text("Pause", timeout=15_000)
    expect(screen.locator(".next-when")).to_have_text("Reprise à 11 h 25")
    expect(screen.locator(".next-planned")).to_have_text("au lieu de 11 h 15")
    expect(screen.locator(".pause .delay")).to_have_text("Retard de 10 min")
    ARTIFACTS.mkdir(exist_ok=True)
    screen.screenshot(path=ARTIFACTS / "screen-offline-delay-1280x720.png")


# What a new state always carries afresh: its own moment, and what is still to come.
RECOMPUTED = ("server_time", "timeline", "projected")


def test_offline_screen_builds_what_the_server_sends_at_each_timeline_entry(pages, server):
    """live.js followTimeline(), run in the page, against view() at each entry's moment."""
    import datetime as dt

    from kiosk.live import RoomState, view

    schedule = load()
    screen = pages.open(server.url + "/screen/lamartine", 1280, 720)
    follow = "([s, now]) => Kiosk.followTimeline(s, Kiosk.boot.blocks, now)"
    for delay, hhmm in [(0, "07:00"), (0, "10:20"), (15, "10:20"), (-10, "13:30")]:
        state = RoomState("lamartine", version=3, delay_minutes=delay, message="Bienvenue")
        data = view(schedule, state, at(hhmm))
        # before the first boundary to come, the screen keeps what the server sent
        assert screen.evaluate(follow, [data, at(hhmm).timestamp() * 1000]) == data
        for entry in data["timeline"]:
            moment = dt.datetime.fromisoformat(entry["at"])
            there = view(schedule, state, moment)
            offline = screen.evaluate(follow, [data, moment.timestamp() * 1000 + 30_000])
            for key in RECOMPUTED:
                del offline[key], there[key]
            assert offline == there, (delay, hhmm, entry)
    # manual mode holds: the timeline is empty and nothing changes, whatever the clock
    held = view(
        schedule, RoomState("lamartine", 2, "manual", "session-1", "session-1-2"), at("10:20")
    )
    assert screen.evaluate(follow, [held, at("16:00").timestamp() * 1000]) == held


def test_phone_programme_highlights_the_current_speaker_live(pages, server):
    from playwright.sync_api import expect

    phone = pages.open(server.url + "/programme", 390, 844)
    expect(phone.locator("body")).to_have_attribute("data-online", "yes")
    expect(phone.locator("#block-session-1")).to_have_class("block kind-session now")
    server.post("/api/rooms/lamartine/goto", {"session": "session-1", "turn": 2})
    expect(phone.locator('#block-session-1 li[aria-current="true"] .who')).to_have_text(
        "M. Bernard Kouchner"
    )
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    phone.screenshot(path=ARTIFACTS / "programme-390x844.png")
    # A delay moves every later start, as the server projects it; the printed one stays.
    server.post("/api/rooms/lamartine/delay", {"minutes": 10})
    later = phone.locator("#block-session-2 time[data-start]")
    expect(later).to_have_text("11 h 25")
    expect(later).to_have_class("moved")
    assert later.get_attribute("title") == "au lieu de 11 h 15"
    # …and its end with it: a session that starts ten minutes late ends ten minutes late.
    later_end = phone.locator("#block-session-2 time[data-end]")
    expect(later_end).to_have_text("12 h 55")
    expect(later_end).to_have_class("moved")
    now = phone.locator("#block-session-1 time[data-start]")
    expect(now).to_have_text("10 h 00")
    expect(now).not_to_have_class("moved")


# Two taps on the same button, `gap` ms apart, as a hurried finger makes them; resolves
# once the second tap has been dispatched.
DOUBLE_TAP = """([selector, gap]) => new Promise((resolve) => {
  const button = document.querySelector(selector);
  button.click();
  setTimeout(() => { button.click(); resolve(); }, gap);
})"""


@pytest.mark.parametrize("gap", [40, 250])
def test_a_double_tap_on_next_steps_once(pages, server, gap):
    """The pushed state used to arrive before the second tap, which then carried a fresh
    version and skipped a speaker: Dorothée Schmid went straight to Bernard Kouchner."""
    from playwright.sync_api import expect

    tablet = pages.open(f"{server.url}/organiser?token={TOKEN}", 1280, 800)
    expect(tablet.locator("body")).to_have_attribute("data-online", "yes")
    tablet.evaluate(DOUBLE_TAP, ["button.next", gap])
    # Whatever the second tap started is over once the tablet is no longer busy.
    expect(tablet.locator("body")).not_to_have_class(re.compile(r"\bbusy\b"))
    expect(tablet.locator("button.next")).to_be_enabled()
    expect(tablet.locator("#now-speaker")).to_contain_text("Dorothée Schmid")
    assert server.state()["version"] == 1
    assert server.state()["speaker"]["name"] == "Dorothée Schmid"
    tablet.locator("button.next").click()
    expect(tablet.locator("#now-speaker")).to_contain_text("Grégory Doucet")
    assert server.state()["version"] == 2


def test_two_tablets_tapping_next_at_once_step_once(pages, server):
    import time

    from playwright.sync_api import expect

    # The tablet that loses the race is answered 409 (stale), which Chromium logs.
    pages.expect_console(r"status of 409 .*\[.*/api/rooms/lamartine/next\]$")
    tablets = [pages.open(f"{server.url}/organiser?token={TOKEN}", 1280, 800) for _ in range(2)]
    for tablet in tablets:
        expect(tablet.locator("body")).to_have_attribute("data-online", "yes")
    # "At once": both taps leave their tablet before either reaches the server. Each
    # request is held on its way out until both have been sent, then both go.
    held = []
    for tablet in tablets:
        tablet.route("**/api/rooms/lamartine/next", lambda route: held.append(route))
        tablet.evaluate("document.querySelector('button.next').click()")
    deadline = time.monotonic() + 10
    while len(held) < 2 and time.monotonic() < deadline:
        tablets[0].wait_for_timeout(20)  # lets Playwright deliver the route events
    assert len(held) == 2
    assert [r.request.post_data_json["version"] for r in held] == [0, 0]
    for route in held:
        route.continue_()
    for tablet in tablets:
        expect(tablet.locator("#now-speaker")).to_contain_text("Dorothée Schmid")
        expect(tablet.locator("button.next")).to_be_enabled()
    assert server.state()["version"] == 1


def test_long_drifts_and_delays_read_in_hours_on_the_tablet(pages, server):
    """« 451 min d’avance » was how the tablet put seven and a half hours."""
    from playwright.sync_api import expect

    tablet = pages.open(f"{server.url}/organiser?token={TOKEN}", 1280, 800)
    expect(tablet.locator("body")).to_have_attribute("data-online", "yes")
    assert server.post("/api/rooms/lamartine/goto", {"session": "conclusions"}).ok
    # held at 10:20 (and some seconds: the clock runs) on a block printed for 16:30
    ahead = re.compile(r"^⚠ 6 h (09|10) d’avance sur le programme imprimé$")
    expect(tablet.locator("#drift")).to_have_text(ahead)
    assert server.post("/api/rooms/lamartine/delay", {"minutes": 240}).ok
    expect(tablet.locator("#delay")).to_have_text("Retard de 4 h")
    assert server.post("/api/rooms/lamartine/delay", {"minutes": 45}).ok
    expect(tablet.locator("#delay")).to_have_text("Retard de 45 min")
    english = pages.open(f"{server.url}/organiser?token={TOKEN}&lang=en", 1280, 800)
    ahead = re.compile(r"^⚠ 6 hr (09|10) min ahead of the printed programme$")
    expect(english.locator("#drift")).to_have_text(ahead)


def test_phone_programme_follows_the_running_order_edited_on_the_day(pages, server):
    from playwright.sync_api import expect

    phone = pages.open(server.url + "/programme", 390, 844)
    expect(phone.locator("body")).to_have_attribute("data-online", "yes")
    turns = phone.locator("#block-session-3 li .who")
    expect(turns).to_have_count(4)
    # A replacement speaker added on the tablet appears without reload…
    server.post(
        "/api/blocks/session-3/turns",
        {"civility": "Mme", "name": "Anne Dupont", "function": "Maire", "before": "session-3-2"},
    )
    expect(turns).to_have_text(
        [
            "M. Khalil Harfouche",
            "Mme Anne Dupont",
            "M. Stéphane Troussel",
            "M. Bertrand Gallet",
            "Mme Benedetta Oddo",
        ]
    )
    # …a cancelled speaker leaves the phone, and the one at the lectern is marked.
    server.post("/api/rooms/lamartine/update", {"turn": "session-3-2", "cancelled": True})
    expect(turns).to_have_count(4)
    server.post("/api/rooms/lamartine/goto", {"session": "session-3", "turn": "session-3-3"})
    expect(phone.locator('#block-session-3 li[aria-current="true"] .who')).to_have_text(
        "M. Bertrand Gallet"
    )
    # Reloaded, the page is served as the programme now stands; two undos take it back
    # to print, live.
    phone.reload()
    expect(turns).to_have_count(4)
    expect(phone.locator("body")).to_have_attribute("data-online", "yes")
    server.post("/api/rooms/lamartine/undo", {})
    server.post("/api/rooms/lamartine/undo", {})
    expect(turns).to_have_text(
        [
            "M. Khalil Harfouche",
            "M. Stéphane Troussel",
            "M. Bertrand Gallet",
            "Mme Benedetta Oddo",
        ]
    )
