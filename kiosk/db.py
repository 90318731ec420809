"""The SQLite file: connection settings, migrations, write transactions, settings.

Every write goes through `transaction()`, which takes SQLite's write lock up front
(BEGIN IMMEDIATE) so two writers never deadlock on a lock upgrade, and keeps it short.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlite_utils import Database

# SQLite's own default: a writer that grows the WAL past this many pages copies it back
# into the database file (a checkpoint, with an fsync) before its statement returns.
AUTOCHECKPOINT = 1000


def connect(path: str, autocheckpoint: int = AUTOCHECKPOINT) -> Database:
    """Open the database file with the settings every connection needs."""
    # isolation_level=None: we issue BEGIN ourselves, so no implicit transaction
    # can hold the write lock between two statements.
    conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives a killed process (kill -9); only a power cut can lose
    # the last transactions, which the fsync of FULL would cost on every write.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
    return Database(conn)


def checkpoint(db: Database) -> tuple[int, int]:
    """Copy what the WAL holds back into the database file, without waiting on anyone.

    PASSIVE: readers and writers go on meanwhile; what a reader still uses is left for
    the next time. Returns (pages in the WAL, pages copied back).
    """
    _busy, in_wal, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return in_wal, copied


class Pool:
    """Open connections kept for the next request: opening one (and its PRAGMAs) cost a
    fifth of a check-in. Requests take one and give it back at teardown.

    A plain list: its pop() and append() are atomic in CPython, for the greenlets of
    `kiosk serve` and the threads of the test server alike, and cost less than a Queue's
    locks on every request.
    """

    def __init__(self, path: str, keep: int = 16, autocheckpoint: int = AUTOCHECKPOINT):
        self.path = path
        self.keep = keep
        self.autocheckpoint = autocheckpoint
        self._idle: list[Database] = []

    def take(self) -> Database:
        try:
            return self._idle.pop()
        except IndexError:
            return connect(self.path, self.autocheckpoint)

    def give_back(self, db: Database) -> None:
        if db.conn.in_transaction:  # a request that failed mid-transaction
            db.conn.rollback()
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
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


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


# Append only: a migration, once released, never changes; the schema moves forward by
# adding a new one at the end.
MIGRATIONS: list[tuple[str, Callable[[Database], None]]] = [
    ("0001_settings_and_room_states", _create_settings_and_room_states),
    ("0002_attendees_and_checkins", _create_attendees),
    ("0003_log_checkins_by_trigger", _log_checkins_by_trigger),
    ("0004_log_without_autoincrement", _log_without_autoincrement),
    ("0005_checkin_on_the_attendee_row", _checkin_on_the_attendee_row),
    ("0006_ended_sessions", _ended_sessions),
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
