"""The live state of a room, driven by a fake clock: every transition, pause and refusal."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

from kiosk import db as database
from kiosk.live import CommandError, Day, LiveStore, RoomState, room_blocks, signature, view

from .conftest import at

ROOM = "lamartine"


@pytest.fixture
def store(tmp_path, schedule):
    db = database.connect(str(tmp_path / "live.db"))
    database.migrate(db)
    return LiveStore(db, schedule)


def show(schedule, state, hhmm):
    return view(schedule, state, at(hhmm))


def summary(data):
    session = data["session"]["id"] if data["session"] else None
    following = data["next"]["id"] if data["next"] else None
    return data["phase"], session, data["turn_index"], following


@pytest.mark.parametrize(
    ("hhmm", "expected"),
    [
        ("07:00", ("before", None, None, "accueil")),
        ("08:30", ("break", "accueil", None, "ouverture")),
        ("09:00", ("session", "ouverture", None, "session-1")),
        ("10:59", ("session", "session-1", None, "session-2")),
        ("11:00", ("break", None, None, "session-2")),  # not printed: a pause
        ("11:14", ("break", None, None, "session-2")),
        ("11:15", ("session", "session-2", None, "pause-dejeuner")),
        ("12:45", ("break", None, None, "pause-dejeuner")),  # not printed: a pause
        ("13:30", ("break", "pause-dejeuner", None, "session-3")),
        ("16:00", ("break", None, None, "conclusions")),  # not printed: a pause
        ("16:30", ("session", "conclusions", None, None)),
        ("17:15", ("after", None, None, None)),
    ],
)
def test_auto_follows_the_clock(schedule, hhmm, expected):
    data = show(schedule, RoomState(ROOM), hhmm)
    assert summary(data) == expected
    assert data["mode"] == "auto"
    assert data["speaker"] is None


def test_unprinted_break_announces_next_block_and_start(schedule):
    data = show(schedule, RoomState(ROOM), "11:05")
    assert data["next"]["label"] == "Session 2"
    assert data["next"]["start"] == "2023-07-03T11:15:00+02:00"
    assert data["server_time"] == "2023-07-03T11:05:00+02:00"


def run(store, action, hhmm="10:20", **args):
    return store.perform(ROOM, action, args, at(hhmm))


def test_next_from_auto_highlights_first_speaker_then_each_turn(store, schedule):
    positions = []
    for _ in range(5):
        state = run(store, "next")
        data = view(schedule, state, at("10:20"))
        speaker = data["speaker"]
        positions.append((data["session"]["id"], speaker["display_name"] or speaker["role"]))
    assert positions == [
        ("session-1", "Mme Dorothée Schmid"),
        ("session-1", "M. Grégory Doucet"),
        ("session-1", "M. Bernard Kouchner"),
        ("session-1", "Débat avec la salle"),
        ("session-2", "M. Yves Viltard"),  # the unprinted pause is not a step
    ]
    assert state.mode == "manual" and state.version == 5


def test_next_steps_through_a_printed_break(store):
    run(store, "goto", session="session-2", turn=0)
    for _ in range(4):  # every turn of session 2 heard, up to the debate
        run(store, "next")
    assert store.state(ROOM).turn_id == "session-2-5"
    assert (run(store, "next").block_id, store.state(ROOM).turn_id) == ("pause-dejeuner", None)
    state = run(store, "next")
    assert (state.block_id, state.turn_id) == ("session-3", "session-3-1")


def test_previous_goes_back_turn_by_turn_then_block_by_block(store):
    run(store, "goto", session="session-1", turn=1)
    assert run(store, "previous").turn_id == "session-1-1"
    state = run(store, "previous")
    assert (state.block_id, state.turn_id) == ("ouverture", "ouverture-4")  # François Hollande


def test_previous_from_an_auto_pause_goes_to_last_turn_before_it(store):
    state = run(store, "previous", "11:05")
    assert (state.block_id, state.turn_id) == ("session-1", "session-1-4")


def test_next_from_an_auto_pause_goes_to_next_block(store):
    state = run(store, "next", "11:05")
    assert (state.block_id, state.turn_id) == ("session-2", "session-2-1")


def test_edges_of_the_day_refuse_and_change_nothing(store):
    with pytest.raises(CommandError) as error:
        run(store, "previous", "07:00")
    assert error.value.code == "at_start"
    run(store, "goto", session="conclusions", turn=0)
    run(store, "next")
    run(store, "next")
    assert store.state(ROOM).turn_id == "conclusions-3"
    with pytest.raises(CommandError) as error:
        run(store, "next")
    assert error.value.code == "at_end"
    assert store.state(ROOM).version == 3


def test_goto_follows_the_real_day_order_in_session_3(store, schedule):
    # On the day, Bertrand Gallet spoke before Stéphane Troussel.
    run(store, "goto", "14:40", session="session-3", turn=2)
    assert view(schedule, store.state(ROOM), at("14:40"))["speaker"]["name"] == "Bertrand Gallet"
    run(store, "goto", "14:55", session="session-3", turn=1)
    assert view(schedule, store.state(ROOM), at("14:55"))["speaker"]["name"] == "Stéphane Troussel"


def test_goto_block_without_turn_starts_at_first_speaker(store):
    state = run(store, "goto", session="session-2")
    assert (state.block_id, state.turn_id) == ("session-2", "session-2-1")
    state = run(store, "goto", session="accueil")
    assert (state.block_id, state.turn_id) == ("accueil", None)


@pytest.mark.parametrize(
    "args",
    [
        {"session": "session-9"},
        {"session": None},
        {"session": "session-1", "turn": 4},
        {"session": "session-1", "turn": -1},
        {"session": "session-1", "turn": True},
        {"session": "session-1", "turn": "2"},
    ],
)
def test_goto_refuses_what_does_not_exist(store, args):
    with pytest.raises(CommandError) as error:
        run(store, "goto", **args)
    assert error.value.code == "invalid"
    assert store.state(ROOM) == RoomState(ROOM)


def test_manual_holds_after_the_block_ends_and_shows_drift(store, schedule):
    run(store, "goto", "10:50", session="session-1", turn=3)
    data = view(schedule, store.state(ROOM), at("11:12"))
    assert summary(data) == ("session", "session-1", 3, "session-2")
    assert data["mode"] == "manual"
    assert data["drift_minutes"] == 12
    early = run(store, "goto", "10:50", session="session-2")
    assert view(schedule, early, at("10:50"))["drift_minutes"] == -25


def test_auto_returns_to_the_clock(store, schedule):
    run(store, "goto", session="session-3", turn=1)
    state = run(store, "auto")
    assert (state.mode, state.block_id, state.turn_id) == ("auto", None, None)
    assert summary(view(schedule, state, at("10:20"))) == (
        "session",
        "session-1",
        None,
        "session-2",
    )


def test_delay_shifts_every_later_start_and_the_clock_following(store, schedule):
    state = run(store, "delay", minutes=15)
    data = view(schedule, state, at("11:05"))
    # 15 minutes late, session 1 is still on at 11:05 and session 2 starts at 11:30.
    assert summary(data) == ("session", "session-1", None, "session-2")
    assert data["next"]["start"] == "2023-07-03T11:30:00+02:00"
    assert data["next"]["planned_start"] == "2023-07-03T11:15:00+02:00"
    assert data["session"]["start"] == "2023-07-03T10:00:00+02:00"  # printed, as the audience knows
    assert data["delay_minutes"] == 15
    assert summary(view(schedule, state, at("11:20")))[:2] == ("break", None)
    state = run(store, "goto", session="session-3", turn=0)
    assert view(schedule, state, at("14:40"))["next"]["start"] == "2023-07-03T16:45:00+02:00"


@pytest.mark.parametrize("minutes", [None, "10", 2.5, True, 241, -121])
def test_delay_refuses_bad_values(store, minutes):
    with pytest.raises(CommandError) as error:
        run(store, "delay", minutes=minutes)
    assert error.value.code == "invalid"
    assert store.state(ROOM).delay_minutes == 0


def test_message_set_and_clear(store, schedule):
    state = run(store, "message", text="  Merci de regagner\nvos places  ")
    assert view(schedule, state, at("10:20"))["message"] == "Merci de regagner vos places"
    assert run(store, "message", text=None).message is None


@pytest.mark.parametrize("text", ["", "   ", "x" * 281, "bell\x07", 42, ["a"]])
def test_message_refuses_bad_text(store, text):
    run(store, "message", text="Bienvenue")
    with pytest.raises(CommandError):
        run(store, "message", text=text)
    assert store.state(ROOM).message == "Bienvenue"


def test_stale_version_is_refused_so_a_double_tap_skips_one_speaker_only(store):
    first = store.perform(ROOM, "next", {}, at("10:20"), expected_version=0)
    with pytest.raises(CommandError) as error:
        store.perform(ROOM, "next", {}, at("10:20"), expected_version=0)
    assert error.value.code == "stale"
    assert error.value.state == first
    assert store.state(ROOM) == first
    assert first.turn_id == "session-1-1"


def test_every_command_bumps_the_version(store):
    versions = [
        run(store, action, **args).version
        for action, args in [
            ("next", {}),
            ("delay", {"minutes": 5}),
            ("message", {"text": "Pause"}),
            ("goto", {"session": "ouverture"}),
            ("previous", {}),
            ("auto", {}),
        ]
    ]
    assert versions == [1, 2, 3, 4, 5, 6]


def test_state_survives_in_a_new_process(store, tmp_path):
    run(store, "goto", session="session-3", turn=2)
    run(store, "delay", minutes=10)
    run(store, "message", text="Reprise à 14 h 40")
    script = (
        "import json, sys; from kiosk import db; from kiosk.live import LiveStore; "
        "from kiosk.schedule import load; "
        "s = LiveStore(db.connect(sys.argv[1]), load()).state('lamartine'); "
        "print(json.dumps(s.__dict__, default=str))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "live.db")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert json.loads(out) == {
        "room": ROOM,
        "version": 3,
        "mode": "manual",
        "block_id": "session-3",
        "turn_id": "session-3-3",
        "delay_minutes": 10,
        "message": "Reprise à 14 h 40",
        "stage_message": None,
        "blackout": None,
        "progress": False,
        "pause_until": None,
        # the turn's timer started with the goto (10:20 on the event's clock)
        "timer": "Timer(started_at=datetime.datetime(2023, 7, 3, 10, 20, tzinfo=datetime."
        "timezone(datetime.timedelta(seconds=7200))), paused_at=None, paused_seconds=0.0, "
        "extra_seconds=0, carried_seconds=0.0)",
    }


def test_unknown_room_and_command(store):
    with pytest.raises(CommandError) as error:
        store.perform("cave", "next", {}, at("10:20"))
    assert error.value.code == "not_found"
    with pytest.raises(CommandError) as error:
        store.perform(ROOM, "explode", {}, at("10:20"))
    assert error.value.code == "not_found"


# --- projected times and the timeline a screen follows offline ------------------------


def test_projected_times_move_the_next_block_and_every_later_one(schedule):
    data = view(schedule, RoomState(ROOM, delay_minutes=10), at("10:20"))
    assert data["projected"] == {
        "session-2": {"start": "2023-07-03T11:25:00+02:00", "end": "2023-07-03T12:55:00+02:00"},
        "pause-dejeuner": {
            "start": "2023-07-03T13:10:00+02:00",
            "end": "2023-07-03T14:40:00+02:00",
        },
        "session-3": {"start": "2023-07-03T14:40:00+02:00", "end": "2023-07-03T16:10:00+02:00"},
        "conclusions": {
            "start": "2023-07-03T16:40:00+02:00",
            "end": "2023-07-03T17:25:00+02:00",
        },
    }
    # the block on now (session 1) keeps its printed times; `next` agrees with the mapping
    assert data["next"]["start"] == data["projected"]["session-2"]["start"]
    early = view(schedule, RoomState(ROOM, delay_minutes=-5), at("16:10"))
    assert early["projected"] == {
        "conclusions": {"start": "2023-07-03T16:25:00+02:00", "end": "2023-07-03T17:10:00+02:00"}
    }


def test_projected_times_in_manual_mode_follow_the_held_block(store, schedule):
    run(store, "goto", session="session-3", turn=0)
    state = run(store, "delay", minutes=10)
    assert view(schedule, state, at("10:20"))["projected"] == {
        "conclusions": {"start": "2023-07-03T16:40:00+02:00", "end": "2023-07-03T17:25:00+02:00"}
    }


@pytest.mark.parametrize(
    ("delay", "hhmm", "held"),
    [
        (0, "10:20", None),  # on time: nothing moves
        (0, "10:20", "session-3"),
        (10, "16:45", None),  # the last block: nothing left to move
        (10, "18:00", None),  # the day is over
        (10, "10:20", "conclusions"),
    ],
)
def test_nothing_is_projected_when_nothing_moves(schedule, delay, hhmm, held):
    mode, turn = ("manual", f"{held}-1") if held else ("auto", None)
    state = RoomState(ROOM, mode=mode, block_id=held, turn_id=turn, delay_minutes=delay)
    assert view(schedule, state, at(hhmm))["projected"] == {}


def entries(data):
    """The timeline as (HH:MM, phase, session, next), for reading."""
    return [(e["at"][11:16], e["phase"], e["session"], e["next"]) for e in data["timeline"]]


AFTERNOON = [
    ("14:30", "session", "session-3", "conclusions"),
    ("16:00", "break", None, "conclusions"),
    ("16:30", "session", "conclusions", None),
    ("17:15", "after", None, None),
]
FROM_LUNCH = [
    ("12:45", "break", None, "pause-dejeuner"),
    ("13:00", "break", "pause-dejeuner", "session-3"),
    *AFTERNOON,
]
FROM_SESSION_2 = [("11:15", "session", "session-2", "pause-dejeuner"), *FROM_LUNCH]


@pytest.mark.parametrize(
    ("hhmm", "expected"),
    [
        (
            "07:00",
            [
                ("08:30", "break", "accueil", "ouverture"),
                ("09:00", "session", "ouverture", "session-1"),
                ("10:00", "session", "session-1", "session-2"),
                ("11:00", "break", None, "session-2"),
                *FROM_SESSION_2,
            ],
        ),
        ("10:20", [("11:00", "break", None, "session-2"), *FROM_SESSION_2]),
        ("11:05", FROM_SESSION_2),  # in the unprinted pause
        ("11:15", FROM_LUNCH),  # a boundary reached is no longer to come
        ("16:40", [("17:15", "after", None, None)]),
        ("17:15", []),
        ("18:00", []),
    ],
)
def test_timeline_lists_what_auto_mode_shows_at_each_coming_boundary(schedule, hhmm, expected):
    assert entries(show(schedule, RoomState(ROOM), hhmm)) == expected


def test_timeline_moves_with_the_delay(schedule):
    data = view(schedule, RoomState(ROOM, delay_minutes=15), at("13:30"))
    assert entries(data) == [
        ("14:45", "session", "session-3", "conclusions"),
        ("16:15", "break", None, "conclusions"),
        ("16:45", "session", "conclusions", None),
        ("17:30", "after", None, None),
    ]
    assert data["timeline"][0]["at"] == "2023-07-03T14:45:00+02:00"


def test_timeline_is_empty_in_manual_mode(store, schedule):
    state = run(store, "goto", session="session-1", turn=1)
    assert view(schedule, state, at("10:20"))["timeline"] == []
    state = run(store, "delay", minutes=10)
    assert view(schedule, state, at("10:20"))["timeline"] == []
    assert view(schedule, run(store, "auto"), at("10:20"))["timeline"] != []


def offline_screen(data, blocks, entry):
    """What static/js/live.js followTimeline() builds from a timeline entry: the printed
    block JSON the screen page boots with, and the projected times for what comes next."""

    def printed(block_id):
        return dict(data["edited"].get(block_id) or blocks[block_id])

    following = None
    if entry["next"]:
        following = {**printed(entry["next"]), **data["projected"].get(entry["next"], {})}
    return {
        **data,
        "phase": entry["phase"],
        "session": printed(entry["session"]) if entry["session"] else None,
        "next": following,
        "speaker": None,
        "turn_index": None,
    }


# What a new state always carries afresh: its own moment, and what is still to come.
RECOMPUTED = ("server_time", "timeline", "projected")


@pytest.mark.parametrize("delay", [0, 15, -10])
@pytest.mark.parametrize("hhmm", ["07:00", "10:20", "11:05", "13:30"])
def test_each_timeline_entry_is_what_the_server_shows_at_that_moment(schedule, hhmm, delay):
    state = RoomState(ROOM, version=4, delay_minutes=delay, message="Bienvenue")
    data = view(schedule, state, at(hhmm))
    # as the screen page boots
    blocks = {b["id"]: b for b in room_blocks(Day.as_printed(schedule), state)}
    assert data["timeline"]
    for entry in data["timeline"]:
        moment = dt.datetime.fromisoformat(entry["at"])
        there = view(schedule, state, moment)
        assert summary(there) == (entry["phase"], entry["session"], None, entry["next"])
        offline = offline_screen(data, blocks, entry)
        for key in RECOMPUTED:
            del offline[key], there[key]
        assert offline == there
        # The moment before, the entry is still to come and the screen shows something
        # else: the clock ticker's signature() changes, so online screens get a push.
        before = view(schedule, state, moment - dt.timedelta(seconds=1))
        assert before["timeline"][0] == entry
        assert signature(before) != signature(view(schedule, state, moment))
