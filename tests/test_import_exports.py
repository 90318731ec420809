"""Exports of the tools organisers sell or collect registrations with, imported as they
are: every person, their civility, organisation, email and ticket code kept, nothing
dropped without a word, and the guest's own ticket checking them in."""

from __future__ import annotations

import csv
import io
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk import checkin
from kiosk import db as database
from kiosk.attendees import CsvError, import_csv
from kiosk.cli import cli

from .conftest import KIOSK_TOKEN, Server, at, free_port, scan

pytestmark = pytest.mark.usefixtures("cli_in_english")
DATA = Path(__file__).parent / "data"
ROW = "civility, first_name, last_name, organisation, function, email, category, code"


@pytest.fixture
def db(tmp_path):
    d = database.connect(str(tmp_path / "k.db"))
    database.migrate(d)
    return d


def rows(db) -> list[tuple]:
    return db.execute(f"SELECT {ROW} FROM attendees ORDER BY id").fetchall()


def run(*args: str):
    result = CliRunner().invoke(cli, ["attendees", "import", *args])
    return result


# file -> (people in it, one of them as stored, columns the report must list as left out)
EXPORTS = {
    "pretix-order-positions.csv": (
        4,
        (
            "Dr", "Hélène", "Lefèvre", "Ville de Lyon", "Directrice des relations internationales",
            "assistante.dri@mairie-lyon.fr", "Pass conférence", "k7hq2xw9nprtd3mbz5acf8gjv4sye6ua",
        ),
        ["Order code", "Pseudonymization ID", "VAT ID"],
    ),
    "pretix-checkin-list-fr.csv": (
        3,
        (
            "Dr", "Benoît", "Da Costa", "Région Île-de-France", "", "cecile.chateau@region-idf.fr",
            "Journée du 3 juillet", "t6v2nq9xk4wm7hzr3bdp8cfjaye5us2h",
        ),
        ["Code de commande", "Enregistré"],
    ),
    "eventbrite-attendee-summary.csv": (
        3,
        (
            "Mme", "Inès", "Müller", "Agence Presse", "Journaliste",
            "claire.perrin@agence-presse.example", "presse", "472839992158120990131001",
        ),
        ["Order #", "Attendee #", "Attendee Status"],
    ),
    "weezevent-participants.csv": (
        3,
        (
            "M.", "Grégory", "Doucet", "Métropole de Lyon", "Vice-président « Europe »",
            "julie.barre@grandlyon.example", "elu", "2306031048222",
        ),
        ["ID", "Statut", "Montant"],
    ),
    "helloasso-billetterie.csv": (
        3,
        (
            "", "Paul", "Durand", "Comité de jumelage de Lyon", "Trésorier",
            "marie.lefort@asso-jumelage.example", "Non adhérent", "47281247",
        ),
        ["Numéro", "Montant (€)", "Moyen de paiement"],
    ),
    "google-forms-en.csv": (
        2,
        (
            "Mme", "Mathilde", "O'Connor", "Bristol City Council",
            "Head of International Relations", "mathilde.oconnor@council.example", "autre", None,
        ),
        ["Timestamp", "Dietary requirements"],
    ),
    "excel-csv-semicolon-cp1252.csv": (
        3,
        (
            "Mme", "Chloé", "Œuvray", "Région Bourgogne-Franche-Comté",
            "Directrice | Pôle Europe & International", "chloe.oeuvray@bfc.example", "elu", None,
        ),
        [],
    ),
    "excel-csv-utf8.csv": (
        3,
        ("Dr", "Mathéo", "Lefèvre", "CHU de Dijon", "Médecin chef (« santé mondiale »)", "",
         "chercheur", None),
        [],
    ),
    "excel-texte-unicode.txt": (
        3,
        ("Me", "Agnès", "Fabre", "Cabinet Fabre", "Avocate", "agnes.fabre@avocats.example",
         "Invitée", None),
        [],
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_each_tool_export_is_imported_whole(tmp_path, name):
    count, one, left_out = EXPORTS[name]
    path = str(tmp_path / "k.db")
    result = run(str(DATA / name), "--db", path)
    assert result.exit_code == 0, result.output
    assert f"{count} attendees imported, 0 already present." in result.output
    if left_out:
        said = next(line for line in result.output.splitlines() if line.startswith("Columns left"))
        assert all(column in said for column in left_out), said
    stored = rows(database.connect(path))
    assert len(stored) == count  # no one dropped as « already present »
    match = [r for r in stored if r[2] == one[2] and r[1] == one[1]]
    assert len(match) == 1, stored
    if one[-1] is None:  # no ticket in the export: a code made here
        assert len(match[0][-1]) == 24
        one = (*one[:-1], match[0][-1])
    assert match[0] == one
    # every civility normalised, every organisation and email the file gave kept
    assert {r[0] for r in stored} <= {"", "M.", "Mme", "Dr", "Pr", "Me"}


def test_a_pretix_group_order_gives_three_attendees_sharing_the_buyers_email(db):
    report = import_csv(db, (DATA / "pretix-order-positions.csv").read_bytes(), at("07:00"))
    assert (report.created, report.already_present) == (4, 0)
    group = db.execute(
        "SELECT civility, first_name, last_name, function FROM attendees "
        "WHERE email = 'assistante.dri@mairie-lyon.fr' ORDER BY id"
    ).fetchall()
    assert group == [
        ("Dr", "Hélène", "Lefèvre", "Directrice des relations internationales"),
        ("M.", "Loïc", "Nguyen", "Chargé de mission | Europe"),
        ("Pr", "Agnès", "Béranger", "Adjointe au maire"),
    ]
    # the attendee's own email over the order's
    assert db.execute("SELECT email FROM attendees WHERE last_name = 'Schlimmer'").fetchone() == (
        "sina.schlimmer@ifri.example",
    )
    # the invoice's company stands in where the attendee gave none
    assert db.execute("SELECT organisation FROM attendees WHERE last_name = 'Béranger'").fetchone()[
        0
    ] == ("Ville de Lyon")


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_a_second_import_of_any_export_creates_no_duplicates(db, name):
    raw = (DATA / name).read_bytes()
    first = import_csv(db, raw, at("07:00"))
    before = rows(db)
    again = import_csv(db, raw, at("07:05"))
    assert (again.created, again.already_present) == (0, first.created)
    assert rows(db) == before


def test_the_same_email_and_name_is_one_person_the_same_email_another_name_is_not(db):
    import_csv(db, b"Prenom;Nom;Email\nAnne;Louyot;a@x.fr\n", at("07:00"))
    report = import_csv(
        db, b"Prenom;Nom;Email\nANNE;louyot;a@x.fr\nPaul;Louyot;a@x.fr\n", at("7:00")
    )
    assert (report.created, report.already_present) == (1, 1)


def test_dry_run_says_everything_and_writes_nothing(tmp_path):
    path = str(tmp_path / "k.db")
    result = run(str(DATA / "weezevent-participants.csv"), "--db", path, "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  Email participant → email" in lines
    assert "  Email payeur → email, where Email participant is empty" in lines
    assert "  Code-barre → code" in lines
    assert "Columns left out: ID, Date, Statut, Montant" in lines
    assert "Dry run, nothing written: 3 attendees imported, 0 already present." in lines
    assert database.connect(path).execute("SELECT COUNT(*) FROM attendees").fetchone()[0] == 0


def test_a_form_s_own_questions_are_read_with_map_and_its_labels_with_category(tmp_path):
    path = str(tmp_path / "k.db")
    form = str(DATA / "google-forms-fr.csv")
    plain = run(form, "--db", path, "--dry-run")
    assert "Quelle est votre fonction ?" in plain.output.split("Columns left out:")[1]
    result = run(
        form,
        "--db",
        path,
        "--map",
        "Votre structure (collectivité, association, entreprise…)=organisation",
        "--map",
        "Quelle est votre fonction ?=function",
        "--map",
        "Vous êtes…=category",
        "--category",
        "Étudiant·e ou chercheur·e=chercheur",
    )
    assert result.exit_code == 0, result.output
    assert "  Quelle est votre fonction ? → function" in result.output.splitlines()
    stored = database.connect(path).execute(
        "SELECT civility, last_name, organisation, function, category FROM attendees ORDER BY id"
    )
    assert stored.fetchall() == [
        ("Mme", "Lefèvre", "Métropole de Lyon", "Cheffe de projet | coopération décentralisée",
         "Agent·e territorial·e"),
        ("Dr", "Fabre", "Université de Lyon", "Chercheur (géographie)", "chercheur"),
        ("Mme", "Grünewald", "", "Citoyenne", "autre"),
    ]  # fmt: skip


def test_map_naming_a_missing_column_or_an_unknown_field_is_refused(tmp_path):
    path = str(tmp_path / "k.db")
    missing = run(str(DATA / "google-forms-en.csv"), "--db", path, "--map", "Société=organisation")
    assert missing.exit_code == 1
    assert "--map names a column the file does not have: 'Société'" in missing.output
    unknown = run(str(DATA / "google-forms-en.csv"), "--db", path, "--map", "Title=rank")
    assert unknown.exit_code == 2 and "'rank' is not a field" in unknown.output


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("M.", "M."), ("Mr", "M."), ("Mr.", "M."), ("Monsieur", "M."), ("MONSIEUR", "M."),
        ("Mme", "Mme"), ("Mme.", "Mme"), ("Mrs", "Mme"), ("Mrs.", "Mme"), ("Ms", "Mme"),
        ("Madame", "Mme"), ("Mlle", "Mme"), ("Mademoiselle", "Mme"), ("Dr", "Dr"),
        ("Dr.", "Dr"), ("Docteur", "Dr"), ("Docteure", "Dr"), ("Pr", "Pr"), ("Prof.", "Pr"),
        ("Professeur", "Pr"), ("Professeure", "Pr"), ("Me", "Me"), ("Maître", "Me"),
        ("Maitre", "Me"), ("S.E. M.", "S.E. M."), ("Son Excellence Madame", "S.E. Mme"),
    ],
)  # fmt: skip
def test_civilities_in_their_usual_forms_are_kept_in_their_french_short_form(db, written, kept):
    import_csv(db, f"Civilité;Prénom;Nom\n{written};Camille;Dupont\n".encode(), at("07:00"))
    assert db.execute("SELECT civility FROM attendees").fetchone() == (kept,)


def test_every_problem_of_an_export_is_reported_in_one_run_and_nothing_is_written(db):
    raw = (
        "Civilité;Prénom;Nom;Email;Code-barre;Catégorie\n"
        "Sa Majesté;Anne;Louyot;anne@;2306031048221;Élu·e\n"
        "M.;Paul;Durand;;1,04857E+20;\n"
        "Mme;Zoé;Béranger;zoe@x.fr;2306031048221;" + "x" * 81 + "\n"
        "M.;Jean;Fabre;;abc def 123;\n"
        "M.;Léa;Martin;;2306031048229;\n"
    ).encode()
    with pytest.raises(CsvError) as error:
        import_csv(db, raw, at("07:00"))
    assert [str(p) for p in error.value.problems] == [
        "line 2, Civilité 'Sa Majesté': is not one of M., Mme, Mx, Dr, Pr, Me",
        "line 2, Email 'anne@': is not valid "
        "(accepted: an address such as prenom.nom@example.fr, or nothing)",
        "line 3, Code-barre '1,04857E+20': is a number a spreadsheet rounded, not the "
        "ticket's code: format the column as text and export it again",
        f"line 4, Catégorie '{'x' * 40}…': is longer than 80 characters",
        "line 5, Code-barre 'abc def 123': is not a ticket code (accepted: 6 to 200 letters, "
        "digits and - _ . + / = without spaces, or nothing (a code is made))",
    ]
    assert rows(db) == []


def test_two_rows_with_one_ticket_code_are_refused(db):
    raw = b"Prenom;Nom;Barcode\nAnne;Louyot;2306031048221\nPaul;Durand;2306031048221\n"
    with pytest.raises(CsvError) as error:
        import_csv(db, raw, at("07:00"))
    assert str(error.value) == "line 3, Barcode '2306031048221': the same ticket code as line 2"


def export(path: str, out: Path) -> str:
    result = CliRunner().invoke(cli, ["attendees", "export", str(out), "--db", path])
    assert result.exit_code == 0, result.output
    return out.read_text("utf-8-sig")


@pytest.mark.parametrize("name", ["pretix-order-positions.csv", "excel-texte-unicode.txt"])
def test_export_then_import_gives_the_same_records(tmp_path, name):
    first = str(tmp_path / "first.db")
    assert run(str(DATA / name), "--db", first).exit_code == 0
    text = export(first, tmp_path / "export.csv")
    header = next(csv.reader(io.StringIO(text), delimiter=";"))
    second = str(tmp_path / "second.db")
    result = run(str(tmp_path / "export.csv"), "--db", second)
    assert result.exit_code == 0, result.output
    assert "Columns left out: Source, Arrival, Kiosk" in result.output, header
    assert sorted(rows(database.connect(second))) == sorted(rows(database.connect(first)))


def test_a_ticket_code_from_each_tool_checks_its_guest_in_once(db):
    for name in ("pretix-checkin-list-fr.csv", "eventbrite-attendee-summary.csv",
                 "weezevent-participants.csv", "helloasso-billetterie.csv"):  # fmt: skip
        import_csv(db, (DATA / name).read_bytes(), at("07:00"))
    tickets = {
        "Château": "p4x9kw2mt7qh3zrn8bdc5vfjay6eus2k",
        "Fabre": "472839105558120344711001",
        "Louyot": "2306031048221",
        "Dupont": "47281193",
    }
    for name, code in tickets.items():
        first = checkin.check_in(db, code, "kiosque 1", at("08:30"))
        assert (first.status, first.attendee.last_name) == ("checked_in", name)
        again = checkin.check_in(db, code, "kiosque 2", at("08:31"))
        assert (again.status, again.checked_in_at) == ("already_checked_in", first.checked_in_at)
    assert checkin.check_in(db, "47281194", "kiosque 1", at("08:32")).status == "unknown"


def test_a_guest_s_pretix_ticket_checks_them_in_at_a_real_server(tmp_path):
    srv = Server(tmp_path / "kiosk.db", free_port(), "2023-07-03T08:30").start()
    try:
        db = database.connect(str(srv.db))
        import_csv(db, (DATA / "pretix-order-positions.csv").read_bytes(), at("07:00"))
        import_csv(db, (DATA / "helloasso-billetterie.csv").read_bytes(), at("07:00"))
        answer = scan(srv.url, "w2m9xk4rtd7pq3hzbn8c6fjva5yeus2g")
        assert (answer["status"], answer["attendee"]["display_name"]) == (
            "checked_in",
            "M. Nguyen",
        )
        assert scan(srv.url, "w2m9xk4rtd7pq3hzbn8c6fjva5yeus2g")["status"] == "already_checked_in"
        assert scan(srv.url, "47281248")["status"] == "checked_in"
        assert scan(srv.url, "https://pretix.eu/demo/")["status"] == "invalid"
    finally:
        srv.kill(signal.SIGTERM)


@pytest.mark.browser
def test_a_guest_s_eventbrite_barcode_checks_them_in_through_the_kiosk_camera(
    pages, server, tmp_path
):
    from playwright.sync_api import expect

    from .fakecamera import qr_y4m

    db = database.connect(str(server.db))
    import_csv(db, (DATA / "eventbrite-attendee-summary.csv").read_bytes(), at("07:00"))
    video = qr_y4m("472839105558120344711001", tmp_path / "qr.y4m")
    browser = pages.launch(
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    kiosk = f"{server.url}/kiosk?token={KIOSK_TOKEN}&device=kiosque 1"
    page = pages.open(kiosk, 1280, 800, browser=browser, permissions=("camera",))
    expect(page.locator("body")).to_have_attribute("data-camera", "on", timeout=15_000)
    expect(page.locator("#result-text")).to_have_text("Bienvenue, M. Fabre", timeout=15_000)
    expect(page.locator("#scan")).to_be_visible(timeout=10_000)
    expect(page.locator("#result-text")).to_have_text(
        "Déjà enregistré·e à 10 h 20 (kiosque 1)", timeout=15_000
    )
