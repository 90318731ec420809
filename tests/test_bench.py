"""The benchmarks keep working: each runs once at a tiny size. No timing is asserted."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.browser  # the screen benchmark drives Chromium


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
    for heading in ("## Targets", "## Check-in", "## Push fan-out", "## Screen page"):
        assert heading in report
    assert re.search(r"\| check-ins per second \| [\d,.]+ \| [\d,.]+ \| [\d.]+ \|", report)
    # every screen received every command's state ("lost" is 0), on kiosk and on the floor
    lost_zero = r"^\| (?:10|20) \|.*\| 0 \| [\d.]+ / [\d.]+ \| [\d /]+\|$"
    assert len(re.findall(lost_zero, report, re.M)) == 2
    assert "/static/vendor/socket.io/socket.io.min.js" in report
