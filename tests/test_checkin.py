"""Check-in rules on a real SQLite file: idempotence, the database as the guard, the log."""

from __future__ import annotations

import datetime as dt
import string
import threading

import pytest

from kiosk import attendees as people
from kiosk import checkin
from kiosk import db as database
from kiosk.attendees import InvalidField
from kiosk.checkin import ALREADY, ExistingAttendee

from .conftest import PARIS, at

DUPONT = {
    "civility": "Mme",
    "first_name": "Camille",
    "last_name": "Dupont",
    "organisation": "Ville de Lyon",
    "function": "Adjointe",
    "category": "elu",
}


@pytest.fixture
def db_path(tmp_path):
    path = str(tmp_path / "desk.db")
    database.migrate(database.connect(path))
    return path


@pytest.fixture
def db(db_path):
    return database.connect(db_path)


def add(db, fields=DUPONT, source="imported", now=None):
    row = people.record(people.clean_fields(fields), source, now or at("08:00"))
    with database.transaction(db):
        attendee_id = db["attendees"].insert(row).last_pk
    return people.get(db, attendee_id)


def log(db):
    return [
        tuple(r)
        for r in db.execute(
            "SELECT kiosk, outcome, attendee_id FROM checkin_log ORDER BY id"
        ).fetchall()
    ]


def test_first_scan_checks_in_and_greets_by_civility_and_name(db):
    dupont = add(db)
    result = checkin.check_in(db, dupont.code, "kiosque 1", at("08:47"))
    assert result.status == "checked_in"
    assert result.attendee.display_name == "Mme Dupont"
    assert result.checked_in_at == at("08:47")
    assert result.kiosk == "kiosque 1"
    stored = db.execute("SELECT checked_in_at FROM attendees").fetchone()[0]
    assert stored == "2023-07-03T06:47:00+00:00"  # UTC in the database


def test_second_scan_reports_the_first_time_and_kiosk(db):
    dupont = add(db)
    checkin.check_in(db, dupont.code, "kiosque 2", at("08:47"))
    again = checkin.check_in(db, dupont.code, "kiosque 1", at("09:10"))
    assert (again.status, again.checked_in_at.astimezone(PARIS), again.kiosk) == (
        "already_checked_in",
        at("08:47"),
        "kiosque 2",
    )
    assert db.execute("SELECT COUNT(checked_in_at) FROM attendees").fetchone()[0] == 1


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("", "malformed"),
        ("   ", "malformed"),
        (None, "malformed"),
        (42, "malformed"),
        ("abc\x00def" * 4, "malformed"),
        # read well enough, but no ticket of ours: the guest is told so
        ("x", "not_a_ticket"),
        ("<script>", "not_a_ticket"),
        ("a" * 10_000, "not_a_ticket"),
        ("'; DROP TABLE attendees; --", "not_a_ticket"),
        ("😀" * 20, "not_a_ticket"),
        ("https://www.citesunies.fr/agenda", "not_a_ticket"),
    ],
)
def test_malformed_codes_are_refused_and_logged(db, code, status):
    add(db)
    assert checkin.check_in(db, code, "k", at("09:00")).status == status
    assert log(db)[-1] == ("k", "malformed", None)
    assert db.execute("SELECT COUNT(*) FROM attendees").fetchone()[0] == 1


def test_unknown_code_is_logged(db):
    assert checkin.check_in(db, people.new_code(), "k", at("09:00")).status == "unknown"
    assert log(db) == [("k", "unknown", None)]


def test_every_attempt_is_logged_and_the_log_is_append_only(db):
    dupont = add(db)
    checkin.check_in(db, dupont.code, "k1", at("08:47"))
    checkin.check_in(db, dupont.code, "k2", at("08:48"))
    checkin.undo(db, dupont.id, "organiser", "wrong person", at("08:50"))
    checkin.check_in_by_id(db, dupont.id, "organiser", at("08:51"))
    assert log(db) == [
        ("k1", "checked_in", dupont.id),
        ("k2", "already_checked_in", dupont.id),
        ("organiser", "undone", dupont.id),
        ("organiser", "manual", dupont.id),
    ]
    reason = db.execute("SELECT detail FROM checkin_log WHERE outcome = 'undone'").fetchone()
    assert reason[0] == "wrong person"
    with pytest.raises(Exception, match="append-only"):
        db.execute("DELETE FROM checkin_log")
    with pytest.raises(Exception, match="append-only"):
        db.execute("UPDATE checkin_log SET outcome = 'x'")


def test_undo_needs_a_reason_and_a_check_in(db):
    dupont = add(db)
    with pytest.raises(checkin.CheckinError) as error:
        checkin.undo(db, dupont.id, "organiser", "because", at("09:00"))
    assert error.value.code == "not_checked_in"
    checkin.check_in(db, dupont.code, "k", at("08:47"))
    with pytest.raises(checkin.CheckinError) as error:
        checkin.undo(db, dupont.id, "organiser", "  ", at("09:00"))
    assert error.value.code == "invalid"
    assert db.execute("SELECT COUNT(checked_in_at) FROM attendees").fetchone()[0] == 1


def test_same_code_at_eight_kiosks_at_once_checks_in_exactly_once(db, db_path):
    dupont = add(db)
    barrier = threading.Barrier(8)
    results = []

    def kiosk(n):
        conn = database.connect(db_path)
        barrier.wait()
        results.append(checkin.check_in(conn, dupont.code, f"kiosque {n}", at("08:47")).status)

    threads = [threading.Thread(target=kiosk, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["already_checked_in"] * 7 + ["checked_in"]
    assert db.execute("SELECT COUNT(checked_in_at) FROM attendees").fetchone()[0] == 1


def test_eight_kiosks_with_different_codes_never_lock(db, db_path):
    guests = [
        add(db, {**DUPONT, "first_name": f"Guest {chr(65 + i // 26)}{chr(97 + i % 26)}"})
        for i in range(80)
    ]
    barrier = threading.Barrier(8)
    errors, statuses = [], []

    def kiosk(n):
        conn = database.connect(db_path)
        barrier.wait()
        for guest in guests[n::8]:
            try:
                statuses.append(checkin.check_in(conn, guest.code, f"k{n}", at("08:47")).status)
            except Exception as exc:  # "database is locked" would land here
                errors.append(exc)

    threads = [threading.Thread(target=kiosk, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert statuses == ["checked_in"] * 80


def test_hyphens_and_spaces_do_not_make_another_person():
    assert people.name_key("Jean-Pierre", "Martin") == people.name_key("jean pierre", "MARTIN")
    assert people.name_key("Jean-Pierre", "Martin") == people.name_key("Jeanpierre", "Martin")


def test_walk_in_is_created_checked_in_and_marked(db):
    result = checkin.register_walk_in(
        db,
        {**DUPONT, "first_name": "Léa", "last_name": "Martin", "email": ""},
        "kiosque 1",
        at("09:05"),
    )
    assert result.status == "checked_in"
    assert (result.attendee.source, result.attendee.full_name) == ("walk-in", "Léa Martin")
    assert people.CODE.match(result.attendee.code)
    assert log(db) == [("kiosque 1", "walk_in", result.attendee.id)]


def test_walk_ins_flagged_vip_before_are_not_any_more(tmp_path):
    """Migration 0008: walk-ins stored as VIPs from the function they typed."""
    path = str(tmp_path / "old.db")
    old = database.connect(path)
    done = [name for name, _step in database.MIGRATIONS[:7]]
    with database.transaction(old):
        for _name, step in database.MIGRATIONS[:7]:
            step(old)
        old["migrations"].insert_all({"name": n, "applied_at": "2023-07-03"} for n in done)
    fields = {**DUPONT, "first_name": "Jean", "last_name": "Imposteur", "function": "Député"}
    for source in ("walk-in", "imported"):
        row = people.record(fields, source, at("09:00"))
        old["attendees"].insert({**row, "vip": 1})
    assert database.migrate(old) == ["0008_walk_ins_are_not_vips", "0009_running_order_and_timers"]
    vips = old.execute("SELECT source, vip FROM attendees ORDER BY source").fetchall()
    assert vips == [("imported", 1), ("walk-in", 0)]


def test_a_walk_in_is_never_a_vip_on_its_own_say_so(db):
    """Anyone may type « Président de la République » at the kiosk: the organisers'
    VIP alert and the exports' VIP column are for guests they registered."""
    walk_in = {**DUPONT, "first_name": "Jean", "last_name": "Imposteur"}
    walk_in["function"] = "Président de la République"
    result = checkin.register_walk_in(db, walk_in, "kiosque 1", at("09:05"))
    assert result.attendee.vip is False
    assert db.execute("SELECT vip FROM attendees WHERE last_name = 'Imposteur'").fetchone() == (0,)


@pytest.mark.parametrize(
    ("first", "last"),
    [("Gregory", "Doucet"), ("GRÉGORY", "doucet"), ("Grégory", "Doucet"), ("Grégory", "DOUCET ")],
)
def test_walk_in_matching_a_registered_name_points_to_it(db, first, last):
    doucet = add(db, {**DUPONT, "civility": "M.", "first_name": "Grégory", "last_name": "Doucet"})
    with pytest.raises(ExistingAttendee) as match:
        checkin.register_walk_in(
            db, {**DUPONT, "first_name": first, "last_name": last}, "kiosque 1", at("09:05")
        )
    assert match.value.attendee.id == doucet.id
    assert db.execute("SELECT COUNT(*) FROM attendees").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(checked_in_at) FROM attendees").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", ""),
        ("last_name", "x" * 10_000),
        ("last_name", "<script>alert(1)</script>"),
        ("last_name", "Robert'); DROP TABLE attendees;--"),
        ("first_name", "Zoé 😀"),
        ("organisation", "Mairie\x00"),
        ("function", "a\u202eb"),
        ("email", "not-an-email"),
        ("category", "astronaute"),
        ("civility", "Sa Majesté"),
        ("organisation", "1 OR 1=1"),
    ],
)
def test_walk_in_bad_fields_are_refused_and_nothing_written(db, field, value):
    with pytest.raises(InvalidField) as error:
        checkin.register_walk_in(db, {**DUPONT, field: value}, "k", at("09:05"))
    assert error.value.field == field
    assert db.execute("SELECT COUNT(*) FROM attendees").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM checkin_log").fetchone()[0] == 0


def test_attendance_counts_by_category_and_arrivals_over_time(db):
    a = add(db)
    b = add(db, {**DUPONT, "first_name": "Jean", "category": "presse"})
    add(db, {**DUPONT, "first_name": "Paul", "category": "presse"})
    checkin.check_in(db, a.code, "k", at("08:47"))
    checkin.check_in(db, b.code, "k", at("08:52"))
    checkin.register_walk_in(db, {**DUPONT, "first_name": "Léa"}, "k", at("09:05"))
    data = checkin.attendance(db, PARIS)
    assert (data["expected"], data["checked_in"], data["walk_ins"]) == (3, 3, 1)
    assert data["by_category"]["presse"] == {"expected": 2, "checked_in": 1, "walk_ins": 0}
    assert data["by_category"]["elu"] == {"expected": 1, "checked_in": 2, "walk_ins": 1}
    assert data["arrivals"] == [
        {"from": "2023-07-03T08:45:00+02:00", "count": 2},
        {"from": "2023-07-03T09:00:00+02:00", "count": 1},
    ]


def test_search_is_accent_and_case_insensitive(db):
    add(db, {**DUPONT, "civility": "M.", "first_name": "Grégory", "last_name": "Doucet"})
    add(db)
    assert [a.last_name for a, _ in checkin.search(db, "gregory")] == ["Doucet"]
    assert [a.last_name for a, _ in checkin.search(db, "LYON doucet")] == ["Doucet"]
    assert [a.last_name for a, _ in checkin.search(db, "")] == ["Doucet", "Dupont"]
    assert checkin.search(db, "marseille") == []
    assert len(checkin.search(db, "%")) == 2  # punctuation alone filters nothing


def test_fold_writes_the_ligatures_out():
    assert people.fold("Œuvray") == people.fold("OEUVRAY") == "oeuvray"
    assert people.fold("Lætitia") == people.fold("LAETITIA") == "laetitia"
    assert people.fold("Cœur de Savoie") == "coeur de savoie"
    assert people.fold("Straße") == people.fold("STRASSE") == "strasse"
    assert people.name_key("Loïc", "Œuvray") == people.name_key("Loic", "Oeuvray")


def test_search_finds_a_name_with_a_ligature_typed_either_way(db):
    add(db, {**DUPONT, "first_name": "Loïc", "last_name": "Œuvray"})
    add(db, {**DUPONT, "first_name": "Lætitia", "organisation": "CC Cœur de Savoie"})
    for query, found in [
        ("oeuvray", ["Œuvray"]),
        ("Œuvray", ["Œuvray"]),
        ("OEUVRAY loic", ["Œuvray"]),
        ("laetitia", ["Dupont"]),
        ("Lætitia", ["Dupont"]),
        ("coeur de savoie", ["Dupont"]),
        ("cœur", ["Dupont"]),
    ]:
        assert [a.last_name for a, _ in checkin.search(db, query)] == found, query


def test_a_name_with_a_ligature_is_one_person_either_way(db):
    oeuvray = add(db, {**DUPONT, "civility": "M.", "first_name": "Loïc", "last_name": "Œuvray"})
    with pytest.raises(ExistingAttendee) as match:
        checkin.register_walk_in(
            db, {**DUPONT, "first_name": "Loic", "last_name": "Oeuvray"}, "k", at("09:05")
        )
    assert match.value.attendee.id == oeuvray.id
    report = people.import_csv(
        db, "Prénom;Nom;Organisation\nLoic;OEUVRAY;Ville de Lyon\n".encode(), at("09:10")
    )
    assert (report.created, report.already_present) == (0, 1)
    assert db.execute("SELECT COUNT(*) FROM attendees").fetchone()[0] == 1


def test_keys_stored_before_fold_wrote_ligatures_out_are_folded_again_by_a_migration(tmp_path):
    old = database.connect(str(tmp_path / "old.db"))
    keep = database.MIGRATIONS
    try:
        database.MIGRATIONS = keep[:5]  # the database as it was up to 0005
        database.migrate(old)
    finally:
        database.MIGRATIONS = keep
    oeuvray = add(old, {**DUPONT, "first_name": "Lætitia", "last_name": "Œuvray"})
    # the keys fold() stored then: œ and æ kept (casefold only lowered Œ and Æ)
    old.execute(
        "UPDATE attendees SET name_key = 'lætitiaœuvray', org_key = 'cœur de savoie' WHERE id = ?",
        [oeuvray.id],
    )
    database.migrate(old)
    keys = old.execute("SELECT name_key, org_key FROM attendees").fetchone()
    assert tuple(keys) == ("laetitiaoeuvray", "coeur de savoie")
    assert [a.id for a, _ in checkin.search(old, "oeuvray coeur")] == [oeuvray.id]
    assert [a.id for a in people.find_by_name(old, "Lætitia", "Œuvray")] == [oeuvray.id]


def test_purge_deletes_personal_data_and_keeps_counts(db, db_path):
    a = add(db)
    b = add(db, {**DUPONT, "first_name": "Jean", "category": "presse"})
    checkin.check_in(db, a.code, "k", at("08:47"))
    checkin.check_in(db, b.code, "k", at("08:48"))
    checkin.undo(db, b.id, "organiser", "scanned for Jean Dupont by mistake", at("08:49"))
    before = checkin.attendance(db, PARIS)
    assert checkin.purge(db, at("18:00")) == 2
    assert db.execute("SELECT COUNT(*) FROM attendees").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(checked_in_at) FROM attendees").fetchone()[0] == 0
    after = checkin.attendance(db, PARIS)
    assert (after["expected"], after["checked_in"]) == (before["expected"], before["checked_in"])
    assert after["by_category"] == before["by_category"]
    for path in (db_path, db_path + "-wal"):
        with open(path, "rb") as f:
            assert b"Dupont" not in f.read(), path
    assert [r[0] for r in db.execute("SELECT outcome FROM checkin_log")] == [
        "checked_in",
        "checked_in",
        "undone",
        "purged",
    ]
    with pytest.raises(Exception, match="append-only"):  # and append-only again
        db.execute("UPDATE checkin_log SET outcome = 'x'")


def test_limiter_blocks_a_device_after_ten_failures_in_a_minute():
    limiter = checkin.FailureLimiter(limit=10, window=60)
    for second in range(10):
        assert not limiter.blocked("k1", second)
        limiter.failed("k1", second)
    assert limiter.blocked("k1", 10)
    assert not limiter.blocked("k2", 10)  # per device
    assert not limiter.blocked("k1", 61)  # the window slides


def test_rate_limiter_keeps_nothing_for_devices_without_recent_failures():
    limiter = checkin.FailureLimiter(limit=10, window=60)
    for n in range(1000):  # a thousand devices that only ever scan good codes
        assert not limiter.blocked(f"kiosk {n}", 0)
    limiter.failed("k1", 0)
    assert list(limiter._failures) == ["k1"]
    assert not limiter.blocked("k1", 61)  # its failure has left the window...
    assert limiter._failures == {}  # ...and so has its entry


def test_limiter_memory_is_bounded_whatever_clients_send():
    limiter = checkin.FailureLimiter(limit=10, window=60, clients=100)
    for n in range(40_000):  # a client making up a new name for every failure
        limiter.failed(("192.0.2.1", f"kiosque {n}"), 0)
    assert len(limiter) == 100
    # the most recent are kept, with at most `limit` times each
    assert limiter.blocked(("192.0.2.1", "kiosque 39999"), 1) is False
    for _ in range(50):
        limiter.failed("k1", 0)
    assert len(limiter._failures["k1"]) == 10
    assert limiter.blocked("k1", 59.5) and not limiter.blocked("k1", 60)


def test_limiter_says_how_long_to_wait():
    limiter = checkin.FailureLimiter(limit=3, window=60)
    for second in (0, 10, 20):
        assert limiter.retry_after("k1", second) == 0
        limiter.failed("k1", second)
    assert limiter.retry_after("k1", 20) == 40
    assert limiter.retry_after("k1", 59) == 1
    assert limiter.retry_after("k1", 60) == 0  # the first has left the window


def test_codes_are_long_random_and_distinct():
    codes = {people.new_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(len(c) == 24 and people.CODE.match(c) for c in codes)  # 144 bits


def test_codes_start_with_a_letter_or_digit_never_with_what_spreadsheets_compute():
    # 10,000 codes: with the 64 characters of URL-safe base64 in first place, about 312
    # would start with - or _ (a spreadsheet computes a cell starting with -).
    firsts = {people.new_code()[0] for _ in range(10_000)}
    assert firsts <= set(string.ascii_letters + string.digits)
    assert len(firsts) == 62  # and any of them can


@pytest.mark.parametrize("mark", ["'", "’", "‘", "  '"])
def test_a_code_a_spreadsheet_prefixed_with_an_apostrophe_checks_its_guest_in(db, mark):
    """A spreadsheet's text mark (or the typographic one a word processor makes of it)
    carried into the QR code by a mail merge is not part of the code: no code has one."""
    dupont = add(db)
    result = checkin.check_in(db, mark + dupont.code, "kiosque 1", at("08:47"))
    assert (result.status, result.attendee.id) == ("checked_in", dupont.id)
    assert log(db) == [("kiosque 1", "checked_in", dupont.id)]


def test_a_legacy_code_starting_with_a_hyphen_checks_in_with_or_without_the_mark(db):
    dupont, martin = add(db), add(db, {**DUPONT, "first_name": "Paul", "last_name": "Martin"})
    db.execute("UPDATE attendees SET code = '-8vJx2kQpZr4TnWc7YbLd0sE' WHERE id = ?", [dupont.id])
    db.execute("UPDATE attendees SET code = '-Qm3_Hn5Rt8Vw1Xy4Zb6Cd9F' WHERE id = ?", [martin.id])
    assert checkin.check_in(db, "-8vJx2kQpZr4TnWc7YbLd0sE", "k", at("08:47")).status == "checked_in"
    assert (
        checkin.check_in(db, "'-Qm3_Hn5Rt8Vw1Xy4Zb6Cd9F", "k", at("08:48")).status == "checked_in"
    )


@pytest.mark.parametrize("marks", ["''", "’’", "'’", "' ", "´"])
def test_only_one_apostrophe_right_before_the_code_is_a_spreadsheet_mark(db, marks):
    dupont = add(db)
    assert checkin.check_in(db, marks + dupont.code, "k", at("08:47")).status == "not_a_ticket"
    assert checkin.check_in(db, "'", "k", at("08:47")).status == "malformed"


def test_checkin_time_is_utc_whatever_the_clock_zone(db):
    dupont = add(db)
    moment = dt.datetime(2023, 7, 3, 6, 47, tzinfo=dt.UTC)
    assert checkin.check_in(db, dupont.code, "k", moment).checked_in_at == moment


def test_migrations_keep_the_log_and_the_checkins_of_an_older_database(tmp_path):
    """A database made before 0004 (log rebuilt) and 0005 (check-in on the attendee's
    row) keeps its log, append-only, and who checked in when, where and how."""
    path = str(tmp_path / "old.db")
    old = database.connect(path)
    keep = database.MIGRATIONS
    try:
        database.MIGRATIONS = keep[:3]  # as the database was before 0004
        database.migrate(old)
    finally:
        database.MIGRATIONS = keep
    dupont, martin = add(old), add(old, {**DUPONT, "first_name": "Paul", "last_name": "Martin"})
    # what the code of that time wrote: a checkins row (its trigger logs it), a log row
    old.execute(
        "INSERT INTO checkins (attendee_id, checked_in_at, kiosk, how) "
        "VALUES (?, '2023-07-03T06:47:00+00:00', 'k1', 'manual')",
        [dupont.id],
    )
    old.execute(
        "INSERT INTO checkin_log (at, kiosk, outcome, detail) "
        "VALUES ('2023-07-03T06:48:00+00:00', 'k2', 'unknown', 'AAAA')"
    )
    before = log(old)
    assert before == [("k1", "manual", dupont.id), ("k2", "unknown", None)]
    assert database.migrate(old) == [
        "0004_log_without_autoincrement",
        "0005_checkin_on_the_attendee_row",
        "0006_fold_ligatures_in_keys",
        "0007_ended_sessions",
        "0008_walk_ins_are_not_vips",
        "0009_running_order_and_timers",
    ]
    assert log(old) == before
    sql = old.execute("SELECT sql FROM sqlite_master WHERE name = 'checkin_log'").fetchone()[0]
    assert "AUTOINCREMENT" not in sql
    assert "checkins" not in old.table_names()
    rows = old.execute(
        "SELECT id, checked_in_at, checked_in_by, checked_in_how FROM attendees ORDER BY id"
    ).fetchall()
    assert rows == [
        (dupont.id, "2023-07-03T06:47:00+00:00", "k1", "manual"),
        (martin.id, None, None, None),
    ]
    again = checkin.check_in(old, dupont.code, "k3", at("08:50"))
    assert (again.status, again.kiosk, again.checked_in_at) == (ALREADY, "k1", at("08:47"))
    checkin.undo(old, dupont.id, "organiser", "test", at("08:51"))
    checkin.check_in(old, dupont.code, "k4", at("08:52"))  # the new trigger logs it
    assert log(old)[-3:] == [
        ("k3", "already_checked_in", dupont.id),
        ("organiser", "undone", dupont.id),
        ("k4", "checked_in", dupont.id),
    ]
    with pytest.raises(Exception, match="append-only"):
        old.execute("DELETE FROM checkin_log")
