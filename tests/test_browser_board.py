"""The régie's board in a real browser, on the generated congress day (bench/bigday.py):
every room on one screen, live, and one tap to a room's controls."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from .browsing import ARTIFACTS
from .conftest import TOKEN, Server, free_port

pytestmark = pytest.mark.browser

CLOCK = "2023-07-03T10:05"  # every room in a talk; none ends before 10:10

# What a tile says, the running countdown left out (it changes every second).
TILE_TEXT = """(tile) => {
  const copy = tile.cloneNode(true);
  for (const node of copy.querySelectorAll('.tile-timer')) node.remove();
  return copy.textContent.replace(/\\s+/g, ' ').trim();
}"""

# Each tile's box, and whether the page or the board scrolls.
GEOMETRY = """() => {
  const board = document.getElementById('board');
  return {
    width: innerWidth, height: innerHeight,
    pageScrolls: document.scrollingElement.scrollHeight > innerHeight,
    boardScrolls: board.scrollHeight > board.clientHeight + 1,
    tiles: [...document.querySelectorAll('.tile')].map((t) => {
      const r = t.getBoundingClientRect();
      return [t.dataset.room, r.left, r.top, r.right, r.bottom];
    }),
  };
}"""


def start(tmp_path, schedule: Path) -> Server:
    return Server(
        tmp_path / "kiosk.db", free_port(), clock=CLOCK, extra=["--schedule", str(schedule)]
    ).start()


# Tests take the server before `pages`: the pages close before the server stops (a page
# still open would log its socket's failed reconnections as errors).
@pytest.fixture
def congress(tmp_path, bigday_file):
    """A real server on the 8-room day at 10:05."""
    srv = start(tmp_path, bigday_file)
    yield srv
    srv.kill(signal.SIGTERM)


@pytest.fixture
def congress16(tmp_path, bigday16_file):
    """A real server on a 16-room day at 10:05."""
    srv = start(tmp_path, bigday16_file)
    yield srv
    srv.kill(signal.SIGTERM)


def open_board(pages, srv: Server, width: int, height: int):
    from playwright.sync_api import expect

    board = pages.open(f"{srv.url}/organiser/board?token={TOKEN}", width, height)
    expect(board.locator("body")).to_have_attribute("data-online", "yes")
    return board


def who_is_on(state: dict) -> str:
    """What a tile says of who is on: the speaker at the lectern, else (auto mode) the
    block's speakers, as the room's screen lists them."""
    name = lambda turn: " · ".join(x for x in (turn["role"], turn["display_name"]) if x)  # noqa: E731
    if state["speaker"]:
        return "▶ " + name(state["speaker"])
    return ", ".join(name(turn) for turn in state["session"]["turns"])


def assert_tiles_fit(board, rooms: int) -> dict:
    geometry = board.evaluate(GEOMETRY)
    assert len(geometry["tiles"]) == rooms
    width, height = geometry["width"], geometry["height"]
    outside = [
        t[0] for t in geometry["tiles"] if t[1] < 0 or t[2] < 0 or t[3] > width or t[4] > height
    ]
    assert outside == []
    assert not geometry["pageScrolls"] and not geometry["boardScrolls"]
    return geometry


def test_board_shows_each_room_with_its_block_and_speaker(congress, pages):
    from playwright.sync_api import expect

    for room in ("b", "c"):  # two rooms with a speaker at the lectern, the others in auto
        assert congress.post(f"/api/rooms/{room}/next").ok
    # Rooms needing attention, for the screenshot (docs/screenshots/board.png is a copy).
    assert congress.post("/api/rooms/c/stage_message", {"text": "Merci de conclure"}).ok
    assert congress.post("/api/rooms/d/delay", {"minutes": 5}).ok
    assert congress.post("/api/rooms/e/message", {"text": "Merci de regagner vos places"}).ok
    assert congress.post("/api/rooms/f/blackout", {"screen": "black"}).ok
    board = open_board(pages, congress, 1280, 800)
    tiles = board.locator(".tile")
    expect(tiles).to_have_count(8)
    for room in "abcdefgh":
        state = congress.state(room)
        tile = board.locator(f"#tile-{room}")
        expect(tile.locator(".tile-name")).to_have_text(state["room_name"])
        session = state["session"]
        expect(tile.locator(".tile-block")).to_have_text(f"{session['label']} · {session['title']}")
        expect(tile.locator(".tile-speaker")).to_have_text(who_is_on(state))
        expect(tile).to_have_attribute("data-version", str(state["version"]))
        expect(tile).to_have_attribute("data-mode", state["mode"])
        expect(tile.locator(".mini-label")).to_have_text(session["label"])
    assert congress.state("b")["speaker"] is not None  # the comparison covered a lectern
    expect(board.locator("#tile-b .tile-timer")).to_be_visible()
    expect(board.locator("#tile-a .tile-timer")).to_be_hidden()
    assert_tiles_fit(board, 8)
    ARTIFACTS.mkdir(exist_ok=True)
    board.screenshot(path=ARTIFACTS / "board-tablet.png")


def test_a_command_on_one_room_changes_its_tile_and_no_other(congress, pages):
    from playwright.sync_api import expect

    assert congress.post("/api/rooms/b/next").ok  # a countdown runs on another tile
    board = open_board(pages, congress, 1280, 800)
    tiles = {room: board.locator(f"#tile-{room}") for room in "abcdefgh"}
    expect(tiles["b"]).to_have_attribute("data-mode", "manual")
    before = {r: (t.get_attribute("data-version"), t.evaluate(TILE_TEXT)) for r, t in tiles.items()}

    assert congress.post("/api/rooms/d/message", {"text": "Merci de regagner vos places"}).ok
    assert congress.post("/api/rooms/d/delay", {"minutes": 10}).ok
    assert congress.post("/api/rooms/d/next").ok
    assert congress.post("/api/rooms/d/stage_message", {"text": "Il vous reste 2 minutes"}).ok
    assert congress.post("/api/rooms/d/blackout", {"screen": "title"}).ok
    state = congress.state("d")
    d = tiles["d"]
    expect(d).to_have_attribute("data-version", str(state["version"]))
    expect(d.locator(".tile-message")).to_have_text("✉ Merci de regagner vos places")
    expect(d.locator(".mini-message")).to_have_text("Merci de regagner vos places")
    expect(d.locator(".chip-delay")).to_have_text("Retard de 10 min")
    expect(d.locator(".tile-speaker")).to_have_text(who_is_on(state))
    expect(d.locator(".tile-mode")).to_have_text("■ Manuel")
    expect(d.locator(".tile-stage")).to_have_text("✎ Pupitre (privé) : Il vous reste 2 minutes")
    expect(d.locator(".chip-blackout")).to_have_text("■ Titre seul")
    expect(d).to_have_attribute("data-blackout", "title")
    expect(d.locator(".tile-timer")).to_be_visible()
    assert d.evaluate(TILE_TEXT) != before["d"][1]

    after = {r: (t.get_attribute("data-version"), t.evaluate(TILE_TEXT)) for r, t in tiles.items()}
    assert {r: v for r, v in after.items() if r != "d"} == {
        r: v for r, v in before.items() if r != "d"
    }
    board.screenshot(path=ARTIFACTS / "board-command.png")


def test_a_tap_on_a_tile_opens_the_tablet_on_that_room(congress, pages):
    from playwright.sync_api import expect

    board = open_board(pages, congress, 1280, 800)
    board.locator("#tile-g").click()
    expect(board).to_have_url(f"{congress.url}/organiser?room=g")
    expect(board.locator("body")).to_have_attribute("data-online", "yes")
    expect(board.locator(".room-tab[aria-pressed='true']")).to_have_text("Salle Jean-Jaurès")
    session = congress.state("g")["session"]
    expect(board.locator("#now-session")).to_have_text(f"{session['label']} · {session['title']}")
    # Only the chosen room's screen is loaded in the preview.
    frames = board.evaluate(
        "[...document.querySelectorAll('.frame iframe')].map((f) => f.getAttribute('src'))"
    )
    assert frames == [None] * 6 + ["/screen/g", None]
    # Eight long room names stay on a 1280×800 tablet, each tab a target of 44 px or more.
    tabs = board.evaluate("""() => [...document.querySelectorAll('.room-tab')].map((t) => {
        const r = t.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })""")
    assert len(tabs) == 8
    assert all(left >= 0 and right <= 1280 and bottom <= 800 for left, _, right, bottom in tabs)
    assert all(bottom - top >= 44 and right - left >= 44 for left, top, right, bottom in tabs)
    board.screenshot(path=ARTIFACTS / "tablet-8-rooms.png")
    # Another tab: its screen is loaded, the previous one unloaded, the address follows.
    board.locator(".room-tab[data-room='b']").click()
    expect(board).to_have_url(f"{congress.url}/organiser?room=b")
    frames = board.evaluate(
        "[...document.querySelectorAll('.frame iframe')].map((f) => f.getAttribute('src'))"
    )
    assert frames == [None, "/screen/b", None, None, None, None, "about:blank", None]


def test_sixteen_rooms_fit_a_1920x1080_monitor(congress16, pages):
    from playwright.sync_api import expect

    anonymous = pages.open(f"{congress16.url}/organiser/board", 1920, 1080)
    expect(anonymous.locator("#token")).to_be_visible()  # the login, not the board
    expect(anonymous.locator(".tile")).to_have_count(0)
    board = open_board(pages, congress16, 1920, 1080)
    expect(board.locator(".tile")).to_have_count(16)
    expect(board.locator("#tile-p .tile-block")).not_to_be_empty()
    assert_tiles_fit(board, 16)
    board.screenshot(path=ARTIFACTS / "board-16.png")


def test_eight_rooms_fit_a_portrait_tablet(congress, pages):
    board = open_board(pages, congress, 800, 1280)
    assert_tiles_fit(board, 8)
    board.screenshot(path=ARTIFACTS / "board-portrait.png")


def test_a_turn_running_over_turns_its_tile_red(tmp_path, bigday_file, pages):
    from playwright.sync_api import expect

    # The clock at 30× real time: a one-minute turn runs over in two seconds. The room is
    # held in manual mode, so the clock moving on does not change its block.
    srv = Server(
        tmp_path / "kiosk.db",
        free_port(),
        clock=CLOCK,
        speed=30,
        extra=["--schedule", str(bigday_file)],
    ).start()
    try:
        held = srv.post("/api/rooms/b/next").json()
        turn = held["speaker"]["turn_id"]
        answer = srv.post("/api/rooms/b/update", {"turn": turn, "minutes": 1})
        assert answer.ok, answer.text
        assert answer.json()["timer"]["planned_minutes"] == 1
        board = open_board(pages, srv, 1280, 800)
        tile = board.locator("#tile-b")
        expect(tile).to_have_attribute("data-over", "yes")
        expect(tile.locator(".chip-over")).to_be_visible()
        expect(tile.locator(".chip-over")).to_have_text("⏱ Dépassement")
        expect(tile.locator(".tile-timer")).to_have_attribute("data-kind", "over")
        expect(tile.locator(".tile-timer")).to_contain_text("+")
        expect(board.locator("#tile-a")).to_have_attribute("data-over", "no")
        board.close()  # before the server stops (its socket would log the failure)
    finally:
        srv.kill(signal.SIGTERM)


# (clock, what the screen says when no block is on: welcome, a break, the day is over)
BETWEEN = [("07:00", "Bienvenue"), ("12:50", "Pause"), ("18:00", "La journée est terminée")]


@pytest.mark.parametrize(("clock", "between"), BETWEEN, ids=[b[0] for b in BETWEEN])
def test_board_of_the_colloque_between_blocks_and_held(tmp_path, pages, clock, between):
    """The one-room colloque before the day, at lunch and after it: the tile says what the
    screen says, then follows the room held in manual mode and given back to the clock."""
    from playwright.sync_api import expect

    srv = Server(tmp_path / "kiosk.db", free_port(), f"2023-07-03T{clock}").start()
    try:
        board = open_board(pages, srv, 1280, 800)
        tile = board.locator("#tile-lamartine")
        expect(board.locator(".tile")).to_have_count(1)
        session = srv.state()["session"]
        expect(tile.locator(".tile-block")).to_have_text(
            " · ".join(x for x in (session["label"], session["title"]) if x) if session else between
        )
        assert srv.post("/api/rooms/lamartine/goto", {"session": "session-1", "turn": 1}).ok
        expect(tile).to_have_attribute("data-mode", "manual")
        expect(tile.locator(".tile-speaker")).to_have_text(who_is_on(srv.state()))
        assert srv.post("/api/rooms/lamartine/auto").ok
        expect(tile).to_have_attribute("data-version", "2")
        expect(tile).to_have_attribute("data-mode", "auto")
        assert_tiles_fit(board, 1)
        board.close()  # before the server stops
    finally:
        srv.kill(signal.SIGTERM)
