"""The record of the day, from what the room's commands left in SQLite (fake clock)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from kiosk import db as database
from kiosk import report
from kiosk.i18n import translator
from kiosk.live import LiveStore

from .conftest import TOKEN, at, run_kiosk

ROOM = "lamartine"
HARFOUCHE, TROUSSEL, GALLET, ODDO, DEBATE = (f"session-3-{i}" for i in range(1, 6))


@pytest.fixture
def db(tmp_path):
    db = database.connect(str(tmp_path / "kiosk.db"))
    database.migrate(db)
    return db


@pytest.fixture
def store(db, schedule):
    return LiveStore(db, schedule)


def run(store, hhmm, action, **args):
    return store.perform(ROOM, action, args, at(hhmm))


def replay_session_3(store):
    """Session 3 of 3 July 2023 as it happened: Gallet before Troussel, 7-minute budgets,
    Troussel three minutes over."""
    run(store, "14:20", "times", session="session-3", turn_minutes=7)
    run(store, "14:30", "goto", session="session-3")  # Harfouche, the first to come
    run(store, "14:37", "goto", session="session-3", turn=GALLET)
    run(store, "14:44", "next")  # Troussel: still to come, whatever the jump
    run(store, "14:54", "next")  # Oddo
    run(store, "15:01", "next")  # the debate
    run(store, "15:08", "pause", until="16:30")


def block_of(built, block_id):
    (room,) = built.rooms
    return next(b for b in room.blocks if b.id == block_id)


def rows(block):
    return [
        (
            t.label,
            t.status,
            t.flags,
            report.clock(t.planned_start),
            report.clock(t.planned_end),
            report.clock(t.actual_start),
            report.clock(t.actual_end),
            t.planned_minutes,
            t.actual_minutes,
            t.overrun_minutes,
        )
        for t in block.turns
    ]


def test_replay_of_session_3_lists_the_turns_as_heard_with_their_figures(db, store, schedule):
    replay_session_3(store)
    block = block_of(report.build(db, schedule), "session-3")
    assert rows(block) == [
        ("M. Khalil Harfouche", "spoke", (), "14:30", "14:37", "14:30", "14:37", 7, 7.0, 0.0),
        (
            "M. Bertrand Gallet",
            "spoke",
            ("out_of_order",),
            "14:44",
            "14:51",
            "14:37",
            "14:44",
            7,
            7.0,
            0.0,
        ),
        ("M. Stéphane Troussel", "spoke", (), "14:37", "14:44", "14:44", "14:54", 7, 10.0, 3.0),
        ("Mme Benedetta Oddo", "spoke", (), "14:51", "14:58", "14:54", "15:01", 7, 7.0, 0.0),
        ("Débat avec la salle", "spoke", (), "14:58", "15:05", "15:01", "15:08", 7, 7.0, 0.0),
    ]
    # Taken out of order on the day, not moved in the running order: the report says
    # before whom.
    gallet = block.turns[1]
    assert gallet.heard_before == ("M. Stéphane Troussel",)
    assert report.describe(gallet) == "spoke, out of order (before M. Stéphane Troussel)"
    assert (report.clock(block.planned_start), report.clock(block.planned_end)) == (
        "14:30",
        "16:00",
    )
    assert (report.clock(block.actual_start), report.clock(block.actual_end)) == (
        "14:30",
        "15:08",
    )
    (room,) = report.build(db, schedule).rooms
    totals = room.totals
    assert (totals.heard, totals.cancelled, totals.inserted, totals.overrun_minutes) == (
        5,
        0,
        0,
        3.0,
    )
    assert report.clock(totals.actual_end) == "15:08"
    assert report.clock(totals.planned_end) == "17:15"


def test_blocks_are_listed_in_order_and_those_without_turns_have_no_actual_times(
    db, store, schedule
):
    replay_session_3(store)
    (room,) = report.build(db, schedule).rooms
    assert [b.id for b in room.blocks] == [
        "accueil",
        "ouverture",
        "session-1",
        "session-2",
        "pause-dejeuner",
        "session-3",
        "conclusions",
    ]
    accueil = room.blocks[0]
    assert accueil.turns == ()
    assert (accueil.actual_start, accueil.actual_end) == (None, None)
    # Session 1 was not run from the tablet: its turns are there, not heard, no budget.
    first = room.blocks[2].turns[0]
    assert (first.status, first.planned_start, first.actual_minutes) == ("not_heard", None, None)
    assert room.totals.not_heard == sum(len(b.turns) for b in room.blocks) - 5


def test_a_cancelled_turn_an_inserted_one_and_a_moved_one(db, store, schedule):
    run(store, "11:00", "update", turn="session-2-2", cancelled=True)
    run(store, "11:01", "insert", session="session-2", name="Jeanne Remplaçante", civility="Mme")
    inserted = store.created
    run(store, "11:02", "move", turn="session-2-4", to=0)
    run(store, "11:15", "goto", session="session-2")  # session-2-4, first now
    run(store, "11:25", "next")  # session-2-1
    run(store, "11:35", "goto", session="session-2", turn=inserted)
    run(store, "11:40", "auto")
    block = block_of(report.build(db, schedule), "session-2")
    listed = [(t.id, t.status, t.flags) for t in block.turns]
    assert listed[:3] == [
        ("session-2-4", "spoke", ("moved",)),
        ("session-2-1", "spoke", ()),
        (inserted, "spoke", ("inserted",)),
    ]
    assert listed[-1] == ("session-2-2", "cancelled", ())
    assert all(status == "not_heard" for _, status, _ in listed[3:-1])
    (room,) = report.build(db, schedule).rooms
    assert (room.totals.cancelled, room.totals.inserted, room.totals.heard) == (1, 1, 3)


def test_delays_and_messages_are_listed_with_their_times(db, store, schedule):
    run(store, "14:40", "delay", minutes=5)
    run(store, "14:50", "message", text="  Reprise   à 16 h 40 ")
    run(store, "15:00", "delay", minutes=10)
    run(store, "15:05", "message", text=None)
    run(store, "15:10", "message", text="Merci de rejoindre la salle")
    (room,) = report.build(db, schedule).rooms
    assert [(report.clock(d.at), d.minutes) for d in room.delays] == [("14:40", 5), ("15:00", 10)]
    assert [(report.clock(m.at), m.text, report.clock(m.until)) for m in room.messages] == [
        ("14:50", "Reprise à 16 h 40", "15:05"),
        ("15:10", "Merci de rejoindre la salle", ""),
    ]


def test_a_stint_left_by_previous_does_not_count(db, store, schedule):
    run(store, "14:20", "times", session="session-3", turn_minutes=7)
    run(store, "14:30", "goto", session="session-3")
    run(store, "14:37", "next")  # Troussel… tapped too soon
    run(store, "14:38", "previous")  # back to Harfouche: Troussel did not speak
    run(store, "14:40", "next")  # now Troussel
    run(store, "14:50", "auto")
    block = block_of(report.build(db, schedule), "session-3")
    harfouche, troussel = block.turns[:2]
    assert (harfouche.label, harfouche.actual_minutes, report.clock(harfouche.actual_end)) == (
        "M. Khalil Harfouche",
        9.0,  # 14:30–14:37 and 14:38–14:40
        "14:40",
    )
    assert (troussel.label, report.clock(troussel.actual_start), troussel.actual_minutes) == (
        "M. Stéphane Troussel",
        "14:40",
        10.0,
    )


def test_a_held_timer_is_not_counted_and_extra_time_reduces_the_overrun(db, store, schedule):
    run(store, "14:20", "times", session="session-3", turn_minutes=7)
    run(store, "14:30", "goto", session="session-3")
    run(store, "14:33", "hold_timer")  # the microphone fails
    run(store, "14:35", "resume_timer")
    run(store, "14:36", "extra_time", minutes=2)
    run(store, "14:42", "next")
    run(store, "14:50", "auto")
    harfouche, troussel = block_of(report.build(db, schedule), "session-3").turns[:2]
    # 12 minutes at the lectern, 2 of them with the timer held: 10 spoken, 7 + 2 given.
    assert (harfouche.actual_minutes, harfouche.extra_minutes, harfouche.overrun_minutes) == (
        10.0,
        2.0,
        1.0,
    )
    assert (troussel.actual_minutes, troussel.overrun_minutes) == (8.0, 1.0)


def test_the_turn_at_the_lectern_counts_up_to_now_when_given(db, store, schedule):
    run(store, "14:30", "goto", session="session-3")
    current = block_of(report.build(db, schedule), "session-3").turns[0]
    assert (current.in_progress, current.actual_end, current.actual_minutes) == (True, None, None)
    now = block_of(report.build(db, schedule, now=at("14:34")), "session-3").turns[0]
    assert (now.actual_minutes, now.planned_minutes, now.overrun_minutes) == (4.0, None, None)


# --- the outputs -----------------------------------------------------------------------


def test_csv_has_one_row_per_turn_with_its_block(db, store, schedule):
    replay_session_3(store)
    text = report.to_csv(report.build(db, schedule), translator("fr"))
    assert text.startswith("\ufeff")
    table = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    session = [r for r in table if r["Bloc"] == "Session 3"]
    assert [(r["Ordre entendu"], r["Intervention"], r["Dépassement"]) for r in session] == [
        ("1", "M. Khalil Harfouche", "0"),
        ("2", "M. Bertrand Gallet", "0"),
        ("3", "M. Stéphane Troussel", "+3"),
        ("4", "Mme Benedetta Oddo", "0"),
        ("5", "Débat avec la salle", "0"),
    ]
    troussel = session[2]
    assert (troussel["Début réel"], troussel["Fin réelle"], troussel["Minutes réelles"]) == (
        "14:44",
        "14:54",
        "10",
    )
    assert session[1]["Statut"] == "entendue, hors ordre (avant M. Stéphane Troussel)"
    # A block without turns still has its row.
    assert [r["Bloc"] for r in table].count("Accueil") == 1


def test_markdown_and_html_carry_the_same_rows(db, store, schedule, app):
    replay_session_3(store)
    run(store, "15:10", "delay", minutes=5)
    built = report.build(db, schedule)
    md = report.to_markdown(built, translator("fr"))
    assert "### Session 3 — La spécificité" in md
    assert (
        "| 3 | M. Stéphane Troussel | entendue | 14:37–14:44 | 14:44–14:54 | 7 | 10 |  | +3 |" in md
    )
    assert "- 15:10 : retard de 5 min" in md
    assert "Fin de la journée : 15:08 (prévue 17:15, −127 min)" in md
    english = report.to_markdown(built, translator("en"))
    assert (
        "| 3 | M. Stéphane Troussel | spoke | 14:37–14:44 | 14:44–14:54 | 7 | 10 |  | +3 |"
        in english
    )


def test_json_gives_iso_times_and_figures(db, store, schedule):
    replay_session_3(store)
    data = report.to_json(report.build(db, schedule))
    (room,) = data["rooms"]
    session = next(b for b in room["blocks"] if b["id"] == "session-3")
    troussel = session["turns"][2]
    assert troussel["actual_start"] == "2023-07-03T14:44:00+02:00"
    assert (troussel["actual_minutes"], troussel["overrun_minutes"]) == (10.0, 3.0)
    assert json.loads(json.dumps(data)) == data


# --- the command and the pages ---------------------------------------------------------


def test_kiosk_report_writes_the_file(tmp_path, db, store):
    replay_session_3(store)
    out = tmp_path / "compte-rendu.csv"
    done = run_kiosk("report", "--db", str(tmp_path / "kiosk.db"), "--format", "csv", str(out))
    assert done.returncode == 0, done.stderr
    table = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert "M. Stéphane Troussel" in [row[8] for row in table]
    assert str(out) in done.stdout


def test_kiosk_report_prints_markdown_in_french_by_default(tmp_path, db, store):
    replay_session_3(store)
    done = run_kiosk("report", "--db", str(tmp_path / "kiosk.db"), lang="fr")
    assert done.returncode == 0, done.stderr
    assert "| 2 | M. Bertrand Gallet | entendue, hors ordre (avant M. Stéphane Troussel) |" in (
        done.stdout
    )


def test_kiosk_report_writes_a_standalone_html_page(tmp_path, db, store):
    replay_session_3(store)
    out = tmp_path / "compte-rendu.html"
    done = run_kiosk("report", "--db", str(tmp_path / "kiosk.db"), "--format", "html", str(out))
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert "<style>" in page and "@media print" in page  # readable without the server
    assert "M. Stéphane Troussel" in page


@pytest.fixture
def replayed(app, schedule):
    with app.app_context():
        from kiosk.web import get_db

        replay_session_3(LiveStore(get_db(), schedule))


def test_api_report_needs_the_organiser_secret(client, replayed):
    assert client.get("/api/report").status_code == 401
    response = client.get("/api/report", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    session = next(b for b in response.json["rooms"][0]["blocks"] if b["id"] == "session-3")
    assert [t["name"] or t["role"] for t in session["turns"]] == [
        "M. Khalil Harfouche",
        "M. Bertrand Gallet",
        "M. Stéphane Troussel",
        "Mme Benedetta Oddo",
        "Débat avec la salle",
    ]


def test_report_page_asks_for_the_organiser_login(client, replayed):
    response = client.get("/organiser/report")
    page = response.get_data(as_text=True)
    assert 'name="token"' in page
    assert "Troussel" not in page
    client.get(f"/organiser?token={TOKEN}")
    page = client.get("/organiser/report").get_data(as_text=True)
    assert "Compte rendu de la journée" in page
    assert "M. Stéphane Troussel" in page
    assert "hors ordre (avant M. Stéphane Troussel)" in page
