"""The benchmarks keep working: each runs once at a tiny size. No timing is asserted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def bench_run():
    """bench/run.py imported from its file, as `python bench/run.py` runs it."""
    import importlib.util

    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.browser  # the screen and programme benchmarks drive Chromium
def test_bench_runs_at_a_tiny_size_and_writes_the_report(tmp_path):
    out = tmp_path / "performance.md"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--tiny", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = out.read_text(encoding="utf-8")
    for heading in (
        "## Targets",
        "## Check-in",
        "## Push fan-out",
        "## Screen page",
        "## Programme on a big day",
        "## Pushed payload per audience",
        "## Several processes",
    ):
        assert heading in report
    assert re.search(r"\| check-ins per second \| [\d,.]+ \| [\d,.]+ \| [\d.]+ \|", report)
    # every screen received every command's state ("lost" is 0), on kiosk and on the floor
    lost_zero = r"^\| (?:10|20) \|.*\| 0 \| [\d.]+ / [\d.]+ \| [\d /]+\|$"
    assert len(re.findall(lost_zero, report, re.M)) == 2
    assert "/static/vendor/socket.io/socket.io.min.js" in report
    # the programme on a (tiny) big day: its figures, and the targets judged
    assert re.search(r"^\| DOM elements, first view \| [\d,]+ \|$", report, re.M)
    assert re.search(
        r"^\| programme interactive < 1 s at 4× slowdown \| [\d,]+ ms \| ", report, re.M
    )
    # a change costs a room screen one room's state, on the colloque and on the big day
    push = r"^\| \*\*push per change\*\*, room screen .*\| [\d.]+ K?B \| [\d.]+ K?B \|"
    assert re.search(push, report, re.M)
    # several processes: the three check-in configurations, and a killed process's screen
    for label in ("1 process, direct", "1 process behind nginx", "2 processes behind nginx"):
        assert re.search(rf"^\| {label} \| [\d,]+ \| [\d.]+ \|", report, re.M)
    assert re.search(
        r"^\| a killed process's screen back within 5 s .*\| [\d.]+ s \|", report, re.M
    )


def test_only_some_sections_replace_theirs_and_keep_the_rest():
    run = bench_run()
    notes = run.NOTES.splitlines()[0]  # the notes close the report
    existing = (
        "# Performance\n\nintro\n\n## Check-in\n\nkept\n\n"
        f"## Programme on a big day\n\nold\n\n{notes}\n\nnotes\n"
    )
    merged = run.merge(
        existing,
        ["## Programme on a big day\n\nnew", "## Pushed payload per audience\n\nbytes"],
    )
    assert merged == (
        "# Performance\n\nintro\n\n## Check-in\n\nkept\n\n"
        "## Programme on a big day\n\nnew\n\n"
        "## Pushed payload per audience\n\nbytes\n\n"
        f"{notes}\n\nnotes\n"
    )
