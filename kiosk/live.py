"""What each room shows now: the running order, the clock and the organiser's overrides.

A room is in one of two modes:

- auto: it follows the clock. Between two blocks it is a pause announcing the next one;
  before the first and after the last it has states of its own. Auto mode highlights
  nobody: the programme prints no time per speaker, and guessing would put the wrong
  name on a screen in front of the speakers.
- manual: the organiser's position holds until they return to auto: a turn at the
  lectern, a session open with nobody at the lectern yet, or a pause (« reprise à 15 h 10 »).

The running order is the printed programme with the day's edits laid over it
(kiosk.order). What is done comes from what happened, never from a position: a turn is
done once it has been at the lectern (`turn_stints`), so Next brings the first turn of
the block not yet heard, whatever order the organiser took them in. Each stint at the
lectern is recorded with the event's clock; the current one carries a timer (pauses,
extra time) that counts down when the turn has a budget.

A declared delay slides the rest of the day: auto mode follows `now - delay`, and every
later start is shown shifted. Every command bumps `version`; a command issued against an
older version is refused, so a double tap never skips two speakers.

No Flask here: `view()` and the commands are pure functions of (day, state, now), and
`LiveStore` persists the state, the stints and the log in SQLite.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any

from sqlite_utils import Database

from . import order
from .db import transaction
from .errors import N_, Refusal
from .schedule import Block, Schedule, Turn

MESSAGE_MAX = 280
DELAY_MIN, DELAY_MAX = -120, 240
PAUSE_MAX_MINUTES = 240
EXTRA_MIN, EXTRA_MAX = -30, 60  # minutes given (or taken back) at once
WARNING_SECONDS = 120  # the stage countdown turns amber with two minutes left
BLACKOUTS = ("black", "title")


class CommandError(Refusal):
    """A command refused; `state` is the room's, for a client whose command was stale."""

    def __init__(self, code: str, message: str, state: RoomState | None = None, **params):
        super().__init__(code, message, **params)
        self.state = state


@dataclass(frozen=True)
class Timer:
    """The clock of the turn at the lectern (this stint), on the event's clock."""

    started_at: dt.datetime | None = None
    paused_at: dt.datetime | None = None
    paused_seconds: float = 0.0
    extra_seconds: int = 0
    carried_seconds: float = 0.0  # spoken in its earlier stints, net of their extra time

    def paused_total(self, now: dt.datetime) -> float:
        running = (now - self.paused_at).total_seconds() if self.paused_at else 0.0
        return self.paused_seconds + running


@dataclass(frozen=True)
class RoomState:
    """What the organiser has set for a room (the clock supplies the rest)."""

    room: str
    version: int = 0
    mode: str = "auto"
    block_id: str | None = None
    turn_id: str | None = None
    delay_minutes: int = 0
    message: str | None = None
    stage_message: str | None = None  # for the lectern's screen only
    blackout: str | None = None  # black | title: the audience screen goes dark
    progress: bool = False  # a discreet bar of the running turn on the audience screen
    pause_until: dt.datetime | None = None  # a manual pause, until this time
    timer: Timer = field(default_factory=Timer)


@dataclass(frozen=True)
class Day:
    """A room's programme as it now stands, and who has been at the lectern."""

    printed: Schedule
    schedule: Schedule  # printed + the day's edits
    edited: frozenset[str] = frozenset()  # blocks that differ from print
    spoken: tuple[str, ...] = ()  # turn ids, in the order they were at the lectern

    @classmethod
    def as_printed(cls, schedule: Schedule) -> Day:
        return cls(schedule, schedule)

    def done(self, state: RoomState) -> frozenset[str]:
        """Turns that have been at the lectern, besides the one there now."""
        return frozenset(self.spoken) - {state.turn_id}


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


def one_day(blocks: tuple[Block, ...], moment: dt.datetime) -> tuple[Block, ...]:
    """The blocks of the day `moment` falls on: an event over several days shows one day
    at a time. Between two days (or before the first), the next day that has blocks; after
    the last, the last."""
    dates = sorted({b.start.date() for b in blocks})
    if len(dates) <= 1:
        return blocks
    today = moment.astimezone(blocks[0].start.tzinfo).date()
    day = next((d for d in dates if d >= today), dates[-1])
    return tuple(b for b in blocks if b.start.date() == day)


# --- positions in the running order ----------------------------------------------------


def heard(block: Block) -> list[Turn]:
    """The turns the audience will hear: the running order without the cancelled ones."""
    return [t for t in block.turns if not t.cancelled]


def _after(blocks: tuple[Block, ...], block: Block) -> Block | None:
    i = blocks.index(block)
    return blocks[i + 1] if i + 1 < len(blocks) else None


def _before(blocks: tuple[Block, ...], block: Block) -> Block | None:
    i = blocks.index(block)
    return blocks[i - 1] if i > 0 else None


def _first_to_come(block: Block, done: frozenset[str]) -> str | None:
    """The first turn of the block not heard yet (None: nobody left, or no turns)."""
    return next((t.id for t in heard(block) if t.id not in done), None)


def _last(block: Block) -> str | None:
    turns = heard(block)
    return turns[-1].id if turns else None


def _held(schedule: Schedule, state: RoomState) -> Block | None:
    """The organiser's block, if manual and still in the programme (it may have changed)."""
    if state.mode != "manual" or state.block_id is None:
        return None
    block = schedule.block(state.block_id)
    if block is None or block.room != state.room:
        return None
    if state.turn_id is not None and state.turn_id not in {t.id for t in heard(block)}:
        return None
    return block


@dataclass
class Context:
    """What a command is given: the day as it stands, and the event's time."""

    day: Day
    now: dt.datetime
    edit: order.Edit | None = None

    @property
    def schedule(self) -> Schedule:
        return self.day.schedule


def _go(state: RoomState, block: Block, turn_id: str | None) -> RoomState:
    return replace(state, mode="manual", block_id=block.id, turn_id=turn_id, pause_until=None)


def _clock_block(ctx: Context, state: RoomState) -> Where:
    blocks = ctx.schedule.blocks_in(state.room)
    return locate(blocks, ctx.now - dt.timedelta(minutes=state.delay_minutes))


# --- commands: (context, state, args) -> new state ---------------------------------------


def cmd_next(ctx: Context, state: RoomState, args: dict) -> RoomState:
    """The first turn of the block not heard yet; when all have been, the next block."""
    blocks = ctx.schedule.blocks_in(state.room)
    done = ctx.day.done(state)
    block = _held(ctx.schedule, state)
    if block is None:
        where = _clock_block(ctx, state)
        block = where.current
        if block is None:
            if where.following is None:
                raise CommandError("at_end", N_("Already at the last item of the programme."))
            return _go(state, where.following, _first_to_come(where.following, done))
    to_come = [t.id for t in heard(block) if t.id not in done and t.id != state.turn_id]
    if to_come:
        return _go(state, block, to_come[0])
    following = _after(blocks, block)
    if following is None:
        raise CommandError("at_end", N_("Already at the last item of the programme."))
    return _go(state, following, _first_to_come(following, done))


def cmd_previous(ctx: Context, state: RoomState, args: dict) -> RoomState:
    """Back one step, to correct a Next tapped too soon (the turn left is then as if it
    had not been at the lectern): to whoever spoke before in this block, or else the turn
    before in the running order; from the first, to the end of the block before."""
    blocks = ctx.schedule.blocks_in(state.room)
    held = _held(ctx.schedule, state)
    if held is not None and (state.turn_id is not None or state.pause_until is not None):
        turns = heard(held)
        ids = [t.id for t in turns]
        spoken = [t for t in ctx.day.spoken if t != state.turn_id and t in ids]
        if spoken:
            return _go(state, held, spoken[-1])
        if state.turn_id in ids and ids.index(state.turn_id) > 0:
            return _go(state, held, ids[ids.index(state.turn_id) - 1])
    if held is not None:
        reference: Block | None = held
    else:
        where = _clock_block(ctx, state)
        reference = where.current or where.following
        if reference is None:  # after the day: back to its last item
            if not blocks:
                raise CommandError("at_start", N_("Already at the first item of the programme."))
            return _go(state, blocks[-1], _last(blocks[-1]))
    earlier = _before(blocks, reference)
    if earlier is None:
        raise CommandError("at_start", N_("Already at the first item of the programme."))
    return _go(state, earlier, _last(earlier))


def cmd_goto(ctx: Context, state: RoomState, args: dict) -> RoomState:
    """A block, at a turn (its id; null: the session open, nobody at the lectern yet),
    or at its first turn not heard yet when no turn is named."""
    block_id = args.get("session")
    block = ctx.schedule.block(block_id) if isinstance(block_id, str) else None
    if block is None or block.room != state.room:
        raise CommandError(
            "invalid", N_("Unknown session “%(session)s” in this room."), session=block_id
        )
    if "turn" not in args:
        return _go(state, block, _first_to_come(block, ctx.day.done(state)))
    turn = args["turn"]
    turns = heard(block)
    if turn is None:
        return _go(state, block, None)
    if isinstance(turn, int) and not isinstance(turn, bool):  # a place, as the API had
        if not 0 <= turn < len(turns):
            raise CommandError(
                "invalid",
                N_("Session “%(session)s” has %(count)d turns; turn %(turn)d does not exist."),
                session=block.id,
                count=len(turns),
                turn=turn,
            )
        return _go(state, block, turns[turn].id)
    if not isinstance(turn, str):
        raise CommandError("invalid", N_("'turn' must be a turn id, or null."))
    found = block.turn(turn)
    if found is None:
        raise CommandError(
            "invalid",
            N_("Session “%(session)s” has no turn “%(turn)s”."),
            session=block.id,
            turn=turn,
        )
    if found.cancelled:
        raise CommandError(
            "conflict", N_("This turn is cancelled; restore it before giving it the floor.")
        )
    return _go(state, block, turn)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def cmd_delay(ctx: Context, state: RoomState, args: dict) -> RoomState:
    minutes = args.get("minutes")
    if not _whole(minutes):
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


def cmd_message(ctx: Context, state: RoomState, args: dict) -> RoomState:
    if "text" not in args:
        raise CommandError("invalid", N_("'text' is missing (null clears the message)."))
    return replace(state, message=clean_message(args["text"]))


def cmd_stage_message(ctx: Context, state: RoomState, args: dict) -> RoomState:
    """A word for the speaker at the lectern (« Merci de conclure »), never on the
    audience's screen."""
    if "text" not in args:
        raise CommandError("invalid", N_("'text' is missing (null clears the message)."))
    return replace(state, stage_message=clean_message(args["text"]))


def cmd_auto(ctx: Context, state: RoomState, args: dict) -> RoomState:
    return replace(state, mode="auto", block_id=None, turn_id=None, pause_until=None)


def cmd_pause(ctx: Context, state: RoomState, args: dict) -> RoomState:
    """A pause nobody printed (« Pause — reprise à 15 h 10 »): `until` HH:MM or `minutes`."""
    tz = ctx.schedule.event.tz
    now = ctx.now.astimezone(tz)
    if args.get("until") is not None:
        until = order.clock_time(now, args["until"], "until")
        if until <= now:
            raise CommandError("invalid", N_("The pause must end later than now."))
    elif args.get("minutes") is not None:
        minutes = args["minutes"]
        if not _whole(minutes) or not 1 <= minutes <= PAUSE_MAX_MINUTES:
            raise CommandError(
                "invalid",
                N_("'minutes' must be a whole number from 1 to %(max)d."),
                max=PAUSE_MAX_MINUTES,
            )
        # Announced to the minute: « reprise à 15 h 10 », not 15 h 09 and 37 s.
        until = (now + dt.timedelta(minutes=minutes)).replace(second=0, microsecond=0)
        if now.second or now.microsecond:
            until += dt.timedelta(minutes=1)
    else:
        raise CommandError("invalid", N_("Say until when: 'until' (HH:MM) or 'minutes'."))
    block = _held(ctx.schedule, state) or _clock_block(ctx, state).current
    return replace(
        state,
        mode="manual",
        block_id=block.id if block else None,
        turn_id=None,
        pause_until=until,
    )


def _speaking(state: RoomState) -> None:
    if state.turn_id is None or state.timer.started_at is None:
        raise CommandError("conflict", N_("Nobody is at the lectern."))


def cmd_hold_timer(ctx: Context, state: RoomState, args: dict) -> RoomState:
    """Stop the countdown (a microphone fails); the time stopped is given back."""
    _speaking(state)
    if state.timer.paused_at is not None:
        return state
    return replace(state, timer=replace(state.timer, paused_at=ctx.now))


def cmd_resume_timer(ctx: Context, state: RoomState, args: dict) -> RoomState:
    _speaking(state)
    timer = state.timer
    if timer.paused_at is None:
        return state
    return replace(
        state,
        timer=replace(timer, paused_at=None, paused_seconds=timer.paused_total(ctx.now)),
    )


def cmd_extra_time(ctx: Context, state: RoomState, args: dict) -> RoomState:
    """More time for the speaker at the lectern (+1 min), or some taken back."""
    _speaking(state)
    minutes = args.get("minutes", 1)
    if not _whole(minutes) or not EXTRA_MIN <= minutes <= EXTRA_MAX or minutes == 0:
        raise CommandError(
            "invalid",
            N_("'minutes' must be a whole number from %(low)d to %(high)d, not 0."),
            low=EXTRA_MIN,
            high=EXTRA_MAX,
        )
    timer = state.timer
    return replace(state, timer=replace(timer, extra_seconds=timer.extra_seconds + 60 * minutes))


def cmd_blackout(ctx: Context, state: RoomState, args: dict) -> RoomState:
    """The audience screen goes black, or shows the event's title alone; null brings it back."""
    screen = args.get("screen")
    if screen is not None and screen not in BLACKOUTS:
        raise CommandError("invalid", N_("'screen' must be “black”, “title” or null."))
    return replace(state, blackout=screen)


def cmd_progress(ctx: Context, state: RoomState, args: dict) -> RoomState:
    show = args.get("show")
    if not isinstance(show, bool):
        raise CommandError("invalid", N_("'show' must be true or false."))
    return replace(state, progress=show)


def _edit(action: str):
    def command(ctx: Context, state: RoomState, args: dict) -> RoomState:
        assert ctx.edit is not None  # LiveStore gives edits their context
        order.EDITS[action](ctx.edit, args)
        return state

    command.__doc__ = order.EDITS[action].__doc__
    return command


COMMANDS = {
    "next": cmd_next,
    "previous": cmd_previous,
    "goto": cmd_goto,
    "delay": cmd_delay,
    "message": cmd_message,
    "stage_message": cmd_stage_message,
    "auto": cmd_auto,
    "pause": cmd_pause,
    "hold_timer": cmd_hold_timer,
    "resume_timer": cmd_resume_timer,
    "extra_time": cmd_extra_time,
    "blackout": cmd_blackout,
    "progress": cmd_progress,
    **{action: _edit(action) for action in order.EDITS},
    "undo": None,  # LiveStore.perform: restores the blocks as they stood before an edit
}
MOVES = ("next", "previous", "goto", "auto", "pause")  # commands that change who speaks


# --- what screens show -----------------------------------------------------------------


def _minutes(delta: dt.timedelta) -> int:
    return int(delta.total_seconds() // 60)


def drift_minutes(block: Block, now: dt.datetime) -> int:
    """How far a manually held block is from its times (+ late, - early, 0 on time)."""
    if now < block.start:
        return -_minutes(block.start - now)
    if now > block.end:
        return _minutes(now - block.end)
    return 0


def projected(
    blocks: tuple[Block, ...], following: Block | None, shift: dt.timedelta
) -> dict[str, dict[str, str]]:
    """Where the delay puts the blocks still to come: `following` and every later one.

    The block on now keeps its times (the audience knows them), so with no delay, or
    nothing left to come, nothing moves and the mapping is empty.
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


def _turn_json(block: Block, turn: Turn, done: frozenset[str], changes: dict) -> dict:
    data = turn.to_json()
    data["budget"] = block.budget(turn)
    data["done"] = turn.id in done
    data["cancelled"] = turn.cancelled
    data["inserted"] = turn.inserted
    data["changes"] = changes.get(turn.id, [])
    return data


def _block_json(
    day: Day, block: Block, shift: dt.timedelta, done: frozenset[str]
) -> dict[str, Any]:
    data = block.to_json()
    printed = day.printed.block(block.id)
    changes = order.differences(printed, block) if block.id in day.edited else {}
    data["turns"] = [_turn_json(block, t, done, changes) for t in block.turns]
    data["planned_start"] = printed.start.isoformat() if printed else data["start"]
    data["planned_end"] = printed.end.isoformat() if printed else data["end"]
    data["start"] = (block.start + shift).isoformat()
    data["end"] = (block.end + shift).isoformat()
    return data


def _timer(block: Block, turn: Turn, timer: Timer, now: dt.datetime) -> dict[str, Any] | None:
    """What a countdown needs; `ends_at` and `remaining_seconds` only with a budget."""
    if timer.started_at is None:
        return None
    paused = timer.paused_total(now)
    spoken = (now - timer.started_at).total_seconds() - paused + timer.carried_seconds
    planned = block.budget(turn)
    data = {
        "turn_id": turn.id,
        "started_at": timer.started_at.isoformat(),
        "planned_minutes": planned,
        "extra_minutes": timer.extra_seconds // 60,
        "paused": timer.paused_at is not None,
        "elapsed_seconds": round(spoken, 1),
        "ends_at": None,
        "remaining_seconds": None,
        "warning_seconds": WARNING_SECONDS,
    }
    if planned is not None:
        budget = 60 * planned + timer.extra_seconds
        ends = timer.started_at + dt.timedelta(seconds=budget + paused - timer.carried_seconds)
        data["ends_at"] = ends.isoformat()
        data["remaining_seconds"] = round((ends - now).total_seconds(), 1)
    return data


def projection(
    blocks: tuple[Block, ...],
    block: Block,
    state: RoomState,
    timer: dict[str, Any] | None,
    done: frozenset[str],
    now: dt.datetime,
) -> dict[str, Any] | None:
    """When the held block and the day will end, from actual times and the budgets of the
    turns still to come; None when one of them has no budget (no guessing)."""
    turns = heard(block)
    if not turns:
        return None
    to_come = [t for t in turns if t.id not in done and t.id != state.turn_id]
    budgets = [block.budget(t) for t in to_come]
    if any(b is None for b in budgets):
        return None
    base = now
    if state.turn_id is not None:
        if timer is None or timer["ends_at"] is None:
            return None
        base = max(now, dt.datetime.fromisoformat(timer["ends_at"]))
    end = base + dt.timedelta(minutes=sum(budgets))
    late = max(0, math.ceil((end - block.end).total_seconds() / 60))
    last = blocks[-1]
    day_end = end if last is block else max(end, last.end + dt.timedelta(minutes=late))
    return {
        "block_end": end.isoformat(),
        "block_planned_end": block.end.isoformat(),
        "day_end": day_end.isoformat(),
        "day_planned_end": last.end.isoformat(),
        "delay_minutes": late,
    }


def view(
    day: Day | Schedule, state: RoomState, now: dt.datetime, clock_speed: float = 1.0
) -> dict[str, Any]:
    """The room's full state, as the organisers and the stage receive it (`public()` is
    the audience's)."""
    if isinstance(day, Schedule):
        day = Day.as_printed(day)
    schedule = day.schedule
    shift = dt.timedelta(minutes=state.delay_minutes)
    done = day.done(state)
    held = _held(schedule, state)
    reference = schedule.block(state.block_id or "") if state.mode == "manual" else None
    if reference is not None and reference.room != state.room:
        reference = None
    # The day shown: the organiser's block's, or the clock's.
    blocks = one_day(schedule.blocks_in(state.room), reference.start if reference else now - shift)
    where = locate(blocks, now - shift)
    pause = None
    turn_id = None
    drift = 0
    if state.pause_until is not None and state.mode == "manual":
        if reference is not None:
            resumes = reference if _first_to_come(reference, done) else _after(blocks, reference)
        else:
            resumes = where.following if where.current is None else _after(blocks, where.current)
        where = Where("break", None, resumes)
        pause = {"until": state.pause_until.isoformat()}
    elif held:
        where = Where("break" if held.kind == "break" else "session", held, _after(blocks, held))
        turn_id = state.turn_id
        drift = drift_minutes(held, now)
    mode = "manual" if held or pause else "auto"
    current = where.current
    speaker = timer = None
    if current is not None and turn_id is not None:
        turn = current.turn(turn_id)
        speaker = turn.to_json()
        speaker["turn_id"] = speaker.pop("id")
        timer = _timer(current, turn, state.timer, now)
    # The current block is shown with its own times (the audience knows them); what
    # comes after it is shown where the declared delay puts it.
    session = _block_json(day, current, dt.timedelta(0), done) if current else None
    heard_ids = [t.id for t in heard(current)] if current else []
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
        "stage_message": state.stage_message,
        "blackout": state.blackout,
        "progress": state.progress,
        "pause": pause,
        "session": session,
        "turn_index": heard_ids.index(turn_id) if turn_id in heard_ids else None,
        "speaker": speaker,
        "timer": timer,
        "projection": projection(blocks, current, state, timer, done, now)
        if mode == "manual" and current is not None and pause is None
        else None,
        "next": _block_json(day, where.following, shift, done) if where.following else None,
        "projected": projected(blocks, where.following, shift),
        "done": sorted(done),
        "edited": {
            b.id: _block_json(day, b, dt.timedelta(0), done) for b in blocks if b.id in day.edited
        },
        # Manual mode holds whatever the clock says, so there is nothing to follow.
        "timeline": timeline(blocks, now, shift) if mode == "auto" else [],
    }


PRIVATE = ("stage_message",)


def _heard_only(block: dict[str, Any] | None) -> dict[str, Any] | None:
    if block is None:
        return None
    turns = [t for t in block["turns"] if not t["cancelled"]]
    return {**block, "turns": turns}


def public(data: dict[str, Any]) -> dict[str, Any]:
    """The state the audience's screens and phones get: no word for the lectern, no
    cancelled turn."""
    out = {k: v for k, v in data.items() if k not in PRIVATE}
    out["session"] = _heard_only(data["session"])
    out["next"] = _heard_only(data["next"])
    out["edited"] = {k: _heard_only(v) for k, v in data["edited"].items()}
    return out


def room_blocks(day: Day, state: RoomState) -> list[dict[str, Any]]:
    """The room's blocks as the audience's screen boots with them, in the shape `view()`
    gives its `session`: the screen follows its timeline offline with these."""
    done = day.done(state)
    return [
        _heard_only(_block_json(day, b, dt.timedelta(0), done))
        for b in day.schedule.blocks_in(state.room)
    ]


def signature(data: dict[str, Any]) -> tuple:
    """What changes on a screen when the clock moves (not the seconds)."""
    session = data["session"]["id"] if data["session"] else None
    following = data["next"]["id"] if data["next"] else None
    late = data["projection"]["delay_minutes"] if data["projection"] else None
    return (
        data["version"],
        data["phase"],
        session,
        data["turn_index"],
        following,
        data["drift_minutes"],
        late,
    )


# --- persistence -----------------------------------------------------------------------

_STATE_COLUMNS = (
    "version, mode, block_id, turn_id, delay_minutes, message, stage_message, blackout, "
    "progress, pause_until, timer_started_at, timer_paused_at, timer_paused_seconds, "
    "timer_extra_seconds, timer_carried_seconds"
)


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


class LiveStore:
    """The rooms' states in SQLite: read them, and change them one command at a time.

    After an `insert`, `created` holds the new turn's id.
    """

    def __init__(self, db: Database, schedule: Schedule):
        self.db = db
        self.schedule = schedule  # as printed
        self.created: str | None = None

    def state(self, room: str) -> RoomState:
        row = self.db.execute(
            f"SELECT {_STATE_COLUMNS} FROM room_states WHERE room = ?", [room]
        ).fetchone()
        if row is None:
            return RoomState(room)
        (version, mode, block_id, turn_id, delay, message, stage, blackout, progress,
         pause_until, started, paused_at, paused, extra, carried) = row  # fmt: skip
        timer = Timer(_time(started), _time(paused_at), paused or 0.0, extra or 0, carried or 0.0)
        return RoomState(
            room, version, mode, block_id, turn_id, delay, message, stage, blackout,
            bool(progress), _time(pause_until), timer,
        )  # fmt: skip

    def day(self, room: str) -> Day:
        edits = order.load(self.db, room)
        spoken = tuple(
            turn_id
            for (turn_id,) in self.db.execute(
                "SELECT turn_id FROM turn_stints WHERE room = ? AND withdrawn = 0 ORDER BY id",
                [room],
            )
        )
        return Day(self.schedule, order.apply(self.schedule, edits), frozenset(edits), spoken)

    def _save(self, new: RoomState) -> None:
        # Plain SQL: sqlite-utils' upsert() inspects the table on every call, and an
        # organiser's tap should reach the screens without that detour.
        t = new.timer
        self.db.execute(
            f"INSERT INTO room_states (room, {_STATE_COLUMNS}, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (room) DO UPDATE SET "
            + ", ".join(
                f"{c} = excluded.{c}" for c in [*_STATE_COLUMNS.split(", "), "updated_at"]
            ),
            [
                new.room, new.version, new.mode, new.block_id, new.turn_id,
                new.delay_minutes, new.message, new.stage_message, new.blackout,
                int(new.progress), _iso(new.pause_until), _iso(t.started_at),
                _iso(t.paused_at), t.paused_seconds, t.extra_seconds, t.carried_seconds,
                dt.datetime.now(dt.UTC).isoformat(),
            ],
        )  # fmt: skip

    def _turn_changes(
        self, day: Day, new: RoomState, now: dt.datetime, withdraw: bool
    ) -> RoomState:
        """Record the stints: the turn leaving the lectern, the one arriving."""
        arriving = _held(day.schedule, new)
        arriving_id = new.turn_id if arriving is not None and new.pause_until is None else None
        row = self.db.execute(
            "SELECT id, turn_id FROM turn_stints WHERE room = ? AND ended_at IS NULL",
            [new.room],
        ).fetchone()
        leaving_id = row[1] if row else None
        if leaving_id == arriving_id:
            return new
        if row:
            t = new.timer
            self.db.execute(
                "UPDATE turn_stints SET ended_at = ?, paused_seconds = ?, extra_seconds = ?, "
                "withdrawn = ? WHERE id = ?",
                [now.isoformat(), t.paused_total(now), t.extra_seconds, int(withdraw), row[0]],
            )
        if arriving_id is None:
            return replace(new, timer=Timer())
        carried = 0.0
        for started, ended, paused, extra in self.db.execute(
            "SELECT started_at, ended_at, paused_seconds, extra_seconds FROM turn_stints "
            "WHERE room = ? AND turn_id = ? AND withdrawn = 0 AND ended_at IS NOT NULL",
            [new.room, arriving_id],
        ):
            spoken = (_time(ended) - _time(started)).total_seconds() - paused
            carried += spoken - extra
        self.db.execute(
            "INSERT INTO turn_stints (room, block_id, turn_id, started_at, planned_minutes) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                new.room,
                arriving.id,
                arriving_id,
                now.isoformat(),
                arriving.budget(arriving.turn(arriving_id)),
            ],
        )
        return replace(new, timer=Timer(started_at=now, carried_seconds=max(0.0, carried)))

    def _edit(
        self, room: str, day: Day, action: str, args: dict, now: dt.datetime, sequence: int
    ) -> dict:
        """Apply an edit to the running order; return what undoes it."""
        edit = order.Edit(day.schedule, room, sequence)
        COMMANDS[action](Context(day, now, edit), RoomState(room), args)
        before = order.load(self.db, room)
        for block in edit.changed.values():
            data = order.to_data(block)
            printed = self.schedule.block(block.id)
            order.save(self.db, block, None if data == order.to_data(printed) else data)
        self.created = edit.created
        return {block_id: before.get(block_id) for block_id in edit.changed}

    def _undo(self, room: str) -> dict:
        row = self.db.execute(
            "SELECT id, undo FROM room_log WHERE room = ? AND undo IS NOT NULL AND undone = 0 "
            "ORDER BY id DESC LIMIT 1",
            [room],
        ).fetchone()
        if row is None:
            raise CommandError("conflict", N_("There is no change of the running order to undo."))
        for block_id, data in json.loads(row[1]).items():
            order.save(self.db, self.schedule.block(block_id), data)
        self.db.execute("UPDATE room_log SET undone = 1 WHERE id = ?", [row[0]])
        return {"edit": row[0]}

    def perform(
        self,
        room: str,
        action: str,
        args: dict[str, Any],
        now: dt.datetime,
        expected_version: int | None = None,
    ) -> RoomState:
        """Apply one organiser command atomically; raise CommandError if it is refused."""
        if action not in COMMANDS:
            raise CommandError("not_found", N_("Unknown command “%(action)s”."), action=action)
        if self.schedule.room(room) is None:
            raise CommandError("not_found", N_("Unknown room “%(room)s”."), room=room)
        self.created = None
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
            day = self.day(room)
            (sequence,) = self.db.execute(
                "SELECT COALESCE(MAX(id), 0) + 1 FROM room_log"
            ).fetchone()
            undo = None
            logged = {k: v for k, v in args.items() if k not in ("room", "action", "version")}
            if action == "undo":
                logged = self._undo(room)
            elif action in order.EDITS:
                # Without `version` (and the socket's room, action): insert and update
                # refuse fields they do not know.
                undo = self._edit(room, day, action, logged, now, sequence)
            new = state
            if action in order.EDITS or action == "undo":
                day = self.day(room)
                # The turn at the lectern stays in the running order, and heard.
                if state.turn_id is not None and _held(day.schedule, state) is None:
                    raise CommandError(
                        "conflict",
                        N_("That would remove the turn at the lectern; move on first."),
                    )
            else:
                new = COMMANDS[action](Context(day, now), state, args)
            if action in MOVES:
                new = self._turn_changes(day, new, now, withdraw=action == "previous")
            new = replace(new, version=state.version + 1)
            self._save(new)
            self.db.execute(
                "INSERT INTO room_log (id, room, version, at, action, args, undo) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    sequence,
                    room,
                    new.version,
                    now.isoformat(),
                    action,
                    json.dumps(logged, ensure_ascii=False, default=str),
                    json.dumps(undo, ensure_ascii=False) if undo is not None else None,
                ],
            )
        return new
