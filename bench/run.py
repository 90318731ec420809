"""Runs every benchmark and writes the Markdown report (docs/performance.md by default).

Example: python bench/run.py                 # the full run, a few minutes on 2 cores
         python bench/run.py --tiny --out /tmp/perf.md   # what CI runs: tiny sizes
         python bench/run.py --only programme,payload,cluster   # those sections, merged in
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import checkin  # noqa: E402
import cluster  # noqa: E402
import fanout  # noqa: E402
import payload  # noqa: E402
import programme  # noqa: E402
import screen  # noqa: E402
from common import table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        chromium = subprocess.run(
            [screen.CHROMIUM, "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except OSError:
        chromium = "no Chromium"
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB; {platform.platform()}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; {chromium}"
    )


def verdicts(c: dict, f: dict, s: dict, p: dict) -> str:
    rows = []
    ours, floor = c["kiosk"], c["floor"]
    ratio = ours["throughput"] / floor["throughput"]
    rows.append(["check-in throughput ≥ 0.8× floor", f"{ratio:.2f}×", ratio >= 0.8])
    for key, label in (("sequential", "one client"), ("concurrent", "8 clients")):
        ratio = ours[key]["p99"] / floor[key]["p99"]
        rows.append([f"check-in p99 ≤ 1.25× floor ({label})", f"{ratio:.2f}×", ratio <= 1.25])
    for o in f["kiosk"]:
        ratio = o["p99_ratio_median"]
        rows.append(
            [
                f"fan-out p99 ≤ 1.25× floor, N = {o['n']} (median of the rounds' ratios)",
                f"{ratio:.2f}×",
                ratio <= 1.25,
            ]
        )
        if o["n"] == 1000:
            rows.append(["fan-out p99 ≤ 250 ms, N = 1,000", f"{o['p99']:.0f} ms", o["p99"] <= 250])
        if o["n"] == 2000:
            rows.append(
                ["server RSS ≤ 250 MB, N = 2,000", f"{o['rss_mb']:.0f} MB", o["rss_mb"] <= 250]
            )
    kb = s["bytes"] / 1024
    rows.append(["screen page ≤ 150 KB in all", f"{kb:.0f} KB", kb <= 150])
    rows += programme.verdict(p["median"])
    return table(
        ["target", "measured", "met"], [[a, b, "yes" if ok else "**no**"] for a, b, ok in rows]
    )


SECTIONS = ("checkin", "fanout", "screen", "programme", "payload", "cluster")
MERGEABLE = ("programme", "payload", "cluster")  # what --only may refresh
NOTES = (ROOT / "bench" / "notes.md").read_text(encoding="utf-8")


def programme_section(work: Path, tiny: bool) -> tuple[str, dict]:
    """## Programme on a big day: the phone programme's first view, before and after."""
    load, started = programme.load_average(), time.monotonic()
    p = programme.measure(work, runs=2 if tiny else 5, rooms=2 if tiny else 8)
    before = json.loads((ROOT / "bench" / "programme-before.json").read_text(encoding="utf-8"))
    if before["rooms"] != p["rooms"]:
        before = None  # a tiny run's day is smaller: nothing to compare it with
    compared = (
        f" The *before* column: measured at commit {before['commit']} on the same machine, as"
        " `bench/programme-before.json` records it."
        if before
        else ""
    )
    text = f"""## Programme on a big day

`bench/programme.py`: `kiosk serve` on the generated congress day (`bench/bigday.py`:
{p["rooms"]} rooms, {p["talks"]} talks) at {p["clock"]}; /programme opened {p["runs"]} times in
headless Chromium as a mid-range phone opens it: 390×844, mobile, touch, the CPU slowed down 4×
(`Emulation.setCPUThrottlingRate`), an empty cache each time. Medians of the runs.
*Transferred*: every response's `encodedDataLength` (headers and body as on the wire) from
navigation until interactive, plus the socket's upgrade and the frames it received meanwhile.
*Interactive*: until the page marks `document.body.dataset.ready = "yes"` (its live states
applied, search and filter usable); the page before issue 12 had no such mark: until its `load`
event and its socket's `online`, whichever came later. The DOM bound: a phone's screen shows
about ten lines of the day, each 10 to 15 elements, and the page's frame about a hundred; 800
leaves a few screens' worth before the user scrolls or searches. *After*: kiosk at
{p["kiosk"]}.{compared}

Measured in {time.monotonic() - started:.0f} s; load average at the start: {load}. The machine may
be shared: the times move with its load, the bytes and the elements do not.

{programme.report(p, before)}"""
    return text, p


def payload_section(work: Path, tiny: bool) -> tuple[str, list]:
    """## Pushed payload per audience: one change's bytes, and each page's boot."""
    days = payload.measure(work, (1, 8) if tiny else (1, 8, 16))
    before = json.loads((ROOT / "bench" / "payload-before.json").read_text(encoding="utf-8"))
    text = f"""## Pushed payload per audience

`bench/payload.py`: `kiosk serve` on the colloque (1 room, `schedule.yaml`) and on generated
days of 8 and 16 rooms; raw Socket.IO clients on the websocket, so that a size is the frame's
text as it crosses the wire (`42["state",{{…}}]`). A room screen joins its room; a phone joins
every room (as /programme does); a tablet joins every room with the organiser's secret (full
states). Then one `next` in the first room: what each receives. Boots: the inline JSON of each
page (`<script id="boot">`) and, in brackets, the whole HTML it sits in (uncompressed).
Kiosk at {programme.kiosk_source()}.

{payload.report(days, before)}

A change costs a room screen one room's state, and so it costs a phone or a tablet that follow
every room: it does not grow with the number of rooms (it grows with the room's own running
order). What grows with the rooms is what a page following all of them gets at the start: one
state per room when it joins, and the boot JSON of a page that carries every room's state or
every block in its HTML (the tablet's carries both)."""
    return text, days


def cluster_section(work: Path, tiny: bool) -> tuple[str, dict]:
    """## Several processes: one `kiosk serve` against `--workers 2` behind nginx."""
    load, started = programme.load_average(), time.monotonic()
    text, data = cluster.run(work, "tiny" if tiny else "full")
    c = data["checkin"]
    # judged round by round (the median of each round's ratio): the machine's speed
    # drifts, and rounds taken in turn ran at about the same speed
    two = c["two_front"]["paired_ratio"]
    medians = c["two_front"]["throughput"] / c["one"]["throughput"]
    back = max(data["back_after_kill"])
    one_ms, two_ms = c["one"]["cpu_ms"], c["two_front"]["cpu_ms"]
    nginx_ms, client_ms = c["two_front"]["nginx_cpu_ms"], c["two_front"]["client_cpu_ms"]
    per_check_in = two_ms + nginx_ms + client_ms + c["two_front"]["redis_cpu_ms"]
    ceiling = (2 / per_check_in) / (1 / one_ms) if per_check_in and one_ms else float("nan")
    # the same without the load generator, which a venue's server does not run
    serving = per_check_in - client_ms
    ceiling_served = 2 * one_ms / serving if serving and one_ms else float("nan")
    extra = two_ms - one_ms
    verdict = table(
        ["target", "measured", "met"],
        [
            ["check-ins: 2 processes behind nginx ≥ 1.6× one process (round by round)",
             f"{two:.2f}× (medians: {medians:.2f}×)", "yes" if two >= 1.6 else "**no**"],
            ["a killed process's screen back within 5 s (the worst kill)", f"{back:.1f} s",
             "yes" if back <= 5 else "**no**"],
        ],
    )  # fmt: skip
    return (
        f"""## Several processes

`bench/cluster.py`: the colloque served by one `kiosk serve`, and by `kiosk serve --workers 2
--message-queue` behind its nginx (`kiosk/deploy/nginx.conf`) on a real `redis-server`, in the
same run. Check-ins: {cluster.SIZES["tiny" if tiny else "full"]["clients"]} kiosks at once, each
from a loopback address of its own (nginx sends an address to one process), on keep-alive
connections, the next free kiosk scanning the next code of one queue, counted while every kiosk
is busy (`bench/burst.c`, in C: the client shares the two cores with the servers, so it is
kept lean, and its CPU is reported); the three configurations take turns round by round, and
the ratio is also taken round by round (a round against the one-process round next to it:
the machine's speed drifts); CPU per check-in summed over the kiosk processes, nginx's, Redis'
and the client's apart; "busiest process" is the share of check-ins the busier process
answered. Fan-out: the
screens of bench/fanout.py, each from an address of its own, the commands alternating between one
process and the two behind nginx. Tap to paint: Chromium's tablet taps « Suivant », Chromium's
room screen repaints the speaker (the animation frame after the change), the turn put back
through the API between taps; with two processes every Chromium page comes from 127.0.0.1,
which nginx sends to one process, so the screen is opened on the other process's port: the
push crosses Redis. A process killed: a Chromium screen through nginx, the process it is on
killed with SIGKILL, a message sent at once through nginx: until the screen shows it.

Measured in {time.monotonic() - started:.0f} s; load average at the start: {load}.

{text}

{verdict}

Two cores hold both kiosk processes, nginx, Redis and the clients here. One process uses one
core ({one_ms:.2f} ms per check-in) while the client runs on the other; two behind nginx share
both cores with nginx and the client: {two_ms:.2f} ms of kiosk, {nginx_ms:.2f} of nginx and
{client_ms:.2f} of client per check-in, so that even with both cores busy all the time these
costs allow {ceiling:.2f}× one process ({ceiling_served:.2f}× without the client on these
cores). The processes themselves scale: behind nginx, two of them spend {extra:.2f} ms more per
check-in than one reached directly (the proxied
request; SQLite's pages read again after each write of the other process: « What the
measurements changed », below). At a venue the clients are the phones and kiosks, not the
server's cores.""",
        data,
    )


def merge(existing: str, sections: list[str]) -> str:
    """The file with each fresh `## ` section in place of its old self, or, when new, before
    the notes (which close the report)."""
    chunks = re.split(r"(?m)^(?=## )", existing)
    notes_heading = NOTES.splitlines()[0]
    for section in sections:
        heading = section.splitlines()[0]
        fresh = section.rstrip("\n") + "\n\n"
        same = [i for i, c in enumerate(chunks) if c.splitlines()[0:1] == [heading]]
        if same:
            chunks[same[0]] = fresh
            continue
        at = next(
            (i for i, c in enumerate(chunks) if c.splitlines()[0:1] == [notes_heading]),
            len(chunks),
        )
        chunks.insert(at, fresh)
    return "".join(chunks).rstrip("\n") + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny sizes, to check it runs")
    parser.add_argument("--out", default=str(ROOT / "docs" / "performance.md"))
    parser.add_argument(
        "--only",
        help=f"only these sections ({','.join(SECTIONS)}), merged into the existing --out",
    )
    args = parser.parse_args()
    only = args.only.split(",") if args.only else None
    if only and (unknown := set(only) - set(MERGEABLE)):
        parser.error(f"--only runs {', '.join(MERGEABLE)}; not {', '.join(sorted(unknown))}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if only:
            fresh = []
            if "programme" in only:
                print("programme on a big day…", file=sys.stderr)
                fresh.append(programme_section(work, args.tiny)[0])
            if "payload" in only:
                print("pushed payload…", file=sys.stderr)
                fresh.append(payload_section(work, args.tiny)[0])
            if "cluster" in only:
                print("several processes…", file=sys.stderr)
                fresh.append(cluster_section(work, args.tiny)[0])
            out = Path(args.out)
            existing = out.read_text(encoding="utf-8") if out.exists() else "# Performance\n\n"
            report = merge(existing, [*fresh, NOTES])  # the notes as bench/notes.md has them
            out.write_text(report, encoding="utf-8")
            print("\n\n".join(fresh))
            return
        print("check-in…", file=sys.stderr)
        c_text, c = checkin.run(work, "tiny" if args.tiny else "full")
        print("fan-out…", file=sys.stderr)
        f_text, f = fanout.run(
            work,
            (10, 20) if args.tiny else (100, 1000, 2000),
            commands=5 if args.tiny else 50,
            rounds=2 if args.tiny else 5,
        )
        print("screen page…", file=sys.stderr)
        s_text, s = screen.run(work, 2 if args.tiny else 10)
        print("programme on a big day…", file=sys.stderr)
        p_text, p = programme_section(work, args.tiny)
        print("pushed payload…", file=sys.stderr)
        l_text, _ = payload_section(work, args.tiny)
        print("several processes…", file=sys.stderr)
        k_text, _ = cluster_section(work, args.tiny)
    took = time.monotonic() - started
    command = "python bench/run.py" + (" --tiny" if args.tiny else "")
    report = f"""# Performance

Measured by `{command}` on {dt.date.today().isoformat()}, in {took:.0f} s.

Machine: {machine()}.

Each benchmark runs kiosk as `kiosk serve` runs it (gevent, one process) and, in the same run,
a *floor*: `bench/floor.py`, a bare Flask(-SocketIO) app doing the same SQLite or broadcast
work, served by the same function (`kiosk.server.serve`). The ratios are kiosk ÷ floor.

## Targets

{verdicts(c, f, s, p)}

## Check-in

{c["attendees"]} attendees imported by `kiosk attendees import` into a fresh database; distinct
valid codes, then codes already checked in, then unknown codes. One lean asyncio HTTP/1.1
keep-alive client (sequential), or eight of them on one event loop (concurrent).

{c_text}

## Push fan-out

{f_text}

Latency: from just before the organiser's `POST /api/rooms/lamartine/next` (or `previous`;
the floor's `POST /broadcast`) to each screen's receipt of the new state, over five rounds
of 50 commands, one at a time, the servers taking turns command by command. A p99 over 50
commands is in effect its worst command or two (all screens hear of a command at about the
same moment), and one descheduling on this 2-core machine moves it: the verdict takes the
median of the five rounds' paired ratios, and the table shows every round's. The screens
are raw Engine.IO websocket clients in separate processes, one asyncio loop each; the last
column shows each server's CPU and the busiest client process's
over the measurement: the clients stay well below saturation, so they are not what is
measured. This machine has two cores: the servers and the clients share them.

## Screen page

{s_text}

{p_text}

{l_text}

{k_text}

{NOTES}"""
    Path(args.out).write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
