"""The JSON API through Flask's test client: reading, commands, refusals."""

from __future__ import annotations

import pytest

from .conftest import KIOSK_TOKEN

ROOM = "lamartine"


def test_schedule_lists_event_rooms_blocks_and_turns(client):
    data = client.get("/api/schedule").get_json()
    assert data["event"]["title"].startswith("La Diplomatie des territoires")
    assert data["rooms"] == [{"id": "lamartine", "name": "Salle Lamartine"}]
    assert [b["id"] for b in data["blocks"]][:3] == ["accueil", "ouverture", "session-1"]
    hollande = data["blocks"][1]["turns"][3]
    assert (hollande["role"], hollande["display_name"]) == ("Grand témoin", "M. François Hollande")


def test_state_has_the_documented_fields(client):
    data = client.get(f"/api/rooms/{ROOM}/state").get_json()
    for key in (
        "room",
        "version",
        "mode",
        "phase",
        "server_time",
        "delay_minutes",
        "message",
        "session",
        "turn_index",
        "speaker",
        "next",
    ):
        assert key in data
    assert (data["room"], data["mode"], data["phase"]) == (ROOM, "auto", "session")
    assert data["session"]["id"] == "session-1"
    assert {"id", "title", "start", "end"} <= set(data["session"])
    assert data["next"]["start"] == "2023-07-03T11:15:00+02:00"


def test_turns_are_listed_with_their_ids_and_the_speaker_names_hers(client, auth):
    blocks = {b["id"]: b for b in client.get("/api/schedule").get_json()["blocks"]}
    assert [t["id"] for t in blocks["session-1"]["turns"]][:2] == ["session-1-1", "session-1-2"]
    client.post(f"/api/rooms/{ROOM}/goto", json={"session": "session-3", "turn": 2}, headers=auth)
    speaker = client.get(f"/api/rooms/{ROOM}/state").get_json()["speaker"]
    assert (speaker["turn_id"], speaker["name"]) == ("session-3-3", "Bertrand Gallet")


def test_unknown_room_is_404_json(client):
    response = client.get("/api/rooms/cave/state")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def post(client, action, json=None, headers=None, **kw):
    return client.post(f"/api/rooms/{ROOM}/{action}", json=json, headers=headers, **kw)


def test_next_with_token_moves_the_speaker(client, auth):
    response = post(client, "next", {"version": 0}, auth)
    assert response.status_code == 200
    data = response.get_json()
    assert (data["version"], data["mode"], data["speaker"]["name"]) == (
        1,
        "manual",
        "Dorothée Schmid",
    )


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("next", {}),
        ("previous", {}),
        ("auto", {}),
        ("goto", {"session": "session-3", "turn": 2}),
        ("delay", {"minutes": 10}),
        ("message", {"text": "Pause"}),
    ],
)
def test_every_command_refused_without_the_organiser_secret(client, action, body):
    before = client.get(f"/api/rooms/{ROOM}/state").get_json()
    response = post(client, action, body)
    assert response.status_code == 401
    assert response.get_json()["message"] == "Secret requis (Authorization: Bearer <jeton>)."
    wrong = post(client, action, body, {"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 403
    kiosk = post(client, action, body, {"Authorization": f"Bearer {KIOSK_TOKEN}"})
    assert kiosk.status_code == 403  # a welcome-desk kiosk cannot steer the screens
    basic = post(client, action, body, {"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 403
    assert client.get(f"/api/rooms/{ROOM}/state").get_json() == before


def test_stale_version_is_409_with_the_current_state(client, auth):
    assert post(client, "next", {"version": 0}, auth).status_code == 200
    response = post(client, "next", {"version": 0}, auth)
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "stale"
    assert body["state"]["version"] == 1
    assert body["state"]["speaker"]["name"] == "Dorothée Schmid"


@pytest.mark.parametrize(
    ("action", "raw", "fragment"),
    [
        ("next", "{not json", "JSON"),
        ("next", "[1, 2]", "JSON"),
        ("next", '{"version": "1"}', "version"),
        ("goto", '{"session": "nope"}', "nope"),
        ("goto", '{"session": "session-1", "turn": 99}', "99"),
        ("delay", '{"minutes": "ten"}', "minutes"),
        ("delay", '{"minutes": 100000}', "minutes"),
        ("message", '{"text": 12}', "text"),
        ("message", "{}", "text"),
    ],
)
def test_bad_bodies_are_400_with_a_message_and_change_nothing(client, auth, action, raw, fragment):
    before = client.get(f"/api/rooms/{ROOM}/state").get_json()
    response = post(client, action, headers={**auth, "Content-Type": "application/json"}, data=raw)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid"
    assert fragment in response.get_json()["message"]
    assert client.get(f"/api/rooms/{ROOM}/state").get_json() == before


def test_english_error_messages_on_request(client, auth):
    response = client.post(f"/api/rooms/{ROOM}/delay", json={"minutes": "x"}, headers=auth)
    assert response.get_json()["message"] == "« minutes » doit être un nombre entier de minutes."
    response = client.post(f"/api/rooms/{ROOM}/delay?lang=en", json={"minutes": "x"}, headers=auth)
    assert response.get_json()["message"] == "'minutes' must be a whole number of minutes."


def test_unknown_command_is_404(client, auth):
    assert post(client, "explode", {}, auth).status_code == 404


def test_message_and_delay_and_goto_round_trip(client, auth):
    post(client, "goto", {"session": "session-3", "turn": 2}, auth)
    post(client, "delay", {"minutes": 15}, auth)
    data = post(client, "message", {"text": "<script>alert(1)</script>"}, auth).get_json()
    assert data["speaker"]["name"] == "Bertrand Gallet"
    assert data["delay_minutes"] == 15
    assert data["message"] == "<script>alert(1)</script>"  # stored as text, shown as text
    assert data["next"]["start"] == "2023-07-03T16:45:00+02:00"
    cleared = post(client, "message", {"text": None}, auth).get_json()
    assert cleared["message"] is None


def test_organiser_link_logs_in_and_cookie_needs_csrf(client):
    from .conftest import TOKEN

    response = client.get(f"/organiser?token={TOKEN}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/organiser"  # the secret leaves the address bar
    page = client.get("/organiser")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    csrf = html.split('name="csrf-token" content="')[1].split('"')[0]
    without = post(client, "next", {})
    assert without.status_code == 403 and without.get_json()["error"] == "csrf"
    with_csrf = post(client, "next", {}, {"X-CSRF-Token": csrf})
    assert with_csrf.status_code == 200


def test_wrong_organiser_link_is_refused(client):
    response = client.get("/organiser?token=guess")
    assert response.status_code == 403
    assert client.get("/organiser").get_data(as_text=True).count('name="token"') == 1


def test_login_form_needs_its_csrf_token(client):
    from .conftest import TOKEN

    assert client.post("/organiser/login", data={"token": TOKEN}).status_code == 403
    page = client.get("/organiser").get_data(as_text=True)
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    response = client.post("/organiser/login", data={"token": TOKEN, "csrf": csrf})
    assert response.status_code == 302
    assert "csrf-token" in client.get("/organiser").get_data(as_text=True)


def test_public_pages_render_and_escape_user_text(client, auth):
    post(client, "message", {"text": "<b>x</b>"}, auth)
    for path in ("/", "/programme", f"/screen/{ROOM}", "/organiser"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "<b>x</b>" not in response.get_data(as_text=True)
        assert "script-src" not in response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert "\\u003cb\\u003ex\\u003c/b\\u003e" in client.get(f"/screen/{ROOM}").get_data(
        as_text=True
    )


def test_unknown_screen_is_a_404_page(client):
    response = client.get("/screen/cave")
    assert response.status_code == 404
    assert "<html" in response.get_data(as_text=True)


def test_qr_code_encodes_the_programme_address(client):
    response = client.get("/qr/programme.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).startswith("<?xml")


def csrf_of(html: str) -> str:
    return html.split('name="csrf-token" content="')[1].split('"')[0]


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_logout_ends_the_session_for_every_copy_of_its_cookie(app, client):
    from .conftest import TOKEN

    client.get(f"/organiser?token={TOKEN}")
    csrf = csrf_of(client.get("/organiser").get_data(as_text=True))
    copied = session_cookie(client)
    assert client.post("/organiser/logout", data={"csrf": csrf}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/api/attendees?q=").status_code == 401
    assert thief.get("/organiser/attendees").status_code == 302  # to the login page
    refused = post(thief, "next", {}, {"X-CSRF-Token": csrf})
    assert refused.status_code == 401
    assert thief.get(f"/api/rooms/{ROOM}/state").get_json()["version"] == 0


def test_a_logout_is_remembered_across_a_restart(app, client, tmp_path, clock, schedule):
    from kiosk.app import create_app

    from .conftest import KIOSK_TOKEN, TOKEN

    client.get(f"/organiser?token={TOKEN}")
    csrf = csrf_of(client.get("/organiser").get_data(as_text=True))
    copied = session_cookie(client)
    client.post("/organiser/logout", data={"csrf": csrf})
    restarted = create_app(
        {
            "TESTING": True,
            "DATABASE": app.config["DATABASE"],
            "SCHEDULE": schedule,
            "CLOCK": clock,
            "ASYNC_MODE": "threading",
            "ORGANISER_TOKEN": TOKEN,
            "KIOSK_TOKEN": KIOSK_TOKEN,
        }
    ).test_client()
    restarted.set_cookie("session", copied)
    assert restarted.get("/api/attendees?q=").status_code == 401


def test_another_organiser_session_outlives_a_logout(app, client):
    from .conftest import TOKEN

    other = app.test_client()
    for browser in (client, other):
        browser.get(f"/organiser?token={TOKEN}")
    csrf = csrf_of(client.get("/organiser").get_data(as_text=True))
    client.post("/organiser/logout", data={"csrf": csrf})
    assert other.get("/api/attendees?q=").status_code == 200


def test_the_session_cookie_is_secure_and_hsts_is_sent_over_https(tmp_path, clock, schedule):
    from kiosk.app import create_app

    from .conftest import KIOSK_TOKEN, TOKEN

    def app_with(https: bool):
        return create_app(
            {
                "TESTING": True,
                "DATABASE": str(tmp_path / f"{https}.db"),
                "SCHEDULE": schedule,
                "CLOCK": clock,
                "ASYNC_MODE": "threading",
                "ORGANISER_TOKEN": TOKEN,
                "KIOSK_TOKEN": KIOSK_TOKEN,
                "HTTPS": https,
            }
        ).test_client()

    tls = app_with(True).get(f"/organiser?token={TOKEN}", base_url="https://localhost")
    assert "; Secure" in tls.headers["Set-Cookie"]
    assert tls.headers["Strict-Transport-Security"] == "max-age=86400"
    # over plain http on a venue's network, the cookie must still be sent back
    plain = app_with(False).get(f"/organiser?token={TOKEN}")
    assert "Secure" not in plain.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in plain.headers


def test_the_programme_qr_code_ignores_the_host_header(app, client):
    from kiosk.views.public import programme_url

    honest = client.get("/qr/programme.svg").get_data()
    forged = client.get("/qr/programme.svg", headers={"Host": "evil.example"}).get_data()
    assert forged == honest
    with app.test_request_context("/screen/lamartine", headers={"Host": "evil.example"}):
        assert programme_url() == "http://localhost:5000/programme"
    app.config["PUBLIC_URL"] = "http://192.168.1.20:5000/"
    with app.test_request_context("/screen/lamartine", headers={"Host": "evil.example"}):
        assert programme_url() == "http://192.168.1.20:5000/programme"
