"""The phone programme on the generated congress day (8 rooms, 239 talks) at 10:05: a real
server, Chromium at 390×844, and the same page over plain HTTP without a script."""

from __future__ import annotations

import datetime as dt
import shutil
import signal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from kiosk.programme import fold

from .browsing import ARTIFACTS
from .conftest import Server, at, free_port
from .test_programme import FOLDED

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
# The first view's elements, all of them (head and scripts too): « Maintenant » of 8
# rooms and a screenful of the list. The page on main had 8,700 tags.
DOM_BOUND = 600


@pytest.fixture(scope="module")
def congress(tmp_path_factory, bigday_file):
    folder = tmp_path_factory.mktemp("congress")
    srv = Server(
        folder / "kiosk.db", free_port(), "2023-07-03T10:05", extra=["--schedule", str(bigday_file)]
    ).start()
    yield srv
    srv.kill(signal.SIGTERM)


def _ready(page):
    from playwright.sync_api import expect

    expect(page.locator("body")).to_have_attribute("data-ready", "yes")
    expect(page.locator("body")).to_have_attribute("data-live", "yes")


def _afternoon_speaker(bigday):
    """A speaker with accents in a block of room f long after 10:05: not on the first
    screenful, so only the search finds them."""
    for block in bigday.blocks_in("f"):
        for turn in block.turns:
            name = turn.speaker.name if turn.speaker else ""
            if block.start >= at("15:00") and fold(name) != name.casefold():
                return block, name
    raise AssertionError("no accented speaker in room f after 15:00")


def test_now_lists_every_room_with_its_current_item(pages, congress, bigday):
    phone = pages.open(congress.url + "/programme", 390, 844)
    _ready(phone)
    lines = phone.locator("#now-rooms .status-line")
    assert lines.count() == 8
    now = at("10:05")
    for room in bigday.rooms:
        on = next(b for b in bigday.blocks_in(room.id) if b.start <= now < b.end)
        after = bigday.blocks_in(room.id)[bigday.blocks_in(room.id).index(on) + 1]
        line = phone.locator(f'#now-rooms .status-line[data-room="{room.id}"]')
        assert line.locator(".nr-room").inner_text() == room.name
        assert on.label in line.locator(".nr-now").inner_text()
        next_text = line.locator(".nr-next").inner_text()
        assert after.label in next_text and f"{after.start.hour} h {after.start:%M}" in next_text
    # nothing announced yet: the sticky bar takes no room
    assert phone.locator("#live-bar").is_hidden()
    count = phone.evaluate("document.getElementsByTagName('*').length")
    assert count <= DOM_BOUND, count
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=ARTIFACTS / "programme-now.png")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(ARTIFACTS / "programme-now.png", SCREENSHOTS / "programme-now.png")


def test_the_first_view_is_small_over_the_wire(congress):
    response = requests.get(congress.url + "/programme", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Cookie" in response.headers["Vary"] and "Set-Cookie" not in response.headers
    page = int(response.headers["Content-Length"])  # gzipped, as sent
    assert page < 10_000, page
    # what the first view loads besides, counted uncompressed (the static files are)
    assets = [
        "/static/vendor/socket.io/socket.io.min.js",
        "/static/js/live.js",
        "/static/js/programme.js",
        "/static/css/base.css",
        "/static/css/programme.css",
        "/static/img/favicon.svg",
    ]
    total = page + sum(len(requests.get(congress.url + a).content) for a in assets)
    assert total < 100_000, total
    # a screenful of the list, not the 263 blocks of the day
    assert response.text.count('<section class="block') < 40


def test_search_finds_a_speaker_typed_without_accents(pages, congress, bigday):
    from playwright.sync_api import expect

    block, name = _afternoon_speaker(bigday)
    phone = pages.open(congress.url + "/programme", 390, 844)
    _ready(phone)
    assert phone.locator(f"#block-{block.id}").count() == 0  # not in the first screenful
    phone.fill("#q", fold(name).upper())
    found = phone.locator(f"#block-{block.id}")
    expect(found.locator(".who", has_text=name)).to_be_visible()
    expect(phone.locator("#found")).to_have_text("1 résultat")
    # the address follows, so that a reload (or a shared link) gives the same results
    assert parse_qs(urlsplit(phone.url).query) == {"q": [fold(name).upper()]}
    found.scroll_into_view_if_needed()
    phone.screenshot(path=ARTIFACTS / "programme-search.png")
    # the room filter narrows the day to one room, from now
    phone.fill("#q", "")
    phone.select_option("#room", "f")
    expect(phone.locator("#list .block").first).to_have_attribute("data-room", "f")
    rooms = phone.locator("#list .block").evaluate_all("(all) => all.map((b) => b.dataset.room)")
    assert set(rooms) == {"f"}
    # a room's name in « Maintenant » opens that room's day too
    phone.locator('#now-rooms .nr-room[data-filter="c"]').click()
    expect(phone.locator("#room")).to_have_value("c")
    expect(phone.locator("#list .block").first).to_have_attribute("data-room", "c")
    expect(phone.locator("#list-title")).to_be_in_viewport()
    phone.select_option("#room", "f")
    # …and a search within that room finds the speaker there, in another room nothing
    phone.fill("#q", fold(name))
    expect(found).to_be_visible()
    phone.select_option("#room", "a")
    expect(phone.locator("#found")).to_have_text("Rien trouvé dans le programme de ce jour.")
    expect(found).to_have_count(0)


def test_the_page_folds_as_the_server_does(pages, congress):
    phone = pages.open(congress.url + "/programme", 390, 844)
    _ready(phone)
    texts = [text for text, _ in FOLDED]
    assert phone.evaluate("(texts) => texts.map(Kiosk.fold)", texts) == [
        fold(text) for text in texts
    ]
    assert [fold(text) for text in texts] == [folded for _, folded in FOLDED]


def test_scrolling_down_loads_the_rest_of_the_day(pages, congress, bigday):
    from playwright.sync_api import expect

    phone = pages.open(congress.url + "/programme", 390, 844)
    _ready(phone)
    blocks = phone.locator("#list .block")
    first = blocks.count()
    phone.locator("#later").scroll_into_view_if_needed()
    expect(blocks).not_to_have_count(first)
    more = blocks.count()
    assert more > first
    starts = blocks.evaluate_all("(all) => all.map((b) => b.querySelector('time').dataset.start)")
    assert starts == sorted(starts) and len(set(starts)) < len(starts)


def test_the_filter_and_the_search_work_without_script(congress, bigday):
    # « Maintenant » is in the page as served: every room, what is on in it
    served = requests.get(congress.url + "/programme").text
    for room in bigday.rooms:
        on = next(b for b in bigday.blocks_in(room.id) if b.start <= at("10:05") < b.end)
        line = served.split(f'<li class="status-line" data-room="{room.id}"', 1)[1]
        line = line.split("</li>", 1)[0]
        assert f'href="/programme?room={room.id}#list-title"' in line and room.name in line
        assert f"<strong>{on.label}</strong>" in line
    block, name = _afternoon_speaker(bigday)
    page = requests.get(congress.url + "/programme", params={"q": fold(name)}).text
    assert f'id="block-{block.id}"' in page and name in page
    assert "1 résultat" in page
    in_a = requests.get(congress.url + "/programme", params={"q": fold(name), "room": "a"}).text
    assert f'id="block-{block.id}"' not in in_a
    only_c = requests.get(congress.url + "/programme", params={"room": "c"}).text
    assert only_c.count('data-room="c"') > 3 and 'class="block kind-session" id="block-a-' not in (
        only_c
    )
    # « Plus tard » and « Plus tôt » are links to ?from=, kept in the room
    later = requests.get(congress.url + "/programme", params={"room": "c", "from": "16:00"}).text
    afternoon = [b for b in bigday.blocks_in("c") if b.start >= at("16:00")][0]
    assert f'id="block-{afternoon.id}"' in later
    assert 'id="earlier" href="/programme?room=c&amp;from=' in later


def test_a_command_on_one_room_updates_its_line_live(pages, congress, bigday):
    from playwright.sync_api import expect

    phone = pages.open(congress.url + "/programme", 390, 844)
    _ready(phone)
    versions = {
        r.id: phone.locator(f'#now-rooms [data-room="{r.id}"]').get_attribute("data-version")
        for r in bigday.rooms
    }
    on = next(b for b in bigday.blocks_in("c") if b.start <= at("10:05") < b.end)
    assert congress.post("/api/rooms/c/goto", {"session": on.id, "turn": on.turns[0].id}).ok
    assert congress.post("/api/rooms/c/delay", {"minutes": 10}).ok
    assert congress.post("/api/rooms/c/message", {"text": "Salle comble : suivez en Lamartine"}).ok
    line = phone.locator('#now-rooms [data-room="c"]')
    expect(line.locator(".nr-message")).to_have_text("Salle comble : suivez en Lamartine")
    expect(line.locator(".delay")).to_have_text("Retard de 10 min")
    expect(line.locator(".nr-speaker .who")).to_have_text(on.turns[0].speaker.display_name)
    # the sticky bar names the room, one line
    bar = phone.locator("#live-bar .bar-line")
    expect(bar).to_have_count(1)
    expect(bar).to_contain_text("Salle Colbert")
    # the other rooms' lines did not change
    for room, version in versions.items():
        if room != "c":
            assert (
                phone.locator(f'#now-rooms [data-room="{room}"]').get_attribute("data-version")
                == version
            )
    # the block on now in the list marks the speaker; the next one moves by the delay
    expect(phone.locator(f'#block-{on.id} li[aria-current="true"]')).to_have_count(1)
    after = bigday.blocks_in("c")[bigday.blocks_in("c").index(on) + 1]
    moved = phone.locator(f"#block-{after.id} time[data-start]")
    later = after.start + dt.timedelta(minutes=10)
    expect(moved).to_have_text(f"{later.hour} h {later:%M}")
    expect(moved).to_have_class("moved")
    # five rooms announcing something: the bar stays within 15 % of the screen
    for room in "defg":
        assert congress.post(
            f"/api/rooms/{room}/message",
            {"text": "Début avec 5 minutes de retard, merci de votre patience"},
        ).ok
    expect(phone.locator("#live-bar .bar-more")).to_contain_text("2 autres salles")
    height = phone.locator("#live-bar").evaluate("(bar) => bar.getBoundingClientRect().height")
    assert height <= 126, height
    phone.screenshot(path=ARTIFACTS / "programme-announced.png")
    for room in "cdefg":
        congress.post(f"/api/rooms/{room}/message", {"text": ""})
    congress.post("/api/rooms/c/delay", {"minutes": 0})
    congress.post("/api/rooms/c/auto")


def test_the_colloque_is_one_room_and_a_short_list(pages, server):
    from playwright.sync_api import expect

    phone = pages.open(server.url + "/programme", 390, 844)
    _ready(phone)
    lines = phone.locator("#now-rooms .status-line")
    expect(lines).to_have_count(1)
    expect(lines.locator(".nr-room")).to_have_count(0)  # one room: no name to repeat
    expect(lines.locator(".nr-now")).to_contain_text("Session 1")
    expect(phone.locator("#room")).to_have_count(0)  # no room to filter
    expect(phone.locator("#later")).to_have_count(0)  # the whole day is listed
    phone.screenshot(path=ARTIFACTS / "programme-colloque.png")
