"""The phone programme of a big day: what is on now in every room, and the day's list
by time, a screenful at a time, filtered by room and searched by speaker or title.

Pure functions of the timetable, the rooms' public states and the clock: the view
renders what these return, and static/js/programme.js does the same folding and matching
on the same examples (tests/test_programme.py and tests/test_browser_programme.py).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .schedule import Block, Schedule

# Apostrophes as phones and word processors type them, all read as the plain one:
# « l’Europe » is found by typing « l'europe ».
APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "′": "'"})
# Ligatures NFKD leaves whole: « Cœur » is typed « coeur ».
LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})

# The first view lists about this many blocks from now on: a screenful and the next
# one, not the whole day (4,458 DOM nodes on 8 rooms). A smaller day is listed whole.
WINDOW_BLOCKS = 24
# « Plus tôt » goes back this far.
EARLIER = dt.timedelta(hours=1)


def fold(text: str | None) -> str:
    """Text as a search compares it: without accents, case or typographic apostrophes
    (« Hélène » and « helene », « Cœur » and « coeur », « l’Europe » and « l'europe »)."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKD", text.translate(APOSTROPHES))
    text = "".join(c for c in text if not unicodedata.category(c).startswith("M"))
    return text.casefold().translate(LIGATURES)


def words(block: Block) -> str:
    """What a search looks in, folded: the block's label and title, its chairs and its
    speakers with their functions (organisation, office), the roles of its turns."""
    parts: list[str | None] = [block.label, block.title]
    for person in block.moderators:
        parts += [person.display_name, person.function]
    for turn in block.turns:
        if turn.cancelled:
            continue  # off the audience's programme, so not found either
        parts.append(turn.role)
        if turn.speaker:
            parts += [turn.speaker.display_name, turn.speaker.function]
    return fold(" ".join(p for p in parts if p))


def matches(block: Block, query: str) -> bool:
    """Every word of the query is found in the block (in any order)."""
    haystack = words(block)
    return all(word in haystack for word in fold(query).split())


def day_of(schedule: Schedule, now: dt.datetime) -> dt.date | None:
    """The day the programme opens on: today, else the next day with blocks, else the
    last one (None without any block)."""
    days = schedule.days()
    if not days:
        return None
    today = now.astimezone(schedule.event.tz).date()
    return next((d for d in days if d >= today), days[-1])


def in_order(schedule: Schedule, day: dt.date, room: str | None = None) -> list[Block]:
    """The day's blocks by start time, rooms in the programme's order at the same time."""
    rank = {r.id: n for n, r in enumerate(schedule.rooms)}
    tz = schedule.event.tz
    return sorted(
        (
            b
            for b in schedule.blocks
            if b.start.astimezone(tz).date() == day and (room is None or b.room == room)
        ),
        key=lambda b: (b.start, rank.get(b.room, 0), b.end),
    )


@dataclass(frozen=True)
class Listing:
    """The part of the day's list a page shows, and where « Plus tôt » and « Plus tard »
    go (None: nothing more that way)."""

    blocks: list[Block]
    earlier: dt.datetime | None = None
    later: dt.datetime | None = None
    whole: bool = False  # the whole day (a small day, or search results)


def listing(
    schedule: Schedule,
    day: dt.date,
    now: dt.datetime,
    room: str | None = None,
    query: str = "",
    start: dt.datetime | None = None,
    size: int = WINDOW_BLOCKS,
) -> Listing:
    """What the list shows: the blocks matching a search, the whole of a small day, or
    `size` blocks from `start` (from now by default): those still on then, and the next
    ones, never cutting between rooms starting at the same time."""
    blocks = in_order(schedule, day, room)
    if query.strip():
        return Listing([b for b in blocks if matches(b, query)], whole=True)
    if len(blocks) <= size or not blocks:
        return Listing(blocks, whole=True)
    first, last = blocks[0].start, max(b.start for b in blocks)
    if start is None:
        start = now
    start = min(max(start, first), last)
    shown = [b for b in blocks if b.end > start]
    if len(shown) > size:
        cut = shown[size].start
        shown = [b for b in shown if b.start < cut]
    elif len(shown) < size:
        # The end of the day: its last screenful, not a few blocks under « Plus tôt ».
        start = blocks[-size].start
        shown = [b for b in blocks if b.start >= start]
    rest = [b for b in blocks if b.start > shown[-1].start]
    return Listing(
        shown,
        earlier=max(start - EARLIER, first) if start > first else None,
        later=rest[0].start if rest else None,
    )


@dataclass(frozen=True)
class Now:
    """One room's line of « Maintenant », from its public state."""

    room: str
    room_name: str
    version: int
    phase: str
    current: dict[str, Any] | None  # the block on now (label, title…)
    speaker: dict[str, Any] | None
    following: dict[str, Any] | None  # the next block, where the delay puts it
    following_start: dt.datetime | None
    delay_minutes: int
    message: str | None
    paused: bool

    @property
    def told(self) -> bool:
        """Something the room announces: a delay, an advance or a message."""
        return bool(self.delay_minutes or self.message)


def now_lines(states: Iterable[dict[str, Any]], tz: dt.tzinfo) -> list[Now]:
    """Each room's line of « Maintenant », in the order of the states given."""
    out = []
    for s in states:
        following = s.get("next")
        out.append(
            Now(
                room=s["room"],
                room_name=s["room_name"],
                version=s["version"],
                phase=s["phase"],
                current=s.get("session"),
                speaker=s.get("speaker"),
                following=following,
                following_start=dt.datetime.fromisoformat(following["start"]).astimezone(tz)
                if following
                else None,
                delay_minutes=s.get("delay_minutes") or 0,
                message=s.get("message"),
                paused=bool(s.get("pause")),
            )
        )
    return out


def projected_times(
    states: Iterable[dict[str, Any]], tz: dt.tzinfo
) -> dict[str, dict[str, dt.datetime]]:
    """Where each room's announced delay puts its blocks still to come (block id ->
    start, end), from the states' `projected`."""
    return {
        block: {key: dt.datetime.fromisoformat(at).astimezone(tz) for key, at in times.items()}
        for s in states
        for block, times in s["projected"].items()
    }


def clock_time(day: dt.date, text: str | None, tz: dt.tzinfo) -> dt.datetime | None:
    """« 10:05 » on that day, or None when the text is not a time of day."""
    try:
        hour, minute = (int(part) for part in (text or "").split(":"))
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)
    except ValueError:
        return None
