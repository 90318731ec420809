"""Check-in rules at the welcome desk. No Flask here.

- Idempotent: a code checks its attendee in once; every later scan answers « déjà
  enregistré·e » with the first time and kiosk. The guard is the database itself: the
  check-in is one UPDATE of the attendee's row, `WHERE checked_in_at IS NULL`, and
  SQLite runs one write at a time, so of two kiosks scanning the same code at the same
  instant exactly one finds it empty, whatever the timing.
- Short writes: a scan is that one statement (its own transaction), and the multi-row
  changes take SQLite's write lock up front (BEGIN IMMEDIATE): eight kiosks at once
  queue for a few microseconds each, never « database is locked ».
- Every attempt (success, duplicate, unknown, malformed, walk-in, manual, undo) is
  appended to `checkin_log`, which triggers make append-only; a check-in's own log row is
  written by a trigger on the attendee's row, within the same statement.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict, defaultdict, deque
from collections.abc import Hashable
from typing import Any, NamedTuple

from sqlite_utils import Database

from . import attendees as people
from .attendees import COLUMNS, Attendee, from_row
from .db import LOG_NO_UPDATE, transaction
from .errors import N_, Refusal

CHECKED_IN = "checked_in"
ALREADY = "already_checked_in"
UNKNOWN = "unknown"
MALFORMED = "malformed"
# Text the camera or scanner read perfectly well, but no code of ours: a web address, a
# Wi-Fi code, another event's ticket. The guest is told so, not that it was unreadable.
NOT_A_TICKET = "not_a_ticket"


class CheckinError(Refusal):
    """A refused organiser action (unknown attendee, nothing to undo)."""


class ExistingAttendee(Refusal):
    """A walk-in whose name matches someone already registered: nothing was created."""

    def __init__(self, attendee: Attendee):
        super().__init__(
            "existing",
            N_(
                "%(name)s is already registered: please show your QR code, or ask at the "
                "welcome desk."
            ),
            name=attendee.full_name,
        )
        self.attendee = attendee


class Result(NamedTuple):  # built on every scan: see Attendee
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


# The one write that decides who checked in first, keyed by code (a scan) or by id.
# On its own it is a transaction that holds the write lock for that statement only; a
# trigger appends the log row in the same statement. Once someone is checked in it
# matches nothing, however many kiosks try.
_ADMIT = {
    key: "UPDATE attendees SET checked_in_at = ?, checked_in_by = ?, checked_in_how = ? "
    f"WHERE {key} = ? AND checked_in_at IS NULL RETURNING {COLUMNS}"
    for key in ("code", "id")
}


def _admit(db: Database, key: str, value: Any, kiosk: str, now: dt.datetime, how: str):
    """Check in by code or id; None if there is no one left to check in under that key."""
    utc = now.astimezone(dt.UTC)
    # The connection itself: sqlite-utils' wrapper costs on the hot path.
    row = db.conn.execute(_ADMIT[key], [utc.isoformat(), kiosk, how, value]).fetchone()
    return None if row is None else Result(CHECKED_IN, from_row(row), utc, kiosk)


def _admit_known(db: Database, attendee: Attendee, kiosk: str, now: dt.datetime, how: str):
    """Check in someone found by id: now, or already earlier."""
    result = _admit(db, "id", attendee.id, kiosk, now, how)
    if result is not None:
        return result
    at, by = db.execute(
        "SELECT checked_in_at, checked_in_by FROM attendees WHERE id = ?", [attendee.id]
    ).fetchone()
    return _already(db, attendee, at, by, kiosk, now)


def _already(db, attendee: Attendee, at: str, by: str, kiosk: str, now) -> Result:
    _log(db, now, kiosk, ALREADY, attendee.id)
    return Result(ALREADY, attendee, dt.datetime.fromisoformat(at), by)


_LOOKUP = f"SELECT {COLUMNS}, checked_in_at, checked_in_by FROM attendees WHERE code = ?"

# A spreadsheet marks a cell as text with a leading ', which a mail merge can carry into
# the QR code, and a word processor can turn into ’ or ‘. No code holds an apostrophe, so
# dropping one before the code turns no code into another.
_TEXT_MARKS = ("'", "\u2019", "\u2018")


def _scanned(code: str) -> str:
    """The code a scan carries, without spaces around it or a spreadsheet's text mark."""
    code = code.strip()
    return code[1:] if code.startswith(_TEXT_MARKS) else code


def check_in(db: Database, code: Any, kiosk: str, now: dt.datetime) -> Result:
    """A scanned code: checked in now, already checked in, unknown or malformed.

    Outside a transaction (each statement its own, the write lock held only while one
    row is written), as the welcome desk's hot path must stay short: the usual scan is
    the one UPDATE; only when it admits no one does a look-up tell « already » from
    « unknown ». Every outcome leaves one row in the log.
    """
    scanned = _scanned(code) if isinstance(code, str) else None
    # Any ticket's code (see attendees.TICKET_CODE): a guest's pretix, Eventbrite,
    # Weezevent or HelloAsso ticket checks them in as a code made here does.
    if scanned is None or not people.TICKET_CODE.match(scanned):
        _log(db, now, kiosk, MALFORMED, detail=repr(code)[:80])
        return Result(NOT_A_TICKET if scanned and scanned.isprintable() else MALFORMED)
    code = scanned
    admitted = _admit(db, "code", code, kiosk, now, CHECKED_IN)
    if admitted is not None:
        return admitted
    row = db.conn.execute(_LOOKUP, [code]).fetchone()
    if row is None:
        _log(db, now, kiosk, UNKNOWN, detail=code[:80])
        return Result(UNKNOWN)
    if row[11] is None:  # undone between the two statements (threads only): try again
        return check_in(db, code, kiosk, now)
    return _already(db, from_row(row[:11]), row[11], row[12], kiosk, now)


# SQLite's integers are 64-bit: a larger id in a URL cannot name anyone, and would make
# the driver raise OverflowError.
MAX_ID = 2**63 - 1


def _known_id(attendee_id: int) -> None:
    if not 0 < attendee_id <= MAX_ID:
        raise CheckinError("invalid", N_("No attendee with this id."))


def check_in_by_id(db: Database, attendee_id: int, by: str, now: dt.datetime) -> Result:
    """An organiser checks someone in by hand (lost QR code, name found in the list)."""
    _known_id(attendee_id)
    with transaction(db):
        attendee = people.get(db, attendee_id)
        if attendee is None:
            raise CheckinError("not_found", N_("No attendee with this id."))
        return _admit_known(db, attendee, by, now, "manual")


def undo(db: Database, attendee_id: int, by: str, reason: Any, now: dt.datetime) -> None:
    """An organiser cancels a check-in (wrong person scanned): logged with who and why."""
    if not isinstance(reason, str) or not reason.strip():
        raise CheckinError("invalid", N_("Say why the check-in is undone."))
    reason = " ".join(reason.split())[:200]
    _known_id(attendee_id)
    with transaction(db):
        undone = db.execute(
            "UPDATE attendees SET checked_in_at = NULL, checked_in_by = NULL, "
            "checked_in_how = NULL WHERE id = ? AND checked_in_at IS NOT NULL",
            [attendee_id],
        ).rowcount
        if not undone:
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
        # Never a VIP on its own say-so: the flag is for guests the organisers registered.
        row = people.record(fields, "walk-in", now, vip=False)
        attendee_id = db["attendees"].insert(row).last_pk
        attendee = people.get(db, attendee_id)
        return _admit_known(db, attendee, kiosk, now, "walk_in")


# --- what the organisers watch ---------------------------------------------------------


_COUNTS = (
    "SELECT category, SUM(source != 'walk-in'), COUNT(checked_in_at), "
    "SUM(source = 'walk-in') FROM attendees GROUP BY category"
)


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
        f"UNION ALL {_COUNTS}"
    ).fetchall()
    for category, expected, checked_in, walk_ins in counts:
        slot = by_category.setdefault(category, {"expected": 0, "checked_in": 0, "walk_ins": 0})
        slot["expected"] += expected
        slot["checked_in"] += checked_in
        slot["walk_ins"] += walk_ins
    arrivals: dict[str, int] = defaultdict(int)
    # UTC ISO times: their first 16 characters are the minute.
    for minute, count in db.execute(
        "SELECT substr(checked_in_at, 1, 16), COUNT(*) FROM attendees "
        "WHERE checked_in_at IS NOT NULL GROUP BY 1"
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
    sql = f"SELECT {COLUMNS}, checked_in_at FROM attendees"
    params: list[Any] = []
    if words:
        sql += " WHERE " + " AND ".join(
            "(name_key || ' ' || org_key) LIKE ? ESCAPE '\\'" for _ in words
        )
        for w in words:
            escaped = w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(f"%{escaped}%")
    sql += " ORDER BY last_name COLLATE NOCASE, first_name COLLATE NOCASE LIMIT ?"
    params.append(limit)
    return [(from_row(r[:11]), r[11]) for r in db.execute(sql, params).fetchall()]


def purge(db: Database, now: dt.datetime) -> int:
    """After the event: delete personal data, keep anonymous counts by category."""
    with transaction(db):
        counts = db.execute(_COUNTS).fetchall()
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
    """At most `limit` failures per client in any `window` seconds; past that, it waits.

    The caller names the client by what the client cannot choose (its address and the
    secret it proved, never a name it sends) and reads the time from a monotonic clock,
    so that tests move time by hand. Memory stays bounded whatever clients send: the last
    `limit` times of each client, for the `clients` that failed most recently. A client
    pushed out forgets its failures: that errs towards letting someone try again, never
    towards refusing, and never towards growing without end.
    """

    def __init__(self, limit: int = 10, window: float = 60.0, clients: int = 1024):
        self.limit = limit
        self.window = window
        self.clients = clients
        # Only clients that failed have an entry, the one that failed least recently first.
        self._failures: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._failures)

    def retry_after(self, client: Hashable, now: float) -> float:
        """Seconds before the client may try again; 0 if it may now."""
        times = self._failures.get(client)
        if times is None:
            return 0.0
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self._failures[client]
            return 0.0
        if len(times) < self.limit:
            return 0.0
        return times[0] + self.window - now

    def blocked(self, client: Hashable, now: float) -> bool:
        return self.retry_after(client, now) > 0

    def failed(self, client: Hashable, now: float) -> None:
        times = self._failures.pop(client, None)  # put back last: the most recent
        if times is None:
            times = deque(maxlen=self.limit)  # older failures no longer decide anything
            if len(self._failures) >= self.clients:
                self._failures.popitem(last=False)
        self._failures[client] = times
        times.append(now)
