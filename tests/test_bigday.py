"""The congress day the benchmarks and the big-event tests run on (bench/bigday.py)."""

from __future__ import annotations

import subprocess

from .conftest import KIOSK_COMMAND, _bigday


def test_the_generated_day_has_the_size_the_issue_names(bigday):
    talks = [b for b in bigday.blocks if b.kind == "session"]
    assert len(bigday.rooms) == 8
    assert len(talks) == 239
    assert sum(len(b.turns) for b in talks) == 384
    for room in bigday.rooms:  # every room's day runs from the welcome to 19:40
        own = [b for b in bigday.blocks if b.room == room.id]
        assert min(b.start for b in own).strftime("%H:%M") == "08:00"
        assert max(b.end for b in own).strftime("%H:%M") == "19:40"


def test_the_day_is_the_same_each_time_and_kiosk_check_accepts_it(bigday_file, tmp_path):
    again = _bigday().write(tmp_path / "again.yaml")
    assert again.read_bytes() == bigday_file.read_bytes()
    done = subprocess.run(
        [*KIOSK_COMMAND, "check", str(bigday_file)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_a_speaker_is_one_person(bigday):
    names = [p.name for b in bigday.blocks for p in [*b.moderators, *(t.speaker for t in b.turns)]]
    assert len(names) == len(set(names))
