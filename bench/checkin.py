"""Check-in: kiosk's real server against the floor, on the same codes, in the same run.

kiosk is started exactly as `kiosk serve` runs it, on a fresh database into which
`kiosk attendees import` loaded the attendees; the floor (bench/floor.py) gets the same
codes. Both are driven by the same lean asyncio HTTP/1.1 keep-alive client, in this
process, which spends far less per request than the servers do.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import (
    KIOSK_TOKEN,
    Connection,
    Process,
    kiosk_command,
    start_floor,
    start_kiosk,
    summary_ms,
    table,
)

SIZES = {
    "full": {
        "attendees": 5000,
        "sequential": 1000,
        "concurrent": 3600,
        "rounds": 12,
        "duplicate": 500,
        "unknown": 500,
    },
    "tiny": {
        "attendees": 60,
        "sequential": 10,
        "concurrent": 24,
        "rounds": 2,
        "duplicate": 5,
        "unknown": 5,
    },
}


def attendees_csv(path: Path, count: int) -> Path:
    lines = ["Civilité;Prénom;Nom;Organisation;Fonction;Catégorie"]
    for i in range(count):
        lines.append(f"Mme;Camille;Dupont {i};Mairie n°{i % 97};Chargée de mission;Élu·e")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path


def kiosk_with(workdir: Path, count: int) -> tuple[Process, list[str]]:
    db = workdir / "kiosk.db"
    subprocess.run(
        [
            *kiosk_command(),
            "attendees",
            "import",
            str(attendees_csv(workdir / "inscrits.csv", count)),
            "--db",
            str(db),
        ],
        check=True,
        capture_output=True,
    )
    codes = [c for (c,) in sqlite3.connect(db).execute("SELECT code FROM attendees")]
    return start_kiosk(db, "2023-07-03T08:30"), codes


def floor_with(workdir: Path, codes: list[str]) -> Process:
    db = workdir / "floor.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE attendees (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, "
        "checked_in_at TEXT)"
    )
    conn.executemany("INSERT INTO attendees (code) VALUES (?)", [(c,) for c in codes])
    conn.commit()
    conn.close()
    return start_floor(db)


def headers(device: str) -> dict:
    return {"Authorization": f"Bearer {KIOSK_TOKEN}", "X-Kiosk-Device": device}


def source_for(i: int, expect: str) -> str | None:
    """The client address the i-th code is scanned from; None: the kiosk's own connection.

    Unknown codes are limited per client address (ten a minute): they come from many
    clients, five each, to measure the look-up, not the 429. Loopback is 127.0.0.0/8.
    """
    if expect != "unknown":
        return None
    n = i // 5 + 2
    return f"127.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


async def scan(conn: Connection, codes: list[str], expect: str, offset: int = 0) -> list[float]:
    """One code after another on one keep-alive connection: each request's latency.

    Unknown codes go out on a connection of their client's own (see source_for), opened
    before the request is timed."""
    latencies = []
    others: dict[str, Connection] = {}
    try:
        for i, code in enumerate(codes, offset):
            source = source_for(i, expect)
            if source is not None and source not in others:
                others[source] = await Connection(conn.port, source).open()
            via = others[source] if source is not None else conn
            start = time.perf_counter()
            status, body = await via.request(
                "POST", "/api/checkin", {"code": code}, headers("kiosque 1")
            )
            latencies.append(time.perf_counter() - start)
            if expect.encode() not in body:
                raise RuntimeError(f"expected {expect}, got {status} {body[:200]!r}")
    finally:
        for other in others.values():
            other.close()
    return latencies


async def run_sequential(port: int, codes: list[str], expect: str, offset: int = 0) -> list[float]:
    conn = await Connection(port).open()
    try:
        return await scan(conn, codes, expect, offset)
    finally:
        conn.close()


async def run_concurrent(port: int, codes: list[str], clients: int = 8):
    async def client(share: list[str], kiosk: int) -> list[float]:
        conn = await Connection(port).open()
        out = []
        try:
            for code in share:
                start = time.perf_counter()
                status, body = await conn.request(
                    "POST", "/api/checkin", {"code": code}, headers(f"kiosque {kiosk}")
                )
                out.append(time.perf_counter() - start)
                if b'"checked_in"' not in body:
                    raise RuntimeError(f"got {status} {body[:200]!r}")
        finally:
            conn.close()
        return out

    start = time.perf_counter()
    results = await asyncio.gather(*(client(codes[n::clients], n + 1) for n in range(clients)))
    elapsed = time.perf_counter() - start
    return [x for r in results for x in r], elapsed


def take_turns(servers: dict[str, Process], codes: list[str], expect: str) -> dict:
    """Sequential latencies, the servers taking turns every `TURN` codes, each on the one
    keep-alive connection a kiosk tablet would hold all along."""

    async def turns() -> dict[str, list[float]]:
        conns = {name: await Connection(s.port).open() for name, s in servers.items()}
        latencies: dict[str, list[float]] = {name: [] for name in servers}
        try:
            for start in range(0, len(codes), TURN):
                for name, conn in conns.items():
                    latencies[name] += await scan(conn, codes[start : start + TURN], expect, start)
        finally:
            for conn in conns.values():
                conn.close()
        return latencies

    return {name: summary_ms(values) for name, values in asyncio.run(turns()).items()}


# Codes per turn in the sequential phases: about 50 ms of requests.
TURN = 100


def measure(servers: dict[str, Process], codes: list[str], size: dict) -> dict:
    """Both servers run at once and take turns, a hundred sequential codes or one round
    of concurrent ones at a time, so that a slower moment of the (virtual) machine does
    not fall on one of them only."""
    seq = codes[: size["sequential"]]
    rounds = size["rounds"]
    per_round = size["concurrent"] // rounds
    start = size["sequential"]
    conc = [codes[start + i * per_round : start + (i + 1) * per_round] for i in range(rounds)]
    unknown = [secrets.token_urlsafe(18) for _ in range(size["unknown"])]
    out = {name: {"concurrent_all": [], "throughputs": []} for name in servers}
    warm = [secrets.token_urlsafe(18) for _ in range(50)]
    cpu0 = {}
    for name, server in servers.items():
        asyncio.run(run_sequential(server.port, warm, "unknown", offset=1_000_000))
        cpu0[name] = server.cpu_seconds()
    for name, summary in take_turns(servers, seq, '"checked_in"').items():
        out[name]["sequential"] = summary
    for batch in conc:
        for name, server in servers.items():
            latencies, elapsed = asyncio.run(run_concurrent(server.port, batch))
            out[name]["concurrent_all"] += latencies
            out[name]["throughputs"].append(len(batch) / elapsed)
    for name, summary in take_turns(
        servers, seq[: size["duplicate"]], "already_checked_in"
    ).items():
        out[name]["duplicate"] = summary
    for name, summary in take_turns(servers, unknown, "unknown").items():
        out[name]["unknown"] = summary
    for name, server in servers.items():
        requests_made = len(seq) + sum(map(len, conc)) + size["duplicate"] + size["unknown"]
        out[name]["cpu_ms_per_checkin"] = (
            (server.cpu_seconds() - cpu0[name]) * 1000 / (requests_made)
        )
        out[name]["concurrent"] = summary_ms(out[name].pop("concurrent_all"))
        out[name]["throughput"] = statistics.median(out[name]["throughputs"])
    return out


def run(workdir: Path, size_name: str = "full") -> tuple[str, dict]:
    size = SIZES[size_name]
    kiosk, codes = kiosk_with(workdir, size["attendees"])
    floor = None
    try:
        floor = floor_with(workdir, codes)
        results = measure({"kiosk": kiosk, "floor": floor}, codes, size)
    finally:
        kiosk.stop()
        if floor:
            floor.stop()
    ours, base = results["kiosk"], results["floor"]
    rows = []
    for label, key in (
        ("sequential, distinct codes", "sequential"),
        ("8 clients, distinct codes", "concurrent"),
        ("duplicate codes", "duplicate"),
        ("unknown codes", "unknown"),
    ):
        rows.append(
            [
                label,
                ours[key]["p50"],
                base[key]["p50"],
                ours[key]["p99"],
                base[key]["p99"],
                ours[key]["p99"] / base[key]["p99"],
            ]
        )
    text = table(
        ["check-in (ms)", "kiosk p50", "floor p50", "kiosk p99", "floor p99", "p99 ratio"], rows
    )
    text += "\n\n" + table(
        ["throughput, 8 keep-alive clients (median of rounds)", "kiosk", "floor", "ratio"],
        [
            [
                "check-ins per second",
                ours["throughput"],
                base["throughput"],
                ours["throughput"] / base["throughput"],
            ],
            [
                "server CPU ms per request",
                ours["cpu_ms_per_checkin"],
                base["cpu_ms_per_checkin"],
                ours["cpu_ms_per_checkin"] / base["cpu_ms_per_checkin"],
            ],
        ],
    )
    return text, {"kiosk": ours, "floor": base, "attendees": size["attendees"]}


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(run(Path(tmp), sys.argv[1] if len(sys.argv) > 1 else "full")[0])
