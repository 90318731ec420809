"""Screens per room stay light on a big day: a room's screen hears of its own room only, and
a phone following every room gets one state per change, the changed room's.

A real server on the generated 8-room day (rooms a…h) and real Socket.IO clients. Absence is
proven by order, not by waiting: after commands to other rooms, a command to the client's
room is sent, and the next event the client receives must be that one.
"""

from __future__ import annotations

import signal

import pytest
import socketio

from .conftest import Server, free_port

ROOMS = list("abcdefgh")
# The clock all but stands still (a minute per thousand): the only changes are the test's
# commands, never a block or a turn the clock reaches meanwhile.
STILL = 0.001


@pytest.fixture
def bigday_server(tmp_path, bigday_file):
    srv = Server(
        tmp_path / "kiosk.db",
        free_port(),
        "2023-07-03T10:05",
        speed=STILL,
        extra=["--schedule", str(bigday_file)],
    ).start()
    yield srv
    srv.kill(signal.SIGTERM)


@pytest.fixture
def connect(bigday_server):
    clients = []

    def open_client() -> socketio.SimpleClient:
        client = socketio.SimpleClient()
        client.connect(bigday_server.url, transports=["websocket"])
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.disconnect()


def command(server: Server, room: str) -> dict:
    """`next` in `room`, as the organiser's tablet sends it; the room's new state."""
    answer = server.post(f"/api/rooms/{room}/next")
    assert answer.status_code == 200, answer.text
    return answer.json()


def next_state(client: socketio.SimpleClient) -> dict:
    event, state = client.receive(timeout=10)
    assert event == "state"
    return state


def test_a_room_screen_receives_its_own_room_only(bigday_server, connect):
    screen = connect()
    assert screen.call("join", {"rooms": ["a"]}) == {"ok": True}  # as screen.js joins
    joined = next_state(screen)
    assert joined["room"] == "a"
    assert joined["room_name"] == "Amphithéâtre Lamartine"

    for room in ROOMS[1:]:  # seven rooms change
        assert command(bigday_server, room)["room"] == room
    changed = command(bigday_server, "a")

    # The next event is room a's new state: nothing of b…h came before it.
    pushed = next_state(screen)
    assert (pushed["room"], pushed["version"]) == ("a", changed["version"])
    assert pushed["version"] > joined["version"]
    assert pushed["speaker"] == changed["speaker"]
    # The audience's state, as GET /api/rooms/a/state serves it: not the stage's full one.
    assert pushed.keys() == bigday_server.state("a").keys()
    # Exactly that one: the next event is the next command's, not a copy or another room's.
    again = command(bigday_server, "a")
    pushed = next_state(screen)
    assert (pushed["room"], pushed["version"]) == ("a", again["version"])


def test_a_phone_following_every_room_gets_one_state_per_change(bigday_server, connect):
    phone = connect()
    assert phone.call("join", {"rooms": ROOMS}) == {"ok": True}
    assert [next_state(phone)["room"] for _ in ROOMS] == ROOMS  # one each, at joining

    for room in [*ROOMS[1:], "a"]:
        changed = command(bigday_server, room)
        pushed = next_state(phone)
        # The changed room's state, and it alone: had another room's (or a second copy)
        # been sent, it would be this event, or the next command's.
        assert (pushed["room"], pushed["version"]) == (room, changed["version"])
