"""The programme as iCalendar (RFC 5545): one event per block, for phones' calendars.

Written by hand: a calendar of a few blocks needs text escaping, line folding and one
VTIMEZONE, not a library. No Flask here: the view passes what the request knows (the
programme as it stands, the delays' projected times, the page's address, a gettext).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

from .live import heard
from .schedule import Block, Person, Schedule

PRODID = "-//kiosk//programme//FR"
# Phones refresh a subscribed calendar when the feed says, and the day moves: delays,
# replacements. A quarter of an hour is as often as most calendars will ask anyway.
REFRESH = "PT15M"
_UTC = dt.UTC
_LINE = 75  # octets per line, CRLF aside (RFC 5545, 3.1)


def escape(text: str) -> str:
    """A TEXT value: backslash, semicolon, comma and newlines escaped; other controls dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c in "\t\n" or (ord(c) >= 0x20 and ord(c) != 0x7F))
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """A content line folded at 75 octets (CRLF and a space), never inside a character."""
    out, current, size = [], [], 0
    limit = _LINE
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            out.append("".join(current))
            # the continuation's leading space counts in its 75 octets
            current, size, limit = [" "], 1, _LINE
        current.append(char)
        size += width
    out.append("".join(current))
    return "\r\n".join(out) + "\r\n"


def _local(moment: dt.datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y%m%dT%H%M%S")


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(_UTC).strftime("%Y%m%dT%H%M%SZ")


def _offset(delta: dt.timedelta | None) -> str:
    seconds = int((delta or dt.timedelta(0)).total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{secs:02d}" if secs else "")


def _rules(tz: ZoneInfo, moment: dt.datetime) -> tuple:
    local = moment.astimezone(tz)
    return local.utcoffset(), local.dst(), local.tzname()


def _transitions(tz: ZoneInfo, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The UTC instants, to the minute, where the zone's offset or name changes."""
    found = []
    moment = start
    while moment < end:
        before = _rules(tz, moment)
        if before != _rules(tz, moment + dt.timedelta(days=1)):
            low, high = 0, 24 * 60  # minutes after `moment`: the change is in (low, high]
            while high - low > 1:
                middle = (low + high) // 2
                if _rules(tz, moment + dt.timedelta(minutes=middle)) == before:
                    low = middle
                else:
                    high = middle
            found.append(moment + dt.timedelta(minutes=high))
        moment += dt.timedelta(days=1)
    return found


def _observance(tz: ZoneInfo, onset: dt.datetime, before: dt.datetime) -> list[str]:
    """One STANDARD or DAYLIGHT part: the rules from `onset` on (a UTC instant)."""
    offset_from, _dst, _name = _rules(tz, before)
    offset_to, dst, name = _rules(tz, onset)
    kind = "DAYLIGHT" if dst else "STANDARD"
    # DTSTART is the local time of the onset, read with the offset in force before it.
    local = (onset + (offset_from or dt.timedelta(0))).replace(tzinfo=None)
    lines = [
        f"BEGIN:{kind}",
        f"DTSTART:{local:%Y%m%dT%H%M%S}",
        f"TZOFFSETFROM:{_offset(offset_from)}",
        f"TZOFFSETTO:{_offset(offset_to)}",
    ]
    if name:
        lines.append(f"TZNAME:{escape(name)}")
    return [*lines, f"END:{kind}"]


def vtimezone(tz: ZoneInfo, name: str, days: Iterable[dt.date]) -> list[str]:
    """The zone's rules over the years of `days`: what each local time in them means."""
    years = sorted({d.year for d in days})
    start = dt.datetime(years[0], 1, 1, tzinfo=_UTC)
    end = dt.datetime(years[-1] + 1, 1, 1, tzinfo=_UTC)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{name}"]
    # The rules in force when the range opens, then each change within it.
    lines += _observance(tz, start, start)
    for onset in _transitions(tz, start, end):
        lines += _observance(tz, onset, onset - dt.timedelta(minutes=1))
    return [*lines, "END:VTIMEZONE"]


def _person(p: Person) -> str:
    return f"{p.display_name}, {p.function}" if p.function else p.display_name


def description(block: Block, gettext: Callable[..., str]) -> str:
    """The block's paragraph, then who chairs it and who speaks, in the running order."""
    lines = []
    for m in block.moderators:
        label = gettext("%(label)s:", label=m.role or gettext("Chair"))
        lines.append(f"{label} {_person(m)}")
    for turn in heard(block):  # cancelled turns are not on the audience's programme
        if turn.role and turn.speaker:
            lines.append(f"{gettext('%(label)s:', label=turn.role)} {_person(turn.speaker)}")
        elif turn.speaker:
            lines.append(_person(turn.speaker))
        elif turn.role:
            lines.append(turn.role)
    parts = [block.description or "", "\n".join(lines)]
    return "\n\n".join(p for p in parts if p)


def uid(schedule: Schedule, block: Block) -> str:
    """The same for a block across requests, edits and delays; another event's differ."""
    first_day = min(b.start for b in schedule.blocks).date()
    seed = f"{schedule.event.title}\n{schedule.event.timezone}\n{first_day}"
    return f"{block.id}-{hashlib.sha256(seed.encode()).hexdigest()[:12]}@kiosk"


def location(schedule: Schedule, block: Block) -> str:
    room = schedule.room(block.room)
    name = room.name if room else block.room
    venue = schedule.event.venue
    if not venue or name in venue:  # « Salle Lamartine, Assemblée nationale »
        return venue or name
    return f"{name}, {venue}"


def summary(block: Block) -> str:
    return f"{block.label} « {block.title} »" if block.title else block.label


def build(
    schedule: Schedule,
    projected: Mapping[str, Mapping[str, str]],
    revised: dt.datetime | None,
    gettext: Callable[..., str],
    page: str | None = None,
) -> str:
    """The calendar: one VEVENT per block of `schedule` (the programme as it now stands).

    `projected` maps the ids of blocks still to come to their shifted "start" and "end"
    (ISO 8601, as a room's state gives them): those times replace the printed ones.
    `revised` is when the programme last changed (DTSTAMP; None: never, and the first
    day's midnight stands for print), so that the same programme is the same text;
    `page` is the phone programme's address, each event linking to its block there.
    """
    tz, zone = schedule.event.tz, schedule.event.timezone
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{escape(schedule.event.title)}",
        f"X-WR-TIMEZONE:{zone}",
        f"REFRESH-INTERVAL;VALUE=DURATION:{REFRESH}",
        f"X-PUBLISHED-TTL:{REFRESH}",
    ]
    times = {}
    for block in schedule.blocks:
        shifted = projected.get(block.id)
        if shifted:
            start = dt.datetime.fromisoformat(shifted["start"])
            end = dt.datetime.fromisoformat(shifted["end"])
        else:
            start, end = block.start, block.end
        times[block.id] = (start, end)
    days = sorted(t.astimezone(tz).date() for pair in times.values() for t in pair)
    if not days:
        return "".join(fold(line) for line in [*lines, "END:VCALENDAR"])
    lines += vtimezone(tz, zone, days)
    stamp = _utc(revised or dt.datetime.combine(days[0], dt.time(), tz))
    for block in schedule.blocks:
        start, end = times[block.id]
        lines += [
            "BEGIN:VEVENT",
            f"UID:{escape(uid(schedule, block))}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;TZID={zone}:{_local(start, tz)}",
            f"DTEND;TZID={zone}:{_local(end, tz)}",
            f"SUMMARY:{escape(summary(block))}",
            f"LOCATION:{escape(location(schedule, block))}",
        ]
        text = description(block, gettext)
        if text:
            lines.append(f"DESCRIPTION:{escape(text)}")
        if page:
            lines.append(f"URL:{page}#block-{block.id}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(fold(line) for line in lines)


def last_change(db) -> dt.datetime | None:
    """When the day last changed (the last command of any room, on the event's clock)."""
    row = db.execute("SELECT MAX(at) FROM room_log").fetchone()
    return dt.datetime.fromisoformat(row[0]) if row and row[0] else None
