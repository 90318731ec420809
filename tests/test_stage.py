"""The lectern's screen and its secret: it reads the room's stage and does nothing else."""

from __future__ import annotations

import re

import pytest
import requests

from kiosk.web import socketio

from .conftest import KIOSK_TOKEN, TOKEN, Server, free_port, run_kiosk

ROOM = "lamartine"


def stage_secret(db) -> str:
    """The stage secret `kiosk serve` made and kept in its database."""
    from kiosk import db as database

    return database.secret(database.connect(str(db)), "stage_token")


@pytest.fixture
def stage_key(server):
    return stage_secret(server.db)


def get(server, path: str, **kw) -> requests.Response:
    return requests.get(server.url + path, timeout=5, **kw)


@pytest.mark.parametrize("key", [None, "", "not-the-stage-secret", TOKEN, KIOSK_TOKEN])
def test_the_stage_is_refused_without_its_secret(server, key):
    """No key, a wrong one, or another role's secret: a page saying so, nothing of the stage."""
    response = get(server, f"/stage/{ROOM}", params={} if key is None else {"key": key})
    assert response.status_code == 403
    assert "text/html" in response.headers["Content-Type"]
    assert "stage-link" in response.text  # says where the right link comes from
    assert 'id="boot"' not in response.text and "stage.js" not in response.text


def test_the_stage_opens_with_its_secret_and_keeps_it_out_of_caches_and_referers(server, stage_key):
    response = get(server, f"/stage/{ROOM}", params={"key": stage_key})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "js/stage.js" in response.text
    # the page joins with the secret; its first state is the full one
    assert f'"stage":"{stage_key}"' in response.text.replace(" ", "")


def test_an_organiser_session_opens_the_stage_without_the_key(server):
    browser = requests.Session()
    assert browser.get(f"{server.url}/organiser?token={TOKEN}", timeout=5).ok
    response = browser.get(f"{server.url}/stage/{ROOM}", timeout=5)
    assert response.status_code == 200
    assert "js/stage.js" in response.text


def test_an_unknown_room_has_no_stage_and_no_overlay(server, stage_key):
    assert get(server, "/stage/cave", params={"key": stage_key}).status_code == 404
    assert get(server, "/overlay/cave").status_code == 404


def test_the_overlay_is_public_and_carries_no_private_word(server):
    assert server.post(f"/api/rooms/{ROOM}/stage_message", {"text": "Merci de conclure"}).ok
    response = get(server, f"/overlay/{ROOM}")
    assert response.status_code == 200
    assert "js/overlay.js" in response.text
    assert "Merci de conclure" not in response.text
    assert "stage_message" not in response.text


def test_the_stage_secret_steers_nothing_and_checks_nobody_in(server, stage_key):
    bearer = {"Authorization": f"Bearer {stage_key}"}
    for path, body in (
        (f"/api/rooms/{ROOM}/next", {}),
        (f"/api/rooms/{ROOM}/stage_message", {"text": "Piraté"}),
        ("/api/checkin", {"code": "ABCD-EFGH"}),
        ("/api/attendees", {"last_name": "Intrus"}),
    ):
        response = requests.post(server.url + path, json=body, headers=bearer, timeout=5)
        assert response.status_code == 403, path
        assert response.json()["error"] == "forbidden"
    state = server.state()
    assert state["version"] == 0 and state["speaker"] is None


def join(app, data):
    client = socketio.test_client(app)
    assert client.is_connected()
    return client, client.emit("join", data, callback=True)


def states(client):
    return [m["args"][0] for m in client.get_received() if m["name"] == "state"]


def test_a_stage_socket_needs_the_stage_secret(app, client, auth):
    client.post(
        f"/api/rooms/{ROOM}/stage_message", json={"text": "Il vous reste 2 minutes"}, headers=auth
    )
    key = app.extensions["kiosk"].stage_token
    for wrong in ("guess", KIOSK_TOKEN, None):
        socket, ack = join(app, {"room": ROOM, "full": True, "stage": wrong})
        assert (ack["ok"], ack["status"]) == (False, 403)
        assert states(socket) == []
    socket, ack = join(app, {"room": ROOM, "full": True, "stage": key})
    assert ack == {"ok": True}
    [state] = states(socket)
    assert state["stage_message"] == "Il vous reste 2 minutes"
    # and later changes of the word reach it
    client.post(
        f"/api/rooms/{ROOM}/stage_message", json={"text": "Merci de conclure"}, headers=auth
    )
    assert [s["stage_message"] for s in states(socket)] == ["Merci de conclure"]


def test_the_public_never_gets_the_word_for_the_lectern(app, client, auth):
    screen, ack = join(app, {"room": ROOM})
    assert ack == {"ok": True}
    [joined] = states(screen)
    assert "stage_message" not in joined
    reply = client.post(
        f"/api/rooms/{ROOM}/stage_message", json={"text": "Merci de conclure"}, headers=auth
    )
    assert reply.get_json()["stage_message"] == "Merci de conclure"  # the tablet's full state
    pushed = states(screen)
    assert pushed and all("stage_message" not in s for s in pushed)
    assert "Merci de conclure" not in str(pushed)
    assert "stage_message" not in client.get(f"/api/rooms/{ROOM}/state").get_json()


def test_stage_link_prints_a_link_per_room_that_opens_the_stage(tmp_path):
    db = tmp_path / "kiosk.db"
    port = free_port()
    result = run_kiosk("stage-link", "--db", str(db), "--host", "127.0.0.1", "--port", str(port))
    assert result.returncode == 0, result.stderr
    links = result.stdout.split()
    assert len(links) == 1  # the colloque has one room
    match = re.fullmatch(rf"http://localhost:{port}/stage/lamartine\?key=([\w-]+)", links[0])
    assert match and len(match.group(1)) >= 43
    one = run_kiosk("stage-link", "--db", str(db), "--room", "lamartine", "--port", str(port))
    assert one.stdout.split() == links  # the same secret, kept in the database
    unknown = run_kiosk("stage-link", "--db", str(db), "--room", "cave")
    assert unknown.returncode == 1 and "cave" in unknown.stderr
    srv = Server(db, port, "2023-07-03T14:45").start()
    try:
        page = requests.get(links[0], timeout=5)
        assert page.status_code == 200 and "js/stage.js" in page.text
        # `kiosk serve` prints it too, at the address it serves on
        assert f"{srv.url}/stage/lamartine?key={match.group(1)}" in srv.log.read_text()
    finally:
        srv.kill()
