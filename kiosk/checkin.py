"""Check-in rules at the welcome desk. No Flask here.

- Idempotent: a code checks its attendee in once; every later scan answers « déjà
  enregistré·e » with the first time and kiosk. The guard is the database itself: the
  `checkins` table has one row per attendee at most (primary key), so two kiosks scanning
  the same code at the same instant produce one row, whatever the timing.
- Short writes: a scan writes one row in one statement (its own transaction), and the
  multi-row changes take SQLite's write lock up front (BEGIN IMMEDIATE): eight kiosks at
  once queue for a few microseconds each, never « database is locked ».
- Every attempt (success, duplicate, unknown, malformed, walk-in, manual, undo) is
  appended to `checkin_log`, which triggers make append-only; a check-in's own log row is
  written by a trigger on `checkins`, within the same statement.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from . import attendees as people
from .attendees import COLUMNS, Attendee, from_row
from .db import LOG_NO_UPDATE, transaction
from .live import N_

CHECKED_IN = "checked_in"
ALREADY = "already_checked_in"
UNKNOWN = "unknown"
MALFORMED = "malformed"


class CheckinError(Exception):
    """A refused organiser action; `code` for machines, `template % params` for people."""

    def __init__(self, code: str, template: str, **params: Any):
        self.code = code
        self.template = template
        self.params = params
        super().__init__(template % params)


class ExistingAttendee(Exception):
    """A walk-in whose name matches someone already registered: nothing was created."""

    def __init__(self, attendee: Attendee):
        self.attendee = attendee
        super().__init__(attendee.full_name)


@dataclass(frozen=True)
class Result:
    status: str
    attendee: Attendee | None = None
    checked_in_at: dt.datetime | None = None
    kiosk: str | None = None


def _utc(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).isoformat()


def _log(
    db: Database,
    now: dt.datetime,
    kiosk: str,
    outcome: str,
    attendee_id: int | None = None,
    detail: str | None = None,
) -> None:
    db.execute(
        "INSERT INTO checkin_log (at, kiosk, outcome, attendee_id, detail) VALUES (?,?,?,?,?)",
        [_utc(now), kiosk, outcome, attendee_id, detail],
    )


def _admit(db: Database, attendee: Attendee, kiosk: str, now: dt.datetime, outcome: str):
    """The one write that decides who checked in first.

    A single INSERT: on its own it is a transaction that holds the write lock for that
    statement only, and a trigger appends the log row in the same statement. When
    another kiosk was first, the primary key makes it insert nothing.
    """
    first = db.conn.execute(  # the connection itself: sqlite-utils' wrapper costs here
        "INSERT INTO checkins (attendee_id, checked_in_at, kiosk, how) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (attendee_id) DO NOTHING RETURNING checked_in_at, kiosk",
        [attendee.id, _utc(now), kiosk, outcome],
    ).fetchone()
    if first is not None:
        return Result(CHECKED_IN, attendee, dt.datetime.fromisoformat(first[0]), first[1])
    at, by = db.execute(
        "SELECT checked_in_at, kiosk FROM checkins WHERE attendee_id = ?", [attendee.id]
    ).fetchone()
    return _already(db, attendee, at, by, kiosk, now)


def _already(db, attendee: Attendee, at: str, by: str, kiosk: str, now) -> Result:
    _log(db, now, kiosk, ALREADY, attendee.id)
    return Result(ALREADY, attendee, dt.datetime.fromisoformat(at), by)


_LOOKUP = (
    f"SELECT {', '.join('a.' + c.strip() for c in COLUMNS.split(','))}, c.checked_in_at, "
    "c.kiosk FROM attendees a LEFT JOIN checkins c ON c.attendee_id = a.id WHERE a.code = ?"
)


def check_in(db: Database, code: Any, kiosk: str, now: dt.datetime) -> Result:
    """A scanned code: checked in now, already checked in, unknown or malformed.

    Outside a transaction (each statement its own, the write lock held only while one
    row is written), as the welcome desk's hot path must stay short: the look-up, then
    one insert. Every outcome leaves one row in the log.
    """
    if not isinstance(code, str) or not people.CODE.match(code.strip()):
        _log(db, now, kiosk, MALFORMED, detail=repr(code)[:80])
        return Result(MALFORMED)
    code = code.strip()
    row = db.conn.execute(_LOOKUP, [code]).fetchone()
    if row is None:
        _log(db, now, kiosk, UNKNOWN, detail=code[:80])
        return Result(UNKNOWN)
    attendee = from_row(row[:11])
    if row[11] is not None:  # checkins rows are only ever added or deleted: safe to trust
        return _already(db, attendee, row[11], row[12], kiosk, now)
    return _admit(db, attendee, kiosk, now, CHECKED_IN)


def check_in_by_id(db: Database, attendee_id: int, by: str, now: dt.datetime) -> Result:
    """An organiser checks someone in by hand (lost QR code, name found in the list)."""
    with transaction(db):
        attendee = people.get(db, attendee_id)
        if attendee is None:
            raise CheckinError("not_found", N_("No attendee with this id."))
        return _admit(db, attendee, by, now, "manual")


def undo(db: Database, attendee_id: int, by: str, reason: Any, now: dt.datetime) -> None:
    """An organiser cancels a check-in (wrong person scanned): logged with who and why."""
    if not isinstance(reason, str) or not reason.strip():
        raise CheckinError("invalid", N_("Say why the check-in is undone."))
    reason = " ".join(reason.split())[:200]
    with transaction(db):
        deleted = db.execute("DELETE FROM checkins WHERE attendee_id = ?", [attendee_id]).rowcount
        if not deleted:
            raise CheckinError("not_checked_in", N_("This attendee is not checked in."))
        _log(db, now, by, "undone", attendee_id, reason)


def register_walk_in(db: Database, data: Any, kiosk: str, now: dt.datetime) -> Result:
    """A guest without a QR code registers at the kiosk and is checked in at once.

    Raises InvalidField for a bad field, ExistingAttendee when the name (accents, case
    and hyphens aside) is already registered: the desk then finds the existing record
    instead of creating a duplicate.
    """
    fields = people.clean_fields(data)
    with transaction(db):
        existing = people.find_by_name(db, fields["first_name"], fields["last_name"])
        if existing:
            _log(db, now, kiosk, "walk_in_matched", existing[0].id)
            raise ExistingAttendee(existing[0])
        row = people.record(fields, "walk-in", now)
        attendee_id = db["attendees"].insert(row).last_pk
        attendee = people.get(db, attendee_id)
        return _admit(db, attendee, kiosk, now, "walk_in")


# --- what the organisers watch ---------------------------------------------------------


def attendance(db: Database, tz, bucket_minutes: int = 15) -> dict[str, Any]:
    """Counters and arrivals over time; after a purge, the counts kept anonymously.

    Counted by SQLite, arrivals grouped by the minute there: the organisers' page gets
    this once a second while thousands of guests arrive, so Python only sees one row per
    category and per minute, not one per attendee.
    """
    by_category: dict[str, dict[str, int]] = {
        key: {"expected": 0, "checked_in": 0, "walk_ins": 0} for key in people.CATEGORY_KEYS
    }
    counts = db.execute(
        "SELECT category, expected, checked_in, walk_ins FROM attendance_archive "
        "UNION ALL SELECT a.category, SUM(a.source != 'walk-in'), COUNT(c.attendee_id), "
        "SUM(a.source = 'walk-in') FROM attendees a "
        "LEFT JOIN checkins c ON c.attendee_id = a.id GROUP BY a.category"
    ).fetchall()
    for category, expected, checked_in, walk_ins in counts:
        slot = by_category.setdefault(category, {"expected": 0, "checked_in": 0, "walk_ins": 0})
        slot["expected"] += expected
        slot["checked_in"] += checked_in
        slot["walk_ins"] += walk_ins
    arrivals: dict[str, int] = defaultdict(int)
    # UTC ISO times: their first 16 characters are the minute.
    for minute, count in db.execute(
        "SELECT substr(checked_in_at, 1, 16), COUNT(*) FROM checkins GROUP BY 1"
    ):
        local = dt.datetime.fromisoformat(minute).replace(tzinfo=dt.UTC).astimezone(tz)
        start = local.replace(minute=local.minute - local.minute % bucket_minutes)
        arrivals[start.isoformat()] += count
    total = {
        k: sum(c[k] for c in by_category.values()) for k in ("expected", "checked_in", "walk_ins")
    }
    return {
        **total,
        "by_category": by_category,
        "arrivals": [{"from": k, "count": v} for k, v in sorted(arrivals.items())],
        "bucket_minutes": bucket_minutes,
    }


def search(db: Database, query: str, limit: int = 50) -> list[tuple[Attendee, str | None]]:
    """Accent-insensitive search on name and organisation, for the organisers only."""
    words = people.fold(query).split()[:5]
    sql = (
        f"SELECT {', '.join('a.' + c.strip() for c in COLUMNS.split(','))}, "
        "c.checked_in_at FROM attendees a LEFT JOIN checkins c ON c.attendee_id = a.id"
    )
    params: list[Any] = []
    if words:
        sql += " WHERE " + " AND ".join(
            "(a.name_key || ' ' || a.org_key) LIKE ? ESCAPE '\\'" for _ in words
        )
        for w in words:
            escaped = w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(f"%{escaped}%")
    sql += " ORDER BY a.last_name COLLATE NOCASE, a.first_name COLLATE NOCASE LIMIT ?"
    params.append(limit)
    return [(from_row(r[:11]), r[11]) for r in db.execute(sql, params).fetchall()]


def purge(db: Database, now: dt.datetime) -> int:
    """After the event: delete personal data, keep anonymous counts by category."""
    with transaction(db):
        counts = db.execute(
            "SELECT a.category, SUM(a.source != 'walk-in'), COUNT(c.attendee_id), "
            "SUM(a.source = 'walk-in') FROM attendees a "
            "LEFT JOIN checkins c ON c.attendee_id = a.id GROUP BY a.category"
        ).fetchall()
        for category, expected, checked_in, walk_ins in counts:
            db["attendance_archive"].insert(
                {
                    "category": category,
                    "expected": expected,
                    "checked_in": checked_in,
                    "walk_ins": walk_ins,
                    "purged_at": _utc(now),
                }
            )
        deleted = db.execute("DELETE FROM attendees").rowcount
        # The log stays (times, kiosks, outcomes) but loses its free text: an undo's reason
        # may name someone. The only change ever made to the log, hence the trigger lifted.
        db.execute("DROP TRIGGER checkin_log_no_update")
        db.execute("UPDATE checkin_log SET detail = NULL WHERE detail IS NOT NULL")
        db.execute(LOG_NO_UPDATE)
        _log(db, now, "cli", "purged", detail=f"{deleted} attendees")
    # Deleted rows must not linger in free pages of the file, nor in the write-ahead log.
    db.execute("VACUUM")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return deleted


class FailureLimiter:
    """Too many unknown or malformed codes from one device in a minute: slow it down.

    Codes are unguessable anyway; this stops a script from hammering a kiosk's session
    and keeps the log readable.
    """

    def __init__(self, limit: int = 10, window: float = 60.0):
        self.limit = limit
        self.window = window
        # Only devices that failed have an entry: a check-in that succeeds adds nothing.
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, device: str, now: float) -> deque[float]:
        times = self._failures.get(device)
        if times is None:
            return deque()
        while times and now - times[0] > self.window:
            times.popleft()
        if not times:
            del self._failures[device]
        return times

    def blocked(self, device: str, now: float) -> bool:
        return len(self._recent(device, now)) >= self.limit

    def failed(self, device: str, now: float) -> None:
        self._recent(device, now)
        self._failures.setdefault(device, deque()).append(now)
