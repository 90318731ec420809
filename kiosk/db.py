"""The SQLite file: connection settings, migrations, write transactions, settings.

A write is one statement (a scan: its own short transaction) or goes through
`transaction()`, which takes SQLite's write lock up front (BEGIN IMMEDIATE) so two
writers never deadlock on a lock upgrade, and keeps it short.

When the storage fails (another process holds the write lock, the disk is full or
failing, the file is read-only or damaged) a statement raises `Unavailable`, a refusal
answered 503 with Retry-After, and the fault is logged once per kind and interval.
`check()` refuses, before serving, a file that cannot work at all.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlite_utils import Database

from .errors import N_, Explained, Message, Refusal

log = logging.getLogger(__name__)

# SQLite's own default: a writer that grows the WAL past this many pages copies it back
# into the database file (a checkpoint, with an fsync) before its statement returns.
AUTOCHECKPOINT = 1000

# How long a statement waits for another process's write lock before its request is
# answered 503. Not in SQLite's busy handler: that waits inside the C library, where
# gevent's loop cannot run, so a lock held elsewhere for 10 s froze the whole server
# (reads and screens included) for 10 s. SQLite gives up at once instead (busy_timeout
# 0) and Connection.execute waits in time.sleep, which `kiosk serve`'s monkey-patching
# turns into a sleep that lets every other greenlet run.
BUSY_WAIT = 2.0
# Seconds a client answered 503 is told to wait before trying again.
RETRY_AFTER = 2
# The storage's faults, by SQLite's primary result code: what the file or the disk is
# doing wrong, not the request. Answered 503; the request can be made again later.
# English in the server's log; the command line says them in its language (N_).
FAULTS = {
    sqlite3.SQLITE_BUSY: N_("locked by another process"),
    sqlite3.SQLITE_FULL: N_("the disk is full"),
    sqlite3.SQLITE_IOERR: N_("disk I/O error"),
    sqlite3.SQLITE_READONLY: N_("read-only, and kiosk must write to it"),
    sqlite3.SQLITE_CORRUPT: N_("damaged"),
    sqlite3.SQLITE_NOTADB: N_("not a SQLite database"),
    sqlite3.SQLITE_CANTOPEN: N_("cannot be opened (does its folder exist? may kiosk write there?)"),
}


def _fault(exc: BaseException) -> int | None:
    """The primary result code of a storage fault, None for any other error."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None or (code & 0xFF) not in FAULTS:
        return None
    return code & 0xFF


class Unavailable(Refusal):
    """The storage cannot serve this request now (503): the client tries again later."""

    def __init__(self, path: str, exc: BaseException):
        super().__init__("unavailable", N_("Service temporarily unavailable — please try again."))
        self.path = path
        self.fault = _fault(exc)
        self.retry_after = RETRY_AFTER

    def details(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}


class FaultLog:
    """Storage faults in the log: one line per kind and interval, with a count.

    A full disk failed every scan with a traceback: 5,992 of them in 6.5 s, burying the
    one line that mattered. The first fault of a kind is logged at once, the next ones
    are counted and reported at most once an interval (by the next fault, or by
    `flush()`, which `kiosk serve` calls every second); a kind quiet for a whole
    interval is logged at once again when it comes back. Called from one thread (the
    server's loop): no lock.
    """

    def __init__(self, interval: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.clock = clock
        # (path, code) -> [when last logged, faults since, SQLite's message]
        self._kinds: dict[tuple[str, int], list[Any]] = {}

    def note(self, path: str, code: int, message: str) -> None:
        now = self.clock()
        entry = self._kinds.get((path, code))
        if entry is None or (now - entry[0] >= self.interval and not entry[1]):
            self._kinds[(path, code)] = [now, 0, message]
            log.error("%s: %s; answering 503 until it clears", path, message)
            return
        entry[1] += 1
        entry[2] = message
        if now - entry[0] >= self.interval:
            self._report(path, entry, now)

    def flush(self) -> None:
        """Report the counts of the intervals that have ended."""
        now = self.clock()
        for (path, code), entry in list(self._kinds.items()):
            if now - entry[0] < self.interval:
                continue
            if entry[1]:
                self._report(path, entry, now)
            else:
                del self._kinds[(path, code)]

    def _report(self, path: str, entry: list[Any], now: float) -> None:
        log.error("%s: %s: %d more in the last %.0f s", path, entry[2], entry[1], now - entry[0])
        entry[0], entry[1] = now, 0


faults = FaultLog()


def unavailable(exc: BaseException, path: str, waited: float = 0) -> Unavailable | None:
    """The refusal a storage fault is answered with (logged), None for other errors."""
    code = _fault(exc)
    if code is None:
        return None
    message = str(exc)
    if code == sqlite3.SQLITE_BUSY and waited:
        message += f" (another process held the write lock for more than {waited:g} s)"
    faults.note(path, code, message)
    return Unavailable(path, exc)


class Connection(sqlite3.Connection):
    """sqlite3's connection, which waits for the write lock without holding up the
    server, and raises Unavailable when the storage fails."""

    path = ""
    busy_wait = BUSY_WAIT

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.DatabaseError as exc:
            # Outside a transaction a statement that found the lock taken did nothing
            # yet (SQLite takes it before changing anything): it can simply run again.
            if _fault(exc) == sqlite3.SQLITE_BUSY and not self.in_transaction:
                return self._when_free(sql, parameters, exc)
            refusal = unavailable(exc, self.path)
            if refusal is None:
                raise
            raise refusal from exc

    def _when_free(self, sql: str, parameters: Any, exc: sqlite3.DatabaseError):
        deadline = time.monotonic() + self.busy_wait
        pause = 0.001
        while time.monotonic() + pause < deadline:
            time.sleep(pause)  # gevent's sleep under `kiosk serve`: the loop goes on
            pause = min(pause * 2, 0.05)
            try:
                return super().execute(sql, parameters)
            except sqlite3.DatabaseError as again:
                exc = again
                if _fault(again) != sqlite3.SQLITE_BUSY or self.in_transaction:
                    break
        refusal = unavailable(exc, self.path, self.busy_wait)
        if refusal is None:
            raise exc
        raise refusal from exc


def connect(
    path: str, autocheckpoint: int = AUTOCHECKPOINT, busy_wait: float = BUSY_WAIT
) -> Database:
    """Open the database file with the settings every connection needs."""
    # isolation_level=None: we issue BEGIN ourselves, so no implicit transaction
    # can hold the write lock between two statements. timeout=0: see BUSY_WAIT.
    try:
        conn = sqlite3.connect(
            path, timeout=0, isolation_level=None, check_same_thread=False, factory=Connection
        )
    except sqlite3.Error as exc:
        refusal = unavailable(exc, path)
        if refusal is None:
            raise
        raise refusal from exc
    conn.path = path
    conn.busy_wait = busy_wait
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process (kill -9); only a power cut can
        # lose the last transactions, which the fsync of FULL would cost on every write.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
    except BaseException:
        conn.close()
        raise
    return Database(conn)


def checkpoint(db: Database) -> tuple[int, int]:
    """Copy what the WAL holds back into the database file, without waiting on anyone.

    PASSIVE: readers and writers go on meanwhile; what a reader still uses is left for
    the next time. Returns (pages in the WAL, pages copied back). Runs in a native
    thread (server.run_checkpoints): through sqlite3's own execute, without the wait
    and the fault log, which belong to the server's loop; the caller sorts failures out.
    """
    row = sqlite3.Connection.execute(db.conn, "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    _busy, in_wal, copied = row
    return in_wal, copied


class Pool:
    """Open connections kept for the next request: opening one (and its PRAGMAs) cost a
    fifth of a check-in. Requests take one and give it back at teardown.

    A plain list: its pop() and append() are atomic in CPython, for the greenlets of
    `kiosk serve` and the threads of the test server alike, and cost less than a Queue's
    locks on every request.
    """

    def __init__(
        self,
        path: str,
        keep: int = 16,
        autocheckpoint: int = AUTOCHECKPOINT,
        busy_wait: float = BUSY_WAIT,
    ):
        self.path = path
        self.keep = keep
        self.autocheckpoint = autocheckpoint
        self.busy_wait = busy_wait
        self._idle: list[Database] = []

    def take(self) -> Database:
        try:
            return self._idle.pop()
        except IndexError:
            return connect(self.path, self.autocheckpoint, self.busy_wait)

    def give_back(self, db: Database) -> None:
        if db.conn.in_transaction:  # a request that failed mid-transaction
            try:
                db.conn.rollback()
            except sqlite3.Error:  # the storage failed under it: the next one starts afresh
                db.conn.close()
                return
        if len(self._idle) < self.keep:
            self._idle.append(db)
        else:
            db.conn.close()


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """One short write transaction holding the write lock from its first statement."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        # A failed COMMIT (disk full) may leave the transaction open, or SQLite may have
        # rolled it back already: either way the caller hears of the first error.
        if db.conn.in_transaction:
            with suppress(sqlite3.Error):
                db.conn.rollback()
        raise


def _create_settings_and_room_states(db: Database) -> None:
    db["settings"].create({"key": str, "value": str}, pk="key")
    db["room_states"].create(
        {
            "room": str,
            "version": int,
            "mode": str,
            "block_id": str,
            "turn_index": int,
            "delay_minutes": int,
            "message": str,
            "updated_at": str,
        },
        pk="room",
        not_null={"version", "mode", "delay_minutes"},
        defaults={"version": 0, "mode": "auto", "delay_minutes": 0},
    )


# Kept apart because the purge lifts it for one statement (see checkin.purge); a released
# migration uses it as it is, so it must not change.
LOG_NO_UPDATE = """
        CREATE TRIGGER checkin_log_no_update BEFORE UPDATE ON checkin_log
            BEGIN SELECT RAISE(ABORT, 'checkin_log is append-only'); END;
"""


def _create_attendees(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE attendees (
            id INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,
            civility TEXT NOT NULL DEFAULT '',
            first_name TEXT NOT NULL,
            last_name TEXT NOT NULL,
            organisation TEXT NOT NULL DEFAULT '',
            function TEXT NOT NULL DEFAULT '',
            email TEXT NOT NULL DEFAULT '',
            category TEXT NOT NULL,
            vip INTEGER NOT NULL DEFAULT 0,
            source TEXT NOT NULL CHECK (source IN ('imported', 'walk-in')),
            name_key TEXT NOT NULL,
            org_key TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        );
        CREATE INDEX attendees_name_key ON attendees (name_key);
        CREATE INDEX attendees_email ON attendees (email) WHERE email != '';
        -- One row per attendee at most: the primary key, not an `if`, decides who was
        -- first when two kiosks scan the same code at the same instant.
        CREATE TABLE checkins (
            attendee_id INTEGER PRIMARY KEY REFERENCES attendees (id) ON DELETE CASCADE,
            checked_in_at TEXT NOT NULL,
            kiosk TEXT NOT NULL
        );
        CREATE TABLE checkin_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            kiosk TEXT NOT NULL,
            outcome TEXT NOT NULL,
            attendee_id INTEGER,
            detail TEXT
        );
        """
        + LOG_NO_UPDATE
        + """
        CREATE TRIGGER checkin_log_no_delete BEFORE DELETE ON checkin_log
            BEGIN SELECT RAISE(ABORT, 'checkin_log is append-only'); END;
        CREATE TABLE attendance_archive (
            category TEXT NOT NULL,
            expected INTEGER NOT NULL,
            checked_in INTEGER NOT NULL,
            walk_ins INTEGER NOT NULL,
            purged_at TEXT NOT NULL
        );
        """
    )


def _log_checkins_by_trigger(db: Database) -> None:
    # A check-in and its log row in one statement: the scan's hot path is then one write.
    db.executescript(
        """
        ALTER TABLE checkins ADD COLUMN how TEXT NOT NULL DEFAULT 'checked_in';
        CREATE TRIGGER checkins_logged AFTER INSERT ON checkins BEGIN
            INSERT INTO checkin_log (at, kiosk, outcome, attendee_id)
            VALUES (NEW.checked_in_at, NEW.kiosk, NEW.how, NEW.attendee_id);
        END;
        """
    )


def _log_without_autoincrement(db: Database) -> None:
    # AUTOINCREMENT costs a write to sqlite_sequence on every log row (7 µs of a 45 µs
    # check-in insert, measured); rows are never deleted, so plain rowids already only
    # grow. SQLite cannot drop it in place: the table is rebuilt, its triggers with it.
    db.executescript(
        """
        DROP TRIGGER checkins_logged;
        DROP TRIGGER checkin_log_no_update;
        DROP TRIGGER checkin_log_no_delete;
        CREATE TABLE checkin_log_rebuilt (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            kiosk TEXT NOT NULL,
            outcome TEXT NOT NULL,
            attendee_id INTEGER,
            detail TEXT
        );
        INSERT INTO checkin_log_rebuilt SELECT id, at, kiosk, outcome, attendee_id, detail
            FROM checkin_log ORDER BY id;
        DROP TABLE checkin_log;
        ALTER TABLE checkin_log_rebuilt RENAME TO checkin_log;
        DELETE FROM sqlite_sequence WHERE name = 'checkin_log';
        """
        + LOG_NO_UPDATE
        + """
        CREATE TRIGGER checkin_log_no_delete BEFORE DELETE ON checkin_log
            BEGIN SELECT RAISE(ABORT, 'checkin_log is append-only'); END;
        CREATE TRIGGER checkins_logged AFTER INSERT ON checkins BEGIN
            INSERT INTO checkin_log (at, kiosk, outcome, attendee_id)
            VALUES (NEW.checked_in_at, NEW.kiosk, NEW.how, NEW.attendee_id);
        END;
        """
    )


def _checkin_on_the_attendee_row(db: Database) -> None:
    # A scan was a look-up joining `checkins`, then an INSERT there (its foreign key
    # checked, a second table's page written): now it is one UPDATE of the attendee's
    # row, `WHERE code = ? AND checked_in_at IS NULL`, which finds, guards and writes in
    # one statement; +3 to 6 % check-ins per second measured (docs/performance.md). SQLite
    # runs one write at a time, so of two kiosks scanning a code at once, exactly one
    # finds checked_in_at still empty: the guarantee the primary key gave.
    db.executescript(
        """
        ALTER TABLE attendees ADD COLUMN checked_in_at TEXT;
        ALTER TABLE attendees ADD COLUMN checked_in_by TEXT;
        ALTER TABLE attendees ADD COLUMN checked_in_how TEXT;
        UPDATE attendees SET (checked_in_at, checked_in_by, checked_in_how) = (
            SELECT checked_in_at, kiosk, how FROM checkins WHERE attendee_id = attendees.id
        );
        DROP TRIGGER checkins_logged;
        DROP TABLE checkins;
        CREATE TRIGGER attendees_checked_in AFTER UPDATE OF checked_in_at ON attendees
            WHEN NEW.checked_in_at IS NOT NULL BEGIN
            INSERT INTO checkin_log (at, kiosk, outcome, attendee_id)
            VALUES (NEW.checked_in_at, NEW.checked_in_by, NEW.checked_in_how, NEW.id);
        END;
        """
    )


def _ended_sessions(db: Database) -> None:
    # A logout must end the session for every copy of its cookie, which stays validly
    # signed until it expires: the ids of ended sessions are refused (kiosk.auth).
    db.execute("CREATE TABLE ended_sessions (id TEXT PRIMARY KEY, ended_at TEXT NOT NULL)")


def _fold_ligatures_in_keys(db: Database) -> None:
    # attendees.fold() now writes œ as oe and æ as ae (« oeuvray » finds « Œuvray »); keys
    # stored before kept them, as casefold only lowered Œ and Æ. Replacing them in the
    # stored keys gives exactly what fold() gives now (checked over every code point).
    db.execute(
        "UPDATE attendees SET "
        "name_key = replace(replace(name_key, 'œ', 'oe'), 'æ', 'ae'), "
        "org_key = replace(replace(org_key, 'œ', 'oe'), 'æ', 'ae') "
        "WHERE instr(name_key, 'œ') OR instr(name_key, 'æ') "
        "OR instr(org_key, 'œ') OR instr(org_key, 'æ')"
    )


def _walk_ins_are_not_vips(db: Database) -> None:
    # Walk-ins used to be flagged VIP from the function they typed at the kiosk (« Député »,
    # say): a false alert at each scan and a VIP mark in the exports. Never on their own say.
    db.execute("UPDATE attendees SET vip = 0 WHERE source = 'walk-in' AND vip != 0")


def _running_order_and_timers(db: Database) -> None:
    # The organiser's position names its turn by id, not by place: the running order can
    # now change under it (kiosk.order). A printed turn's id is its block and place.
    db.executescript(
        """
        ALTER TABLE room_states ADD COLUMN turn_id TEXT;
        UPDATE room_states SET turn_id = block_id || '-' || (turn_index + 1)
            WHERE turn_index IS NOT NULL;
        ALTER TABLE room_states DROP COLUMN turn_index;
        ALTER TABLE room_states ADD COLUMN stage_message TEXT;
        ALTER TABLE room_states ADD COLUMN blackout TEXT;
        ALTER TABLE room_states ADD COLUMN progress INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE room_states ADD COLUMN pause_until TEXT;
        ALTER TABLE room_states ADD COLUMN timer_started_at TEXT;
        ALTER TABLE room_states ADD COLUMN timer_paused_at TEXT;
        ALTER TABLE room_states ADD COLUMN timer_paused_seconds REAL NOT NULL DEFAULT 0;
        ALTER TABLE room_states ADD COLUMN timer_extra_seconds INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE room_states ADD COLUMN timer_carried_seconds REAL NOT NULL DEFAULT 0;
        -- A block the organisers edited on the day, whole, as it now stands.
        CREATE TABLE block_edits (
            block_id TEXT PRIMARY KEY,
            room TEXT NOT NULL,
            data TEXT NOT NULL
        );
        CREATE INDEX block_edits_room ON block_edits (room);
        -- Each time a turn is at the lectern (the event's clock): what is done, and the
        -- record of the day. Withdrawn: left by Previous, as if it had not happened.
        CREATE TABLE turn_stints (
            id INTEGER PRIMARY KEY,
            room TEXT NOT NULL,
            block_id TEXT NOT NULL,
            turn_id TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            paused_seconds REAL NOT NULL DEFAULT 0,
            extra_seconds INTEGER NOT NULL DEFAULT 0,
            planned_minutes INTEGER,
            withdrawn INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX turn_stints_room ON turn_stints (room, id);
        -- Every room command, in order: delays and messages for the report, and what an
        -- undo restores (the blocks as they stood before an edit).
        CREATE TABLE room_log (
            id INTEGER PRIMARY KEY,
            room TEXT NOT NULL,
            version INTEGER NOT NULL,
            at TEXT NOT NULL,
            action TEXT NOT NULL,
            args TEXT NOT NULL,
            undo TEXT,
            undone INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX room_log_room ON room_log (room, id);
        """
    )


# Append only: a migration, once released, never changes; the schema moves forward by
# adding a new one at the end.
MIGRATIONS: list[tuple[str, Callable[[Database], None]]] = [
    ("0001_settings_and_room_states", _create_settings_and_room_states),
    ("0002_attendees_and_checkins", _create_attendees),
    ("0003_log_checkins_by_trigger", _log_checkins_by_trigger),
    ("0004_log_without_autoincrement", _log_without_autoincrement),
    ("0005_checkin_on_the_attendee_row", _checkin_on_the_attendee_row),
    ("0006_fold_ligatures_in_keys", _fold_ligatures_in_keys),
    ("0007_ended_sessions", _ended_sessions),
    ("0008_walk_ins_are_not_vips", _walk_ins_are_not_vips),
    ("0009_running_order_and_timers", _running_order_and_timers),
]


def migrate(db: Database) -> list[str]:
    """Apply the migrations this file has not seen yet; return their names."""
    applied = []
    with transaction(db):
        if "migrations" not in db.table_names():
            db["migrations"].create({"name": str, "applied_at": str}, pk="name")
        done = {row["name"] for row in db["migrations"].rows}
        for name, step in MIGRATIONS:
            if name not in done:
                step(db)
                db["migrations"].insert(
                    {"name": name, "applied_at": dt.datetime.now(dt.UTC).isoformat()}
                )
                applied.append(name)
    return applied


def get_setting(db: Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


# A secret given by its owner (KIOSK_ORGANISER_TOKEN, KIOSK_KIOSK_TOKEN) must be as hard
# to guess as 128 random bits. Its length is all that can be judged, by the smallest
# usual alphabet it is written in: 32 hexadecimal digits, or 22 URL-safe base64
# characters (what `secrets.token_urlsafe(16)` gives). Generated ones have 256 bits.
MIN_SECRET_BITS = 128
_ALPHABETS = (
    (frozenset("0123456789"), math.log2(10)),
    (frozenset("0123456789abcdef"), 4.0),
    (frozenset("0123456789ABCDEF"), 4.0),
)


def secret_bits(value: str) -> float:
    """How many random bits a secret of this length and alphabet can hold, at most."""
    chars = set(value)
    for alphabet, bits in _ALPHABETS:
        if chars <= alphabet:
            return len(value) * bits
    return len(value) * 6.0  # base64 and anything wider: six bits a character, at most


class SameSecrets(ValueError):
    """Two roles share a secret: a kiosk or a lectern's screen could steer the screens."""

    def __init__(self):
        super().__init__("the organiser, kiosk and stage secrets must differ")


class WeakSecret(ValueError):
    """A secret given by its owner is too short to be unguessable."""

    def __init__(self, key: str):
        super().__init__(
            f"{key}: a secret must hold at least {MIN_SECRET_BITS} bits: 22 URL-safe "
            "base64 characters or 32 hexadecimal digits"
        )
        self.key = key


def secret(db: Database, key: str, override: str | None = None) -> str:
    """The secret stored under key, generated once (256 bits) unless override is given.

    An override weaker than 128 bits is refused (WeakSecret); its value is never shown.
    """
    if override:
        if secret_bits(override) < MIN_SECRET_BITS:
            raise WeakSecret(key)
        return override
    with transaction(db):
        value = get_setting(db, key)
        if value is None:
            value = secrets.token_urlsafe(32)
            db["settings"].insert({"key": key, "value": value})
    return value


# --- before serving ------------------------------------------------------------------------


class DatabaseProblem(Explained):
    """The database file cannot serve at all; the message names it and says why, in a line
    (untranslated: str() is English, the command line says it with describe())."""

    def __init__(self, path: str, problem: str, /, **params: Any):
        super().__init__(N_("%(file)s: %(problem)s"), file=path, problem=Message(problem, **params))


def _problem(path: str, exc: sqlite3.Error) -> DatabaseProblem:
    """SQLite's own words (English) after what they mean for kiosk."""
    code = _fault(exc)
    if code is None:
        return DatabaseProblem(path, N_("%(error)s"), error=str(exc))
    return DatabaseProblem(
        path, N_("%(fault)s (%(error)s)"), fault=Message(FAULTS[code]), error=str(exc)
    )


def _check_schema(path: str, conn: sqlite3.Connection) -> None:
    """Ours or empty: kiosk migrates an empty file, and must not write into another's."""
    tables = sorted(
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    )
    if not tables:
        return
    foreign = DatabaseProblem(
        path,
        N_("not a kiosk database (it holds the tables %(tables)s)"),
        tables=", ".join(tables[:5]),
    )
    if "migrations" not in tables:
        raise foreign
    try:
        applied = {name for (name,) in conn.execute("SELECT name FROM migrations")}
    except sqlite3.OperationalError:  # someone else's table of that name
        raise foreign from None
    unknown = sorted(applied - {name for name, _step in MIGRATIONS})
    if unknown:
        raise DatabaseProblem(
            path,
            N_("written by a newer kiosk or another application (unknown migration %(name)s)"),
            name=unknown[0],
        )
    if not applied and tables != ["migrations"]:
        raise foreign


def check(path: str) -> None:
    """Refuse a database that cannot serve: not SQLite, another application's, damaged,
    read-only; raises DatabaseProblem. A missing or empty file is fine: it becomes ours.

    Interior damage shows only when a request reaches the damaged page (on such a file,
    816 of 6,000 scans failed, each with a 500): `quick_check` reads every page first,
    in milliseconds for a conference's few thousand guests. Nothing is served yet, so
    SQLite's own busy handler may wait for a lock here.
    """
    if os.path.isdir(path):
        raise DatabaseProblem(path, N_("a folder, not a database file"))
    try:
        conn = sqlite3.connect(path, timeout=BUSY_WAIT, isolation_level=None)
    except sqlite3.Error as exc:
        raise _problem(path, exc) from None
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # the probe below: written, not fsynced
        problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            more: Message | str = ""
            if len(problems) > 1:
                more = Message(N_(" (and %(n)d more)"), n=len(problems) - 1)
            # quick_check's own words (English) say where the damage is.
            raise DatabaseProblem(
                path, N_("damaged: %(problem)s%(more)s"), problem=problems[0], more=more
            )
        _check_schema(path, conn)
        # A read-only file reads fine, and even lets BEGIN IMMEDIATE through: only a
        # write tells. This one changes nothing (and tells of a full disk as well).
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(f"PRAGMA user_version = {int(version)}")
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise _problem(path, exc) from None
    finally:
        conn.close()
