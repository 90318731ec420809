"""The running order on the day, with a fake clock: edits on top of print, what is done
from what happened, timers with pauses and extra time, the projection, and persistence."""

from __future__ import annotations

import pytest

from kiosk import db as database
from kiosk.live import CommandError, LiveStore, RoomState, public, view
from kiosk.order import EditError

from .conftest import at

ROOM = "lamartine"
HARFOUCHE, TROUSSEL, GALLET, ODDO, DEBATE = (f"session-3-{i}" for i in range(1, 6))


@pytest.fixture
def store(tmp_path, schedule):
    db = database.connect(str(tmp_path / "live.db"))
    database.migrate(db)
    return LiveStore(db, schedule)


def run(store, action, hhmm="14:40", **args):
    return store.perform(ROOM, action, args, at(hhmm))


def shown(store, hhmm="14:40"):
    return view(store.day(ROOM), store.state(ROOM), at(hhmm))


def names(data, block="session"):
    return [t["name"] or t["role"] for t in data[block]["turns"]]


# --- what is done comes from what happened --------------------------------------------


def test_jumping_to_gallet_leaves_troussel_to_come(store):
    run(store, "goto", session="session-3", turn=HARFOUCHE)
    run(store, "goto", session="session-3", turn=GALLET)
    data = shown(store)
    done = {t["name"]: t["done"] for t in data["session"]["turns"] if t["name"]}
    assert done == {
        "Khalil Harfouche": True,
        "Stéphane Troussel": False,  # not greyed out: he has not spoken
        "Bertrand Gallet": False,  # at the lectern
        "Benedetta Oddo": False,
    }
    assert data["speaker"]["turn_id"] == GALLET
    assert run(store, "next").turn_id == TROUSSEL  # Next after Gallet brings Troussel
    assert run(store, "next").turn_id == ODDO  # and after Troussel, Oddo
    assert run(store, "next").turn_id == DEBATE
    assert run(store, "next").block_id == "conclusions"


def test_previous_corrects_a_next_tapped_too_soon(store):
    run(store, "goto", session="session-3", turn=HARFOUCHE)
    run(store, "goto", session="session-3", turn=GALLET)
    run(store, "next")  # Troussel, too soon
    assert run(store, "previous").turn_id == GALLET  # back to who spoke before
    assert TROUSSEL not in shown(store)["done"]  # as if Troussel had not been called
    assert run(store, "next").turn_id == TROUSSEL


def test_the_session_opens_with_nobody_at_the_lectern(store):
    state = run(store, "goto", session="session-3", turn=None)
    data = shown(store)
    assert (data["mode"], data["phase"], data["speaker"], state.turn_id) == (
        "manual",
        "session",
        None,
        None,
    )
    assert run(store, "next").turn_id == HARFOUCHE


def test_a_cancelled_turn_is_skipped_and_hidden_from_the_audience(store):
    run(store, "update", turn=TROUSSEL, cancelled=True)
    run(store, "goto", session="session-3", turn=HARFOUCHE)
    assert run(store, "next").turn_id == GALLET
    data = shown(store)
    assert "Stéphane Troussel" in names(data)  # the tablet lists it, struck
    assert [t["cancelled"] for t in data["session"]["turns"]][1] is True
    assert "Stéphane Troussel" not in names(public(data))
    with pytest.raises(CommandError) as refused:
        run(store, "goto", session="session-3", turn=TROUSSEL)
    assert refused.value.code == "conflict"
    run(store, "update", turn=TROUSSEL, cancelled=False)  # un-cancelled
    assert "Stéphane Troussel" in names(public(shown(store)))


# --- edits ------------------------------------------------------------------------------


def test_reorder_session_3_as_it_happened(store):
    run(store, "reorder", session="session-3", turns=[HARFOUCHE, GALLET, TROUSSEL, ODDO, DEBATE])
    run(store, "goto", session="session-3", turn=GALLET)
    data = shown(store)
    assert names(data)[:3] == ["Khalil Harfouche", "Bertrand Gallet", "Stéphane Troussel"]
    assert data["turn_index"] == 1
    moved = {t["id"]: t["changes"] for t in data["session"]["turns"]}
    assert "moved" in moved[GALLET] and "moved" in moved[TROUSSEL]
    assert moved[HARFOUCHE] == []


def test_move_up_down_and_to_a_place(store):
    run(store, "move", turn=GALLET, by=-1)
    assert names(shown(store, "14:35"))[1] == "Bertrand Gallet"
    run(store, "move", turn=GALLET, to=4)
    assert names(shown(store, "14:35"))[4] == "Bertrand Gallet"
    with pytest.raises(EditError) as refused:
        run(store, "move", turn=GALLET, to=5)
    assert refused.value.field == "to"


def test_insert_a_replacement_then_undo(store):
    version = store.state(ROOM).version
    run(
        store,
        "insert",
        session="session-3",
        civility="Mme",
        name="Anne Dupont",
        function="Adjointe au maire",
        before=TROUSSEL,
        minutes=5,
    )
    new_id = store.created
    assert new_id and new_id.startswith("session-3-i")
    data = shown(store)
    assert names(data)[1] == "Anne Dupont"
    inserted = data["session"]["turns"][1]
    assert (inserted["budget"], inserted["inserted"], inserted["changes"]) == (
        5,
        True,
        ["inserted"],
    )
    assert store.state(ROOM).version == version + 1
    run(store, "undo")
    assert "Anne Dupont" not in names(shown(store))
    assert shown(store)["edited"] == {}  # back to print
    with pytest.raises(CommandError) as refused:
        run(store, "undo")
    assert refused.value.code == "conflict"


def test_correct_a_typo_and_see_it_differs_from_print(store):
    run(
        store,
        "update",
        turn=TROUSSEL,
        function="Président du Conseil départemental de la Seine-Saint-Denis",
    )
    turn = shown(store)["session"]["turns"][1]
    assert turn["function"].endswith("de la Seine-Saint-Denis")
    assert turn["changes"] == ["function"]


@pytest.mark.parametrize(
    ("action", "args", "field"),
    [
        ("insert", {"session": "session-3"}, "name"),
        ("insert", {"session": "session-3", "name": "X", "before": "nope"}, "before"),
        ("insert", {"session": "session-3", "name": "X", "colour": "red"}, "colour"),
        ("insert", {"session": "session-3", "name": "X\x00"}, "name"),
        ("insert", {"session": "session-3", "name": "X" * 121}, "name"),
        ("update", {"turn": TROUSSEL, "minutes": 0}, "minutes"),
        ("update", {"turn": TROUSSEL, "cancelled": "yes"}, "cancelled"),
        ("reorder", {"session": "session-3", "turns": [HARFOUCHE]}, "turns"),
        ("times", {"session": "session-3", "start": "14h30"}, "start"),
        ("times", {"session": "session-3", "end": "14:00"}, "end"),
        ("times", {"session": "session-3", "start": "15:30", "end": "16:45"}, "start"),
        ("budget", {"session": "session-3", "minutes": 7, "from": "nope"}, "from"),
    ],
)
def test_bad_edits_name_the_field_and_change_nothing(store, action, args, field):
    with pytest.raises(EditError) as refused:
        run(store, action, **args)
    assert (refused.value.code, refused.value.field) == ("invalid", field)
    assert store.state(ROOM) == RoomState(ROOM)
    assert shown(store)["edited"] == {}


def test_unknown_ids_are_not_found(store):
    for action, args in [("update", {"turn": "nope"}), ("insert", {"session": "nope"})]:
        with pytest.raises(EditError) as refused:
            run(store, action, **args)
        assert refused.value.code == "not_found"


def test_an_edit_cannot_take_away_the_turn_at_the_lectern(store):
    run(store, "goto", session="session-3", turn=GALLET)
    with pytest.raises(CommandError) as refused:
        run(store, "update", turn=GALLET, cancelled=True)
    assert refused.value.code == "conflict"
    assert shown(store)["edited"] == {}


def test_stale_edit_is_refused(store):
    run(store, "next")
    with pytest.raises(CommandError) as refused:
        store.perform(ROOM, "update", {"turn": TROUSSEL, "cancelled": True}, at("14:40"), 0)
    assert refused.value.code == "stale"


def test_block_times_move_the_clock_mode(store):
    run(store, "times", session="session-3", start="14:45", end="16:15")
    data = shown(store, "14:40")
    assert (data["phase"], data["next"]["id"]) == ("break", "session-3")
    assert data["next"]["start"] == "2023-07-03T14:45:00+02:00"
    assert data["next"]["planned_start"] == "2023-07-03T14:30:00+02:00"


# --- timers ------------------------------------------------------------------------------


def test_no_budget_no_countdown(store):
    run(store, "goto", session="session-3", turn=HARFOUCHE)
    timer = shown(store, "14:45")["timer"]
    assert timer["planned_minutes"] is None and timer["ends_at"] is None
    assert timer["elapsed_seconds"] == 300
    assert shown(store, "14:45")["projection"] is None


def test_timer_with_pause_and_extra_time(store):
    run(store, "budget", session="session-3", minutes=7)
    run(store, "goto", "14:40", session="session-3", turn=HARFOUCHE)
    assert shown(store, "14:45")["timer"]["remaining_seconds"] == 120
    run(store, "hold_timer", "14:45")  # the microphone fails
    paused = shown(store, "14:48")["timer"]
    assert paused["paused"] and paused["remaining_seconds"] == 120
    run(store, "resume_timer", "14:48")
    run(store, "extra_time", "14:48")  # +1 min
    timer = shown(store, "14:50")["timer"]
    assert timer["ends_at"] == "2023-07-03T14:51:00+02:00"  # 14:47 + 3 min paused + 1 min
    assert timer["remaining_seconds"] == 60
    assert shown(store, "14:53")["timer"]["remaining_seconds"] == -120  # overtime
    with pytest.raises(CommandError):
        run(store, "extra_time", minutes=0)


def test_timer_commands_need_someone_at_the_lectern(store):
    for action in ("hold_timer", "resume_timer", "extra_time"):
        with pytest.raises(CommandError) as refused:
            run(store, action)
        assert refused.value.code == "conflict"


def test_a_turn_called_back_keeps_the_time_it_already_used(store):
    run(store, "budget", session="session-3", minutes=7)
    run(store, "goto", "14:30", session="session-3", turn=HARFOUCHE)
    run(store, "goto", "14:34", session="session-3", turn=GALLET)
    run(store, "goto", "14:40", session="session-3", turn=HARFOUCHE)
    assert shown(store, "14:40")["timer"]["remaining_seconds"] == 180


def test_projection_from_actual_times(store):
    run(store, "times", "14:30", session="session-3", turn_minutes=7)
    run(store, "goto", "14:35", session="session-3", turn=HARFOUCHE)
    # Harfouche ends 14:42; four turns of 7 minutes after him: 15:10, on time.
    projection = shown(store, "14:40")["projection"]
    assert projection["block_end"] == "2023-07-03T15:10:00+02:00"
    assert projection["delay_minutes"] == 0
    # Overrun: at 15:40 Harfouche is still speaking; the block ends at 16:08.
    projection = shown(store, "15:40")["projection"]
    assert projection["block_end"] == "2023-07-03T16:08:00+02:00"
    assert projection["delay_minutes"] == 8
    assert projection["day_end"] == "2023-07-03T17:23:00+02:00"


def test_projection_needs_every_budget(store):
    run(store, "goto", "14:35", session="session-3", turn=HARFOUCHE)
    run(store, "update", turn=HARFOUCHE, minutes=7)
    assert shown(store)["projection"] is None  # the others have none: no guessing


def test_manual_pause_announces_the_resumption(store):
    run(store, "goto", "14:40", session="session-3", turn=HARFOUCHE)
    run(store, "pause", "14:52", minutes=15)
    data = shown(store, "14:53")
    assert data["phase"] == "break" and data["mode"] == "manual"
    assert data["pause"] == {"until": "2023-07-03T15:07:00+02:00"}
    assert data["next"]["id"] == "session-3"  # the session resumes after it
    assert data["speaker"] is None
    assert run(store, "next", "15:07").turn_id == TROUSSEL
    run(store, "pause", "15:20", until="15:30")
    assert shown(store, "15:21")["pause"]["until"] == "2023-07-03T15:30:00+02:00"
    with pytest.raises(EditError):
        run(store, "pause", "15:20", until="3 pm")
    with pytest.raises(CommandError):
        run(store, "pause", "15:20", until="15:00")  # already past


def test_stage_message_and_blackout_stay_off_the_audience_state(store):
    run(store, "stage_message", text="Merci de conclure")
    run(store, "blackout", screen="title")
    run(store, "progress", show=True)
    data = shown(store)
    assert data["stage_message"] == "Merci de conclure"
    audience = public(data)
    assert "stage_message" not in audience
    assert (audience["blackout"], audience["progress"]) == ("title", True)
    with pytest.raises(CommandError):
        run(store, "blackout", screen="white")


# --- persistence -------------------------------------------------------------------------


def test_edits_history_and_timer_survive_a_restart(tmp_path, store, schedule):
    run(store, "reorder", session="session-3", turns=[HARFOUCHE, GALLET, TROUSSEL, ODDO, DEBATE])
    run(store, "budget", session="session-3", minutes=7)
    run(store, "goto", "14:35", session="session-3", turn=HARFOUCHE)
    run(store, "goto", "14:42", session="session-3", turn=GALLET)
    before = shown(store, "14:45")
    store.db.conn.close()
    again = LiveStore(database.connect(str(tmp_path / "live.db")), schedule)
    after = view(again.day(ROOM), again.state(ROOM), at("14:45"))
    assert after == before
    assert after["timer"]["remaining_seconds"] == 240
    assert after["done"] == [HARFOUCHE]
