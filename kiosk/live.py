"""What each room shows now: the timetable, the clock and the organiser's overrides.

A room is in one of two modes:

- auto: it follows the clock. Between two printed blocks it is a pause announcing the
  next one; before the first and after the last it has states of its own. The programme
  prints no time per speaker, so auto mode highlights nobody: guessing would put the
  wrong name on a screen in front of the speakers.
- manual: the organiser's position (block, turn) holds until they return to auto.

A declared delay slides the rest of the day: auto mode follows `now - delay`, and every
later start is shown shifted. Every command bumps `version`; a command issued against
an older version is refused, so a double tap never skips two speakers.

No Flask here: `view()` and the commands are pure functions of (timetable, state, now),
and `LiveStore` persists the state in SQLite.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, replace
from typing import Any

from sqlite_utils import Database

from .db import transaction
from .errors import N_, Refusal
from .schedule import Block, Schedule

MESSAGE_MAX = 280
DELAY_MIN, DELAY_MAX = -120, 240


class CommandError(Refusal):
    """A command refused; `state` is the room's, for a client whose command was stale."""

    def __init__(self, code: str, message: str, state: RoomState | None = None, **params):
        super().__init__(code, message, **params)
        self.state = state


@dataclass(frozen=True)
class RoomState:
    """What the organiser has set for a room (the clock supplies the rest)."""

    room: str
    version: int = 0
    mode: str = "auto"
    block_id: str | None = None
    turn_index: int | None = None
    delay_minutes: int = 0
    message: str | None = None


@dataclass(frozen=True)
class Where:
    """Where the timetable (shifted by the delay) puts a room at a given moment."""

    phase: str  # before | session | break | after
    current: Block | None
    following: Block | None


def locate(blocks: tuple[Block, ...], moment: dt.datetime) -> Where:
    """The block running at `moment`, or the pause or edge of the day it falls in."""
    previous = None
    for i, block in enumerate(blocks):
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        if moment < block.start:
            return Where("before" if previous is None else "break", None, block)
        if moment < block.end:
            phase = "break" if block.kind == "break" else "session"
            return Where(phase, block, following)
        previous = block
    return Where("after", None, None)


# --- the running order as a list of positions ------------------------------------------


def _positions(blocks: tuple[Block, ...]) -> list[tuple[Block, int | None]]:
    """Every place the organiser can step to: each turn, or the block itself if it has none."""
    out: list[tuple[Block, int | None]] = []
    for block in blocks:
        if block.turns:
            out.extend((block, i) for i in range(len(block.turns)))
        else:
            out.append((block, None))
    return out


def _index_of(positions, block: Block, turn: int | None) -> int:
    return next(i for i, (b, t) in enumerate(positions) if b.id == block.id and t == turn)


def _neighbours(schedule: Schedule, state: RoomState, now: dt.datetime):
    """(positions, index Next goes to, index Previous goes to) from the room's position."""
    blocks = schedule.blocks_in(state.room)
    positions = _positions(blocks)
    block = _manual_block(schedule, state)
    if block is not None:
        k = _index_of(positions, block, state.turn_index)
        return positions, k + 1, k - 1
    where = locate(blocks, now - dt.timedelta(minutes=state.delay_minutes))
    if where.current is not None and not where.current.turns:
        k = _index_of(positions, where.current, None)
        return positions, k + 1, k - 1
    if where.current is not None:  # a session under way, nobody highlighted yet
        k = _index_of(positions, where.current, 0)
        return positions, k, k - 1
    after = (
        _index_of(positions, where.following, _first_turn(where.following))
        if (where.following)
        else len(positions)
    )
    return positions, after, after - 1


def _first_turn(block: Block) -> int | None:
    return 0 if block.turns else None


def _manual_block(schedule: Schedule, state: RoomState) -> Block | None:
    """The organiser's block, if manual and still in the timetable (it may have been edited)."""
    if state.mode != "manual" or state.block_id is None:
        return None
    block = schedule.block(state.block_id)
    if block is None or block.room != state.room:
        return None
    if state.turn_index is not None and not 0 <= state.turn_index < len(block.turns):
        return None
    if state.turn_index is None and block.turns:
        return None
    return block


# --- commands: pure functions (schedule, state, now, args) -> new state ------------------


def _go(state: RoomState, block: Block, turn: int | None) -> RoomState:
    return replace(state, mode="manual", block_id=block.id, turn_index=turn)


def cmd_next(schedule: Schedule, state: RoomState, now: dt.datetime, args: dict) -> RoomState:
    positions, target, _ = _neighbours(schedule, state, now)
    if target >= len(positions):
        raise CommandError("at_end", N_("Already at the last item of the programme."))
    return _go(state, *positions[target])


def cmd_previous(schedule: Schedule, state: RoomState, now: dt.datetime, args: dict):
    positions, _, target = _neighbours(schedule, state, now)
    if target < 0:
        raise CommandError("at_start", N_("Already at the first item of the programme."))
    return _go(state, *positions[target])


def cmd_goto(schedule: Schedule, state: RoomState, now: dt.datetime, args: dict) -> RoomState:
    block_id = args.get("session")
    block = schedule.block(block_id) if isinstance(block_id, str) else None
    if block is None or block.room != state.room:
        raise CommandError(
            "invalid", N_("Unknown session “%(session)s” in this room."), session=block_id
        )
    turn = args.get("turn", _first_turn(block))
    if turn is None and block.turns:
        turn = 0
    if turn is not None:
        if isinstance(turn, bool) or not isinstance(turn, int):
            raise CommandError("invalid", N_("'turn' must be a whole number."))
        if not 0 <= turn < len(block.turns):
            raise CommandError(
                "invalid",
                N_("Session “%(session)s” has %(count)d turns; turn %(turn)d does not exist."),
                session=block.id,
                count=len(block.turns),
                turn=turn,
            )
    return _go(state, block, turn)


def cmd_delay(schedule: Schedule, state: RoomState, now: dt.datetime, args: dict) -> RoomState:
    minutes = args.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise CommandError("invalid", N_("'minutes' must be a whole number of minutes."))
    if not DELAY_MIN <= minutes <= DELAY_MAX:
        raise CommandError(
            "invalid",
            N_("'minutes' must be between %(low)d and %(high)d."),
            low=DELAY_MIN,
            high=DELAY_MAX,
        )
    return replace(state, delay_minutes=minutes)


def clean_message(text: Any) -> str | None:
    """A message fit for a screen, None to clear it, or CommandError saying what is wrong."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise CommandError("invalid", N_("'text' must be a string, or null to clear the message."))
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        raise CommandError("invalid", N_("The message contains control characters."))
    text = " ".join(text.split())
    if not text:
        raise CommandError("invalid", N_("The message is empty; send null to clear it."))
    if len(text) > MESSAGE_MAX:
        raise CommandError(
            "invalid", N_("The message is longer than %(max)d characters."), max=MESSAGE_MAX
        )
    return text


def cmd_message(schedule: Schedule, state: RoomState, now: dt.datetime, args: dict):
    if "text" not in args:
        raise CommandError("invalid", N_("'text' is missing (null clears the message)."))
    return replace(state, message=clean_message(args["text"]))


def cmd_auto(schedule: Schedule, state: RoomState, now: dt.datetime, args: dict) -> RoomState:
    return replace(state, mode="auto", block_id=None, turn_index=None)


COMMANDS = {
    "next": cmd_next,
    "previous": cmd_previous,
    "goto": cmd_goto,
    "delay": cmd_delay,
    "message": cmd_message,
    "auto": cmd_auto,
}


# --- what screens show -----------------------------------------------------------------


def _block_json(block: Block, shift: dt.timedelta) -> dict[str, Any]:
    data = block.to_json()
    data["planned_start"] = data["start"]
    data["planned_end"] = data["end"]
    data["start"] = (block.start + shift).isoformat()
    data["end"] = (block.end + shift).isoformat()
    return data


def _minutes(delta: dt.timedelta) -> int:
    return int(delta.total_seconds() // 60)


def drift_minutes(block: Block, now: dt.datetime) -> int:
    """How far a manually held block is from its printed times (+ late, - early, 0 on time)."""
    if now < block.start:
        return -_minutes(block.start - now)
    if now > block.end:
        return _minutes(now - block.end)
    return 0


def projected(
    blocks: tuple[Block, ...], following: Block | None, shift: dt.timedelta
) -> dict[str, dict[str, str]]:
    """Where the delay puts the blocks still to come: `following` and every later one.

    The block on now keeps its printed times (the audience knows them), so with no delay,
    or nothing left to come, nothing moves and the mapping is empty.
    """
    if not shift or following is None:
        return {}
    return {
        b.id: {"start": (b.start + shift).isoformat(), "end": (b.end + shift).isoformat()}
        for b in blocks[blocks.index(following) :]
    }


def timeline(
    blocks: tuple[Block, ...], now: dt.datetime, shift: dt.timedelta
) -> list[dict[str, Any]]:
    """What auto mode will show from each boundary of the day still to come, in order.

    A screen that loses its link replays this list instead of re-deriving the rules: the
    entries come from locate(), and `at` is the real moment (the printed one plus delay).
    """
    out = []
    for boundary in sorted({t for b in blocks for t in (b.start, b.end)}):
        if boundary + shift <= now:
            continue
        where = locate(blocks, boundary)
        out.append(
            {
                "at": (boundary + shift).isoformat(),
                "phase": where.phase,
                "session": where.current.id if where.current else None,
                "next": where.following.id if where.following else None,
            }
        )
    return out


def view(
    schedule: Schedule, state: RoomState, now: dt.datetime, clock_speed: float = 1.0
) -> dict[str, Any]:
    """The room's full state as screens, tablet, phones and the API receive it."""
    blocks = schedule.blocks_in(state.room)
    shift = dt.timedelta(minutes=state.delay_minutes)
    where = locate(blocks, now - shift)
    held = _manual_block(schedule, state)
    mode = "manual" if held else "auto"
    turn_index = None
    drift = 0
    if held:
        i = blocks.index(held)
        where = Where(
            "break" if held.kind == "break" else "session",
            held,
            blocks[i + 1] if i + 1 < len(blocks) else None,
        )
        turn_index = state.turn_index
        drift = drift_minutes(held, now)
    current = where.current
    speaker = None
    if current is not None and turn_index is not None:
        turn = current.turns[turn_index]
        speaker = turn.to_json()
        speaker["turn_id"] = speaker.pop("id")
    # The current block is shown with its printed times (the audience knows them); what
    # comes after it is shown where the declared delay puts it.
    session = _block_json(current, dt.timedelta(0)) if current else None
    return {
        "room": state.room,
        "room_name": schedule.room(state.room).name,
        "version": state.version,
        "mode": mode,
        "phase": where.phase,
        "server_time": now.isoformat(),
        "clock_speed": clock_speed,
        "delay_minutes": state.delay_minutes,
        "drift_minutes": drift,
        "message": state.message,
        "session": session,
        "turn_index": turn_index,
        "speaker": speaker,
        "next": _block_json(where.following, shift) if where.following else None,
        "projected": projected(blocks, where.following, shift),
        # Manual mode holds whatever the clock says, so there is nothing to follow.
        "timeline": timeline(blocks, now, shift) if mode == "auto" else [],
    }


def signature(data: dict[str, Any]) -> tuple:
    """What changes on a screen when the clock crosses a boundary (not the seconds)."""
    session = data["session"]["id"] if data["session"] else None
    following = data["next"]["id"] if data["next"] else None
    return (
        data["version"],
        data["phase"],
        session,
        data["turn_index"],
        following,
        data["drift_minutes"],
    )


# --- persistence -----------------------------------------------------------------------


class LiveStore:
    """The rooms' states in SQLite: read them, and change them one command at a time."""

    def __init__(self, db: Database, schedule: Schedule):
        self.db = db
        self.schedule = schedule

    def state(self, room: str) -> RoomState:
        row = self.db.execute(
            "SELECT version, mode, block_id, turn_index, delay_minutes, message "
            "FROM room_states WHERE room = ?",
            [room],
        ).fetchone()
        if row is None:
            return RoomState(room)
        version, mode, block_id, turn_index, delay, message = row
        return RoomState(room, version, mode, block_id, turn_index, delay, message)

    def perform(
        self,
        room: str,
        action: str,
        args: dict[str, Any],
        now: dt.datetime,
        expected_version: int | None = None,
    ) -> RoomState:
        """Apply one organiser command atomically; raise CommandError if it is refused."""
        command = COMMANDS.get(action)
        if command is None:
            raise CommandError("not_found", N_("Unknown command “%(action)s”."), action=action)
        if self.schedule.room(room) is None:
            raise CommandError("not_found", N_("Unknown room “%(room)s”."), room=room)
        with transaction(self.db):
            state = self.state(room)
            if expected_version is not None and expected_version != state.version:
                raise CommandError(
                    "stale",
                    N_(
                        "The screen changed in the meantime (version %(current)d, command "
                        "issued against %(sent)d); nothing was done."
                    ),
                    state,
                    current=state.version,
                    sent=expected_version,
                )
            new = command(self.schedule, state, now, args)
            new = replace(new, version=state.version + 1)
            # Plain SQL: sqlite-utils' upsert() inspects the table on every call, and an
            # organiser's tap should reach the screens without that detour.
            self.db.execute(
                "INSERT INTO room_states (room, version, mode, block_id, turn_index, "
                "delay_minutes, message, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (room) DO UPDATE SET version = excluded.version, "
                "mode = excluded.mode, block_id = excluded.block_id, "
                "turn_index = excluded.turn_index, delay_minutes = excluded.delay_minutes, "
                "message = excluded.message, updated_at = excluded.updated_at",
                [
                    room,
                    new.version,
                    new.mode,
                    new.block_id,
                    new.turn_index,
                    new.delay_minutes,
                    new.message,
                    dt.datetime.now(dt.UTC).isoformat(),
                ],
            )
        return new
