"""A database that cannot serve is refused before serving: one line naming the file and
the problem, exit code 1, no traceback; `kiosk serve` and the commands that open it."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from kiosk import db as database
from kiosk.attendees import import_csv

from .conftest import at, free_port, run_kiosk

# The command's words are asserted in English (French is the default: test_cli_language).
pytestmark = pytest.mark.usefixtures("cli_in_english")


@pytest.fixture(scope="module")
def kiosk_db(tmp_path_factory) -> Path:
    """A kiosk database of 3,000 guests, all in the main file (no WAL beside it)."""
    path = tmp_path_factory.mktemp("built") / "kiosk.db"
    db = database.connect(str(path))
    database.migrate(db)
    rows = "".join(
        f"Guest{chr(97 + i // 676)}{chr(97 + i // 26 % 26)}{chr(97 + i % 26)};Martin;Mairie {i}\n"
        for i in range(3000)
    )
    import_csv(db, ("Prénom;Nom;Organisation\n" + rows).encode(), at("07:00"))
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return path


def not_sqlite(path: Path) -> None:
    path.write_text("Nom;Prénom\nDupont;Camille\n" * 100)


def truncated(path: Path) -> None:
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)


def damaged_inside(path: Path) -> None:
    # Pages of the guest list, far from the header and the tables read at start-up.
    with open(path, "r+b") as f:
        f.seek(4096 * 40)
        f.write(bytes(range(256)) * 48)


def another_application(path: Path) -> None:
    path.unlink()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.commit()
    conn.close()


def newer_kiosk(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO migrations VALUES ('0099_from_the_future', '2030-01-01')")
    conn.commit()
    conn.close()


def refused(db: Path, *command: str) -> str:
    """The one line a kiosk command refuses this database with."""
    args = [*command, "--db", str(db)]
    if command[0] == "serve":
        args += ["--host", "127.0.0.1", "--port", str(free_port())]
    # A server that does not refuse would serve until this times out.
    result = run_kiosk(*args, timeout=30)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {db}: "), line
    return line.removeprefix(f"Error: {db}: ")


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (not_sqlite, "not a SQLite database"),
        (truncated, "damaged"),
        (damaged_inside, "damaged"),
        (another_application, "not a kiosk database (it holds the tables notes)"),
        (newer_kiosk, "written by a newer kiosk"),
    ],
)
def test_serve_refuses_a_database_that_cannot_serve(kiosk_db, tmp_path, damage, problem):
    db = tmp_path / "kiosk.db"
    shutil.copy(kiosk_db, db)
    damage(db)
    assert refused(db, "serve").startswith(problem)


def test_the_other_commands_refuse_it_too(kiosk_db, tmp_path):
    db = tmp_path / "kiosk.db"
    shutil.copy(kiosk_db, db)
    damaged_inside(db)
    for command in (
        ("attendees", "export", str(tmp_path / "out.csv")),
        ("kiosk-link",),
        ("organiser-link",),
    ):
        assert refused(db, *command).startswith("damaged"), command
    assert not (tmp_path / "out.csv").exists()


def make_read_only(path: Path) -> None:
    """Read-only even for root (whom file modes do not stop): the immutable attribute."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        return
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if done.returncode != 0:  # no chattr, or a file system or container without it
        pytest.skip(f"cannot make a file read-only for root here: {done.stderr.strip()}")


def test_serve_refuses_a_read_only_database(kiosk_db, tmp_path):
    db = tmp_path / "kiosk.db"
    shutil.copy(kiosk_db, db)
    make_read_only(db)
    try:
        assert refused(db, "serve").startswith("read-only, and kiosk must write to it")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(db)], check=True)


def test_a_missing_or_empty_file_becomes_a_new_database(tmp_path):
    empty = tmp_path / "empty.db"
    empty.touch()
    for db in (tmp_path / "new.db", empty):
        result = run_kiosk("organiser-link", "--db", str(db))
        assert result.returncode == 0, result.stderr
    database.check(str(empty))  # and it is a kiosk database now
