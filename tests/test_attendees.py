"""CSV import as offices export it, exports, QR images: all or nothing, no duplicates."""

from __future__ import annotations

import csv
import io
import random

import pytest
import qrcode
import qrcode.image.svg
from click.testing import CliRunner

from kiosk import attendees as people
from kiosk import checkin
from kiosk import db as database
from kiosk.attendees import CsvError, import_csv
from kiosk.cli import cli

from .conftest import PARIS, at, run_kiosk

# The command's words are asserted in English (French is the default: test_cli_language).
pytestmark = pytest.mark.usefixtures("cli_in_english")

FIRST = [
    "Grégory",
    "Anne",
    "François",
    "Hélène",
    "Zoë",
    "Loïc",
    "Chloé",
    "Jérôme",
    "Noémie",
    "Benoît",
    "Cécile",
    "Mathéo",
    "Agnès",
    "Raphaël",
    "Inès",
    "Théo",
]
LAST = [
    "Doucet",
    "Louyot",
    "Grünewald",
    "Lefèvre",
    "Béranger",
    "Nguyen",
    "Da Costa",
    "N'Diaye",
    "Müller",
    "Château",
    "Œuvray",
    "Saint-Just",
    "Dupont",
    "Fabre",
]


def office_file(rows: int, seed: int = 7) -> bytes:
    """What a French office exports from Excel: ';', Windows-1252, French headers."""
    rng = random.Random(seed)
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\r\n")
    w.writerow(["Civilité", "Prénom", "Nom", "Organisation", "Fonction", "Courriel", "Catégorie"])
    for i in range(rows):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        w.writerow(
            [
                rng.choice(["M.", "Mme", "Madame", ""]),
                first,
                f"{last} {i}",
                f"Mairie de Châlons n°{i % 97}",
                "Chargé·e de mission « coopération »",
                f"p{i}@collectivite.fr",
                rng.choice(["Élu·e", "Agent territorial", "Diplomate", "ONG", "Presse"]),
            ]
        )
    return out.getvalue().encode("cp1252")


@pytest.fixture
def db(tmp_path):
    d = database.connect(str(tmp_path / "k.db"))
    database.migrate(d)
    return d


def count(db, table="attendees"):
    return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_five_thousand_rows_semicolon_cp1252(db):
    report = import_csv(db, office_file(5000), at("07:00"))
    assert (report.created, report.already_present) == (5000, 0)
    assert count(db) == 5000
    row = db.execute(
        "SELECT first_name, organisation, function, category FROM attendees "
        "WHERE last_name LIKE '% 0'"
    ).fetchone()
    assert row[1] == "Mairie de Châlons n°0"
    assert row[2] == "Chargé·e de mission « coopération »"
    assert row[3] in {"elu", "agent", "diplomate", "ong", "presse"}
    assert db.execute("SELECT COUNT(DISTINCT code) FROM attendees").fetchone()[0] == 5000


def test_same_file_twice_creates_no_duplicates(db):
    raw = office_file(200)
    import_csv(db, raw, at("07:00"))
    report = import_csv(db, raw, at("07:05"))
    assert (report.created, report.already_present) == (0, 200)
    assert count(db) == 200


def test_utf8_bom_comma_english_headers_and_match_on_name_without_email(db):
    raw = (
        "\ufeffFirst name,Last name,Organization,Category,Email\r\n"
        "Grégory,Doucet,Ville de Lyon,elected official,\r\n"
        "Sina,Schlimmer,IFRI,researcher,sina@ifri.example\r\n"
    ).encode("utf-8")
    assert import_csv(db, raw, at("07:00")).created == 2
    again = ("Prénom;Nom;Organisation\nGREGORY;doucet;Ville de LYON\n").encode()
    assert import_csv(db, again, at("07:00")).already_present == 1
    assert count(db) == 2


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            b"Nom;Prenom\nDupont;Camille\n<script>;x\n",
            "line 3, Nom '<script>': contains a character that is not allowed: < "
            "(accepted: letters, digits, spaces and - ' \u2019 .)",
        ),
        (
            b"Nom;Prenom;Categorie\nDupont;Camille;" + b"b" * 81 + b"\n",
            f"line 2, Categorie '{'b' * 40}…': is longer than 80 characters",
        ),
        (
            b"Nom;Prenom;Courriel\nDupont;Camille;camille@\n",
            "line 2, Courriel 'camille@': is not valid "
            "(accepted: an address such as prenom.nom@example.fr, or nothing)",
        ),
        (b"Nom;Prenom\nDupont;\n", "line 2, Prenom '': is required"),
        (
            b"Nom;Prenom\nDupont;Camille;extra\n",
            "line 2: 3 cells for 2 columns (a separator inside a cell that is not in quotes?)",
        ),
        (
            b"Who;Organisation\nDupont;X\n",
            "line 1: no column for last_name and first_name (expected headers such as Nom, "
            "Prénom, Civilité, Organisation, Fonction, Courriel, Catégorie)",
        ),
        (
            "Nom;Prénom;Nom de famille\n".encode(),
            "line 1: two columns for last_name: 'Nom' and 'Nom de famille'",
        ),
        (
            b"Nom;Prenom\nDupont;" + "😀".encode() + b"\n",
            "line 2, Prenom '😀': contains a character that is not allowed: 😀 "
            "(accepted: letters, spaces and - ' \u2019 .)",
        ),
        (
            b"Nom;Prenom\nDupont;" + b"a" * 10_000 + b"\n",
            f"line 2, Prenom '{'a' * 40}…': is longer than 80 characters",
        ),
        (
            b"Nom;Prenom;VIP\nDupont;Camille;peut-etre\n",
            "line 2, VIP 'peut-etre': is not oui/non "
            "(accepted: oui, non, yes, no, x, 1, 0, vrai, faux, or nothing)",
        ),
        (b"\x81\x8d\x8f", "line 1: byte 0x81: the file is neither UTF-8 nor Windows-1252"),
    ],
)
def test_a_bad_row_is_refused_with_its_line_and_writes_nothing(db, raw, message):
    import_csv(db, b"Nom;Prenom\nExisting;Person\n", at("07:00"))
    good_rows = b"Nom;Prenom\nAlpha;Beta\nGamma;Delta\n"
    import_csv(db, good_rows, at("07:00"))
    with pytest.raises(CsvError) as error:
        import_csv(db, raw, at("07:00"))
    assert str(error.value) == message
    assert count(db) == 3


def test_every_problem_of_a_file_is_reported_in_one_run_and_nothing_is_written(db):
    """Every bad cell of every row, with its line (a quoted cell may span two), the column
    as the file names it, the value, and what the cell may hold."""
    import_csv(db, b"Nom;Prenom\nExisting;Person\n", at("07:00"))
    before = snapshot(db)
    raw = (
        "Civilité;Prénom;Nom;Organisation;Courriel;Catégorie;VIP\r\n"
        "Mme;Camille;Dupont;Lyon;camille@lyon.fr;Élue;oui\r\n"
        "Sa Majesté;;Dou<cet;Lyon;camille@;astronaute;peut-être\r\n"
        "M.;Jean;Fabre;Lyon;;;;extra\r\n"
        'M.;"Paul\r\nHenri";Martin;Lyon;;;\r\n'
        "M.;Zoé;Durand;Lyon;zoe@;autre;non\r\n"
    ).encode("cp1252")
    with pytest.raises(CsvError) as error:
        import_csv(db, raw, at("07:00"))
    assert [str(p) for p in error.value.problems] == [
        "line 3, Civilité 'Sa Majesté': is not one of M., Mme, Mx, Dr, Pr, Me",
        "line 3, Courriel 'camille@': is not valid "
        "(accepted: an address such as prenom.nom@example.fr, or nothing)",
        "line 3, Prénom '': is required",
        "line 3, Nom 'Dou<cet': contains a character that is not allowed: < "
        "(accepted: letters, digits, spaces and - ' \u2019 .)",
        "line 3, VIP 'peut-être': is not oui/non "
        "(accepted: oui, non, yes, no, x, 1, 0, vrai, faux, or nothing)",
        "line 4: 8 cells for 7 columns (a separator inside a cell that is not in quotes?)",
        "line 5, Prénom 'Paul\\r\\nHenri': contains control characters "
        '(a line break: is a quote (") opened and never closed?)',
        "line 7, Courriel 'zoe@': is not valid "
        "(accepted: an address such as prenom.nom@example.fr, or nothing)",
    ]
    assert snapshot(db) == before


def test_cli_reports_fifty_problems_then_how_many_more_and_where(tmp_path):
    rows = "".join(f"Dupont<{i};Camille\n" for i in range(120)) + "Fabre;Jean;x\n" * 5
    bad = tmp_path / "inscrits.csv"
    bad.write_text("Nom;Prénom\n" + rows, encoding="utf-8")
    db = str(tmp_path / "k.db")
    result = CliRunner().invoke(cli, ["attendees", "import", str(bad), "--db", db])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    start = lines.index(f"Error: {bad}: 125 problems, nothing was imported:")
    assert lines[start + 1] == (
        "  line 2, Nom 'Dupont<0': contains a character that is not allowed: < "
        "(accepted: letters, digits, spaces and - ' \u2019 .)"
    )
    assert lines[start + 50].startswith("  line 51, Nom 'Dupont<49': ")
    assert lines[start + 51 :] == [
        "  … and 75 more, not shown (70 in Nom, 5 in whole rows); the first 50 are above"
    ]
    assert database.connect(db).execute("SELECT COUNT(*) FROM attendees").fetchone()[0] == 0


# Functions as French guest lists write them: the office held, flagged VIP...
VIP_FUNCTIONS = [
    "Maire de Lyon",
    "Ministre de l'Europe et des Affaires étrangères",
    "Ambassadrice de France au Liban",
    "Président de la République",
    "Sénatrice de Paris",
    "Député du Rhône",
    "Préfète de région",
    "Préfet de police",
    "Première ministre",
    "Secrétaire d’État chargée de la Francophonie",
    "Députée européenne",
    "Eurodéputée",
    "Sénateur-maire",
    "Ambassadeur, représentant permanent de la France auprès de l'UNESCO",
    "Madame la Maire de Paris",
    "La préfète de la région Bretagne",
    "Maire de Pau, ancien Premier ministre",
    "Ancienne ministre, sénatrice de la Haute-Vienne",
    # a former President of the Republic keeps a protection detail and a protocol rank
    "Ancien Président de la République",
]
# ...and the people around an office, or who held it once, not.
NOT_VIP_FUNCTIONS = [
    "Adjointe au maire",
    "Adjoint à la maire de Paris",
    "Premier adjoint au maire",
    "Première adjointe à la maire de Strasbourg",
    "Conseiller municipal délégué auprès du maire",
    "Maire adjoint",
    "Maire-adjointe de Lyon",
    "Directrice de cabinet du maire",
    "Chargée de mission auprès du député",
    "Attaché parlementaire du député",
    "Collaborateur parlementaire de la sénatrice",
    "Cheffe de cabinet de la ministre",
    "Conseiller diplomatique du Président de la République",
    "Conseillère de l'ambassadeur",
    "Ministre-conseiller de l'ambassade de France",
    "Député suppléant",
    "Ancien ministre",
    "Ancienne Première ministre",
    "Ex-ambassadeur",
    "Préfet honoraire",
    "Maire honoraire",
    "Président de l'Association des maires de France",
    "Conseillère régionale",
]


@pytest.mark.parametrize("function", VIP_FUNCTIONS)
def test_holding_an_office_makes_a_vip(function):
    assert people.is_vip({"function": function}), function


@pytest.mark.parametrize("function", NOT_VIP_FUNCTIONS)
def test_working_for_an_office_or_having_held_it_does_not(function):
    assert not people.is_vip({"function": function}), function


def test_the_vip_column_says_yes_or_no_over_the_function(db):
    raw = (
        "Prénom;Nom;Fonction;VIP\n"
        "Anne;Hidalgo;Maire de Paris;\n"
        "Jean;Fabre;Maire de Pau;non\n"
        "Léa;Martin;Adjointe au maire;oui\n"
        "Paul;Durand;Chargé de mission;\n"
    ).encode()
    import_csv(db, raw, at("07:00"))
    flags = dict(db.execute("SELECT last_name, vip FROM attendees").fetchall())
    assert flags == {"Hidalgo": 1, "Fabre": 0, "Martin": 1, "Durand": 0}


def test_cli_import_reports_and_refuses_without_traceback(tmp_path):
    good = tmp_path / "inscrits.csv"
    good.write_bytes(office_file(50))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(office_file(50).replace(b"Doucet", b"Dou<cet"))
    db = str(tmp_path / "k.db")
    runner = CliRunner()
    result = runner.invoke(cli, ["attendees", "import", str(good), "--db", db])
    assert result.exit_code == 0, result.output
    assert "50 attendees imported, 0 already present." in result.output
    proc = run_kiosk("attendees", "import", str(bad), "--db", db)
    assert proc.returncode == 1
    assert "nothing was imported" in proc.stderr and "Traceback" not in proc.stderr
    assert "line " in proc.stderr


def test_export_lists_codes_and_paris_arrival_times(tmp_path, db, no_language_set):
    import_csv(
        db,
        "Civilité;Prénom;Nom;Organisation\nMme;Camille;Dupont;Lyon\n"
        "M.;Jean;Fabre;@Mairie\n".encode(),
        at("07:00"),
    )
    code = db.execute("SELECT code FROM attendees WHERE last_name = 'Dupont'").fetchone()[0]
    checkin.check_in(db, code, "kiosque 2", at("08:47"))
    out = tmp_path / "export.csv"
    result = CliRunner().invoke(
        cli,
        [
            "attendees",
            "export",
            str(out),
            "--db",
            db.conn.execute("PRAGMA database_list").fetchone()[2],
        ],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("\ufeffCivilité;Prénom;Nom;")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    dupont = next(r for r in rows if r[2] == "Dupont")
    assert (dupont[9], dupont[10], dupont[11]) == (code, "2023-07-03 08:47", "kiosque 2")
    assert any(r[3] == "'@Mairie" for r in rows)  # no formula injection into spreadsheets


def export_rows(db, tmp_path) -> list[list[str]]:
    """`kiosk attendees export` to a file, read back as a mail merge reads it."""
    out = tmp_path / "liste-avec-codes.csv"
    path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    result = CliRunner().invoke(cli, ["attendees", "export", str(out), "--db", path])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))[1:]


def test_the_export_speaks_french_and_reads_back_as_it_was(tmp_path, db, monkeypatch):
    """Labels, not keys (« Élu·e », « Importé·e », « oui »), and the import takes them back."""
    monkeypatch.delenv("KIOSK_LANG", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    source = "Civilité;Prénom;Nom;Catégorie;VIP\nMme;Camille;Dupont;elu;oui\nM.;Jean;Fabre;ong;\n"
    import_csv(db, source.encode(), at("07:00"))
    out = tmp_path / "export.csv"
    path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    assert CliRunner().invoke(cli, ["attendees", "export", str(out), "--db", path]).exit_code == 0
    header, *rows = csv.reader(io.StringIO(out.read_text("utf-8-sig"), newline=""), delimiter=";")
    assert header[:9] == [
        "Civilité", "Prénom", "Nom", "Organisation", "Fonction", "Courriel", "Catégorie", "VIP",
        "Source",
    ]  # fmt: skip
    assert [r[6:9] for r in rows] == [["Élu·e", "oui", "Importé·e"], ["ONG", "", "Importé·e"]]
    again = database.connect(str(tmp_path / "again.db"))
    database.migrate(again)
    assert import_csv(again, out.read_bytes(), at("07:00")).created == 2
    kept = again.execute("SELECT last_name, category, vip FROM attendees ORDER BY last_name")
    assert kept.fetchall() == [("Dupont", "elu", 1), ("Fabre", "ong", 0)]
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    assert CliRunner().invoke(cli, ["attendees", "export", str(out), "--db", path]).exit_code == 0
    english = out.read_text("utf-8-sig")
    assert english.startswith("Civility;First name;Last name;")
    assert "Elected official;yes;Imported" in english


def test_every_exported_code_checks_its_guest_in_as_read_from_the_file(tmp_path, db):
    """1 code in 64 used to start with '-': the export wrote it '-…, a mail merge put the
    apostrophe in the QR code, and the kiosk refused it."""
    import_csv(db, office_file(2000), at("07:00"))
    rows = export_rows(db, tmp_path)
    stored = {c for (c,) in db.execute("SELECT code FROM attendees")}
    assert len(rows) == 2000
    assert {r[9] for r in rows} == stored  # verbatim: no cell needed a spreadsheet's guard
    statuses = [checkin.check_in(db, r[9], "kiosque 1", at("08:30")).status for r in rows]
    assert statuses == ["checked_in"] * 2000


def test_a_legacy_code_starting_with_a_hyphen_is_exported_guarded_and_still_checks_in(tmp_path, db):
    """Databases made before codes started with a letter or digit hold codes like '-…':
    the export writes '-… so that a spreadsheet does not compute it; the kiosk takes the
    code with its apostrophe, or without it (from the QR images and badges)."""
    import_csv(db, b"Nom;Prenom\nDupont;Camille\nFabre;Jean\n", at("07:00"))
    legacy = {"Dupont": "-8vJx2kQpZr4TnWc7YbLd0sE", "Fabre": "-Qm3_Hn5Rt8Vw1Xy4Zb6Cd9F"}
    for name, code in legacy.items():
        db.execute("UPDATE attendees SET code = ? WHERE last_name = ?", [code, name])
    cells = {r[2]: r[9] for r in export_rows(db, tmp_path)}
    assert cells == {name: "'" + code for name, code in legacy.items()}
    first = checkin.check_in(db, cells["Dupont"], "kiosque 1", at("08:30"))
    assert (first.status, first.attendee.last_name) == ("checked_in", "Dupont")
    second = checkin.check_in(db, legacy["Fabre"], "kiosque 1", at("08:31"))
    assert (second.status, second.attendee.last_name) == ("checked_in", "Fabre")


def test_qr_images_carry_the_code_only(tmp_path, db):
    import_csv(
        db, "Prénom;Nom;Organisation\nCamille;Dupont;Lyon\nJean;Fabre;Lyon\n".encode(), at("07:00")
    )
    out = tmp_path / "qr"
    result = CliRunner().invoke(
        cli,
        [
            "attendees",
            "qr",
            str(out),
            "--db",
            db.conn.execute("PRAGMA database_list").fetchone()[2],
        ],
    )
    assert result.exit_code == 0
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 2 and files[0].startswith("dupont-camille-")
    attendee_id, code = db.execute(
        "SELECT id, code FROM attendees WHERE last_name = 'Dupont'"
    ).fetchone()
    expected = io.BytesIO()
    qrcode.make(code, image_factory=qrcode.image.svg.SvgPathImage, border=2).save(expected)
    assert (out / f"dupont-camille-{attendee_id}.svg").read_bytes() == expected.getvalue()


def test_purge_command(tmp_path, db):
    import_csv(db, b"Nom;Prenom\nDupont;Camille\n", at("07:00"))
    path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    result = CliRunner().invoke(cli, ["attendees", "purge", "--db", path, "--yes"])
    assert result.exit_code == 0
    assert "1 attendee deleted" in result.output
    assert count(db) == 0
    assert checkin.attendance(db, PARIS)["expected"] == 1


# --- files as offices save them, and files no import may take ----------------------------

# Excel's « Texte Unicode » is tab-separated; every character here is in Windows-1252 too.
GUESTS = (
    "Civilité\tPrénom\tNom\tOrganisation\tFonction\r\n"
    "Mme\tHélène\tLefèvre\tMairie de Châlons\tChargée de mission « coopération »\r\n"
    "M.\tLoïc\tŒuvray\tRégion Île-de-France\tDirecteur d’études\r\n"
)
AS_WRITTEN = [
    ("Mme", "Hélène", "Lefèvre", "Mairie de Châlons", "Chargée de mission « coopération »"),
    ("M.", "Loïc", "Œuvray", "Région Île-de-France", "Directeur d’études"),
]


def snapshot(db) -> list[tuple]:
    return [tuple(r) for r in db.execute("SELECT * FROM attendees ORDER BY id").fetchall()]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(GUESTS.encode("utf-8"), id="utf-8"),
        pytest.param(b"\xef\xbb\xbf" + GUESTS.encode("utf-8"), id="utf-8 with BOM"),
        pytest.param(GUESTS.encode("cp1252"), id="windows-1252"),
        pytest.param(b"\xef\xbb\xbf" + GUESTS.encode("cp1252"), id="windows-1252 after a BOM"),
        pytest.param(b"\xff\xfe" + GUESTS.encode("utf-16-le"), id="Excel Texte Unicode"),
        pytest.param(b"\xfe\xff" + GUESTS.encode("utf-16-be"), id="utf-16 big-endian"),
    ],
)
def test_every_encoding_an_office_saves_is_read_as_written(db, raw):
    assert import_csv(db, raw, at("07:00")).created == 2
    assert (
        db.execute(
            "SELECT civility, first_name, last_name, organisation, function FROM attendees "
            "ORDER BY id"
        ).fetchall()
        == AS_WRITTEN
    )


UTF8 = GUESTS.encode("utf-8")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(
            b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)),
            "this is a spreadsheet file (.xlsx, .ods or .xls), not a CSV file",
            id="xlsx",
        ),
        pytest.param(
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)),
            "this is a spreadsheet file",
            id="xls",
        ),
        pytest.param(
            UTF8[: UTF8.index("Œ".encode()) + 1],
            "the file ends in the middle of a character: is it cut off?",
            id="utf-8 cut inside a character",
        ),
        pytest.param(
            b"\xff\xfe" + GUESTS.encode("utf-16-le")[:-1],
            "the file ends in the middle of a character: is it cut off?",
            id="utf-16 cut inside a character",
        ),
        pytest.param(
            UTF8 + "Mme\tZoë\tBéranger\t\t\r\n".encode("cp1252"),
            "line 4: byte 0xEB is not UTF-8, though the rest of the file is",
            id="a windows-1252 row in a utf-8 file",
        ),
        pytest.param(UTF8.replace(b"Lo", b"L\x00o"), "line 3: a NUL character", id="a NUL byte"),
        pytest.param(
            GUESTS.encode("utf-16-le"),
            "line 1: a NUL character: this is not a text file",
            id="utf-16 without its BOM",
        ),
        pytest.param(
            b'Nom;Prenom\nDupont;Camille\nMartin;"Paul\n' + b"Durand;Anne\n" * 20_000,
            'line 3: field larger than field limit (131072): is a quote (") opened there',
            id="a quote never closed",
        ),
    ],
)
def test_a_damaged_or_wrong_file_is_refused_with_the_reason_and_writes_nothing(db, raw, message):
    import_csv(db, b"Nom;Prenom\nExisting;Person\n", at("07:00"))
    before = snapshot(db)
    with pytest.raises(CsvError) as error:
        import_csv(db, raw, at("07:00"))
    assert message in str(error.value)
    assert snapshot(db) == before


def files_no_import_may_take(seed: int = 2023) -> list[bytes]:
    """Random bytes, binary formats, and good files damaged: cut inside a character, or
    with a NUL byte. Seeded: the same files on every run."""
    rng = random.Random(seed)

    def noise(n: int) -> bytes:
        return bytes(rng.randrange(256) for _ in range(n))

    files = [noise(rng.randrange(0, 600)) for _ in range(300)]
    for magic in (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n"):
        files.append(magic + noise(300))
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):  # noise behind each BOM
        files += [bom + noise(rng.randrange(0, 300)) for _ in range(20)]
    files += [UTF8[:i] for i in range(1, len(UTF8)) if 0x80 <= UTF8[i] < 0xC0]
    utf16 = b"\xff\xfe" + GUESTS.encode("utf-16-le")
    files += [utf16[:i] for i in range(3, len(utf16), 2)]
    for _ in range(50):
        at_byte = rng.randrange(len(UTF8))
        files.append(UTF8[:at_byte] + b"\x00" + UTF8[at_byte:])
    return files


def test_no_file_ever_gives_anything_but_a_clean_refusal(db, tmp_path):
    import_csv(db, b"Nom;Prenom\nExisting;Person\n", at("07:00"))
    before = snapshot(db)
    files = files_no_import_may_take()
    assert len(files) > 500
    for raw in files:
        with pytest.raises(CsvError):
            import_csv(db, raw, at("07:00"))
        assert snapshot(db) == before, raw
    path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    bad = tmp_path / "inscrits.csv"
    for raw in files[::20]:  # and through the command, as an organiser meets them
        bad.write_bytes(raw)
        result = CliRunner().invoke(cli, ["attendees", "import", str(bad), "--db", path])
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), raw
        assert "nothing was imported" in result.output
    assert snapshot(db) == before


def test_a_file_damaged_anywhere_is_imported_whole_or_refused_whole(db):
    """Good files with a byte changed, dropped or doubled, a quote added: some still
    import (a changed letter in a name), the others are refused; none raises anything
    but CsvError, and a refusal writes nothing."""
    rng = random.Random(64)
    good = [UTF8, GUESTS.encode("cp1252"), b"\xff\xfe" + GUESTS.encode("utf-16-le")]
    outcomes = set()
    for _ in range(300):
        raw = bytearray(rng.choice(good))
        at_byte = rng.randrange(len(raw))
        change = rng.choice(["set", "drop", "double", "quote"])
        if change == "set":
            raw[at_byte] = rng.randrange(256)
        elif change == "drop":
            del raw[at_byte]
        elif change == "double":
            raw.insert(at_byte, raw[at_byte])
        else:
            raw.insert(at_byte, ord('"'))
        before = snapshot(db)
        try:
            report = import_csv(db, bytes(raw), at("07:00"))
        except CsvError:
            outcomes.add("refused")
            assert snapshot(db) == before, bytes(raw)
        else:
            outcomes.add("imported")
            assert len(snapshot(db)) == len(before) + report.created
    assert outcomes == {"imported", "refused"}
