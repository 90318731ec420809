"""schedule.yaml: the colloque read faithfully, and bad timetables refused with the place."""

from __future__ import annotations

import textwrap

import pytest

from kiosk.schedule import ScheduleError, load, parse

# The command's words are asserted in English (French is the default: test_cli_language).
pytestmark = pytest.mark.usefixtures("cli_in_english")


def test_bundled_colloque_header(schedule):
    e = schedule.event
    assert e.title == (
        "La Diplomatie des territoires et l’action internationale des collectivités face aux crises"
    )
    assert e.organiser == "Cités Unies France"
    assert e.date.isoformat() == "2023-07-03"
    assert e.venue == "Salle Lamartine, Assemblée nationale"
    assert e.timezone == "Europe/Paris"
    assert [(r.id, r.name) for r in schedule.rooms] == [("lamartine", "Salle Lamartine")]


def test_bundled_blocks_follow_the_printed_programme(schedule):
    rows = [(b.id, b.label, f"{b.start:%H:%M}", f"{b.end:%H:%M}", b.kind) for b in schedule.blocks]
    assert rows == [
        ("accueil", "Accueil", "08:30", "09:00", "break"),
        ("ouverture", "Ouverture", "09:00", "10:00", "session"),
        ("session-1", "Session 1", "10:00", "11:00", "session"),
        ("session-2", "Session 2", "11:15", "12:45", "session"),
        ("pause-dejeuner", "Pause déjeuner", "13:00", "14:30", "break"),
        ("session-3", "Session 3", "14:30", "16:00", "session"),
        ("conclusions", "Conclusions", "16:30", "17:15", "session"),
    ]
    assert schedule.block("session-2").title == (
        "Diplomatie d’État et diplomatie des territoires : complémentarités, particularismes "
        "et niveaux d’autonomie"
    )
    assert schedule.block("session-3").description.startswith(
        "Cette session est dédiée à l’action internationale des collectivités"
    )


def _order(block):
    return [(t.role, t.speaker.display_name if t.speaker else None) for t in block.turns]


def test_running_orders_name_by_name(schedule):
    assert _order(schedule.block("ouverture")) == [
        (None, "M. Hubert Julien Laferrière"),
        (None, "M. François Rebsamen"),
        (None, "Mme Chrysoula Zacharopoulou"),
        ("Grand témoin", "M. François Hollande"),
    ]
    assert _order(schedule.block("session-2")) == [
        (None, "M. Yves Viltard"),
        (None, "M. Patrice Leclerc"),
        (None, "S.E. Mme Anne Louyot"),
        ("Grand témoin", "M. Mohamed Fadhel Mahfoudh"),
        ("Débat avec la salle", None),
    ]
    assert _order(schedule.block("session-3")) == [
        (None, "M. Khalil Harfouche"),
        (None, "M. Stéphane Troussel"),
        (None, "M. Bertrand Gallet"),
        ("Grand témoin", "Mme Benedetta Oddo"),
        ("Débat avec la salle", None),
    ]
    assert _order(schedule.block("conclusions")) == [
        ("Regards d’observateurs", "Mme Sina Schlimmer"),
        ("Regards d’observateurs", "M. Lorenzo Kihlgren Grandi"),
        ("Perspectives", "M. Michaël Delafosse"),
    ]
    moderators = schedule.block("session-1").moderators
    assert [(m.role, m.display_name, m.function) for m in moderators] == [
        ("Animatrice", "Mme Virginie Rouquette", "Directrice générale de Cités Unies France")
    ]
    assert schedule.block("session-2").moderators[0].name == "Simoné Giovetti"
    assert schedule.block("session-3").turns[1].speaker.function == (
        "Président du Conseil départemental de la Seine Seine-Saint-Denis"
    )


GOOD = """\
event:
  title: Test day
  date: 2024-05-02
  timezone: Europe/Paris
rooms:
  - {id: a, name: Room A}
  - {id: b, name: Room B}
blocks:
  - {id: one, room: a, start: "09:00", end: "10:00", label: One}
  - {id: two, room: b, start: "09:30", end: "10:30", label: Two}
  - id: three
    room: a
    start: 10:15
    end: 11:00
    label: Three
    turns:
      - {name: Ann, function: Mayor}
      - {role: Débat avec la salle}
"""


def test_several_rooms_and_unquoted_times():
    schedule = parse(GOOD)
    assert [b.id for b in schedule.blocks_in("a")] == ["one", "three"]
    assert [b.id for b in schedule.blocks_in("b")] == ["two"]
    assert f"{schedule.block('three').start:%H:%M}" == "10:15"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("label: One}", "label: One", "line 10: YAML syntax error: expected ',' or '}'"),
        (
            "title: Test day",
            "title: Test day\n  colour: red",
            "line 3: event: unknown key 'colour'",
        ),
        ("title: Test day", "title: ''", "line 2: event: missing 'title'"),
        ('start: "09:00"', 'start: "25:00"', "line 9: block 'one': start '25:00' is not a time"),
        ('end: "10:00"', 'end: "08:00"', "line 9: block 'one': end 08:00 is not after start 09:00"),
        ("start: 10:15", "start: 09:45", "line 11: block 'three' (09:45) overlaps block 'one'"),
        ("id: two", "id: one", "line 10: block 'one': duplicate id"),
        ("{id: b, name: Room B}", "{id: a, name: Room B}", "line 7: room 'a': duplicate id"),
        (
            "{name: Ann, function: Mayor}",
            "{function: Mayor}",
            "line 17: block 'three', turns #1: missing 'name'",
        ),
        ("room: b,", "room: c,", "line 10: block 'two': room 'c' is not one of ['a', 'b']"),
        ("label: Two", "labl: Two", "line 10: block 'two': unknown key 'labl'"),
        ("timezone: Europe/Paris", "timezone: Mars/Olympus", "event: unknown timezone"),
    ],
)
def test_bad_timetables_name_the_place(old, new, expected):
    assert old in GOOD
    with pytest.raises(ScheduleError) as error:
        parse(GOOD.replace(old, new, 1), "day.yaml")
    assert str(error.value).startswith("day.yaml")
    assert expected in str(error.value)


def test_not_a_mapping():
    with pytest.raises(ScheduleError, match="expected a mapping"):
        parse(textwrap.dedent("- just\n- a list\n"), "x.yaml")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "title: Test day",
            "title: ''",
            "day.yaml, ligne 2 : section « event » : il manque « title »",
        ),
        (
            'start: "09:00"',
            'start: "25:00"',
            "day.yaml, ligne 9 : bloc « one » : start '25:00' n’est pas une heure comme « 09:30 »",
        ),
        (
            "start: 10:15",
            "start: 09:45",
            "day.yaml, ligne 11 : le bloc « three » (09:45) chevauche le bloc « one » "
            "(jusqu’à 10:00) dans la salle « a »",
        ),
        (
            "{name: Ann, function: Mayor}",
            "{function: Mayor}",
            "day.yaml, ligne 17 : bloc « three », turns nº 1 : il manque « name »",
        ),
        ("label: One}", "label: One", "day.yaml, ligne 10 : erreur de syntaxe YAML : expected"),
    ],
)
def test_a_timetable_problem_is_told_in_french_through_the_catalogs(old, new, expected):
    """The domain keeps the message untranslated; the reader's language is applied last."""
    from kiosk.i18n import translator

    with pytest.raises(ScheduleError) as error:
        parse(GOOD.replace(old, new, 1), "day.yaml")
    assert error.value.describe(translator("fr")).startswith(expected)
    assert error.value.describe(translator("en")) == str(error.value)


def test_every_turn_has_a_stable_id_from_its_printed_place(schedule):
    """The running order will move on the day; an id names a turn wherever it goes."""
    session_3 = schedule.block("session-3")
    assert [(t.id, t.speaker.name if t.speaker else t.role) for t in session_3.turns] == [
        ("session-3-1", "Khalil Harfouche"),
        ("session-3-2", "Stéphane Troussel"),
        ("session-3-3", "Bertrand Gallet"),
        ("session-3-4", "Benedetta Oddo"),
        ("session-3-5", "Débat avec la salle"),
    ]
    ids = [t.id for b in schedule.blocks for t in b.turns]
    assert len(ids) == len(set(ids))  # unique in the whole event
    assert load().block("session-3").turns[2].id == "session-3-3"  # the same at each load


def test_time_budgets_per_turn_and_per_block():
    text = GOOD.replace("    label: Three\n", "    label: Three\n    turn_minutes: 7\n", 1).replace(
        "{name: Ann, function: Mayor}", "{name: Ann, function: Mayor, minutes: 12}", 1
    )
    block = parse(text).block("three")
    assert [block.budget(t) for t in block.turns] == [12, 7]  # its own, else the block's
    printed = parse(GOOD).block("three")
    assert [printed.budget(t) for t in printed.turns] == [None, None]


def test_the_colloque_prints_no_budget(schedule):
    """No guessing: without a printed budget nothing counts down."""
    assert all(b.budget(t) is None for b in schedule.blocks for t in b.turns)


@pytest.mark.parametrize("value", ["0", "-3", "7.5", "seven", "601", "true"])
def test_bad_budgets_name_the_place(value):
    text = GOOD.replace("{name: Ann, function: Mayor}", f"{{name: Ann, minutes: {value}}}", 1)
    with pytest.raises(ScheduleError) as error:
        parse(text, "day.yaml")
    assert "line 17: block 'three', turns #1: 'minutes' must be a whole number of minutes" in str(
        error.value
    )


def test_moderators_have_no_budget():
    text = GOOD.replace(
        "    turns:\n", "    moderators:\n      - {name: Bob, minutes: 5}\n    turns:\n", 1
    )
    with pytest.raises(ScheduleError, match="moderators #1: unknown key 'minutes'"):
        parse(text, "day.yaml")
