"""Socket.IO through Flask-SocketIO's test client: full state on join, pushes, refusals."""

from __future__ import annotations

import json

from kiosk import db as database
from kiosk.push import tick
from kiosk.web import socketio

from .conftest import TOKEN

ROOM = "lamartine"


def states(client):
    return [m["args"][0] for m in client.get_received() if m["name"] == "state"]


def join(app, flask_client=None, auth=None):
    client = socketio.test_client(app, flask_test_client=flask_client, auth=auth)
    assert client.is_connected()
    ack = client.emit("join", {"room": ROOM}, callback=True)
    assert ack == {"ok": True}
    return client


def test_join_sends_the_full_state_at_once(app):
    client = join(app)
    [state] = states(client)
    assert (state["room"], state["phase"], state["session"]["id"]) == (ROOM, "session", "session-1")


def test_join_unknown_room_is_refused(app):
    client = socketio.test_client(app)
    assert client.emit("join", {"room": "cave"}, callback=True)["ok"] is False
    assert client.emit("join", "lamartine", callback=True)["ok"] is False
    assert states(client) == []


def test_http_command_is_pushed_to_every_screen_of_the_room(app, client, auth):
    screens = [join(app), join(app)]
    for screen in screens:
        states(screen)
    response = client.post(f"/api/rooms/{ROOM}/next", json={"version": 0}, headers=auth)
    assert response.status_code == 200
    for screen in screens:
        [state] = states(screen)
        assert state["version"] == 1
        assert state["speaker"]["name"] == "Dorothée Schmid"


def test_socket_command_refused_for_the_public(app, client):
    screen = join(app)
    states(screen)
    reply = screen.emit("command", {"room": ROOM, "action": "next"}, callback=True)
    assert reply["ok"] is False and reply["status"] == 403
    assert states(screen) == []
    assert client.get(f"/api/rooms/{ROOM}/state").get_json()["version"] == 0


def test_socket_command_with_organiser_token(app):
    tablet = join(app, auth={"token": TOKEN})
    states(tablet)
    reply = tablet.emit(
        "command",
        {"room": ROOM, "action": "goto", "session": "session-3", "turn": 2, "version": 0},
        callback=True,
    )
    assert reply["ok"] is True
    assert reply["state"]["speaker"]["name"] == "Bertrand Gallet"
    stale = tablet.emit("command", {"room": ROOM, "action": "next", "version": 0}, callback=True)
    assert (stale["ok"], stale["status"], stale["error"]) == (False, 409, "stale")
    assert stale["state"]["version"] == 1
    wrong = socketio.test_client(app, auth={"token": "guess"})
    assert wrong.emit("command", {"room": ROOM, "action": "next"}, callback=True)["status"] == 403


def test_socket_command_with_organiser_session_cookie(app, client):
    client.get(f"/organiser?token={TOKEN}")
    tablet = join(app, flask_client=client)
    reply = tablet.emit("command", {"room": ROOM, "action": "next"}, callback=True)
    assert reply["ok"] is True


def test_clock_crossing_a_boundary_is_pushed(app, clock):
    screen = join(app)
    states(screen)
    db = database.connect(app.config["DATABASE"])
    assert tick(app.extensions["kiosk"], db) == []  # first look: nothing to announce
    clock.set("10:40")
    assert tick(app.extensions["kiosk"], db) == []  # same block: screens already right
    assert states(screen) == []
    clock.set("11:00")
    assert tick(app.extensions["kiosk"], db) == [ROOM]
    [state] = states(screen)
    assert (state["phase"], state["session"], state["next"]["id"]) == ("break", None, "session-2")


def test_a_command_is_pushed_once_not_again_by_the_clock(app, client, auth):
    screen = join(app)
    db = database.connect(app.config["DATABASE"])
    tick(app.extensions["kiosk"], db)
    states(screen)
    assert client.post(f"/api/rooms/{ROOM}/next", json={}, headers=auth).status_code == 200
    assert [s["version"] for s in states(screen)] == [1]
    assert tick(app.extensions["kiosk"], db) == []  # the ticker knows the screens already have it
    assert states(screen) == []


def test_rooms_are_independent(tmp_path):
    from kiosk.app import create_app
    from kiosk.schedule import parse

    from .conftest import FakeClock, at
    from .test_schedule import GOOD

    app = create_app(
        {
            "TESTING": True,
            "DATABASE": str(tmp_path / "two.db"),
            "SCHEDULE": parse(GOOD.replace("2024-05-02", "2023-07-03")),
            "CLOCK": FakeClock(at("09:45")),
            "ASYNC_MODE": "threading",
            "ORGANISER_TOKEN": TOKEN,
            "KIOSK_TOKEN": "another-secret-for-kiosks",
        }
    )
    client = app.test_client()
    screen_b = socketio.test_client(app)
    assert screen_b.emit("join", {"room": "b"}, callback=True) == {"ok": True}
    [joined] = states(screen_b)
    assert (joined["room"], joined["session"]["id"]) == ("b", "two")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    moved = client.post("/api/rooms/a/goto", json={"session": "three", "turn": 1}, headers=headers)
    assert moved.get_json()["speaker"]["role"] == "Débat avec la salle"
    assert states(screen_b) == []  # room b's screens hear nothing of room a
    assert client.get("/api/rooms/b/state").get_json()["mode"] == "auto"
    refused = client.post("/api/rooms/b/goto", json={"session": "three"}, headers=headers)
    assert refused.status_code == 400  # a block of room a cannot be shown in room b
    client.get(f"/organiser?token={TOKEN}")
    tablet = client.get("/organiser").get_data(as_text=True)
    assert tablet.count('class="room-tab"') == 2
    assert client.get("/screen/b").status_code == 200
    programme = client.get("/programme").get_data(as_text=True)
    assert 'class="room">Room A<' in programme and 'class="room">Room B<' in programme


def test_wrong_tokens_on_connecting_are_limited_like_any_other(app, ticker):
    for n in range(10):
        guess = socketio.test_client(app, auth={"token": f"guess {n}"})
        assert guess.is_connected()  # connected, as anyone may watch, but with no rights
        reply = guess.emit("command", {"room": ROOM, "action": "next"}, callback=True)
        assert reply["status"] == 403
    # even the right token is refused for a minute from that address
    assert not socketio.test_client(app, auth={"token": TOKEN}).is_connected()
    assert socketio.test_client(app).is_connected()  # watching needs no token
    ticker.advance(60)
    assert join(app, auth={"token": TOKEN}).is_connected()


def organiser_browser(app):
    """A browser logged in as organiser, and its page's CSRF token."""
    client = app.test_client()
    client.get(f"/organiser?token={TOKEN}")
    page = client.get("/organiser").get_data(as_text=True)
    return client, page.split('name="csrf-token" content="')[1].split('"')[0]


def test_logout_drops_the_sessions_sockets(app):
    browser, csrf = organiser_browser(app)
    tablet = join(app, flask_client=browser)
    other_browser, _csrf = organiser_browser(app)
    other_tablet = join(app, flask_client=other_browser)
    assert browser.post("/organiser/logout", data={"csrf": csrf}).status_code == 302
    assert not tablet.is_connected()
    assert other_tablet.is_connected()  # another organiser's session is not touched
    reply = other_tablet.emit("command", {"room": ROOM, "action": "next"}, callback=True)
    assert reply["ok"] is True


def test_a_session_ended_after_connecting_commands_nothing(app):
    from kiosk.auth import Grant

    browser, _csrf = organiser_browser(app)
    tablet = join(app, flask_client=browser)
    access = app.extensions["access"]
    [grant] = access.sockets.values()
    assert isinstance(grant, Grant)
    access.ended.add(grant.session)  # as a logout in another process would leave it
    reply = tablet.emit("command", {"room": ROOM, "action": "next"}, callback=True)
    assert reply["status"] == 403


def test_opening_the_organiser_link_again_keeps_the_tablets_sockets(app):
    browser, csrf = organiser_browser(app)
    tablet = join(app, flask_client=browser)
    browser.get(f"/organiser?token={TOKEN}")  # another tab, the same link
    assert tablet.is_connected()
    assert tablet.emit("command", {"room": ROOM, "action": "next"}, callback=True)["ok"]
    browser.post("/organiser/logout", data={"csrf": csrf})
    assert not tablet.is_connected()  # one logout still ends it all


POLLING = "/socket.io/?EIO=4&transport=polling"


def engine_io_packets(response) -> list[str]:
    return response.get_data(as_text=True).split("\x1e")


def test_a_sockets_engine_io_id_is_no_credential_for_another_browser(app):
    # The organiser's tablet, polling (as browsers do before a websocket upgrade): its
    # engine.io session id travels in every request's address.
    browser, _csrf = organiser_browser(app)
    [opened] = engine_io_packets(browser.get(POLLING))
    sid = json.loads(opened[1:])["sid"]
    url = f"{POLLING}&sid={sid}"
    assert browser.post(url, data="40").status_code == 200
    assert engine_io_packets(browser.get(url))[0].startswith("40")
    command = '42{}["command",{{"room":"{}","action":"next","version":{}}}]'
    # Someone else who learnt that id, with no cookie, or another organiser's.
    stranger, _csrf = organiser_browser(app)
    # engine.io decodes the query as parse_qs does: `%73id` is `sid` to it, and a second
    # `sid` comes after the first.
    spellings = [url, f"{POLLING}&%73id={sid}", f"{POLLING}&sid={sid}&sid=other"]
    for thief in (app.test_client(), stranger):
        for address in spellings:
            assert thief.post(address, data=command.format(1, ROOM, 0)).status_code == 403
            assert thief.get(address).status_code == 403
    # The tablet itself goes on.
    assert browser.post(url, data=command.format(2, ROOM, 0)).status_code == 200
    [ack] = engine_io_packets(browser.get(url))
    assert ack.startswith('432[{"ok":true')
    assert browser.get(f"/api/rooms/{ROOM}/state").get_json()["version"] == 1
