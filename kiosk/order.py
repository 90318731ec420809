"""The running order as the day goes: the organisers' edits on top of the printed programme.

`schedule.yaml` stays the printed programme. On the day, organisers move, insert, cancel
and correct turns, change a block's times and give time budgets. Each block they touch is
stored whole, as it now stands, in SQLite (`block_edits`), and `apply()` lays those blocks
over the print: what every screen, tablet and phone shows is print + edits, and what
differs from print is always known (`differences()`).

Edits are room commands like Next or a delay (kiosk.live): versioned, atomic, logged,
and undone by restoring the block as it stood before (the log keeps it).

No Flask here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any

from sqlite_utils import Database

from .errors import N_, Refusal
from .schedule import MINUTES_MAX, Block, Person, Schedule, Turn

FIELD_MAX = {"civility": 20, "name": 120, "function": 300, "role": 80}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class EditError(Refusal):
    """An edit refused, with the field at fault when there is one (`field` in the body)."""

    def __init__(self, code: str, message: str, field: str | None = None, **params: Any):
        super().__init__(code, message, field=field, **params)
        self.field = field

    def details(self) -> dict[str, Any]:
        return {"field": self.field} if self.field else {}


# --- storage: one row per edited block, holding the block as it now stands --------------


def to_data(block: Block) -> dict[str, Any]:
    """What an edit may change in a block, as stored (JSON)."""
    return {
        "start": block.start.isoformat(),
        "end": block.end.isoformat(),
        "turn_minutes": block.turn_minutes,
        "turns": [
            {
                "id": t.id,
                "civility": t.speaker.civility if t.speaker else None,
                "name": t.speaker.name if t.speaker else None,
                "function": t.speaker.function if t.speaker else None,
                "role": t.role,
                "minutes": t.minutes,
                "cancelled": t.cancelled,
                "inserted": t.inserted,
            }
            for t in block.turns
        ],
    }


def _turn(data: dict[str, Any]) -> Turn:
    speaker = None
    if data.get("name"):
        speaker = Person(data["name"], data.get("civility"), data.get("function"), data.get("role"))
    return Turn(
        role=data.get("role"),
        speaker=speaker,
        id=data["id"],
        minutes=data.get("minutes"),
        cancelled=bool(data.get("cancelled")),
        inserted=bool(data.get("inserted")),
    )


def from_data(printed: Block, data: dict[str, Any]) -> Block:
    return replace(
        printed,
        start=dt.datetime.fromisoformat(data["start"]),
        end=dt.datetime.fromisoformat(data["end"]),
        turn_minutes=data.get("turn_minutes"),
        turns=tuple(_turn(t) for t in data["turns"]),
    )


def load(db: Database, room: str | None = None) -> dict[str, dict[str, Any]]:
    """The edited blocks (of one room, or all), by block id."""
    sql = "SELECT block_id, data FROM block_edits"
    rows = db.execute(sql + " WHERE room = ?", [room]) if room else db.execute(sql)
    return {block_id: json.loads(data) for block_id, data in rows}


def save(db: Database, block: Block, data: dict[str, Any] | None) -> None:
    """Store a block as it now stands, or forget its edits (None: back to print)."""
    if data is None:
        db.execute("DELETE FROM block_edits WHERE block_id = ?", [block.id])
        return
    db.execute(
        "INSERT INTO block_edits (block_id, room, data) VALUES (?, ?, ?) "
        "ON CONFLICT (block_id) DO UPDATE SET data = excluded.data",
        [block.id, block.room, json.dumps(data, ensure_ascii=False)],
    )


def apply(schedule: Schedule, edits: dict[str, dict[str, Any]]) -> Schedule:
    """The programme as it now stands: print with the edited blocks laid over it."""
    if not edits:
        return schedule
    rooms = [r.id for r in schedule.rooms]
    blocks = [from_data(b, edits[b.id]) if b.id in edits else b for b in schedule.blocks]
    blocks.sort(key=lambda b: (rooms.index(b.room), b.start))
    return replace(schedule, blocks=tuple(blocks))


def differences(printed: Block | None, block: Block) -> dict[str, list[str]]:
    """What differs from print, turn by turn: inserted, moved, cancelled, name… ."""
    if printed is None:
        return {}
    before = {t.id: (i, t) for i, t in enumerate(printed.turns)}
    kept = [t.id for t in block.turns if t.id in before]
    printed_order = [t.id for t in printed.turns if t.id in kept]
    out: dict[str, list[str]] = {}
    for turn in block.turns:
        changes = []
        if turn.inserted:
            changes.append("inserted")
        else:
            old = before[turn.id][1]
            if kept.index(turn.id) != printed_order.index(turn.id):
                changes.append("moved")
            if (turn.speaker or Person("")).civility != (old.speaker or Person("")).civility:
                changes.append("civility")
            if (turn.speaker and turn.speaker.name) != (old.speaker and old.speaker.name):
                changes.append("name")
            if (turn.speaker or Person("")).function != (old.speaker or Person("")).function:
                changes.append("function")
            if turn.role != old.role:
                changes.append("role")
            if turn.minutes != old.minutes:
                changes.append("minutes")
        if turn.cancelled:
            changes.append("cancelled")
        if changes:
            out[turn.id] = changes
    return out


# --- the edits: (context, args) -> the blocks they change ------------------------------


@dataclass
class Edit:
    """What an edit needs, and what it changed (block id -> new block)."""

    schedule: Schedule  # as it stands
    room: str
    sequence: int  # unique forever: names an inserted turn
    changed: dict[str, Block] = field(default_factory=dict)
    created: str | None = None  # the id of an inserted turn


def _block(edit: Edit, args: dict[str, Any]) -> Block:
    block_id = args.get("session")
    block = edit.schedule.block(block_id) if isinstance(block_id, str) else None
    if block is None or block.room != edit.room:
        raise EditError(
            "not_found", N_("Unknown session “%(session)s” in this room."), session=block_id
        )
    return block


def find_turn(schedule: Schedule, turn_id: Any) -> tuple[Block, Turn] | None:
    if not isinstance(turn_id, str):
        return None
    for block in schedule.blocks:
        turn = block.turn(turn_id)
        if turn is not None:
            return block, turn
    return None


def _turn_of(edit: Edit, args: dict[str, Any], key: str = "turn") -> tuple[Block, Turn]:
    found = find_turn(edit.schedule, args.get(key))
    if found is None or found[0].room != edit.room:
        raise EditError("not_found", N_("Unknown turn “%(turn)s”."), turn=args.get(key))
    return found


def clean_field(name: str, value: Any) -> str | None:
    """A person's field as typed on a tablet: one line of printable text, or None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise EditError("invalid", N_("'%(field)s' must be text."), field=name)
    if any(unicodedata.category(c).startswith("C") and c not in "\n\t" for c in value):
        raise EditError("invalid", N_("'%(field)s' contains control characters."), field=name)
    value = " ".join(value.split())
    if len(value) > FIELD_MAX[name]:
        raise EditError(
            "invalid",
            N_("'%(field)s' is longer than %(max)d characters."),
            field=name,
            max=FIELD_MAX[name],
        )
    return value or None


def clean_minutes(value: Any, name: str = "minutes") -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MINUTES_MAX:
        raise EditError(
            "invalid",
            N_("'%(field)s' must be a whole number of minutes from 1 to %(max)d, or null."),
            field=name,
            max=MINUTES_MAX,
        )
    return value


def _person(turn: Turn | None, args: dict[str, Any]) -> Turn:
    """The turn with the person's fields of `args` (those present) applied."""
    old = turn or Turn(role=None, speaker=None)
    person = old.speaker
    values = {
        "civility": person.civility if person else None,
        "name": person.name if person else None,
        "function": person.function if person else None,
        "role": old.role,
    }
    for key in FIELD_MAX:
        if key in args:
            values[key] = clean_field(key, args[key])
    minutes = clean_minutes(args["minutes"]) if "minutes" in args else old.minutes
    if values["name"] is None:
        if values["role"] is None:
            raise EditError(
                "invalid",
                N_("A turn needs a 'name', or a 'role' alone (« Débat avec la salle »)."),
                field="name",
            )
        if values["civility"] or values["function"]:
            raise EditError("invalid", N_("A civility or a function needs a 'name'."), field="name")
        speaker = None
    else:
        speaker = Person(values["name"], values["civility"], values["function"], values["role"])
    return replace(old, role=values["role"], speaker=speaker, minutes=minutes)


def _change(edit: Edit, block: Block, turns: list[Turn] | tuple[Turn, ...], **fields) -> None:
    edit.changed[block.id] = replace(block, turns=tuple(turns), **fields)


def _position(block: Block, args: dict[str, Any]) -> int:
    """Where `before` (a turn id, or null for the end) puts a new turn."""
    before = args.get("before")
    if before is None:
        return len(block.turns)
    for i, turn in enumerate(block.turns):
        if turn.id == before:
            return i
    raise EditError(
        "invalid",
        N_("'before' must be a turn of this session, or null for the end."),
        field="before",
    )


def insert(edit: Edit, args: dict[str, Any]) -> None:
    block = _block(edit, args)
    unknown = set(args) - {*FIELD_MAX, "minutes", "before", "session"}
    if unknown:
        name = sorted(unknown)[0]
        raise EditError("invalid", N_("Unknown field '%(field)s'."), field=name)
    turn = replace(_person(None, args), id=f"{block.id}-i{edit.sequence}", inserted=True)
    turns = list(block.turns)
    turns.insert(_position(block, args), turn)
    _change(edit, block, turns)
    edit.created = turn.id


def update(edit: Edit, args: dict[str, Any]) -> None:
    """Correct a turn: the person's fields, its budget, cancelled or not."""
    block, turn = _turn_of(edit, args)
    unknown = set(args) - {*FIELD_MAX, "minutes", "cancelled", "turn"}
    if unknown:
        name = sorted(unknown)[0]
        raise EditError("invalid", N_("Unknown field '%(field)s'."), field=name)
    new = _person(turn, args)
    if "cancelled" in args:
        if not isinstance(args["cancelled"], bool):
            raise EditError("invalid", N_("'cancelled' must be true or false."), field="cancelled")
        new = replace(new, cancelled=args["cancelled"])
    _change(edit, block, [new if t.id == turn.id else t for t in block.turns])


def reorder(edit: Edit, args: dict[str, Any]) -> None:
    """The block's turns in a new order: every turn id, each once."""
    block = _block(edit, args)
    ids = args.get("turns")
    current = [t.id for t in block.turns]
    if (
        not isinstance(ids, list)
        or not all(isinstance(i, str) for i in ids)
        or sorted(ids) != sorted(current)
    ):
        raise EditError(
            "invalid",
            N_("'turns' must list every turn of the session once: %(turns)s."),
            field="turns",
            turns=", ".join(current),
        )
    by_id = {t.id: t for t in block.turns}
    _change(edit, block, [by_id[i] for i in ids])


def move(edit: Edit, args: dict[str, Any]) -> None:
    """One turn up or down (`by`: -1, +1…) or to a place (`to`: 0 is first)."""
    block, turn = _turn_of(edit, args)
    turns = [t for t in block.turns if t.id != turn.id]
    here = [t.id for t in block.turns].index(turn.id)
    to = args.get("to", here + args["by"] if _whole(args.get("by")) else None)
    if not _whole(to):
        raise EditError(
            "invalid", N_("Say where: 'to' (a place, 0 is first) or 'by' (-1 is up)."), field="to"
        )
    if not 0 <= to < len(block.turns):
        raise EditError(
            "invalid",
            N_("Place %(to)d is outside the session (0 to %(last)d)."),
            field="to",
            to=to,
            last=len(block.turns) - 1,
        )
    turns.insert(to, turn)
    _change(edit, block, turns)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def clock_time(day: dt.datetime, value: Any, name: str) -> dt.datetime:
    """« 14:30 » on the day of `day` (and in its timezone), or EditError naming the field."""
    match = _TIME.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise EditError(
            "invalid", N_("'%(field)s' must be a time of day like “14:30”."), field=name
        )
    return day.replace(hour=int(match[1]), minute=int(match[2]), second=0, microsecond=0)


def times(edit: Edit, args: dict[str, Any]) -> None:
    """A block's new start and end (HH:MM, the event's day); it may not overlap another."""
    block = _block(edit, args)
    start = clock_time(block.start, args["start"], "start") if "start" in args else block.start
    end = clock_time(block.start, args["end"], "end") if "end" in args else block.end
    if "turn_minutes" in args:
        turn_minutes = clean_minutes(args["turn_minutes"], "turn_minutes")
    else:
        turn_minutes = block.turn_minutes
    if end <= start:
        raise EditError("invalid", N_("The end must come after the start."), field="end")
    for other in edit.schedule.blocks_in(block.room):
        if other.id != block.id and start < other.end and other.start < end:
            raise EditError(
                "invalid",
                N_("These times overlap “%(other)s” (%(start)s–%(end)s)."),
                field="start",
                other=other.label,
                start=f"{other.start:%H:%M}",
                end=f"{other.end:%H:%M}",
            )
    _change(edit, block, block.turns, start=start, end=end, turn_minutes=turn_minutes)


def budget(edit: Edit, args: dict[str, Any]) -> None:
    """A time budget for the rest of a block: every turn from `from` on (or the whole
    block's turn_minutes when `from` is absent)."""
    block = _block(edit, args)
    minutes = clean_minutes(args.get("minutes"))
    start = args.get("from")
    if start is None:
        _change(edit, block, [replace(t, minutes=None) for t in block.turns], turn_minutes=minutes)
        return
    ids = [t.id for t in block.turns]
    if start not in ids:
        raise EditError("invalid", N_("'from' must be a turn of this session."), field="from")
    k = ids.index(start)
    turns = [replace(t, minutes=minutes) if i >= k else t for i, t in enumerate(block.turns)]
    _change(edit, block, turns)


EDITS = {
    "insert": insert,
    "update": update,
    "reorder": reorder,
    "move": move,
    "times": times,
    "budget": budget,
}
