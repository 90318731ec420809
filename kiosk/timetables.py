"""Timetables published by other tools, converted into kiosk's schedule.yaml.

frab's `schedule.xml` (also written by pretalx, and read by FOSDEM's and the CCC's tools)
and pretalx's `schedule.json` (the c3voc schema: schedule.conference.days[].rooms{name:
[talks]}) become kiosk's rooms, days and blocks, one block per talk; what kiosk has no
place for, or would refuse, is left out and said (`Conversion.left_out`).

No Flask here, and nothing of `schedule` either: `schedule` asks `detect()` to recognise
such a file before reading it as YAML, and the command line checks the converted YAML
with `schedule.parse`.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .errors import N_, Explained, Message

FRAB_XML = "frab schedule.xml"
PRETALX_JSON = "pretalx schedule.json"
DEFAULT_TIMEZONE = "Europe/Paris"
ID_MAX = 64
# Types that mean nobody is on stage (frab and pretalx leave the word to the organisers).
BREAK_TYPES = {
    "break",
    "coffee",
    "coffee break",
    "lunch",
    "lunch break",
    "pause",
    "pause café",
    "pause dejeuner",
    "pause déjeuner",
    "déjeuner",
    "dejeuner",
}


class ConversionError(Explained):
    """A file that cannot be converted; the message names the file and says why."""


def _fail(source: str, problem: Message) -> ConversionError:
    return ConversionError(N_("%(file)s: %(problem)s"), file=source, problem=problem)


def detect(text: str) -> str | None:
    """FRAB_XML or PRETALX_JSON when `text` is such a timetable, by its content; else None."""
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("<"):
        return FRAB_XML if re.search(r"<schedule[\s>/]", head[:4096]) else None
    if head.startswith("{"):
        try:
            data = json.loads(head)
        except ValueError:
            return None
        if isinstance(data, dict) and (
            "$schema" in data
            or (isinstance(data.get("schedule"), dict) and "conference" in data["schedule"])
        ):
            return PRETALX_JSON
    return None


# --- the source, read into one shape ------------------------------------------------


@dataclass
class _Talk:
    keys: tuple[str, ...]  # slug, guid, id: the first usable one names the block
    room: str
    day: dt.date  # the day the source lists it under
    date: str  # the source's full start (ISO 8601), may be empty
    start: str  # "HH:MM"
    duration: str  # "HH:MM" or "HH:MM:SS"
    type: str
    title: str
    subtitle: str
    abstract: str
    description: str
    persons: list[str]
    extras: list[str]  # the source's fields kiosk has no place for, when they are filled


@dataclass
class _Source:
    format: str
    title: str
    acronym: str
    first: dt.date | None
    last: dt.date | None
    timezone: str
    venue: str
    generator: str
    rooms: list[str] = field(default_factory=list)  # in the source's order
    talks: list[_Talk] = field(default_factory=list)


def _clean(value: Any) -> str:
    return " ".join(str(value).split()) if value not in (None, False) else ""


class _Text(HTMLParser):
    """The text of an HTML fragment (frab's descriptions are HTML)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in ("p", "br", "li", "div"):
            self.parts.append(" ")


def _plain(value: Any) -> str:
    text = _clean(value)
    if "<" in text and ">" in text:
        parser = _Text()
        parser.feed(text)
        parser.close()
        text = _clean("".join(parser.parts))
    return html.unescape(text) if "&" in text else text


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value or "")[:10])
    except ValueError:
        return None


def _read_xml(text: str, source: str) -> _Source:
    # The standard library's parser, on a file without DTD: no entity can be declared,
    # so none can be expanded (billion laughs) or fetched (external entities).
    if re.search(r"<!DOCTYPE|<!ENTITY", text, re.IGNORECASE):
        raise _fail(source, Message(N_("an XML file with a DTD or entities is refused")))
    try:
        root = ET.fromstring(text.lstrip("\ufeff"))
    except ET.ParseError as exc:
        line, column = exc.position
        problem = N_("not well-formed XML (line %(line)d, column %(column)d)")
        raise _fail(source, Message(problem, line=line, column=column + 1)) from None
    if root.tag != "schedule":
        problem = N_("expected a <schedule> element, found <%(tag)s>")
        raise _fail(source, Message(problem, tag=root.tag))
    conf = root.find("conference")
    conf = conf if conf is not None else ET.Element("conference")
    generator = root.find("generator")
    venue = ", ".join(
        v for v in (_clean(conf.findtext("venue")), _clean(conf.findtext("city"))) if v
    )
    out = _Source(
        format=FRAB_XML,
        title=_clean(conf.findtext("title")),
        acronym=_clean(conf.findtext("acronym")),
        first=_date(conf.findtext("start")),
        last=_date(conf.findtext("end")),
        timezone=_clean(conf.findtext("time_zone_name")),
        venue=venue,
        generator=" ".join(v for v in (generator.get("name"), generator.get("version")) if v)
        if generator is not None
        else "",
    )
    for day in root.iter("day"):
        day_date = _date(day.get("date"))
        for room in day.findall("room"):
            for event in room.findall("event"):
                room_name = _clean(room.get("name")) or _clean(event.findtext("room"))
                if room_name and room_name not in out.rooms:
                    out.rooms.append(room_name)
                persons = event.find("persons")
                people = [] if persons is None else persons.findall("person")
                extras = [
                    name
                    for name in ("url", "track", "language", "logo")
                    if _clean(event.findtext(name))
                ]
                if _clean(event.findtext("abstract")) and _clean(event.findtext("description")):
                    extras.append("description")
                recording = event.find("recording")
                if recording is not None and (
                    _clean(recording.findtext("license"))
                    or _clean(recording.findtext("optout")) == "true"
                ):
                    extras.append("recording")
                for name in ("links", "attachments"):
                    holder = event.find(name)
                    if holder is not None and len(holder):
                        extras.append(name)
                out.talks.append(
                    _Talk(
                        keys=(
                            _clean(event.findtext("slug")),
                            _clean(event.get("guid")),
                            _clean(event.get("id")),
                        ),
                        room=room_name,
                        day=day_date or out.first or dt.date.today(),
                        date=_clean(event.findtext("date")),
                        start=_clean(event.findtext("start")),
                        duration=_clean(event.findtext("duration")),
                        type=_clean(event.findtext("type")),
                        title=_clean(event.findtext("title")),
                        subtitle=_clean(event.findtext("subtitle")),
                        abstract=_plain(event.findtext("abstract")),
                        description=_plain(event.findtext("description")),
                        persons=[_clean("".join(p.itertext())) for p in people],
                        extras=extras,
                    )
                )
    return out


def _read_json(text: str, source: str) -> _Source:
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        problem = N_("not valid JSON (line %(line)d, column %(column)d: %(reason)s)")
        raise _fail(
            source, Message(problem, line=exc.lineno, column=exc.colno, reason=exc.msg)
        ) from None
    schedule = data.get("schedule") if isinstance(data, dict) else None
    conf = schedule.get("conference") if isinstance(schedule, dict) else None
    if not isinstance(conf, dict):
        raise _fail(source, Message(N_("no 'schedule' with a 'conference' in this JSON")))
    generator = data.get("generator") if isinstance(data.get("generator"), dict) else {}
    out = _Source(
        format=PRETALX_JSON,
        title=_clean(conf.get("title")),
        acronym=_clean(conf.get("acronym")),
        first=_date(conf.get("start")),
        last=_date(conf.get("end")),
        timezone=_clean(conf.get("time_zone_name")),
        venue="",
        generator=" ".join(_clean(generator.get(k)) for k in ("name", "version")).strip(),
    )
    for room in conf.get("rooms") or []:
        name = _clean(room.get("name")) if isinstance(room, dict) else ""
        if name and name not in out.rooms:
            out.rooms.append(name)
    for day in conf.get("days") or []:
        if not isinstance(day, dict):
            continue
        day_date = _date(day.get("date"))
        rooms = day.get("rooms") if isinstance(day.get("rooms"), dict) else {}
        for room_name, talks in rooms.items():
            for talk in talks if isinstance(talks, list) else []:
                if not isinstance(talk, dict):
                    continue
                name = _clean(room_name) or _clean(talk.get("room"))
                if name and name not in out.rooms:
                    out.rooms.append(name)
                extras = [k for k in ("url", "track", "language", "logo") if _clean(talk.get(k))]
                if _clean(talk.get("abstract")) and _clean(talk.get("description")):
                    extras.append("description")
                if _clean(talk.get("recording_license")) or talk.get("do_not_record") is True:
                    extras.append("recording")
                extras += [k for k in ("links", "attachments") if talk.get(k)]
                persons = talk.get("persons") if isinstance(talk.get("persons"), list) else []
                out.talks.append(
                    _Talk(
                        keys=(
                            _clean(talk.get("slug")),
                            _clean(talk.get("guid")),
                            _clean(talk.get("code")),
                            _clean(talk.get("id")),
                        ),
                        room=name,
                        day=day_date or out.first or dt.date.today(),
                        date=_clean(talk.get("date")),
                        start=_clean(talk.get("start")),
                        duration=_clean(talk.get("duration")),
                        type=_clean(talk.get("type")),
                        title=_clean(talk.get("title")),
                        subtitle=_clean(talk.get("subtitle")),
                        abstract=_plain(talk.get("abstract")),
                        description=_plain(talk.get("description")),
                        persons=[
                            _clean(
                                p.get("name") or p.get("public_name") or p.get("full_name")
                                if isinstance(p, dict)
                                else p
                            )
                            for p in persons
                        ],
                        extras=extras,
                    )
                )
    return out


# --- the conversion -----------------------------------------------------------------


def slug(text: str, fallback: str) -> str:
    """Letters, digits, '-' and '_' only, at most 64, starting with a letter or a digit."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    made = re.sub(r"[^a-z0-9_]+", "-", ascii_text.lower()).strip("-_")
    made = made[:ID_MAX].rstrip("-_")
    return made or fallback


def _unique(ident: str, taken: set[str]) -> str:
    made, n = ident, 1
    while made in taken:
        n += 1
        tail = f"-{n}"
        made = ident[: ID_MAX - len(tail)].rstrip("-_") + tail
    taken.add(made)
    return made


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def _minutes(duration: str) -> int | None:
    match = _CLOCK.match(duration)
    if not match:
        return None
    return int(match[1]) * 60 + int(match[2])


class _Quoted(str):
    """A time written "09:30", quoted as the format asks (YAML 1.1 reads 10:30 as 630)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Quoted, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, '"')
)


@dataclass(frozen=True)
class Conversion:
    """kiosk's timetable made of another tool's, and what was counted and left out."""

    format: str
    generator: str
    data: dict[str, Any]  # event, rooms, blocks: schedule.yaml's layout
    days: tuple[dt.date, ...]
    speakers: int  # distinct names among the turns
    left_out: tuple[Message, ...]  # one sentence per talk, person or field left out
    notes: tuple[Message, ...]  # what was assumed (a default time zone, say)

    @property
    def rooms(self) -> int:
        return len(self.data["rooms"])

    @property
    def blocks(self) -> int:
        return len(self.data["blocks"])

    @property
    def breaks(self) -> int:
        return sum(1 for b in self.data["blocks"] if b.get("kind") == "break")

    def to_yaml(self, source: str) -> str:
        made_by = f", written by {self.generator}" if self.generator else ""
        header = (
            f"# Converted by `kiosk schedule import` from {source} ({self.format}{made_by}).\n"
            "# Check it with `kiosk check`; the format is described at the top of kiosk's\n"
            "# bundled schedule.yaml. Civility and function are empty: the source has none.\n\n"
        )
        body = yaml.dump(self.data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
        return header + body


def _moment(talk: _Talk, tz: ZoneInfo) -> dt.datetime | None:
    """The talk's local start: its full date when the source gives one, else day + start."""
    if talk.date and len(talk.date) > 10:
        try:
            moment = dt.datetime.fromisoformat(talk.date)
        except ValueError:
            moment = None
        if moment is not None:
            if moment.tzinfo is not None:
                moment = moment.astimezone(tz).replace(tzinfo=None)
            return moment
    match = _CLOCK.match(talk.start)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        return None
    return dt.datetime.combine(talk.day, dt.time(int(match[1]), int(match[2])))


def _where(title: str, start: dt.datetime | None, room: str) -> Message:
    if start is None:
        return Message(N_("« %(title)s » (%(room)s)"), title=title, room=room)
    return Message(
        N_("« %(title)s » (%(day)s %(start)s, %(room)s)"),
        title=title,
        day=start.date().isoformat(),
        start=f"{start:%H:%M}",
        room=room,
    )


def convert(text: str, source: str = "<timetable>") -> Conversion:
    """Convert a frab schedule.xml or a pretalx schedule.json into kiosk's layout."""
    kind = detect(text)
    if kind is None:
        problem = N_("neither a frab schedule.xml nor a pretalx schedule.json")
        raise _fail(source, Message(problem))
    read = _read_xml(text, source) if kind == FRAB_XML else _read_json(text, source)
    notes: list[Message] = []
    left_out: list[Message] = []

    timezone = read.timezone
    try:
        tz = ZoneInfo(timezone) if timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        tz = None
    if tz is None:
        problem = (
            N_("unknown time zone %(zone)s: %(default)s assumed, change it if need be")
            if timezone
            else N_("no time zone given: %(default)s assumed, change it if need be")
        )
        notes.append(Message(problem, zone=repr(timezone), default=DEFAULT_TIMEZONE))
        timezone, tz = DEFAULT_TIMEZONE, ZoneInfo(DEFAULT_TIMEZONE)
    title = read.title or read.acronym
    if not title:
        title = "Conference"
        notes.append(Message(N_("no conference title: « Conference », change it")))

    # Every talk placed in time; those kiosk cannot place are left out, with the reason.
    placed: list[tuple[dt.datetime, dt.datetime, int, _Talk]] = []
    for order, talk in enumerate(read.talks):
        name = talk.title or talk.keys[0] or "?"
        start = _moment(talk, tz)
        minutes = _minutes(talk.duration)
        if start is None:
            reason = Message(N_("no start time (%(value)s)"), value=repr(talk.start))
        elif not talk.room:
            reason = Message(N_("no room"))
        elif not minutes:
            reason = Message(N_("no duration (%(value)s)"), value=repr(talk.duration))
        elif (start + dt.timedelta(minutes=minutes)).date() != start.date():
            reason = Message(N_("crosses midnight (a block starts and ends on one day)"))
        else:
            placed.append((start, start + dt.timedelta(minutes=minutes), order, talk))
            continue
        left_out.append(
            Message(N_("%(talk)s: %(reason)s"), talk=_where(name, start, talk.room), reason=reason)
        )

    # kiosk refuses blocks overlapping in one room: the first one stays.
    kept: list[tuple[dt.datetime, dt.datetime, int, _Talk]] = []
    last_in_room: dict[str, tuple[dt.datetime, dt.datetime, int, _Talk]] = {}
    for item in sorted(placed, key=lambda p: (p[3].room, p[0], p[2])):
        start, _end, _order, talk = item
        before = last_in_room.get(talk.room)
        if before is not None and start < before[1]:
            other = before[3].title or before[3].keys[0]
            left_out.append(
                Message(
                    N_("%(talk)s: overlaps « %(other)s » in the same room"),
                    talk=_where(talk.title or talk.keys[0], start, talk.room),
                    other=other,
                )
            )
            continue
        last_in_room[talk.room] = item
        kept.append(item)
    # Day by day, room by room, as an organiser reads a programme.
    kept.sort(key=lambda p: (p[0].date(), read.rooms.index(p[3].room), p[0], p[2]))

    taken_rooms: set[str] = set()
    room_ids: dict[str, str] = {}
    rooms = []
    for name in read.rooms:
        if not any(p[3].room == name for p in kept):
            left_out.append(Message(N_("room « %(room)s »: no talk kept"), room=name))
            continue
        room_ids[name] = _unique(slug(name, "room"), taken_rooms)
        rooms.append({"id": room_ids[name], "name": name})

    taken_blocks: set[str] = set()
    blocks = []
    speakers: set[str] = set()
    fields: dict[str, int] = {}
    for number, (start, end, _order, talk) in enumerate(kept, 1):
        key = next((slug(k, "") for k in talk.keys if slug(k, "")), f"talk-{number}")
        is_break = talk.type.lower() in BREAK_TYPES
        block: dict[str, Any] = {
            "id": _unique(key, taken_blocks),
            "date": start.date(),
            "room": room_ids[talk.room],
            "start": _Quoted(f"{start:%H:%M}"),
            "end": _Quoted(f"{end:%H:%M}"),
        }
        if is_break:
            block["kind"] = "break"
            block["label"] = talk.title or talk.type
        else:
            block["label"] = talk.type or "Session"
            if talk.title:
                block["title"] = f"{talk.title} — {talk.subtitle}" if talk.subtitle else talk.title
        description = talk.abstract or talk.description
        if description:
            block["description"] = description
        named = [p for p in talk.persons if p]
        if len(named) < len(talk.persons):
            missing = len(talk.persons) - len(named)
            left_out.append(
                Message(
                    N_("%(talk)s: speakers without a name, left out: %(n)d"),
                    talk=_where(talk.title, start, talk.room),
                    n=missing,
                )
            )
        if is_break and named:
            left_out.append(
                Message(
                    N_("%(talk)s: a break has nobody on stage, %(names)s left out"),
                    talk=_where(talk.title, start, talk.room),
                    names=", ".join(named),
                )
            )
            named = []
        if named:
            block["turns"] = [{"name": p} for p in named]
            speakers.update(named)
        for name in talk.extras:
            fields[name] = fields.get(name, 0) + 1
        blocks.append(block)
    if fields:
        listed = ", ".join(f"{name} ({count})" for name, count in sorted(fields.items()))
        left_out.append(
            Message(
                N_("fields kiosk has no place for (talks having them): %(fields)s"),
                fields=listed,
            )
        )

    days = sorted({b["date"] for b in blocks})
    first = min([d for d in (read.first, *days[:1]) if d is not None], default=dt.date.today())
    last = max([d for d in (read.last, *days[-1:]) if d is not None], default=first)
    event: dict[str, Any] = {"title": title, "date": first}
    if last != first:
        event["end_date"] = last
    if read.venue:
        event["venue"] = read.venue
    event["timezone"] = timezone
    if not blocks:
        raise _fail(source, Message(N_("no talk could be converted")))
    return Conversion(
        format=read.format,
        generator=read.generator,
        data={"event": event, "rooms": rooms, "blocks": blocks},
        days=tuple(days),
        speakers=len(speakers),
        left_out=tuple(left_out),
        notes=tuple(notes),
    )
