"""Timetables from pretalx and frab: converted, checked, served on the right day."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest
import requests

from kiosk.schedule import ScheduleError, parse
from kiosk.timetables import FRAB_XML, PRETALX_JSON, ConversionError, convert, detect

from .conftest import Server, free_port, run_kiosk

pytestmark = pytest.mark.usefixtures("cli_in_english")

DATA = Path(__file__).resolve().parent / "data"
SOURCES = {FRAB_XML: DATA / "schedule-frab.xml", PRETALX_JSON: DATA / "schedule-pretalx.json"}
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@pytest.fixture(params=sorted(SOURCES), ids=["frab-xml", "pretalx-json"])
def source(request) -> Path:
    return SOURCES[request.param]


def converted(path: Path):
    conversion = convert(path.read_text(encoding="utf-8"), str(path))
    return conversion, parse(conversion.to_yaml(path.name), "converted.yaml")


def test_both_exports_are_recognised_by_their_content():
    assert detect(SOURCES[FRAB_XML].read_text(encoding="utf-8")) == FRAB_XML
    assert detect(SOURCES[PRETALX_JSON].read_text(encoding="utf-8")) == PRETALX_JSON
    assert detect("event:\n  title: x\n") is None


def test_two_days_three_rooms_convert_with_their_counts(source):
    conversion, schedule = converted(source)
    assert (conversion.rooms, len(conversion.days), conversion.blocks) == (3, 2, 12)
    assert (conversion.breaks, conversion.speakers) == (1, 14)
    assert [(r.id, r.name) for r in schedule.rooms] == [
        ("amphi-grenat", "Amphi Grenat"),
        ("salle-turing", "Salle Turing"),
        ("salle-101-ateliers", "Salle 101 (ateliers)"),
    ]
    event = schedule.event
    assert (str(event.date), str(event.last_date), event.timezone) == (
        "2024-11-23",
        "2024-11-24",
        "Europe/Paris",
    )
    assert [str(d) for d in schedule.days()] == ["2024-11-23", "2024-11-24"]
    assert len(schedule.blocks) == 12


def test_a_talk_becomes_a_block_with_its_speakers(source):
    _conversion, schedule = converted(source)
    panel = schedule.block("rl2024-107-table-ronde-souverainete")
    assert (panel.room, f"{panel.start:%Y-%m-%d %H:%M}", f"{panel.end:%H:%M}") == (
        "salle-turing",
        "2024-11-23 14:00",
        "15:00",
    )
    assert (panel.kind, panel.label, panel.title) == (
        "session",
        "Panel",
        "Table ronde : souveraineté numérique",
    )
    assert panel.description.startswith("Trois regards sur l’autonomie")
    assert [(t.speaker.name, t.speaker.civility, t.speaker.function) for t in panel.turns] == [
        ("Sarah Lefebvre", None, None),
        ("Thomas Roux", None, None),
        ("Julie Fontaine", None, None),
    ]
    pause = schedule.block("rl2024-103-pause-cafe")
    assert (pause.kind, pause.label, pause.turns) == ("break", "Pause café", ())
    subtitled = schedule.block("rl2024-102-logiciels-libres-et-collectivites")
    assert subtitled.title == "Logiciels libres et collectivités — Dix ans de mutualisation"
    day2 = schedule.block("rl2024-114-atelier-openstreetmap")
    assert f"{day2.start:%Y-%m-%d %H:%M}–{day2.end:%H:%M}" == "2024-11-24 09:30–11:00"


def test_ids_are_valid_and_unique(source):
    conversion, _schedule = converted(source)
    ids = [b["id"] for b in conversion.data["blocks"]]
    assert len(set(ids)) == len(ids)
    assert all(ID.match(i) for i in ids + [r["id"] for r in conversion.data["rooms"]])


def test_what_is_left_out_is_listed(source):
    conversion, schedule = converted(source)
    left = [str(m) for m in conversion.left_out]
    assert left[:3] == [
        "« Install party nocturne » (2024-11-23 23:30, Salle 101 (ateliers)): crosses "
        "midnight (a block starts and ends on one day)",
        "« Lightning talks » (2024-11-23 11:30, Amphi Grenat): overlaps « Accessibilité "
        "numérique : le RGAA en pratique » in the same room",
        "« Accessibilité numérique : le RGAA en pratique » (2024-11-23 11:00, Amphi Grenat): "
        "speakers without a name, left out: 1",
    ]
    assert left[3].startswith("fields kiosk has no place for (talks having them): ")
    for name in ("links (1)", "track (11)", "url (12)", "language (12)", "recording"):
        assert name in left[3]
    assert schedule.block("rl2024-105-lightning-talks") is None
    assert schedule.block("rl2024-109-install-party-nocturne") is None
    # the speaker with a name stays
    accessible = schedule.block("rl2024-104-accessibilite-numerique")
    assert [t.speaker.name for t in accessible.turns] == ["Lucas Moreau"]


def test_ids_are_made_valid_and_unique_from_odd_slugs():
    text = SOURCES[PRETALX_JSON].read_text(encoding="utf-8")
    text = text.replace('"rl2024-110-donnees-ouvertes-et-transports"', '"Élan/"')
    text = text.replace('"rl2024-111-vie-privee-et-telephones"', '"élan"')
    conversion = convert(text, "odd.json")
    ids = [b["id"] for b in conversion.data["blocks"]]
    assert "elan" in ids and "elan-2" in ids
    parse(conversion.to_yaml("odd.json"))


def test_no_time_zone_means_europe_paris_with_a_note():
    text = SOURCES[FRAB_XML].read_text(encoding="utf-8")
    text = text.replace("<time_zone_name>Europe/Paris</time_zone_name>", "")
    conversion = convert(text, "fosdem.xml")
    assert conversion.data["event"]["timezone"] == "Europe/Paris"
    assert [str(n) for n in conversion.notes] == [
        "no time zone given: Europe/Paris assumed, change it if need be"
    ]


def test_a_dtd_is_refused():
    text = (
        SOURCES[FRAB_XML]
        .read_text(encoding="utf-8")
        .replace("<schedule>", '<!DOCTYPE schedule [<!ENTITY a "aaaa">]>\n<schedule>', 1)
    )
    with pytest.raises(ConversionError, match="with a DTD or entities is refused"):
        convert(text, "evil.xml")


def test_parse_says_to_convert_instead_of_a_yaml_error(source):
    with pytest.raises(ScheduleError, match="kiosk schedule import FILE -o schedule.yaml"):
        parse(source.read_text(encoding="utf-8"))


def test_kiosk_check_on_the_raw_export_says_to_convert_it(source):
    result = run_kiosk("check", str(source))
    assert result.returncode == 1
    assert "YAML syntax error" not in result.stderr and "unknown key" not in result.stderr
    kind = FRAB_XML if source.suffix == ".xml" else PRETALX_JSON
    assert result.stderr.strip() == (
        f"Error: {source}: this is a {kind} timetable, not kiosk's YAML: convert it with "
        f"« kiosk schedule import {source} -o schedule.yaml »"
    )
    french = run_kiosk("check", str(source), lang="fr")
    assert "convertissez-le avec « kiosk schedule import" in french.stderr


def test_import_writes_a_file_kiosk_check_accepts(source, tmp_path):
    out = tmp_path / "schedule.yaml"
    result = run_kiosk("schedule", "import", str(source), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "3 rooms, 2 days, 12 blocks (1 break), 14 speakers" in result.stdout
    assert "Left out:" in result.stdout and "crosses midnight" in result.stdout
    assert out.read_text(encoding="utf-8").startswith("# Converted by `kiosk schedule import`")
    checked = run_kiosk("check", str(out))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("OK: Rencontres du Logiciel Libre 2024")
    # a second run does not overwrite without --force
    again = run_kiosk("schedule", "import", str(source), "-o", str(out))
    assert again.returncode == 1
    assert "already exists (--force to overwrite it)" in again.stderr
    assert run_kiosk("schedule", "import", str(source), "-o", str(out), "--force").returncode == 0


def test_import_without_output_prints_the_yaml_and_summarises_on_stderr(tmp_path):
    result = run_kiosk("schedule", "import", str(SOURCES[PRETALX_JSON]), lang="fr")
    assert result.returncode == 0, result.stderr
    parse(result.stdout)
    assert "3 salles, 2 jours, 12 blocs (1 pause), 14 intervenants" in result.stderr
    assert "Laissé de côté :" in result.stderr


def test_import_refuses_a_yaml_timetable(tmp_path):
    result = run_kiosk("schedule", "import", str(Path(__file__).parent.parent / "schedule.yaml"))
    assert result.returncode == 1
    assert "neither a frab schedule.xml nor a pretalx schedule.json" in result.stderr


def _served_block(server: Server, room: str) -> set[str]:
    state = requests.get(f"{server.url}/api/rooms/{room}/state", timeout=5).json()
    return {(state[k] or {}).get("id") for k in ("session", "next")} - {None}


def test_day_two_blocks_are_served_on_day_two(tmp_path):
    out = tmp_path / "converted.yaml"
    source = SOURCES[FRAB_XML]
    assert run_kiosk("schedule", "import", str(source), "-o", str(out)).returncode == 0
    for moment, expected in (
        ("2024-11-24T10:00", {"rl2024-110-donnees-ouvertes-et-transports"}),
        ("2024-11-23T10:00", {"rl2024-102-logiciels-libres-et-collectivites"}),
    ):
        db = tmp_path / f"{moment[:10]}.db"
        server = Server(db, free_port(), moment, extra=["--schedule", str(out)]).start()
        try:
            assert expected <= _served_block(server, "amphi-grenat"), moment
            day = moment[:10]
            shown = requests.get(f"{server.url}/api/rooms/salle-turing/state", timeout=5).json()[
                "session"
            ]
            assert shown["start"].startswith(day)
        finally:
            server.kill(signal.SIGTERM)
