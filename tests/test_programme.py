"""The phone programme's rules (kiosk.programme): folding for the search, the day's list
a screenful at a time, « Maintenant » from the rooms' states, on a fake clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kiosk import programme
from kiosk.live import RoomState, public, view
from kiosk.schedule import load

from .test_days import TWO_DAYS

PARIS = ZoneInfo("Europe/Paris")

# The same examples for the server's fold() and the page's (tests/test_browser_programme.py).
FOLDED = [
    ("Hélène Laîné", "helene laine"),
    ("FRÉDÉRIC", "frederic"),
    ("Maëlle Cœur-Daumier", "maelle coeur-daumier"),
    ("Lætitia", "laetitia"),
    ("l’Europe", "l'europe"),
    ("Côte d‘Azur", "cote d'azur"),
    ("Évry", "evry"),
    ("Straße", "strasse"),
    ("ﬁnances", "finances"),  # the ligature NFKD spells out
]


def moment(hhmm: str) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime(2023, 7, 3, hour, minute, tzinfo=PARIS)


@pytest.mark.parametrize(("text", "folded"), FOLDED)
def test_fold_drops_accents_case_ligatures_and_curly_apostrophes(text, folded):
    assert programme.fold(text) == folded


def test_fold_of_nothing_is_empty():
    assert programme.fold(None) == programme.fold("") == ""


def test_a_speaker_is_found_without_accents_by_name_or_function(bigday):
    block = bigday.block("f-170")
    speaker = block.turns[0].speaker
    assert speaker.name == "Hélène Laîné-Moreau"
    assert programme.matches(block, "helene laine")
    assert programme.matches(block, "LAINE hélène")  # any order, any case
    assert programme.matches(block, "relations internationales sete")  # the function
    assert programme.matches(block, programme.fold(block.title))
    assert not programme.matches(block, "helene martin")  # every word must be there


def test_a_cancelled_speaker_is_not_found(bigday):
    import dataclasses

    block = bigday.block("f-170")
    cancelled = dataclasses.replace(
        block, turns=tuple(dataclasses.replace(t, cancelled=True) for t in block.turns)
    )
    assert not programme.matches(cancelled, "helene laine")


def test_the_search_lists_the_whole_day_by_time(bigday):
    found = programme.listing(bigday, dt.date(2023, 7, 3), moment("10:05"), query="Ménard")
    assert found.whole and found.earlier is None and found.later is None
    assert found.blocks == sorted(found.blocks, key=lambda b: b.start)
    assert all("menard" in programme.words(b) for b in found.blocks)
    assert found.blocks[-1].start > moment("15:00")  # not only the screenful from now
    in_f = programme.listing(bigday, dt.date(2023, 7, 3), moment("10:05"), "f", "Ménard")
    assert {b.room for b in in_f.blocks} == {"f"}
    assert set(in_f.blocks) < set(found.blocks)


def test_the_list_opens_on_a_screenful_from_now(bigday):
    day = dt.date(2023, 7, 3)
    shown = programme.listing(bigday, day, moment("10:05"))
    assert not shown.whole
    # what is on at 10:05 first, in every room, then what comes next
    on = [b for b in bigday.blocks if b.start <= moment("10:05") < b.end]
    assert len(on) == 8 and set(on) <= set(shown.blocks)
    assert all(b.end > moment("10:05") for b in shown.blocks)
    starts = [b.start for b in shown.blocks]
    assert starts == sorted(starts)
    assert programme.WINDOW_BLOCKS <= len(shown.blocks) < programme.WINDOW_BLOCKS + 8
    # never cut between rooms starting at the same time: « Plus tard » starts after
    assert shown.later > starts[-1]
    assert not [b for b in bigday.blocks if starts[-1] < b.start < shown.later]
    assert shown.earlier == moment("09:05")
    # « Plus tard » goes on where the page stopped: what is still on then, and after
    after = programme.listing(bigday, day, moment("10:05"), start=shown.later)
    assert all(b.end > shown.later for b in after.blocks)
    assert {b for b in bigday.blocks if b.start == shown.later} <= set(after.blocks)
    assert after.earlier == shown.later - dt.timedelta(hours=1)


def test_before_the_day_the_list_starts_at_the_first_block_and_has_no_earlier(bigday):
    shown = programme.listing(bigday, dt.date(2023, 7, 3), moment("06:00"))
    assert shown.blocks[0].start == moment("08:00")
    assert shown.earlier is None


def test_after_the_day_the_list_shows_its_last_blocks(bigday):
    shown = programme.listing(bigday, dt.date(2023, 7, 3), moment("22:00"))
    assert shown.later is None
    assert len(shown.blocks) >= programme.WINDOW_BLOCKS  # a screenful, not the last 8
    assert shown.earlier == shown.blocks[0].start - dt.timedelta(hours=1)
    assert shown.blocks[-1].start == max(b.start for b in bigday.blocks)


def test_the_room_filter_keeps_one_room(bigday):
    shown = programme.listing(bigday, dt.date(2023, 7, 3), moment("10:05"), room="c")
    assert {b.room for b in shown.blocks} == {"c"}
    assert shown.blocks[0].start <= moment("10:05") < shown.blocks[0].end


def test_a_small_day_is_listed_whole(schedule):
    shown = programme.listing(schedule, dt.date(2023, 7, 3), moment("10:05"))
    assert shown.whole and shown.blocks == sorted(schedule.blocks, key=lambda b: b.start)
    assert shown.earlier is None and shown.later is None


def test_the_programme_opens_on_today_else_the_next_day():
    days = load(TWO_DAYS)
    first, second = days.days()
    at = dt.datetime.combine(first, dt.time(23, 0), tzinfo=PARIS)
    assert programme.day_of(days, at) == first  # today, all of it
    assert programme.day_of(days, at + dt.timedelta(hours=2)) == second
    assert programme.day_of(days, at - dt.timedelta(days=3)) == first  # before: the first
    assert programme.day_of(days, at + dt.timedelta(days=3)) == second  # after: the last


def test_now_names_each_room_with_its_current_and_next_item(bigday):
    at = moment("10:05")
    states = [public(view(bigday, RoomState(r.id), at)) for r in bigday.rooms]
    lines = programme.now_lines(states, PARIS)
    assert [line.room for line in lines] == list("abcdefgh")
    for line in lines:
        on = next(b for b in bigday.blocks_in(line.room) if b.start <= at < b.end)
        assert line.current["id"] == on.id and line.room_name == bigday.room(line.room).name
        after = bigday.blocks_in(line.room)[bigday.blocks_in(line.room).index(on) + 1]
        assert (line.following["id"], line.following_start) == (after.id, after.start)
        assert not line.told


def test_now_gives_the_delay_the_message_and_where_the_delay_puts_next(bigday):
    at = moment("10:05")
    state = RoomState("c", delay_minutes=10, message="Salle comble")
    [line] = programme.now_lines([public(view(bigday, state, at))], PARIS)
    assert line.told and line.delay_minutes == 10 and line.message == "Salle comble"
    printed = bigday.block(line.following["id"]).start
    assert line.following_start == printed + dt.timedelta(minutes=10)
    moved = programme.projected_times([public(view(bigday, state, at))], PARIS)
    assert moved[line.following["id"]]["start"] == line.following_start


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10:05", moment("10:05")),
        ("9:30", moment("09:30")),
        ("25:00", None),
        ("x", None),
        (None, None),
        ("10:05:00", None),
    ],
)
def test_from_reads_a_time_of_day(text, expected):
    assert programme.clock_time(dt.date(2023, 7, 3), text, PARIS) == expected
