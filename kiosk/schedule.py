"""The event's timetable: schedule.yaml read into frozen dataclasses, or one clear error.

No Flask here: the CLI, the server and the tests all load timetables through `load()`.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .errors import N_, Explained, Message
from .timetables import detect

BUNDLED = Path(__file__).resolve().parent / "schedule.yaml"
if not BUNDLED.exists():  # running from a source checkout: the file sits at the top level
    BUNDLED = Path(__file__).resolve().parent.parent / "schedule.yaml"

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
KINDS = ("session", "break")
MINUTES_MAX = 600  # a time budget: ten hours is already no budget at all
MAX_DAYS = 31  # an event over several days: a month at most


class ScheduleError(Explained):
    """A timetable that cannot be used; the message names the file and the place.

    Its message is untranslated (errors.Message): str() is English, and the command line
    says it in its own language with describe().
    """


def _at(source: str, line: int | None, problem: Message) -> ScheduleError:
    if line:
        return ScheduleError(
            N_("%(file)s, line %(line)d: %(problem)s"), file=source, line=line, problem=problem
        )
    return ScheduleError(N_("%(file)s: %(problem)s"), file=source, problem=problem)


def _quoted(key: str) -> Message:
    """A key of the file, as the organiser wrote it: 'rooms', « rooms »."""
    return Message(N_("'%(key)s'"), key=key)


def _numbered(template: str, n: int) -> Message:
    return Message(template, n=n)


@dataclass(frozen=True)
class Person:
    name: str
    civility: str | None = None
    function: str | None = None
    role: str | None = None

    @property
    def display_name(self) -> str:
        return f"{self.civility} {self.name}" if self.civility else self.name

    def to_json(self) -> dict[str, Any]:
        return {
            "civility": self.civility,
            "name": self.name,
            "display_name": self.display_name,
            "function": self.function,
            "role": self.role,
        }


@dataclass(frozen=True)
class Turn:
    """One turn at the microphone: a speaker, or a role alone (« Débat avec la salle »)."""

    role: str | None
    speaker: Person | None
    # Stable within the printed programme: the block's id and the turn's printed place
    # (« session-3-2 »), whatever happens to the running order on the day. A turn added
    # on the day gets « session-3-i1 » (kiosk.order).
    id: str = ""
    minutes: int | None = None  # the time budget, if the programme gives one
    cancelled: bool = False  # on the day: kept in the record, hidden from the audience
    inserted: bool = False  # on the day: not in the printed programme

    def to_json(self) -> dict[str, Any]:
        person = self.speaker.to_json() if self.speaker else {}
        return {
            "id": self.id,
            "role": self.role,
            "name": person.get("name"),
            "civility": person.get("civility"),
            "display_name": person.get("display_name"),
            "function": person.get("function"),
            "minutes": self.minutes,
        }


@dataclass(frozen=True)
class Block:
    id: str
    room: str
    start: dt.datetime
    end: dt.datetime
    kind: str
    label: str
    title: str | None
    description: str | None
    moderators: tuple[Person, ...]
    turns: tuple[Turn, ...]
    turn_minutes: int | None = None  # the budget of a turn that gives none of its own

    def budget(self, turn: Turn) -> int | None:
        """A turn's time budget in minutes, or None: nothing counts down without one."""
        return turn.minutes if turn.minutes is not None else self.turn_minutes

    def turn(self, turn_id: str) -> Turn | None:
        return next((t for t in self.turns if t.id == turn_id), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "room": self.room,
            "date": self.start.date().isoformat(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "kind": self.kind,
            "label": self.label,
            "title": self.title,
            "description": self.description,
            "moderators": [m.to_json() for m in self.moderators],
            "turn_minutes": self.turn_minutes,
            "turns": [t.to_json() for t in self.turns],
        }


@dataclass(frozen=True)
class Room:
    id: str
    name: str


@dataclass(frozen=True)
class Event:
    title: str
    date: dt.date  # the first day
    timezone: str
    organiser: str | None = None
    venue: str | None = None
    description: str | None = None
    end_date: dt.date | None = None  # the last day of an event over several days

    @property
    def last_date(self) -> dt.date:
        return self.end_date or self.date

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Schedule:
    event: Event
    rooms: tuple[Room, ...]
    blocks: tuple[Block, ...]  # sorted by room, then start

    def room(self, room_id: str) -> Room | None:
        return next((r for r in self.rooms if r.id == room_id), None)

    def blocks_in(self, room_id: str) -> tuple[Block, ...]:
        return tuple(b for b in self.blocks if b.room == room_id)

    def block(self, block_id: str) -> Block | None:
        return next((b for b in self.blocks if b.id == block_id), None)

    def days(self) -> tuple[dt.date, ...]:
        """The days that have blocks, in order (one for a one-day event)."""
        tz = self.event.tz
        return tuple(sorted({b.start.astimezone(tz).date() for b in self.blocks}))

    def to_json(self) -> dict[str, Any]:
        e = self.event
        return {
            "event": {
                "title": e.title,
                "organiser": e.organiser,
                "date": e.date.isoformat(),
                "end_date": e.last_date.isoformat(),
                "days": [d.isoformat() for d in self.days()],
                "venue": e.venue,
                "timezone": e.timezone,
                "description": e.description,
            },
            "rooms": [{"id": r.id, "name": r.name} for r in self.rooms],
            "blocks": [b.to_json() for b in self.blocks],
        }


# --- reading YAML while keeping line numbers -------------------------------------------


class _LineDict(dict):
    line = 0
    key_lines: dict = {}


class _Loader(yaml.SafeLoader):
    """Safe YAML that remembers where each mapping starts and leaves 08:30 a string.

    YAML 1.1 reads an unquoted 08:30 as the base-60 integer 510; organisers write times
    unquoted, so such scalars stay text and are parsed as times below.
    """

    def construct_mapping(self, node, deep=False):
        mapping = _LineDict(super().construct_mapping(node, deep=deep))
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {
            k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k.value, str)
        }
        return mapping

    def construct_yaml_int(self, node):
        if ":" in node.value:
            return node.value
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node):
        if ":" in node.value:
            return node.value
        return super().construct_yaml_float(node)


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_yaml_float)


class _Reader:
    """Turns the parsed YAML into dataclasses, raising ScheduleError with the place."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, where: Any, problem: Message, key: str | None = None) -> ScheduleError:
        """The problem at its place: the line of `key` in `where`, or where `where` starts."""
        line = getattr(where, "key_lines", {}).get(key) or getattr(where, "line", None)
        return _at(self.source, line, problem)

    def mapping(self, value: Any, what: Message, parent: Any) -> _LineDict:
        if not isinstance(value, dict):
            raise self.fail(
                parent, Message(N_("%(what)s must be a mapping of keys to values"), what=what)
            )
        return value  # type: ignore[return-value]

    def keys(self, data: _LineDict, what: Message, required: tuple, optional: tuple) -> None:
        unknown = sorted(set(map(str, data)) - set(required) - set(optional))
        if unknown:
            allowed = ", ".join((*required, *optional))
            problem = N_("%(what)s: unknown key '%(key)s' (allowed: %(allowed)s)")
            raise self.fail(
                data, Message(problem, what=what, key=unknown[0], allowed=allowed), unknown[0]
            )
        for key in required:
            if data.get(key) in (None, ""):
                raise self.fail(
                    data, Message(N_("%(what)s: missing '%(key)s'"), what=what, key=key)
                )

    def text(self, data: _LineDict, key: str, what: Message) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            problem = Message(N_("%(what)s: '%(key)s' must be text"), what=what, key=key)
            raise self.fail(data, problem, key)
        value = " ".join(str(value).split())
        return value or None

    def date(self, data: _LineDict, key: str, what: Message) -> dt.date:
        value = data.get(key)
        problem = N_("%(what)s: %(key)s %(value)s is not YYYY-MM-DD")
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                raise self.fail(
                    data, Message(problem, what=what, key=key, value=repr(value)), key
                ) from None
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise self.fail(data, Message(problem, what=what, key=key, value=repr(value)), key)
        return value

    def ident(self, data: _LineDict, what: Message) -> str:
        value = data.get("id")
        if not isinstance(value, str) or not _ID.match(value):
            problem = N_("%(what)s: id %(value)s must be letters, digits, '-' or '_' (at most 64)")
            raise self.fail(data, Message(problem, what=what, value=repr(value)))
        return value

    def time(self, data: _LineDict, key: str, what: Message, date: dt.date, tz: ZoneInfo):
        value = data.get(key)
        match = _TIME.match(str(value).strip()) if isinstance(value, str) else None
        if not match:
            problem = N_('%(what)s: %(key)s %(value)s is not a time of day like "09:30"')
            raise self.fail(data, Message(problem, what=what, key=key, value=repr(value)))
        local = dt.datetime.combine(date, dt.time(int(match[1]), int(match[2])))
        return local.replace(tzinfo=tz)

    def minutes(self, data: _LineDict, key: str, what: Message) -> int | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MINUTES_MAX:
            problem = N_("%(what)s: '%(key)s' must be a whole number of minutes from 1 to %(max)d")
            raise self.fail(data, Message(problem, what=what, key=key, max=MINUTES_MAX), key)
        return value

    def person(self, data: Any, what: Message, parent: Any, role_only_ok: bool) -> Turn:
        data = self.mapping(data, what, parent)
        keys = ("civility", "name", "function", "role")
        self.keys(data, what, (), (*keys, "minutes") if role_only_ok else keys)
        minutes = self.minutes(data, "minutes", what)
        name = self.text(data, "name", what)
        role = self.text(data, "role", what)
        civility = self.text(data, "civility", what)
        function = self.text(data, "function", what)
        if name is None:
            if not role_only_ok:
                raise self.fail(
                    data, Message(N_("%(what)s: missing '%(key)s'"), what=what, key="name")
                )
            if role is None:
                problem = N_(
                    "%(what)s: missing 'name' (or a 'role' for a turn "
                    "without a speaker, such as « Débat avec la salle »)"
                )
                raise self.fail(data, Message(problem, what=what))
            if civility or function:
                problem = N_("%(what)s: missing 'name' for civility/function")
                raise self.fail(data, Message(problem, what=what))
            return Turn(role=role, speaker=None, minutes=minutes)
        return Turn(role=role, speaker=Person(name, civility, function, role), minutes=minutes)

    def people(self, data: _LineDict, key: str, what: Message, role_only_ok: bool) -> tuple:
        items = data.get(key) or []
        if not isinstance(items, list):
            raise self.fail(
                data, Message(N_("%(what)s: '%(key)s' must be a list"), what=what, key=key)
            )
        return tuple(
            self.person(
                item,
                Message(N_("%(what)s, %(key)s #%(n)d"), what=what, key=key, n=i + 1),
                data,
                role_only_ok,
            )
            for i, item in enumerate(items)
        )

    def event(self, root: _LineDict) -> Event:
        data = self.mapping(root.get("event"), _quoted("event"), root)
        what = Message(N_("event"))
        self.keys(
            data,
            what,
            ("title", "date", "timezone"),
            ("organiser", "venue", "description", "end_date"),
        )
        date = self.date(data, "date", Message(N_("event")))
        end_date = None
        if data.get("end_date") is not None:
            end_date = self.date(data, "end_date", Message(N_("event")))
            if not date <= end_date <= date + dt.timedelta(days=MAX_DAYS - 1):
                problem = N_("event: end_date %(end)s must be from %(date)s to %(days)d days later")
                raise self.fail(
                    data,
                    Message(problem, end=str(end_date), date=str(date), days=MAX_DAYS - 1),
                    "end_date",
                )
        timezone = self.text(data, "timezone", what) or ""
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problem = Message(N_("event: unknown timezone %(value)s"), value=repr(timezone))
            raise self.fail(data, problem, "timezone") from None
        return Event(
            title=self.text(data, "title", what) or "",
            date=date,
            end_date=end_date,
            timezone=timezone,
            organiser=self.text(data, "organiser", what),
            venue=self.text(data, "venue", what),
            description=self.text(data, "description", what),
        )

    def rooms(self, root: _LineDict) -> tuple[Room, ...]:
        items = root.get("rooms")
        if not isinstance(items, list) or not items:
            raise self.fail(root, Message(N_("'rooms' must list at least one room")))
        rooms: list[Room] = []
        for i, item in enumerate(items):
            numbered = _numbered(N_("room #%(n)d"), i + 1)
            data = self.mapping(item, numbered, root)
            self.keys(data, numbered, ("id", "name"), ())
            room_id = self.ident(data, numbered)
            what = Message(N_("room '%(id)s'"), id=room_id)
            if any(r.id == room_id for r in rooms):
                raise self.fail(data, Message(N_("%(what)s: duplicate id"), what=what))
            rooms.append(Room(room_id, self.text(data, "name", what) or ""))
        return tuple(rooms)

    def blocks(self, root: _LineDict, event: Event, rooms: tuple[Room, ...]) -> tuple:
        items = root.get("blocks")
        if not isinstance(items, list) or not items:
            raise self.fail(root, Message(N_("'blocks' must list at least one block")))
        blocks: list[Block] = []
        room_ids = [r.id for r in rooms]
        for i, item in enumerate(items):
            numbered = _numbered(N_("block #%(n)d"), i + 1)
            data = self.mapping(item, numbered, root)
            block_id = self.ident(data, numbered)
            what = Message(N_("block '%(id)s'"), id=block_id)
            self.keys(
                data,
                what,
                ("id", "start", "end", "label"),
                (
                    "date",
                    "room",
                    "kind",
                    "title",
                    "description",
                    "moderators",
                    "turns",
                    "turn_minutes",
                ),
            )
            if any(b.id == block_id for b in blocks):
                raise self.fail(data, Message(N_("%(what)s: duplicate id"), what=what))
            room = data.get("room", room_ids[0] if len(room_ids) == 1 else None)
            if room not in room_ids:
                problem = N_("%(what)s: room %(value)s is not one of %(rooms)s")
                raise self.fail(
                    data, Message(problem, what=what, value=repr(room), rooms=room_ids), "room"
                )
            kind = data.get("kind", "session")
            if kind not in KINDS:
                problem = N_("%(what)s: kind %(value)s must be one of %(kinds)s")
                raise self.fail(
                    data, Message(problem, what=what, value=repr(kind), kinds=list(KINDS)), "kind"
                )
            day = event.date
            if data.get("date") is not None:
                day = self.date(data, "date", what)
                if not event.date <= day <= event.last_date:
                    problem = N_(
                        "%(what)s: date %(value)s is not a day of the event (%(first)s to %(last)s)"
                    )
                    raise self.fail(
                        data,
                        Message(
                            problem,
                            what=what,
                            value=str(day),
                            first=str(event.date),
                            last=str(event.last_date),
                        ),
                        "date",
                    )
            start = self.time(data, "start", what, day, event.tz)
            end = self.time(data, "end", what, day, event.tz)
            if end <= start:
                problem = N_("%(what)s: end %(end)s is not after start %(start)s")
                raise self.fail(
                    data,
                    Message(problem, what=what, end=f"{end:%H:%M}", start=f"{start:%H:%M}"),
                    "end",
                )
            blocks.append(
                Block(
                    id=block_id,
                    room=room,
                    start=start,
                    end=end,
                    kind=kind,
                    label=self.text(data, "label", what) or "",
                    title=self.text(data, "title", what),
                    description=self.text(data, "description", what),
                    moderators=tuple(
                        t.speaker for t in self.people(data, "moderators", what, False)
                    ),
                    turns=tuple(
                        replace(turn, id=f"{block_id}-{place}")
                        for place, turn in enumerate(self.people(data, "turns", what, True), 1)
                    ),
                    turn_minutes=self.minutes(data, "turn_minutes", what),
                )
            )
            self._lines[block_id] = data.line
        ordered = sorted(blocks, key=lambda b: (room_ids.index(b.room), b.start))
        for before, after in zip(ordered, ordered[1:], strict=False):
            if before.room == after.room and after.start < before.end:
                problem = N_(
                    "block '%(id)s' (%(start)s) overlaps block '%(other)s' "
                    "(until %(end)s) in room '%(room)s'"
                )
                raise _at(
                    self.source,
                    self._lines[after.id],
                    Message(
                        problem,
                        id=after.id,
                        start=f"{after.start:%H:%M}",
                        other=before.id,
                        end=f"{before.end:%H:%M}",
                        room=after.room,
                    ),
                )
        return tuple(ordered)

    def read(self, text: str) -> Schedule:
        self._lines: dict[str, int] = {}
        try:
            root = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
        except yaml.MarkedYAMLError as exc:
            # PyYAML's own words (« expected ',' or '}' ») stay English.
            mark = exc.problem_mark or exc.context_mark
            context: Message | str = ""
            if exc.context and exc.context_mark and mark and exc.context_mark.line != mark.line:
                context = Message(
                    N_(" (%(context)s on line %(line)d)"),
                    context=exc.context,
                    line=exc.context_mark.line + 1,
                )
            problem = Message(
                N_("YAML syntax error: %(problem)s%(context)s"),
                problem=exc.problem,
                context=context,
            )
            raise _at(self.source, mark.line + 1 if mark else None, problem) from None
        except yaml.YAMLError as exc:
            problem = Message(
                N_("YAML syntax error: %(problem)s%(context)s"), problem=exc, context=""
            )
            raise _at(self.source, None, problem) from None
        if not isinstance(root, dict):
            problem = Message(N_("expected a mapping with event, rooms, blocks"))
            raise _at(self.source, None, problem)
        self.keys(root, Message(N_("top level")), ("event", "rooms", "blocks"), ())
        event = self.event(root)
        rooms = self.rooms(root)
        return Schedule(event, rooms, self.blocks(root, event, rooms))


def parse(text: str, source: str = "<schedule>") -> Schedule:
    """Read a timetable from YAML text; raise ScheduleError naming the place of a problem."""
    foreign = detect(text)
    if foreign:  # another tool's timetable: say how to convert it, not a YAML error
        problem = N_(
            "this is a %(format)s timetable, not kiosk's YAML: convert it with "
            "« kiosk schedule import %(file)s -o schedule.yaml »"
        )
        shown = shlex.quote(source) if not source.startswith("<") else "FILE"
        raise _at(source, None, Message(problem, format=foreign, file=shown))
    return _Reader(source).read(text)


def load(path: str | Path | None = None) -> Schedule:
    """Read a timetable file (the bundled colloque when no path is given)."""
    path = Path(path) if path else BUNDLED
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _at(str(path), None, Message(N_("no such file"))) from None
    except UnicodeDecodeError as exc:
        problem = Message(
            N_("not UTF-8 text (%(reason)s at byte %(byte)d)"), reason=exc.reason, byte=exc.start
        )
        raise _at(str(path), None, problem) from None
    except OSError as exc:
        problem = Message(N_("cannot be read (%(reason)s)"), reason=exc.strerror)
        raise _at(str(path), None, problem) from None
    return parse(text, str(path))
