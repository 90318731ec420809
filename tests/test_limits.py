"""Whatever a client sends is bounded: bodies, JSON nesting, ids, lists of rooms.

A red-team pass found that one unauthenticated `join` naming one room 75,000 times made
the server compute and send 75,000 states without yielding (every screen dropped), and
that deeply nested JSON or a huge attendee id answered 500.
"""

from __future__ import annotations

import threading

import pytest
from socketio import Client

from kiosk.web import socketio

from .conftest import TOKEN

ROOM = "lamartine"
ORGANISER = {"Authorization": f"Bearer {TOKEN}"}


def _states(client):
    return [m for m in client.get_received() if m["name"] == "state"]


def test_join_naming_one_room_many_times_is_refused_without_any_state(app):
    client = socketio.test_client(app)
    ack = client.emit("join", {"rooms": [ROOM] * 1000}, callback=True)
    assert (ack["ok"], ack["status"], ack["error"]) == (False, 400, "invalid")
    assert _states(client) == []


def test_join_repeating_a_room_within_the_bound_sends_it_once(app):
    client = socketio.test_client(app)
    assert client.emit("join", {"rooms": [ROOM]}, callback=True) == {"ok": True}
    assert len(_states(client)) == 1


def test_a_body_over_the_limit_is_413_in_the_api_shape(client):
    huge = {"text": "x" * 200_000}
    response = client.post(f"/api/rooms/{ROOM}/message", json=huge, headers=ORGANISER)
    assert response.status_code == 413
    assert response.get_json()["status"] == 413
    assert client.get(f"/api/rooms/{ROOM}/state").get_json()["message"] is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", f"/api/rooms/{ROOM}/message"),
        ("post", "/api/attendees/1/undo"),
        ("post", "/api/checkin"),
        ("post", "/api/attendees"),
    ],
)
def test_deeply_nested_json_is_400(client, method, path):
    nested = "[" * 20_000 + "]" * 20_000
    response = getattr(client, method)(
        path, data=nested, headers={**ORGANISER, "Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.get_data(as_text=True)[:200]
    assert response.is_json


@pytest.mark.parametrize("action", ["checkin", "undo"])
def test_an_attendee_id_beyond_sqlite_integers_is_400(client, action):
    response = client.post(
        f"/api/attendees/{2**64}/{action}", json={"reason": "test"}, headers=ORGANISER
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid"


def test_a_socket_message_over_64_kb_drops_its_sender_only(server):
    """Engine.IO's buffer is 64 KB (its default, 1 MB, let one message stall the loop)."""
    calm, loud = Client(reconnection=False), Client(reconnection=False)
    dropped = threading.Event()
    loud.on("disconnect", lambda *args: dropped.set())
    for client in (calm, loud):
        client.connect(server.url, transports=["websocket"])
    try:
        loud.emit("join", {"rooms": ["x" * 100_000]})
        assert dropped.wait(10)
        assert calm.call("join", {"room": ROOM}, timeout=5) == {"ok": True}
    finally:
        calm.disconnect()
        loud.disconnect()


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error", "message"),
    [
        ("get", "/api/nope", None, 404, "not_found", "Il n’y a rien à cette adresse."),
        ("delete", "/api/checkin", None, 405, "method_not_allowed",
         "Cette adresse n’accepte pas cette méthode."),
        ("post", f"/api/rooms/{ROOM}/message", {"text": "x" * 70_000}, 413, "too_large",
         "La requête est trop grande."),
    ],
)  # fmt: skip
def test_the_servers_own_refusals_speak_the_readers_language(
    client, method, path, body, status, error, message
):
    """Werkzeug's English descriptions reached the French pages, under codes no one listed."""
    response = getattr(client, method)(path, json=body, headers=ORGANISER)
    assert response.status_code == status
    assert response.get_json() == {"status": status, "error": error, "message": message}
