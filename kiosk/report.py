"""The record of the day: what was planned, what happened, block by block and turn by turn.

Built from four things the day leaves behind: the printed programme, the running order as
it now stands (`order.apply`), who was at the lectern and when (`turn_stints`, the
withdrawn ones left out: a stint left by Previous did not happen) and the room's log
(delays declared, messages shown). One `Report` feeds every output: the JSON of
`/api/report`, the CSV and Markdown here, and the HTML page (templates/report.html).

Turns are listed in the order they were heard, then those never heard (in the running
order), then the cancelled ones. A turn heard before one that comes earlier in the running
order is flagged `out_of_order` (Gallet taken before Troussel without editing the running
order); a turn the organisers moved in the running order is flagged `moved` instead.

No Flask here: times are datetimes on the event's clock; the renderers take a gettext.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from . import order
from .errors import N_, as_written
from .live import LiveStore, heard
from .schedule import Block, Schedule, Turn

SPOKE, NOT_HEARD, CANCELLED = "spoke", "not_heard", "cancelled"
STATUSES = {
    SPOKE: N_("spoke"),
    NOT_HEARD: N_("not heard"),
    CANCELLED: N_("cancelled"),
}
FLAGS = {
    "inserted": N_("inserted"),
    "moved": N_("moved"),
    "out_of_order": N_("out of order"),
}


@dataclass(frozen=True)
class TurnRecord:
    """One turn of a block: planned (running order and budgets) and actual (its stints)."""

    id: str
    name: str | None  # « M. Bertrand Gallet », or None for a role alone
    function: str | None
    role: str | None
    status: str  # spoke | not_heard | cancelled
    flags: tuple[str, ...]  # inserted, moved, out_of_order
    heard_before: tuple[str, ...]  # out of order: who, earlier in the running order, came after
    planned_start: dt.datetime | None
    planned_end: dt.datetime | None
    planned_minutes: int | None  # the budget
    actual_start: dt.datetime | None
    actual_end: dt.datetime | None  # None while still at the lectern
    spoken_seconds: float | None  # the stints, minus the timer's pauses
    extra_minutes: float  # time given at the lectern (+1 min)
    in_progress: bool = False

    @property
    def label(self) -> str:
        return self.name or self.role or self.id

    @property
    def actual_minutes(self) -> float | None:
        return None if self.spoken_seconds is None else round(self.spoken_seconds / 60, 1)

    @property
    def overrun_minutes(self) -> float | None:
        """Actual minus budget minus extra time given; None without a budget or a stint."""
        if self.planned_minutes is None or self.spoken_seconds is None:
            return None
        spoken = self.spoken_seconds / 60
        return round(spoken - self.planned_minutes - self.extra_minutes, 1)


@dataclass(frozen=True)
class BlockRecord:
    id: str
    label: str
    title: str | None
    kind: str
    planned_start: dt.datetime  # as printed
    planned_end: dt.datetime
    start: dt.datetime  # as it now stands (the organisers may have changed the times)
    end: dt.datetime
    actual_start: dt.datetime | None  # first stint of its turns
    actual_end: dt.datetime | None  # last stint's end
    turns: tuple[TurnRecord, ...]

    @property
    def rescheduled(self) -> bool:
        return (self.start, self.end) != (self.planned_start, self.planned_end)


@dataclass(frozen=True)
class Delay:
    at: dt.datetime
    minutes: int


@dataclass(frozen=True)
class Shown:
    """A message on the audience's screens, from `at` until it was changed or cleared."""

    at: dt.datetime
    text: str
    until: dt.datetime | None


@dataclass(frozen=True)
class Totals:
    heard: int
    not_heard: int
    cancelled: int
    inserted: int
    overrun_minutes: float  # the turns over their budget, added up
    planned_end: dt.datetime  # the room's last block, as printed
    actual_end: dt.datetime | None  # the last stint's end

    @property
    def late_minutes(self) -> int | None:
        if self.actual_end is None:
            return None
        return round((self.actual_end - self.planned_end).total_seconds() / 60)


@dataclass(frozen=True)
class RoomRecord:
    id: str
    name: str
    blocks: tuple[BlockRecord, ...]
    delays: tuple[Delay, ...]
    messages: tuple[Shown, ...]
    totals: Totals


@dataclass(frozen=True)
class Report:
    title: str
    date: dt.date
    timezone: str
    rooms: tuple[RoomRecord, ...]


# --- building it -------------------------------------------------------------------------


@dataclass
class _Stints:
    """A turn's stints that happened (not withdrawn), added up."""

    first: int  # the id of its first stint: the order it was heard in
    start: dt.datetime
    end: dt.datetime | None
    seconds: float = 0.0
    extra_seconds: float = 0.0
    open: bool = False
    counted: bool = True  # False: at the lectern now, and no `now` to count it to


def _stints(db: Database, room: str, tz, now: dt.datetime | None, store: LiveStore):
    out: dict[str, _Stints] = {}
    rows = db.execute(
        "SELECT id, turn_id, started_at, ended_at, paused_seconds, extra_seconds "
        "FROM turn_stints WHERE room = ? AND withdrawn = 0 ORDER BY id",
        [room],
    ).fetchall()
    for stint_id, turn_id, started, ended, paused, extra in rows:
        start = dt.datetime.fromisoformat(started).astimezone(tz)
        end = dt.datetime.fromisoformat(ended).astimezone(tz) if ended else None
        record = out.setdefault(turn_id, _Stints(stint_id, start, end))
        record.end = end
        if end is not None:
            record.seconds += (end - start).total_seconds() - paused
            record.extra_seconds += extra
            continue
        record.open = True  # at the lectern now: its timer holds the pauses and extra time
        record.counted = now is not None
        if now is not None:
            timer = store.state(room).timer
            record.seconds += (now - start).total_seconds() - timer.paused_total(now)
            record.extra_seconds += timer.extra_seconds
    return out


def _planned_times(block: Block) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    """Each turn's planned start and end: the block's start plus the budgets of the turns
    before it in the running order, as long as every one of them has a budget."""
    out = {}
    moment = block.start
    for turn in heard(block):
        budget = block.budget(turn)
        if budget is None:
            break
        end = moment + dt.timedelta(minutes=budget)
        out[turn.id] = (moment, end)
        moment = end
    return out


def _block(printed: Block, block: Block, stints: dict[str, _Stints], tz) -> BlockRecord:
    changes = order.differences(printed, block)
    moved = _moved(printed, block)
    planned = _planned_times(block)
    running = [t.id for t in heard(block)]
    spoken = sorted((t for t in block.turns if t.id in stints), key=lambda t: stints[t.id].first)
    rank = {t.id: i for i, t in enumerate(spoken)}
    names = {t.id: _label(t) for t in block.turns}
    rest = [t for t in block.turns if t.id not in stints]
    listed = spoken + [t for t in rest if not t.cancelled] + [t for t in rest if t.cancelled]
    records = []
    for turn in listed:
        s = stints.get(turn.id)
        flags = ["inserted"] if "inserted" in changes.get(turn.id, []) else []
        if turn.id in moved:
            flags.append("moved")
        later = ()
        if turn.id in rank and turn.id in running:
            earlier = running[: running.index(turn.id)]
            later = tuple(names[i] for i in earlier if rank.get(i, -1) > rank[turn.id])
            if later:
                flags.append("out_of_order")
        status = SPOKE if s else CANCELLED if turn.cancelled else NOT_HEARD
        times = planned.get(turn.id, (None, None))
        person = turn.speaker
        records.append(
            TurnRecord(
                id=turn.id,
                name=person.display_name if person else None,
                function=person.function if person else None,
                role=turn.role,
                status=status,
                flags=tuple(flags),
                heard_before=later,
                planned_start=times[0].astimezone(tz) if times[0] else None,
                planned_end=times[1].astimezone(tz) if times[1] else None,
                planned_minutes=block.budget(turn),
                actual_start=s.start if s else None,
                actual_end=s.end if s else None,
                spoken_seconds=s.seconds if s and s.counted else None,
                extra_minutes=round(s.extra_seconds / 60, 1) if s else 0.0,
                in_progress=bool(s and s.open),
            )
        )
    of_block = [stints[t.id] for t in block.turns if t.id in stints]
    ends = [s.end for s in of_block]
    return BlockRecord(
        id=block.id,
        label=block.label,
        title=block.title,
        kind=block.kind,
        planned_start=printed.start.astimezone(tz),
        planned_end=printed.end.astimezone(tz),
        start=block.start.astimezone(tz),
        end=block.end.astimezone(tz),
        actual_start=min((s.start for s in of_block), default=None),
        actual_end=None if not ends or None in ends else max(e for e in ends if e),
        turns=tuple(records),
    )


def _moved(printed: Block, block: Block) -> set[str]:
    """The turns the organisers moved: the fewest whose moving explains the new order.

    `order.differences` calls every turn whose place changed "moved": taking Oddo to the
    top would mark the three before him too. The turns kept in their printed order here are
    a longest run in increasing printed place; the others are the ones moved."""
    places = {t.id: i for i, t in enumerate(printed.turns)}
    ids = [t.id for t in block.turns if t.id in places]
    best: list[list[str]] = []  # best[i]: the longest increasing run ending at ids[i]
    for i, turn_id in enumerate(ids):
        runs = [best[j] for j in range(i) if places[ids[j]] < places[turn_id]]
        best.append([*max(runs, key=len, default=[]), turn_id])
    kept = max(best, key=len, default=[])
    return set(ids) - set(kept)


def _label(turn: Turn) -> str:
    return turn.speaker.display_name if turn.speaker else turn.role or turn.id


def _log(db: Database, room: str, tz) -> tuple[tuple[Delay, ...], tuple[Shown, ...]]:
    delays, messages = [], []
    rows = db.execute(
        "SELECT at, action, args FROM room_log WHERE room = ? AND action IN ('delay', 'message') "
        "ORDER BY id",
        [room],
    ).fetchall()
    for at, action, args in rows:
        moment = dt.datetime.fromisoformat(at).astimezone(tz)
        data = json.loads(args)
        if action == "delay":
            delays.append(Delay(moment, data["minutes"]))
            continue
        if messages and messages[-1].until is None:
            last = messages[-1]
            messages[-1] = Shown(last.at, last.text, moment)
        text = data.get("text")
        if isinstance(text, str) and text.split():
            messages.append(Shown(moment, " ".join(text.split()), None))
    return tuple(delays), tuple(messages)


def _totals(blocks: list[BlockRecord], printed_end: dt.datetime) -> Totals:
    turns = [t for b in blocks for t in b.turns]
    overruns = [t.overrun_minutes for t in turns if t.overrun_minutes and t.overrun_minutes > 0]
    ends = [t.actual_end for t in turns if t.actual_end]
    return Totals(
        heard=sum(t.status == SPOKE for t in turns),
        not_heard=sum(t.status == NOT_HEARD for t in turns),
        cancelled=sum(t.status == CANCELLED for t in turns),
        inserted=sum("inserted" in t.flags for t in turns),
        overrun_minutes=round(sum(overruns), 1),
        planned_end=printed_end,
        actual_end=max(ends, default=None),
    )


def build(db: Database, schedule: Schedule, now: dt.datetime | None = None) -> Report:
    """The record of the day, from the printed `schedule` and what the database holds.

    `now` counts the turn still at the lectern up to that moment (without it, its minutes
    are left out until it ends)."""
    tz = schedule.event.tz
    current = order.apply(schedule, order.load(db))
    store = LiveStore(db, schedule)
    rooms = []
    for room in schedule.rooms:
        stints = _stints(db, room.id, tz, now, store)
        blocks = [
            _block(printed, current.block(printed.id) or printed, stints, tz)
            for printed in schedule.blocks_in(room.id)
        ]
        blocks.sort(key=lambda b: b.start)
        delays, messages = _log(db, room.id, tz)
        last = schedule.blocks_in(room.id)[-1].end.astimezone(tz)
        rooms.append(
            RoomRecord(room.id, room.name, tuple(blocks), delays, messages, _totals(blocks, last))
        )
    e = schedule.event
    return Report(e.title, e.date, e.timezone, tuple(rooms))


# --- outputs -----------------------------------------------------------------------------


def clock(moment: dt.datetime | None) -> str:
    """A time of the day as the report writes it: 14:30 (the event's clock), or ''."""
    return f"{moment:%H:%M}" if moment else ""


def number(value: float | None, decimal: str = ",", signed: bool = False) -> str:
    """Minutes as the report writes them: 7, 6,5 (French) or 6.5; '' for none."""
    if value is None:
        return ""
    text = f"{value:+.1f}" if signed else f"{value:.1f}"
    text = text.removesuffix(".0")
    if text in ("+0", "-0"):
        text = "0"
    return text.replace(".", decimal).replace("-", "−")


def flags(turn: TurnRecord, gettext: Callable[..., str] = as_written) -> list[str]:
    """What the status alone does not say: inserted, moved, out of order (before whom)."""
    _ = gettext
    words = []
    for flag in turn.flags:
        if flag == "out_of_order":
            words.append(_("out of order (before %(names)s)", names=", ".join(turn.heard_before)))
        else:
            words.append(_(FLAGS[flag]))
    if turn.in_progress:
        words.append(_("at the lectern now"))
    return words


def describe(turn: TurnRecord, gettext: Callable[..., str] = as_written) -> str:
    """The turn's status and flags in words: « spoke, out of order (before …) »."""
    return ", ".join([gettext(STATUSES[turn.status]), *flags(turn, gettext)])


def helpers(gettext: Callable[..., str], decimal: str) -> dict[str, Any]:
    """What templates/report.html writes the report with, in one language."""
    return {
        "clock": clock,
        "span": _span,
        "number": lambda value: number(value, decimal),
        "signed": lambda value: number(value, decimal, signed=True),
        "status": lambda turn: gettext(STATUSES[turn.status]),
        "flags": lambda turn: flags(turn, gettext),
        "totals": lambda totals: totals_lines(totals, gettext, decimal),
        "block_times": lambda block: _span_line(block, gettext),
        "delay": lambda d: _delay(d.minutes, gettext),
    }


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def to_json(report: Report) -> dict[str, Any]:
    """The report as `GET /api/report` gives it: ISO times with the event's offset."""

    def turn(t: TurnRecord) -> dict[str, Any]:
        return {
            "id": t.id,
            "name": t.name,
            "function": t.function,
            "role": t.role,
            "status": t.status,
            "flags": list(t.flags),
            "heard_before": list(t.heard_before),
            "planned_start": _iso(t.planned_start),
            "planned_end": _iso(t.planned_end),
            "planned_minutes": t.planned_minutes,
            "actual_start": _iso(t.actual_start),
            "actual_end": _iso(t.actual_end),
            "actual_minutes": t.actual_minutes,
            "extra_minutes": t.extra_minutes,
            "overrun_minutes": t.overrun_minutes,
            "in_progress": t.in_progress,
        }

    def block(b: BlockRecord) -> dict[str, Any]:
        return {
            "id": b.id,
            "label": b.label,
            "title": b.title,
            "kind": b.kind,
            "planned_start": _iso(b.planned_start),
            "planned_end": _iso(b.planned_end),
            "start": _iso(b.start),
            "end": _iso(b.end),
            "actual_start": _iso(b.actual_start),
            "actual_end": _iso(b.actual_end),
            "turns": [turn(t) for t in b.turns],
        }

    def room(r: RoomRecord) -> dict[str, Any]:
        t = r.totals
        return {
            "id": r.id,
            "name": r.name,
            "blocks": [block(b) for b in r.blocks],
            "delays": [{"at": _iso(d.at), "minutes": d.minutes} for d in r.delays],
            "messages": [
                {"at": _iso(m.at), "text": m.text, "until": _iso(m.until)} for m in r.messages
            ],
            "totals": {
                "heard": t.heard,
                "not_heard": t.not_heard,
                "cancelled": t.cancelled,
                "inserted": t.inserted,
                "overrun_minutes": t.overrun_minutes,
                "planned_end": _iso(t.planned_end),
                "actual_end": _iso(t.actual_end),
                "late_minutes": t.late_minutes,
            },
        }

    return {
        "event": {"title": report.title, "date": report.date.isoformat(), "tz": report.timezone},
        "rooms": [room(r) for r in report.rooms],
    }


def _safe(value: str | None) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheets (CSV injection):
    # names come from a tablet on the day.
    value = value or ""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def to_csv(report: Report, gettext: Callable[..., str] = as_written, decimal: str = ",") -> str:
    """One row per turn, with its block's columns (a block without turns: one row).

    Semicolons, CRLF and a UTF-8 BOM, as the attendee export: French Excel splits on « ; »
    (its list separator, the comma being the decimal one) and reads UTF-8 only after a
    BOM. Minutes are written with the language's decimal mark so that they stay numbers.
    """
    _ = gettext
    header = [
        _("Room"),
        _("Block"),
        _("Title"),
        _("Block planned start"),
        _("Block planned end"),
        _("Block actual start"),
        _("Block actual end"),
        _("Order heard"),
        _("Turn"),
        _("Function"),
        _("Role"),
        _("Status"),
        _("Planned start"),
        _("Planned end"),
        _("Actual start"),
        _("Actual end"),
        _("Planned minutes"),
        _("Actual minutes"),
        _("Extra time"),
        _("Overrun"),
    ]
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for room in report.rooms:
        for block in room.blocks:
            head = [
                _safe(room.name),
                _safe(block.label),
                _safe(block.title),
                clock(block.planned_start),
                clock(block.planned_end),
                clock(block.actual_start),
                clock(block.actual_end),
            ]
            if not block.turns:
                writer.writerow(head + [""] * (len(header) - len(head)))
            for i, t in enumerate(block.turns, 1):
                writer.writerow(
                    head
                    + [
                        str(i) if t.status == SPOKE else "",
                        _safe(t.name or t.role),
                        _safe(t.function),
                        _safe(t.role if t.name else None),
                        describe(t, _),
                        clock(t.planned_start),
                        clock(t.planned_end),
                        clock(t.actual_start),
                        clock(t.actual_end),
                        number(t.planned_minutes, decimal),
                        number(t.actual_minutes, decimal),
                        number(t.extra_minutes or None, decimal),
                        number(t.overrun_minutes, decimal, signed=True),
                    ]
                )
    return out.getvalue()


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|")


def to_markdown(
    report: Report,
    gettext: Callable[..., str] = as_written,
    decimal: str = ",",
    day: str | None = None,
) -> str:
    """For the rapporteur: each block with its turns in the order heard, then the room's
    delays, messages and totals. `day`: the date as the language writes it."""
    _ = gettext
    day = day or report.date.isoformat()
    lines = [f"# {report.title}", "", _("Record of the day, %(date)s", date=day), ""]
    for room in report.rooms:
        lines += [f"## {room.name}", ""]
        for block in room.blocks:
            lines += [f"### {block.label}" + (f" — {block.title}" if block.title else ""), ""]
            lines.append(_span_line(block, _))
            lines.append("")
            if not block.turns:
                continue
            lines.append(
                "| # | "
                + " | ".join(
                    [
                        _("Turn"),
                        _("Status"),
                        _("Planned"),
                        _("Actual"),
                        _("Planned min."),
                        _("Actual min."),
                        _("Extra"),
                        _("Overrun"),
                    ]
                )
                + " |"
            )
            lines.append("|---|---|---|---|---|--:|--:|--:|--:|")
            for i, t in enumerate(block.turns, 1):
                who = t.name or t.role or ""
                if t.name and t.role:
                    who += f" ({t.role})"
                cells = [
                    str(i) if t.status == SPOKE else "",
                    _cell(who),
                    _cell(describe(t, _)),
                    _span(t.planned_start, t.planned_end),
                    _span(t.actual_start, t.actual_end),
                    number(t.planned_minutes, decimal),
                    number(t.actual_minutes, decimal),
                    number(t.extra_minutes or None, decimal, signed=True),
                    number(t.overrun_minutes, decimal, signed=True),
                ]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
        lines += ["### " + _("Delays declared"), ""]
        lines += [
            "- " + _("%(time)s: %(minutes)s", time=clock(d.at), minutes=_delay(d.minutes, _))
            for d in room.delays
        ] or [_("None.")]
        lines += ["", "### " + _("Messages shown"), ""]
        lines += [
            "- " + _("%(times)s: “%(text)s”", times=_span(m.at, m.until), text=m.text)
            for m in room.messages
        ] or [_("None.")]
        lines += ["", "### " + _("Totals"), ""]
        lines += [f"- {line}" for line in totals_lines(room.totals, _, decimal)]
        lines.append("")
    return "\n".join(lines)


def _span(start: dt.datetime | None, end: dt.datetime | None) -> str:
    if start is None:
        return ""
    return f"{clock(start)}–{clock(end)}" if end else f"{clock(start)}–…"


def _delay(minutes: int, _: Callable[..., str]) -> str:
    """A declared delay in words: it sets the room's lateness, it does not add to it."""
    if minutes > 0:
        return _("running %(n)d min late", n=minutes)
    if minutes < 0:
        return _("running %(n)d min early", n=-minutes)
    return _("back on time")


def _span_line(block: BlockRecord, _: Callable[..., str]) -> str:
    planned = _span(block.planned_start, block.planned_end)
    if not block.turns:  # a welcome, a lunch: nobody at the lectern, nothing to record
        line = _("Planned %(planned)s.", planned=planned)
    else:
        actual = _span(block.actual_start, block.actual_end) or _("nobody at the lectern")
        line = _("Planned %(planned)s; actual %(actual)s.", planned=planned, actual=actual)
    if block.rescheduled:
        line += " " + _("Times changed on the day: %(times)s.", times=_span(block.start, block.end))
    return line


def totals_lines(totals: Totals, gettext: Callable[..., str], decimal: str = ",") -> list[str]:
    """The room's totals, one sentence each."""
    _ = gettext
    lines = [
        _("Turns heard: %(n)d", n=totals.heard),
        _("Cancelled: %(n)d", n=totals.cancelled),
        _("Inserted on the day: %(n)d", n=totals.inserted),
        _("Not heard: %(n)d", n=totals.not_heard),
        _("Overruns added up: %(minutes)s min", minutes=number(totals.overrun_minutes, decimal)),
    ]
    if totals.actual_end is None:
        lines.append(_("Planned end %(planned)s; nobody spoke.", planned=clock(totals.planned_end)))
    else:
        lines.append(
            _(
                "End of the day: %(actual)s (planned %(planned)s, %(difference)s min)",
                actual=clock(totals.actual_end),
                planned=clock(totals.planned_end),
                difference=number(totals.late_minutes, decimal, signed=True),
            )
        )
    return lines
