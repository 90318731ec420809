"""Feeds out: the programme as iCalendar, revalidated and compressed public reads, and the
origins allowed to read them and to follow the rooms from another site."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import signal
from dataclasses import replace

import icalendar
import pytest
import requests
import socketio

from kiosk import ical
from kiosk.schedule import Person, Turn, load
from kiosk.web import origins

from .conftest import KIOSK_TOKEN, TOKEN, Server, at, free_port, make_app, run_kiosk

ROOM = "lamartine"
SIGNAGE = "https://signage.example"
ELSEWHERE = "https://elsewhere.example"


def events(response) -> dict[str, icalendar.Event]:
    """The calendar's events by block id (the UID's part before the event's digest)."""
    calendar = icalendar.Calendar.from_ical(response.get_data())
    return {str(e["UID"]).rsplit("-", 1)[0]: e for e in calendar.walk("VEVENT")}


def done(response) -> None:
    assert response.status_code in (200, 201), response.get_json()


def english(message: str, **params) -> str:
    return message % params if params else message


# --- the programme as iCalendar -----------------------------------------------------------


def test_ics_lists_every_block_with_its_room_speakers_and_the_delay(client, auth, schedule):
    # 10:20, Session 1 on: the room declares 10 minutes late, a speaker of Session 2
    # cancels and another is added.
    done(client.post(f"/api/rooms/{ROOM}/delay", json={"minutes": 10}, headers=auth))
    done(client.patch("/api/turns/session-2-1", json={"cancelled": True}, headers=auth))
    added = {"civility": "Mme", "name": "Ada Lovelace", "function": "Analyste, Londres"}
    assert client.post("/api/blocks/session-2/turns", json=added, headers=auth).status_code == 201

    response = client.get("/programme.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    found = events(response)
    assert list(found) == [b.id for b in schedule.blocks]
    late = dt.timedelta(minutes=10)
    for block in schedule.blocks:
        event = found[block.id]
        # what has started keeps its times; what is still to come moves by the delay
        shift = late if block.start > at("10:20") else dt.timedelta(0)
        assert event.decoded("DTSTART") == block.start + shift, block.id
        assert event.decoded("DTEND") == block.end + shift, block.id
        assert event["LOCATION"] == "Salle Lamartine, Assemblée nationale"
        assert str(event["SUMMARY"]).startswith(block.label)
        text = str(event.get("DESCRIPTION", ""))
        for person in [*block.moderators, *(t.speaker for t in block.turns if t.speaker)]:
            if block.id == "session-2" and person == schedule.block("session-2").turns[0].speaker:
                assert person.name not in text  # cancelled: off the audience's programme
            else:
                assert f"{person.display_name}, {person.function}" in text, person.name
    assert found["session-2"].decoded("DTSTART") == at("11:25")
    assert "Mme Ada Lovelace, Analyste, Londres" in str(found["session-2"]["DESCRIPTION"])
    assert "Animatrice : Mme Virginie Rouquette" in str(found["session-1"]["DESCRIPTION"])
    text = response.get_data(as_text=True)
    assert "DTSTART;TZID=Europe/Paris:20230703T112500\r\n" in text
    assert "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\n" in text


def test_ics_uids_stay_the_same_through_edits_and_delays(client, auth):
    before = events(client.get("/programme.ics"))
    done(client.post(f"/api/rooms/{ROOM}/delay", json={"minutes": 15}, headers=auth))
    times = {"start": "14:45", "end": "16:15"}
    done(client.patch("/api/blocks/session-3", json=times, headers=auth))
    after = events(client.get("/programme.ics"))
    assert [str(e["UID"]) for e in after.values()] == [str(e["UID"]) for e in before.values()]
    assert after["session-3"].decoded("DTSTART") == at("15:00")  # 14:45, 15 minutes late


def test_ics_speaks_the_readers_language(client):
    english_text = client.get("/programme.ics?lang=en").get_data(as_text=True)
    assert "Animatrice: Mme Virginie Rouquette" in english_text.replace("\r\n ", "")
    assert "Cookie" in client.get("/programme.ics").headers["Vary"]


def test_ics_lines_are_folded_at_75_octets_and_text_escaped(schedule):
    tricky = "Débats; « virgules », barres \\ obliques\net une ligne\r\nde plus"
    block = replace(
        schedule.blocks[2],
        title=tricky,
        description="é" * 200,  # two octets each: a fold must not cut one in half
        moderators=(),
        turns=(Turn(role=None, speaker=Person("Zoë Ünal", "Mme", "Maire; adjointe, Lyon")),),
    )
    text = ical.build(replace(schedule, blocks=(block,)), {}, None, english)
    raw = text.encode()
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    for line in raw.split(b"\r\n")[:-1]:
        assert len(line) <= 75
        line.decode()  # never a character cut in two
    assert "SUMMARY:Session 1 « Débats\\; « virgules »\\, barres \\\\ obliques\\net" in (
        text.replace("\r\n ", "")
    )
    [event] = icalendar.Calendar.from_ical(raw).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Session 1 « " + tricky.replace("\r\n", "\n") + " »"
    assert str(event["DESCRIPTION"]) == "é" * 200 + "\n\nMme Zoë Ünal, Maire; adjointe, Lyon"
    # the programme without edits or commands is the same text, stamped at print
    assert text == ical.build(replace(schedule, blocks=(block,)), {}, None, english)
    assert "DTSTAMP:20230702T220000Z\r\n" in text


def test_ics_time_zone_holds_the_event_years_rules(schedule):
    new_york = replace(schedule, event=replace(schedule.event, timezone="America/New_York"))
    text = ical.build(new_york, {}, None, english)
    assert "DTSTART;TZID=America/New_York:20230703T023000\r\n" in text  # 08:30 in Paris
    assert "BEGIN:DAYLIGHT\r\nDTSTART:20230312T020000\r\nTZOFFSETFROM:-0500\r\n" in text
    assert "BEGIN:STANDARD\r\nDTSTART:20231105T020000\r\nTZOFFSETFROM:-0400\r\n" in text
    calendar = icalendar.Calendar.from_ical(text)
    first = calendar.walk("VEVENT")[0]
    assert first.decoded("DTSTART") == schedule.blocks[0].start  # the same instant


def test_programme_page_links_to_the_calendar(client):
    page = client.get("/programme").get_data(as_text=True)
    assert '<a href="/programme.ics" type="text/calendar">Ajouter à mon agenda</a>' in page
    english_page = client.get("/programme?lang=en").get_data(as_text=True)
    assert ">Add to my calendar</a>" in english_page


# --- revalidation and compression ---------------------------------------------------------

PUBLIC = ["/api/schedule", f"/api/rooms/{ROOM}/state", "/programme.ics"]


@pytest.mark.parametrize("path", PUBLIC)
def test_public_reads_are_revalidated_with_a_strong_etag(client, auth, path):
    first = client.get(path)
    assert first.headers["Cache-Control"] == "no-cache"
    tag = first.headers["ETag"]
    assert tag.startswith('"') and not tag.startswith("W/")
    again = client.get(path, headers={"If-None-Match": tag})
    assert (again.status_code, again.get_data()) == (304, b"")
    assert again.headers["ETag"] == tag
    assert again.headers["Cache-Control"] == "no-cache"
    # a proxy may have weakened it; a list and * are understood too
    for sent in ("W/" + tag, f'"other", {tag}', "*"):
        assert client.get(path, headers={"If-None-Match": sent}).status_code == 304, sent
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    # the programme and the room change: a new body, a new tag
    edit = {"function": "Ancienne ministre"}
    done(client.patch("/api/turns/session-2-1", json=edit, headers=auth))
    changed = client.get(path, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag


def test_private_answers_stay_out_of_every_cache(client, auth):
    answers = [
        client.get("/api/report", headers=auth),
        client.post(f"/api/rooms/{ROOM}/message", json={"text": "Bonjour"}, headers=auth),
        client.get("/api/attendance", headers=auth),
        client.get(f"/api/rooms/{ROOM}/state?lang=en", headers={"If-None-Match": "*"}),
        client.get("/api/rooms/cave/state"),  # a refusal
    ]
    for response in answers[:-2]:
        assert response.headers.getlist("Cache-Control") == ["no-store"]
        assert "ETag" not in response.headers
    assert answers[-1].status_code == 404
    assert answers[-1].headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ["/api/schedule", "/programme.ics"])
def test_the_programme_is_gzipped_for_clients_that_take_it(client, path):
    plain = client.get(path)
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    packed = client.get(path, headers={"Accept-Encoding": "br, gzip;q=0.8"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert len(packed.get_data()) < len(plain.get_data()) / 2
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    # another representation, another strong tag; each revalidates itself
    assert packed.headers["ETag"] != plain.headers["ETag"]
    again = {"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}
    assert client.get(path, headers=again).status_code == 304
    refused = client.get(path, headers={"Accept-Encoding": "gzip;q=0, deflate"})
    assert "Content-Encoding" not in refused.headers


def test_schedule_json_decompresses_to_the_same_programme(client):
    packed = client.get("/api/schedule", headers={"Accept-Encoding": "gzip"})
    data = json.loads(gzip.decompress(packed.get_data()))
    assert data == client.get("/api/schedule").get_json()
    assert [b["id"] for b in data["blocks"]][:2] == ["accueil", "ouverture"]


def test_a_small_body_is_not_compressed(tmp_path, clock):
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(
        "event: {title: T, date: 2023-07-03, timezone: Europe/Paris}\n"
        "rooms: [{id: a, name: A}]\n"
        "blocks: [{id: b, room: a, start: '09:00', end: '10:00', label: B}]\n"
    )
    app = make_app(tmp_path / "tiny.db", load(tiny), clock)
    response = app.test_client().get("/api/schedule", headers={"Accept-Encoding": "gzip"})
    assert len(response.get_data()) < 1024
    assert "Content-Encoding" not in response.headers


# --- other sites' pages -------------------------------------------------------------------


@pytest.fixture
def shared(tmp_path, clock, schedule, ticker):
    """The app with two origins allowed, as `kiosk serve --allow-origin` sets it."""
    return make_app(
        tmp_path / "shared.db",
        schedule,
        clock,
        ticker,
        ALLOW_ORIGINS=f"{SIGNAGE}, https://obs.example:8443/",
    )


@pytest.mark.parametrize("path", PUBLIC)
def test_allowed_origins_read_the_public_feeds_without_credentials(shared, path):
    client = shared.test_client()
    for origin in (SIGNAGE, "https://obs.example:8443"):
        response = client.get(path, headers={"Origin": origin})
        assert response.headers["Access-Control-Allow-Origin"] == origin
        assert "Access-Control-Allow-Credentials" not in response.headers
        assert "Origin" in response.headers["Vary"]
    tag = response.headers["ETag"]
    revalidated = client.get(path, headers={"Origin": SIGNAGE, "If-None-Match": tag})
    assert revalidated.status_code == 304
    assert revalidated.headers["Access-Control-Allow-Origin"] == SIGNAGE
    for other in (ELSEWHERE, "null", "https://signage.example.evil"):
        assert (
            "Access-Control-Allow-Origin" not in client.get(path, headers={"Origin": other}).headers
        )
    assert "Access-Control-Allow-Origin" not in client.get(path).headers


def test_no_origin_is_allowed_by_default(client):
    for path in PUBLIC:
        response = client.get(path, headers={"Origin": SIGNAGE})
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Origin" not in response.headers.get("Vary", "")


def test_organiser_and_kiosk_answers_are_never_shared(shared):
    client = shared.test_client()
    origin = {"Origin": SIGNAGE}
    auth = {**origin, "Authorization": f"Bearer {TOKEN}"}
    answers = [
        client.get("/api/report", headers=auth),
        client.get("/api/attendance", headers=auth),
        client.post(f"/api/rooms/{ROOM}/next", json={}, headers=auth),
        client.post(
            "/api/checkin",
            json={"code": "x" * 24},
            headers={**origin, "Authorization": f"Bearer {KIOSK_TOKEN}"},
        ),
        client.get("/organiser", headers=origin),
        client.get("/kiosk", headers=origin),
        client.get(f"/screen/{ROOM}", headers=origin),
        client.options("/api/schedule", headers={**origin, "Access-Control-Request-Method": "GET"}),
    ]
    for response in answers:
        assert "Access-Control-Allow-Origin" not in response.headers, response.request.path


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("", ()),
        ("https://a.example", ("https://a.example",)),
        (
            " HTTPS://A.Example:8443/ , http://b.example",
            ("https://a.example:8443", "http://b.example"),
        ),
        (["http://[::1]:5000", "http://[::1]:5000/"], ("http://[::1]:5000",)),
    ],
)
def test_origins_are_read_as_browsers_send_them(given, kept):
    assert origins(given) == kept


@pytest.mark.parametrize(
    "wrong", ["*", "null", "a.example", "https://a.example/path", "ftp://a.example", "https://"]
)
def test_anything_but_an_origin_is_refused(wrong):
    with pytest.raises(ValueError, match="is not an origin"):
        origins(f"https://ok.example, {wrong}")


def test_serve_refuses_a_wildcard_before_listening(tmp_path, monkeypatch):
    done = run_kiosk("serve", "--db", str(tmp_path / "k.db"), "--allow-origin", "*")
    assert done.returncode == 2
    assert "--allow-origin" in done.stderr and "'*' is not an origin" in done.stderr
    monkeypatch.setenv("KIOSK_ALLOW_ORIGINS", "https://a.example,https://b.example/x")
    done = run_kiosk("serve", "--db", str(tmp_path / "k.db"))
    assert done.returncode == 2 and "KIOSK_ALLOW_ORIGINS" in done.stderr
    assert not (tmp_path / "k.db").exists()


# --- sockets from other sites, through a real server ---------------------------------------


@pytest.fixture
def shared_server(tmp_path):
    extra = ["--allow-origin", SIGNAGE, "--allow-origin", "https://obs.example"]
    (tmp_path / "shared").mkdir()
    db = tmp_path / "shared" / "kiosk.db"
    srv = Server(db, free_port(), "2023-07-03T10:20", extra=extra).start()
    yield srv
    srv.kill(signal.SIGTERM)


def _connect(server: Server, origin: str, transport: str, auth=None, **kw) -> socketio.Client:
    client = socketio.Client(
        reconnection=False,
        # the websocket library writes its own Origin: it is told which
        websocket_extra_options={"origin": origin},
        **kw,
    )
    headers = {"Origin": origin} if transport == "polling" else {}
    client.connect(server.url, transports=[transport], headers=headers, auth=auth, wait_timeout=5)
    return client


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_a_page_of_an_allowed_origin_follows_a_room(shared_server, transport):
    client = _connect(shared_server, SIGNAGE, transport)
    try:
        received = []
        client.on("state", received.append)
        assert client.call("join", {"room": ROOM}, timeout=5) == {"ok": True}
        assert received and received[0]["room"] == ROOM
        assert "stage_message" not in received[0]  # the audience's state
        refused = client.call("command", {"room": ROOM, "action": "next"}, timeout=5)
        assert refused["status"] == 403
    finally:
        client.disconnect()


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_a_page_of_another_origin_cannot_open_a_socket(shared_server, server, transport):
    for srv in (shared_server, server):  # allowed origins, and none (the default)
        with pytest.raises(socketio.exceptions.ConnectionError):
            _connect(srv, ELSEWHERE, transport)


def test_the_servers_own_pages_still_connect(server):
    client = _connect(server, server.url, "polling")
    try:
        assert client.call("join", {"room": ROOM}, timeout=5) == {"ok": True}
    finally:
        client.disconnect()


def test_an_organisers_browser_gives_no_rights_to_another_sites_socket(shared_server):
    browser = requests.Session()  # logged in as organiser: its cookie goes everywhere
    assert browser.get(f"{shared_server.url}/organiser?token={TOKEN}", timeout=5).ok
    assert browser.cookies  # the session cookie
    command = {"room": ROOM, "action": "message", "text": "Bonjour"}

    foreign = _connect(shared_server, SIGNAGE, "polling", http_session=browser)
    try:
        assert foreign.call("command", command, timeout=5)["status"] == 403
        full = foreign.call("join", {"room": ROOM, "full": True}, timeout=5)
        assert full["status"] == 403
        assert foreign.call("watch_attendance", timeout=5)["status"] == 403
    finally:
        foreign.disconnect()
    assert shared_server.state()["message"] is None

    # the same browser on the server's own page: the organiser's tablet
    own = _connect(shared_server, shared_server.url, "polling", http_session=browser)
    try:
        assert own.call("command", command, timeout=5)["ok"] is True
    finally:
        own.disconnect()
    assert shared_server.state()["message"] == "Bonjour"


def test_a_script_elsewhere_holding_the_organisers_secret_still_proves_it(shared_server):
    """Only the browser's cookie is left behind: a secret sent on purpose is a secret."""
    script = _connect(shared_server, SIGNAGE, "websocket", auth={"token": TOKEN})
    try:
        command = {"room": ROOM, "action": "message", "text": "Depuis la régie"}
        assert script.call("command", command, timeout=5)["ok"] is True
    finally:
        script.disconnect()


def test_allowed_origins_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_ALLOW_ORIGINS", f"{SIGNAGE},https://obs.example")
    srv = Server(tmp_path / "kiosk.db", free_port(), "2023-07-03T10:20").start()
    try:
        for origin in (SIGNAGE, "https://obs.example"):
            response = requests.get(
                f"{srv.url}/api/schedule", headers={"Origin": origin}, timeout=5
            )
            assert response.headers["Access-Control-Allow-Origin"] == origin
            assert response.headers["Content-Encoding"] == "gzip"  # requests asks for it
        client = _connect(srv, SIGNAGE, "websocket")
        client.disconnect()
    finally:
        srv.kill(signal.SIGTERM)
    # the command line's list replaces the environment's
    srv = Server(
        tmp_path / "kiosk.db", free_port(), None, extra=["--allow-origin", "https://obs.example"]
    ).start()
    try:
        response = requests.get(f"{srv.url}/api/schedule", headers={"Origin": SIGNAGE}, timeout=5)
        assert "Access-Control-Allow-Origin" not in response.headers
    finally:
        srv.kill(signal.SIGTERM)


def test_scripts_and_styles_go_gzipped_to_browsers_that_take_them(client):
    import gzip

    plain = client.get("/static/vendor/socket.io/socket.io.min.js")
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    zipped = client.get(
        "/static/vendor/socket.io/socket.io.min.js", headers={"Accept-Encoding": "gzip"}
    )
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.data) == plain.data
    assert len(zipped.data) < len(plain.data) / 2
    tag = zipped.headers["ETag"]
    assert tag != plain.headers["ETag"]
    again = client.get(
        "/static/vendor/socket.io/socket.io.min.js",
        headers={"Accept-Encoding": "gzip", "If-None-Match": tag},
    )
    assert (again.status_code, again.data) == (304, b"")
    css = client.get("/static/css/programme.css", headers={"Accept-Encoding": "gzip"})
    assert css.headers["Content-Encoding"] == "gzip"
