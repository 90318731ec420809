"""The `kiosk` command speaks French, as the pages do, unless the locale is English."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from kiosk.cli import cli

from .conftest import run_kiosk
from .test_attendees import office_file


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def english(monkeypatch):
    monkeypatch.setenv("KIOSK_LANG", "en")


@pytest.mark.usefixtures("no_language_set")
def test_check_summarises_in_french_when_no_language_is_set(runner):
    result = runner.invoke(cli, ["check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK : La Diplomatie des territoires")
    assert "Salle Lamartine (lamartine) : 7 blocs, 21 interventions, 08:30–17:15" in result.output


@pytest.mark.usefixtures("english")
def test_check_summarises_in_english_when_the_locale_says_so(runner):
    result = runner.invoke(cli, ["check"])
    assert result.output.startswith("OK: La Diplomatie des territoires")
    assert "Salle Lamartine (lamartine): 7 blocks, 21 turns, 08:30–17:15" in result.output


@pytest.mark.parametrize("variable", ["LC_ALL", "LC_MESSAGES", "LANG"])
def test_an_english_locale_makes_it_english(runner, no_language_set, monkeypatch, variable):
    monkeypatch.setenv(variable, "en_GB.UTF-8")
    assert "7 blocks, 21 turns" in runner.invoke(cli, ["check"]).output


@pytest.mark.usefixtures("no_language_set")
def test_import_export_qr_and_purge_report_in_french(runner, tmp_path):
    source = tmp_path / "inscrits.csv"
    source.write_bytes(office_file(3))
    db = str(tmp_path / "k.db")
    result = runner.invoke(cli, ["attendees", "import", str(source), "--db", db])
    assert result.exit_code == 0, result.output
    assert "3 participants importés, 0 déjà présent." in result.output
    again = runner.invoke(cli, ["attendees", "import", str(source), "--db", db])
    assert "0 participant importé, 3 déjà présents." in again.output
    out = tmp_path / "liste.csv"
    exported = runner.invoke(cli, ["attendees", "export", str(out), "--db", db])
    assert f"3 participants écrits dans {out}." in exported.output
    qr = runner.invoke(cli, ["attendees", "qr", str(tmp_path / "qr"), "--db", db])
    assert f"3 codes QR écrits dans {tmp_path / 'qr'}." in qr.output
    refused = runner.invoke(cli, ["attendees", "purge", "--db", db], input="n\n")
    assert "Supprimer pour de bon les données personnelles de tous les participants ?" in (
        refused.output
    )
    purged = runner.invoke(cli, ["attendees", "purge", "--yes", "--db", db])
    assert "3 participants supprimés ; comptes anonymes conservés." in purged.output


@pytest.mark.usefixtures("english")
def test_import_reports_in_english_when_the_locale_says_so(runner, tmp_path):
    source = tmp_path / "inscrits.csv"
    source.write_bytes(office_file(1))
    db = str(tmp_path / "k.db")
    result = runner.invoke(cli, ["attendees", "import", str(source), "--db", db])
    assert "1 attendee imported, 0 already present." in result.output
    purged = runner.invoke(cli, ["attendees", "purge", "--yes", "--db", db])
    assert "1 attendee deleted; anonymous counts kept." in purged.output


def bad_timetable(tmp_path):
    from .test_schedule import GOOD

    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace('end: "10:00"', 'end: "08:00"', 1), encoding="utf-8")
    return bad


@pytest.mark.usefixtures("no_language_set")
def test_check_tells_a_timetable_problem_in_french_when_no_language_is_set(tmp_path):
    bad = bad_timetable(tmp_path)
    result = run_kiosk("check", str(bad), lang=None)
    assert result.returncode == 1
    assert (
        f"{bad}, ligne 9 : bloc « one » : la fin (end) 08:00 n’est pas après le début (start) 09:00"
        in result.stderr
    )


def test_check_tells_a_timetable_problem_in_english_when_the_locale_says_so(tmp_path):
    bad = bad_timetable(tmp_path)
    result = run_kiosk("check", str(bad), lang="en")
    assert f"{bad}, line 9: block 'one': end 08:00 is not after start 09:00" in result.stderr


@pytest.mark.usefixtures("no_language_set")
def test_serve_tells_a_missing_timetable_in_french(tmp_path):
    result = run_kiosk("serve", "--schedule", str(tmp_path / "nope.yaml"), lang=None)
    assert result.returncode == 1
    assert f"{tmp_path / 'nope.yaml'} : fichier introuvable" in result.stderr


BAD_CSV = "Civilité;Prénom;Nom;VIP\nMme;Camille;Dou<cet;oui\nM.;;Fabre;peut-être\n"


@pytest.mark.usefixtures("no_language_set")
def test_import_tells_the_problems_of_a_file_in_french_when_no_language_is_set(tmp_path):
    bad = tmp_path / "inscrits.csv"
    bad.write_text(BAD_CSV, encoding="utf-8")
    result = run_kiosk("attendees", "import", str(bad), "--db", str(tmp_path / "k.db"), lang=None)
    assert result.returncode == 1
    assert f"{bad} : 3 problèmes, rien n’a été importé :\n" in result.stderr
    assert (
        "  ligne 2, Nom 'Dou<cet' : contient un caractère non autorisé : < "
        "(valeurs acceptées : lettres, chiffres, espaces et - ' ’ .)\n"
    ) in result.stderr
    assert "  ligne 3, Prénom '' : est obligatoire\n" in result.stderr
    assert "  ligne 3, VIP 'peut-être' : n’est pas oui/non (valeurs acceptées : oui, non" in (
        result.stderr
    )


@pytest.mark.usefixtures("no_language_set")
def test_import_tells_a_file_it_cannot_read_in_french(runner, tmp_path):
    empty = tmp_path / "vide.csv"
    empty.write_bytes(b"")
    result = runner.invoke(cli, ["attendees", "import", str(empty), "--db", str(tmp_path / "k")])
    assert f"{empty} : le fichier est vide — rien n’a été importé" in result.output


def test_import_tells_the_problems_of_a_file_in_english_when_the_locale_says_so(tmp_path):
    bad = tmp_path / "inscrits.csv"
    bad.write_text(BAD_CSV, encoding="utf-8")
    result = run_kiosk("attendees", "import", str(bad), "--db", str(tmp_path / "k.db"), lang="en")
    assert f"{bad}: 3 problems, nothing was imported:\n" in result.stderr
    assert "  line 3, Prénom '': is required\n" in result.stderr


def not_sqlite(tmp_path):
    db = tmp_path / "kiosk.db"
    db.write_text("Nom;Prénom\nDupont;Camille\n" * 100)
    return db


def serve(db, *more: str, lang: str | None):
    from .conftest import free_port

    args = ["serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(free_port())]
    # A server that does not refuse would serve until this times out.
    return run_kiosk(*args, *more, timeout=30, lang=lang)


@pytest.mark.usefixtures("no_language_set")
def test_serve_tells_a_damaged_database_in_french_when_no_language_is_set(tmp_path):
    db = not_sqlite(tmp_path)
    result = serve(db, lang=None)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"Erreur : {db} : pas une base de données SQLite (file is not a database)"
    )


def test_serve_tells_a_damaged_database_in_english_when_the_locale_says_so(tmp_path):
    db = not_sqlite(tmp_path)
    result = serve(db, lang="en")
    assert result.stderr.startswith(f"Error: {db}: not a SQLite database (file is not a database)")


@pytest.mark.usefixtures("no_language_set")
def test_the_other_commands_tell_a_foreign_database_in_french(runner, tmp_path):
    import sqlite3

    db = tmp_path / "notes.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
    conn.close()
    result = runner.invoke(cli, ["organiser-link", "--db", str(db)])
    assert f"{db} : pas une base de données kiosk (elle contient les tables notes)" in (
        result.output
    )


@pytest.mark.usefixtures("no_language_set")
def test_serve_tells_in_french_that_another_server_holds_the_database(tmp_path):
    from kiosk.server import claim

    db = tmp_path / "kiosk.db"
    with claim(str(db), "http://127.0.0.1:5000"):
        result = serve(db, lang=None)
    assert result.returncode == 1
    assert (
        f"{db} est déjà servie par le processus {os.getpid()} (http://127.0.0.1:5000) ; "
        "arrêtez-le d’abord, ou servez une autre --db"
    ) in result.stderr


@pytest.mark.usefixtures("no_language_set")
def test_a_weak_secret_is_refused_in_french(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_ORGANISER_TOKEN", "hunter2")
    result = runner.invoke(cli, ["organiser-link", "--db", str(tmp_path / "k.db")])
    assert result.exit_code == 1
    assert "KIOSK_ORGANISER_TOKEN est trop court pour être impossible à deviner" in result.output
    assert "Retirez KIOSK_ORGANISER_TOKEN pour qu’un secret soit créé" in result.output


@pytest.mark.usefixtures("no_language_set")
def test_serve_on_a_taken_port_says_so_in_french(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_kiosk(
            "serve", "--host", "127.0.0.1", "--port", str(port), "--db", str(tmp_path / "k.db"),
            lang=None,
        )  # fmt: skip
    assert result.returncode == 1
    # the system's reason (strerror) is Python's, in English
    assert f"impossible d’écouter sur 127.0.0.1:{port} : Address already in use" in result.stderr


def test_a_damaged_database_keeps_its_message_untranslated_until_it_is_told():
    """db.py imports no i18n: the problem is a template with its params, in any language."""
    from kiosk.db import DatabaseProblem
    from kiosk.errors import N_, Message
    from kiosk.i18n import translator

    more = Message(N_(" (and %(n)d more)"), n=4)
    problem = DatabaseProblem(
        "k.db", N_("damaged: %(problem)s%(more)s"), problem="row 3 missing", more=more
    )
    assert str(problem) == "k.db: damaged: row 3 missing (and 4 more)"
    assert problem.describe(translator("fr")) == "k.db : endommagée : row 3 missing (et 4 de plus)"


@pytest.mark.usefixtures("no_language_set")
def test_one_secret_for_organisers_and_kiosks_is_refused_in_one_line(tmp_path, monkeypatch):
    """It ended in a Python traceback, in English."""
    secret = "a-secret-of-well-over-128-bits-0123456789"
    monkeypatch.setenv("KIOSK_ORGANISER_TOKEN", secret)
    monkeypatch.setenv("KIOSK_KIOSK_TOKEN", secret)
    result = run_kiosk("serve", "--port", "1", "--db", str(tmp_path / "k.db"), lang=None)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        "Erreur : KIOSK_ORGANISER_TOKEN, KIOSK_KIOSK_TOKEN et KIOSK_STAGE_TOKEN doivent "
        "contenir trois secrets différents"
    )
    assert secret not in result.stderr
    # the lectern's secret too: it reads the stage, it must not steer the screens
    monkeypatch.setenv("KIOSK_KIOSK_TOKEN", "another-secret-of-well-over-128-bits-0123")
    monkeypatch.setenv("KIOSK_STAGE_TOKEN", secret)
    result = run_kiosk("serve", "--port", "1", "--db", str(tmp_path / "k2.db"), lang=None)
    assert result.returncode == 1
    assert "KIOSK_STAGE_TOKEN" in result.stderr and "Traceback" not in result.stderr
    assert secret not in result.stderr
