"""Welcome-desk API through Flask's test client: statuses, roles, rate limit, bad input."""

from __future__ import annotations

import sqlite3

import pytest

from kiosk import attendees as people
from kiosk import db as database
from kiosk.push import flush_attendance
from kiosk.web import CSP, socketio

from .conftest import KIOSK_TOKEN, TOKEN

KIOSK = {"Authorization": f"Bearer {KIOSK_TOKEN}", "X-Kiosk-Device": "kiosque 2"}
ORG = {"Authorization": f"Bearer {TOKEN}"}
DUPONT = {
    "civility": "Mme",
    "first_name": "Camille",
    "last_name": "Dupont",
    "organisation": "Ville de Lyon",
    "function": "Adjointe au maire",
    "category": "elu",
}


@pytest.fixture
def guests(app, clock):
    """Two pre-registered guests; returns their codes by last name."""
    db = database.connect(app.config["DATABASE"])
    codes = {}
    with database.transaction(db):
        for fields, vip in (
            (DUPONT, False),
            (
                {
                    **DUPONT,
                    "civility": "M.",
                    "first_name": "François",
                    "last_name": "Hollande",
                    "function": "Ancien Président de la République",
                },
                None,
            ),
        ):
            row = people.record(people.clean_fields(fields), "imported", clock.now(), vip=vip)
            db["attendees"].insert(row)
            codes[fields["last_name"]] = row["code"]
    return codes


LOG = ("checkin_log", "sqlite_sequence")


def dump(app, skip=()) -> dict:
    """Every table's rows (but `skip`): the database before and after a request."""
    conn = sqlite3.connect(app.config["DATABASE"])
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    return {
        t: sorted(map(repr, conn.execute(f"SELECT * FROM {t}").fetchall()))
        for t in tables
        if t not in skip
    }


def log_count(app) -> int:
    conn = sqlite3.connect(app.config["DATABASE"])
    return conn.execute("SELECT COUNT(*) FROM checkin_log").fetchone()[0]


def test_checkin_statuses(client, guests, clock):
    first = client.post("/api/checkin", json={"code": guests["Dupont"]}, headers=KIOSK)
    assert first.status_code == 200
    body = first.get_json()
    assert body["status"] == "checked_in"
    assert body["attendee"] == {"display_name": "Mme Dupont"}
    assert body["message"] == "Bienvenue, Mme Dupont"
    assert body["checked_in_at"] == "2023-07-03T08:20:00+00:00"
    clock.set("10:40")
    again = client.post("/api/checkin", json={"code": guests["Dupont"]}, headers=ORG)
    assert again.status_code == 200
    assert again.get_json()["status"] == "already_checked_in"
    assert again.get_json()["message"] == "Déjà enregistré·e à 10 h 20 (kiosque 2)"
    unknown = client.post("/api/checkin", json={"code": people.new_code()}, headers=KIOSK)
    assert (unknown.status_code, unknown.get_json()["status"]) == (404, "unknown")
    assert unknown.get_json()["message"] == "Code inconnu — adressez-vous à l’accueil"
    assert "attendee" not in unknown.get_json()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{not json",
        b"[]",
        b'{"code": 5}',
        b'{"kode": "x"}',
        b'{"code": "<script>alert(1)</script>"}',
    ],
)
def test_malformed_body_is_400_invalid(client, app, guests, body):
    before, logged = dump(app, LOG), log_count(app)
    response = client.post(
        "/api/checkin", data=body, headers={**KIOSK, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["status"] == "invalid"
    assert log_count(app) == logged + 1  # the attempt is logged, nothing else written
    assert dump(app, LOG) == before


def unknown(client, name="kiosque 2", address="192.0.2.10"):
    """An unknown code, well formed, from a kiosk at that address under that name."""
    return client.post(
        "/api/checkin",
        json={"code": people.new_code()},
        headers={**KIOSK, "X-Kiosk-Device": name},
        environ_base={"REMOTE_ADDR": address},
    )


def scan(client, code, name="kiosque 2", address="192.0.2.10"):
    return client.post(
        "/api/checkin",
        json={"code": code},
        headers={**KIOSK, "X-Kiosk-Device": name},
        environ_base={"REMOTE_ADDR": address},
    )


def test_unknown_codes_are_limited_per_client_whatever_name_it_sends(client, ticker):
    # Renaming the kiosk at every scan was a fresh allowance each time.
    for n in range(10):
        assert unknown(client, name=f"kiosque {n}").status_code == 404
    limited = unknown(client, name="a new name")
    assert limited.status_code == 429
    assert limited.get_json()["status"] == "rate_limited"
    assert limited.headers["Retry-After"] == "60"
    ticker.advance(30)
    assert unknown(client).headers["Retry-After"] == "30"
    ticker.advance(30)  # the first ten have left the minute
    assert unknown(client).status_code == 404


def test_a_valid_code_is_checked_in_even_after_many_unknown_ones(client, guests):
    for _ in range(12):
        unknown(client)
    assert unknown(client).status_code == 429
    welcome = scan(client, guests["Dupont"])
    assert (welcome.status_code, welcome.get_json()["status"]) == (200, "checked_in")
    assert scan(client, guests["Dupont"]).get_json()["status"] == "already_checked_in"


def test_one_clients_unknown_codes_do_not_limit_another(client, guests):
    # Someone holding the kiosk secret, using a real kiosk's name from elsewhere.
    for _ in range(20):
        unknown(client, name="kiosque 2", address="198.51.100.7")
    assert unknown(client, name="kiosque 2", address="198.51.100.7").status_code == 429
    assert unknown(client, name="kiosque 2").status_code == 404
    assert scan(client, guests["Hollande"], name="kiosque 2").status_code == 200


def test_text_that_is_not_a_code_is_no_guess(client, guests):
    # The QR codes of posters and Wi-Fi cards: « unreadable », never « wait ».
    for n in range(20):
        answer = scan(client, f"https://example.org/programme?page={n}")
        assert (answer.status_code, answer.get_json()["status"]) == (400, "invalid")
    assert unknown(client).status_code == 404


def test_the_unknown_code_limit_keeps_one_entry_per_client(app, client):
    for n in range(300):
        unknown(client, name=f"kiosque {n}")
    assert len(app.extensions["access"].unknown_codes) == 1


def test_a_code_with_a_spreadsheet_s_apostrophe_checks_in_and_is_no_failure(client, guests):
    """A mail merge that kept a spreadsheet's ' (or a word processor's ’) in the QR code:
    the guest is welcomed, and the kiosk is not slowed down for it."""
    first = client.post("/api/checkin", json={"code": "'" + guests["Dupont"]}, headers=KIOSK)
    assert (first.status_code, first.get_json()["status"]) == (200, "checked_in")
    assert first.get_json()["attendee"] == {"display_name": "Mme Dupont"}
    typographic = client.post(
        "/api/checkin", json={"code": "\u2019" + guests["Hollande"]}, headers=KIOSK
    )
    assert (typographic.status_code, typographic.get_json()["status"]) == (200, "checked_in")
    for _ in range(10):  # ten more scans of the same badge: not ten failures
        again = client.post("/api/checkin", json={"code": "'" + guests["Dupont"]}, headers=KIOSK)
        assert (again.status_code, again.get_json()["status"]) == (200, "already_checked_in")


def test_roles(client, guests):
    assert client.post("/api/checkin", json={"code": guests["Dupont"]}).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (
        client.post("/api/checkin", json={"code": guests["Dupont"]}, headers=wrong).status_code
        == 403
    )
    assert client.post("/api/attendees", json=DUPONT).status_code == 401
    for path in ("/api/attendance", "/api/attendees?q=dupont"):
        assert client.get(path, headers=KIOSK).status_code == 403  # no list for kiosks
        assert client.get(path).status_code == 401
        assert client.get(path, headers=ORG).status_code == 200
    assert client.post("/api/attendees/1/checkin", headers=KIOSK).status_code == 403
    assert (
        client.post("/api/attendees/1/undo", json={"reason": "x"}, headers=KIOSK).status_code == 403
    )


def test_walk_in_created_checked_in_with_qr(client, app):
    response = client.post(
        "/api/attendees", json={**DUPONT, "first_name": "Léa", "last_name": "Martin"}, headers=KIOSK
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "checked_in" and body["message"] == "Bienvenue, Mme Martin"
    assert people.CODE.match(body["code"])
    assert body["qr_url"] == f"/qr/code/{body['code']}.svg"
    qr = client.get(body["qr_url"])
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    again = client.post("/api/checkin", json={"code": body["code"]}, headers=KIOSK)
    assert again.get_json()["status"] == "already_checked_in"
    stats = client.get("/api/attendance", headers=ORG).get_json()
    assert (stats["expected"], stats["checked_in"], stats["walk_ins"]) == (0, 1, 1)


def test_walk_in_matching_a_guest_is_409_names_no_one_and_creates_nothing(client, app, guests):
    before = dump(app, LOG)
    response = client.post(
        "/api/attendees",
        json={**DUPONT, "first_name": "CAMILLE", "organisation": "Autre"},
        headers=KIOSK,
    )
    assert response.status_code == 409
    # The stored record's spelling and organisation stay with the desk.
    assert response.get_json() == {
        "status": 409,
        "error": "existing",
        "message": "Ce nom est déjà inscrit : présentez votre QR code, ou adressez-vous à "
        "l’accueil.",
    }
    assert response.headers["Cache-Control"] == "no-store"
    assert dump(app, LOG) == before


BAD = [
    "",
    "x" * 10_000,
    "<script>alert(1)</script>",
    "'; DROP TABLE attendees; --",
    "😀😀",
    "a\x00b",
    "a\x1bb",
    "1 OR 1=1",
]


WALK_IN_FIELDS = (
    "first_name",
    "last_name",
    "organisation",
    "function",
    "email",
    "civility",
    "category",
)


@pytest.mark.parametrize(
    ("field", "value"),
    # Empty is bad only where a value is required.
    [(f, v) for f in WALK_IN_FIELDS for v in BAD if v or f in ("first_name", "last_name")],
)
def test_bad_input_corpus_on_the_walk_in_form(client, app, field, value):
    before = dump(app)
    response = client.post("/api/attendees", json={**DUPONT, field: value}, headers=KIOSK)
    assert response.status_code == 400, (field, value)
    body = response.get_json()
    assert body["error"] == "invalid" and body["field"] == field
    assert body["message"]
    assert dump(app) == before


@pytest.mark.parametrize("value", BAD + [None, 42, ["a"], {"a": 1}])
def test_bad_input_corpus_on_codes(client, app, guests, value):
    before = dump(app, LOG)
    response = client.post("/api/checkin", json={"code": value}, headers=KIOSK)
    assert response.status_code == 400
    assert response.get_json()["status"] == "invalid"
    assert dump(app, LOG) == before


def test_organiser_search_manual_checkin_and_undo(client, guests):
    found = client.get("/api/attendees?q=francois hollande", headers=ORG).get_json()
    [hollande] = found["attendees"]
    assert hollande["vip"] is True and hollande["checked_in_at"] is None
    assert (
        client.post(f"/api/attendees/{hollande['id']}/checkin", headers=ORG).get_json()["status"]
        == "checked_in"
    )
    refused = client.post(f"/api/attendees/{hollande['id']}/undo", json={}, headers=ORG)
    assert refused.status_code == 400
    undone = client.post(
        f"/api/attendees/{hollande['id']}/undo",
        json={"reason": "badge donné à un collaborateur"},
        headers=ORG,
    )
    assert undone.status_code == 200
    again = client.post(f"/api/attendees/{hollande['id']}/undo", json={"reason": "x"}, headers=ORG)
    assert again.status_code == 409
    assert client.post("/api/attendees/999/checkin", headers=ORG).status_code == 404


def test_kiosk_link_logs_in_and_the_page_shows_no_one(client, guests):
    assert 'name="token"' in client.get("/kiosk").get_data(as_text=True)
    response = client.get(f"/kiosk?token={KIOSK_TOKEN}&device=Entrée%20Nord")
    assert response.status_code == 302 and response.headers["Location"] == "/kiosk"
    response = client.get("/kiosk")
    page = response.get_data(as_text=True)
    assert "Entrée Nord" in page
    # the QR decoder is WebAssembly: this page alone may compile it, under one policy
    policies = response.headers.getlist("Content-Security-Policy")
    assert len(policies) == 1 and "'wasm-unsafe-eval'" in policies[0]
    assert "default-src 'self'" in policies[0]
    assert "Dupont" not in page and "Hollande" not in page
    csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
    no_csrf = client.post("/api/checkin", json={"code": guests["Dupont"]})
    assert no_csrf.status_code == 403
    ok = client.post(
        "/api/checkin", json={"code": guests["Dupont"]}, headers={"X-CSRF-Token": csrf}
    )
    assert ok.get_json()["status"] == "checked_in"
    assert ok.get_json()["kiosk"] == "Entrée Nord"
    assert ok.headers.getlist("Content-Security-Policy") == [CSP]
    assert ok.headers["X-Content-Type-Options"] == "nosniff"
    assert ok.headers["Referrer-Policy"] == "no-referrer"
    # a kiosk session cannot open the organisers' pages or steer the screens
    assert client.get("/organiser/attendees").status_code == 302
    assert client.get("/organiser/attendance.csv").status_code == 302
    assert (
        client.post(
            "/api/rooms/lamartine/next", json={}, headers={"X-CSRF-Token": csrf}
        ).status_code
        == 403
    )
    assert client.get("/kiosk?token=guess").status_code == 403


def test_organiser_pages_and_exports(client, guests):
    client.post("/api/checkin", json={"code": guests["Dupont"]}, headers=KIOSK)
    client.get(f"/organiser?token={TOKEN}")
    assert client.get("/organiser/attendees").status_code == 200
    csv_text = client.get("/organiser/attendance.csv").get_data(as_text=True)
    assert csv_text.startswith("\ufeffNom;Prénom;Organisation;Fonction;Catégorie;Arrivée")
    # Values in the export's language, as its headers: « Élu·e », not the key « elu ».
    assert "Dupont;Camille;Ville de Lyon;Adjointe au maire;Élu·e;2023-07-03 10:20" in csv_text
    sheet = client.get("/organiser/sign-in-sheet").get_data(as_text=True)
    assert sheet.index("Dupont") < sheet.index("Hollande")  # sorted by name
    assert "10 h 20" in sheet
    badges = client.get("/organiser/badges").get_data(as_text=True)
    assert badges.count('class="badge"') == 2
    assert f"/qr/code/{guests['Hollande']}.svg" in badges
    english = client.get("/organiser/attendance.csv?lang=en").get_data(as_text=True)
    assert english.startswith("\ufeffLast name;First name;Organisation;Function;Category;Arrival")
    assert "Dupont;Camille;Ville de Lyon;Adjointe au maire;Elected official;" in english


def test_counters_and_vip_alerts_are_pushed_to_organisers_only(app, client, guests):
    client.get(f"/organiser?token={TOKEN}")
    organiser = socketio.test_client(app, flask_test_client=client)
    assert organiser.emit("watch_attendance", callback=True) == {"ok": True}
    public = socketio.test_client(app)
    assert public.emit("watch_attendance", callback=True)["status"] == 403
    organiser.get_received(), public.get_received()
    db = database.connect(app.config["DATABASE"])
    client.post("/api/checkin", json={"code": guests["Hollande"]}, headers=KIOSK)
    assert flush_attendance(app.extensions["kiosk"], db) is True
    assert flush_attendance(app.extensions["kiosk"], db) is False  # nothing new since
    received = {m["name"]: m["args"][0] for m in organiser.get_received()}
    assert received["attendance"]["checked_in"] == 1
    assert received["vip"]["display_name"] == "M. François Hollande"
    assert public.get_received() == []
    organiser.disconnect()
    # with no organiser page open, a check-in costs no counting at all
    client.post("/api/checkin", json={"code": guests["Dupont"]}, headers=KIOSK)
    assert flush_attendance(app.extensions["kiosk"], db) is False


def test_qr_of_a_non_code_is_400(client):
    assert client.get("/qr/code/<b>.svg").status_code in (400, 404)
    assert client.get("/qr/code/short.svg").status_code == 400


@pytest.mark.parametrize(
    ("lang", "field", "value", "message"),
    [
        ("fr", "first_name", "", "Le prénom est obligatoire."),
        ("fr", "function", "x" * 300, "La fonction dépasse 240 caractères."),
        ("fr", "email", "camille@", "L’adresse e-mail n’est pas valide."),
        ("en", "first_name", "", "The first name is required."),
        ("en", "category", "astronaute", "The category is not one of the event's categories."),
    ],
)
def test_walk_in_refusals_read_as_sentences(client, lang, field, value, message):
    """« Prénom : est obligatoire » read like a form's debug output, not French."""
    response = client.post(
        f"/api/attendees?lang={lang}", json={**DUPONT, field: value}, headers=KIOSK
    )
    assert response.status_code == 400
    assert response.get_json()["message"] == message


def test_wrong_secrets_are_limited_per_address(client, guests, ticker):
    wrong = {"Authorization": "Bearer not-the-secret"}
    for _ in range(10):
        assert client.post("/api/checkin", json={}, headers=wrong).status_code == 403
    limited = client.post("/api/checkin", json={"code": guests["Dupont"]}, headers=KIOSK)
    # refused right or wrong: the answer must not tell which guess works
    assert limited.status_code == 429
    assert limited.get_json()["error"] == "rate_limited"
    assert limited.headers["Retry-After"] == "60"
    assert client.get(f"/organiser?token={TOKEN}").status_code == 429
    assert client.get(f"/kiosk?token={KIOSK_TOKEN}").status_code == 429
    other = client.post(
        "/api/checkin",
        json={"code": guests["Dupont"]},
        headers=KIOSK,
        environ_base={"REMOTE_ADDR": "192.0.2.99"},
    )
    assert other.status_code == 200  # another address is not held up
    ticker.advance(60)
    assert client.get(f"/kiosk?token={KIOSK_TOKEN}").status_code == 302


def test_wrong_links_and_login_forms_count_as_wrong_secrets(client):
    page = client.get("/organiser").get_data(as_text=True)
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    for n in range(3):
        assert client.get(f"/organiser?token=guess{n}").status_code == 403
        assert client.get(f"/kiosk?token=guess{n}").status_code == 403
    for n in range(4):
        form = {"token": f"guess{n}", "csrf": csrf}
        assert client.post("/organiser/login", data=form).status_code == 403
    login = client.post("/organiser/login", data={"token": TOKEN, "csrf": csrf})
    assert login.status_code == 429 and login.headers["Retry-After"] == "60"
    assert "429" in login.get_data(as_text=True)


def test_a_walk_ins_typed_function_raises_no_vip_alert(app, client):
    client.get(f"/organiser?token={TOKEN}")
    organiser = socketio.test_client(app, flask_test_client=client)
    assert organiser.emit("watch_attendance", callback=True) == {"ok": True}
    organiser.get_received()
    walk_in = {
        **DUPONT,
        "civility": "M.",
        "first_name": "Jean",
        "last_name": "Imposteur",
        "function": "Président de la République",
    }
    assert client.post("/api/attendees", json=walk_in, headers=KIOSK).status_code == 201
    assert [m["name"] for m in organiser.get_received()] == []
    [found] = client.get("/api/attendees?q=imposteur", headers=ORG).get_json()["attendees"]
    assert found["vip"] is False


def test_walk_ins_are_limited_per_kiosk(client, ticker):
    def register(n, headers=KIOSK, address="192.0.2.10"):
        person = {**DUPONT, "first_name": "Léa", "last_name": f"Martin {chr(97 + n)}"}
        return client.post(
            "/api/attendees", json=person, headers=headers, environ_base={"REMOTE_ADDR": address}
        )

    for n in range(9):
        assert register(n).status_code == 201
    # a name already registered counts too: the form is no way to test a list of names
    assert register(0).status_code == 409
    limited = register(10)
    assert limited.status_code == 429
    assert limited.get_json()["error"] == "rate_limited"
    assert limited.headers["Retry-After"] == "300"
    assert register(11, address="192.0.2.11").status_code == 201  # another kiosk
    assert register(12, headers=ORG).status_code == 201  # organisers are not limited
    ticker.advance(300)
    assert register(13).status_code == 201


def test_a_kiosk_link_in_an_organisers_browser_asks_before_switching(app, client):
    client.get(f"/organiser?token={TOKEN}")
    organiser_cookie = client.get_cookie("session").value
    link = client.get(f"/kiosk?token={KIOSK_TOKEN}&device=Entrée%20Nord")
    assert link.status_code == 302 and link.headers["Location"] == "/kiosk/switch"
    asked = client.get("/kiosk/switch")
    page = asked.get_data(as_text=True)
    assert "Ce navigateur est connecté en tant qu’organisateur." in page
    assert "« Entrée Nord »" in page and KIOSK_TOKEN not in page
    assert client.get("/organiser/attendees").status_code == 200  # nothing changed yet
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    assert client.post("/kiosk/switch", data={}).status_code == 200  # no CSRF: asked again
    assert client.get("/organiser/attendees").status_code == 200
    switched = client.post("/kiosk/switch", data={"csrf": csrf})
    assert switched.status_code == 302 and switched.headers["Location"] == "/kiosk"
    assert "Entrée Nord" in client.get("/kiosk").get_data(as_text=True)
    assert client.get("/organiser/attendees").status_code == 302  # no longer an organiser
    assert client.get("/kiosk/switch").status_code == 302  # nothing left to ask
    # the organiser session it replaced is over for any copy of its cookie, too
    copy = app.test_client()
    copy.set_cookie("session", organiser_cookie)
    assert copy.get("/api/attendees?q=").status_code == 401


def test_answers_naming_guests_are_not_stored_by_browsers(client, guests):
    walk_in = client.post(
        "/api/attendees", json={**DUPONT, "first_name": "Léa", "last_name": "Martin"}, headers=KIOSK
    )
    answers = [
        client.post("/api/checkin", json={"code": guests["Dupont"]}, headers=KIOSK),
        client.post("/api/checkin", json={"code": people.new_code()}, headers=KIOSK),
        walk_in,
        client.get(walk_in.get_json()["qr_url"]),
        client.get("/api/attendees?q=dupont", headers=ORG),
        client.get("/api/attendance", headers=ORG),
    ]
    client.get(f"/organiser?token={TOKEN}")
    for path in (
        "/organiser/attendees",
        "/organiser/attendance.csv",
        "/organiser/sign-in-sheet",
        "/organiser/badges",
        "/organiser",
        "/kiosk",
    ):
        answers.append(client.get(path))
    for response in answers:
        assert response.status_code in (200, 201, 404), response.request.path
        assert response.headers.getlist("Cache-Control") == ["no-store"], response.request.path
    # what holds no one's data may still be cached as before
    assert client.get("/qr/programme.svg").headers["Cache-Control"] == "public, max-age=300"
    assert "no-store" not in client.get("/static/js/live.js").headers["Cache-Control"]


@pytest.mark.parametrize(
    ("scanned", "message"),
    [
        (
            "https://www.citesunies.fr/agenda",
            "Ce QR code n’est pas un billet de cet événement — adressez-vous à l’accueil",
        ),
        ("WIFI:S:Lamartine;T:WPA;P:secret;;", None),  # a venue's Wi-Fi code: read, no ticket
        ("", "Code illisible — scannez à nouveau ou adressez-vous à l’accueil"),
        ("\x00\x1b", "Code illisible — scannez à nouveau ou adressez-vous à l’accueil"),
    ],
)
def test_a_qr_code_read_but_not_a_ticket_says_so(client, guests, scanned, message):
    """« Code illisible » for a web address the camera read perfectly well was untrue."""
    response = client.post("/api/checkin", json={"code": scanned}, headers=KIOSK)
    assert response.status_code == 400
    body = response.get_json()
    assert body["status"] == "invalid"
    not_a_ticket = "Ce QR code n’est pas un billet de cet événement — adressez-vous à l’accueil"
    assert body["message"] == (message or not_a_ticket)


def test_a_badge_prints_a_category_label_kept_from_an_import(app, client, clock):
    """An export's free label (« Invitée d'honneur ») is kept by the import: the badge
    prints it as written, and a kiosk category in the reader's language."""
    db = database.connect(app.config["DATABASE"])
    with database.transaction(db):
        for category in ("Invitée d'honneur", "elu"):
            fields = people.clean_fields({**DUPONT, "last_name": f"Dupont {len(category)}"})
            fields["category"] = category  # as the import keeps a label it does not know
            db["attendees"].insert(people.record(fields, "imported", clock.now(), vip=False))
    client.get(f"/organiser?token={TOKEN}")
    badges = client.get("/organiser/badges").get_data(as_text=True)
    assert '<p class="b-category">Invitée d&#39;honneur</p>' in badges
    assert '<p class="b-category">Élu·e</p>' in badges
