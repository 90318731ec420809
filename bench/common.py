"""What the benchmarks share: server processes, a lean HTTP client, statistics."""

from __future__ import annotations

import asyncio
import atexit
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Debian's Chromium, with the flags of the tests' browser: one list for both (the
# benchmarks run from the test environment).
sys.path.insert(0, str(HERE.parent))
from tests.browsing import ARGS, CHROMIUM  # noqa: E402, F401
from tests.conftest import free_port  # noqa: E402, F401

ORGANISER_TOKEN = "bench-organiser-token-0123456789abcdef"
KIOSK_TOKEN = "bench-kiosk-token-0123456789abcdef"


def kiosk_command() -> list[str]:
    """The `kiosk` console script of this environment, as an organiser runs it."""
    script = Path(sys.executable).with_name("kiosk")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from kiosk.cli import main; main()"]


@dataclass
class Process:
    """A server process we start, wait for, measure (peak RSS) and stop."""

    argv: list[str]
    port: int
    log: Path
    env: dict = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    def start(self, ready_path: str) -> Process:
        env = dict(
            os.environ,
            KIOSK_ORGANISER_TOKEN=ORGANISER_TOKEN,
            KIOSK_KIOSK_TOKEN=KIOSK_TOKEN,
            **self.env,
        )
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.log.parent
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited: {self.log.read_text()[-2000:]}")
            try:
                status, _ = asyncio.run(get(self.port, ready_path))
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()  # not left running behind the error
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def peak_rss_mb(self) -> float:
        """High-water mark of the server's resident memory (VmHWM), in MB."""
        return peak_rss_mb_of(self.proc.pid, float("nan"))

    def cpu_seconds(self) -> float:
        return cpu_seconds_of(self.proc.pid)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def cpu_seconds_of(pid: int) -> float:
    """A process's CPU so far, user and system (OSError once it is gone)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb_of(pid: int, unknown: float) -> float:
    """A process's high-water mark of resident memory (VmHWM) in MB, `unknown` without."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return unknown


def start_kiosk(
    db: Path, clock: str, options: tuple[str, ...] = (), env: dict | None = None
) -> Process:
    """`kiosk serve` on a database, with a simulated clock (and more `options`), as an
    organiser starts it."""
    port = free_port()
    argv = [
        *kiosk_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--db", str(db),
        "--clock", clock, *options,
    ]  # fmt: skip
    return Process(argv, port, db.with_suffix(".log"), env=env or {}).start("/api/schedule")


def start_floor(db: Path, payload_bytes: int = 9000) -> Process:
    """bench/floor.py on a database, served as `kiosk serve` serves kiosk."""
    port = free_port()
    argv = [
        sys.executable,
        str(HERE / "floor.py"),
        "--port",
        str(port),
        "--db",
        str(db),
        "--payload-bytes",
        str(payload_bytes),
    ]
    return Process(argv, port, db.with_suffix(".log")).start("/ready")


# --- a lean HTTP/1.1 keep-alive client, so that the client is not what we measure ------


class Connection:
    """One keep-alive HTTP/1.1 connection on asyncio streams."""

    def __init__(self, port: int, source: str = "127.0.0.1"):
        self.port = port
        self.source = source  # the client's own address: any of loopback's 127.0.0.0/8
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection(
            "127.0.0.1", self.port, local_addr=(self.source, 0)
        )
        return self

    async def request(
        self, method: str, path: str, body: dict | None = None, headers: dict | None = None
    ) -> tuple[int, bytes]:
        payload = json.dumps(body).encode() if body is not None else b""
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: 127.0.0.1:{self.port}",
            f"Content-Length: {len(payload)}",
            "Content-Type: application/json",
        ]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer:
            self.writer.close()


async def get(port: int, path: str) -> tuple[int, bytes]:
    conn = await Connection(port).open()
    try:
        return await conn.request("GET", path)
    finally:
        conn.close()


# --- statistics ------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else float("nan"),
        "mean": statistics.fmean(ms) if ms else float("nan"),
    }


def table(header: list[str], rows: list[list]) -> str:
    def cell(v):
        if isinstance(v, float):
            return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
        return str(v)

    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out)


# --- many kiosks at once, for throughput: the client's own CPU kept small ---------------


def checkin_burst(
    port: int, codes: list[str], sources: list[str], token: str, answered_by: dict | None = None
) -> float:
    """One kiosk per address in `sources`, all scanning `codes` on keep-alive connections,
    each taking the next code of the queue as soon as its answer comes: check-ins per
    second while every kiosk is busy (bench/burst.c says how). `answered_by` counts the
    answers by X-Kiosk-Process (behind a front).

    One queue, not a share per kiosk: behind a front that sends each address to one
    process, kiosks with fixed shares left the process with more of them working alone at
    the end of each round, one core idle (5 to 15 % of the round); guests at a welcome
    desk go to the next free kiosk. Its CPU is the child's (`RUSAGE_CHILDREN`)."""
    with tempfile.TemporaryDirectory() as work:
        listed = Path(work, "sources"), Path(work, "codes")
        listed[0].write_text("\n".join(sources) + "\n")
        listed[1].write_text("\n".join(codes) + "\n")
        done = subprocess.run(
            [burst_binary(), str(port), token, *map(str, listed)], capture_output=True, text=True
        )
    if done.returncode:
        raise RuntimeError(done.stderr.strip())
    out = json.loads(done.stdout)
    if answered_by is not None:
        for process, count in out["answered"].items():
            answered_by[process] = answered_by.get(process, 0) + count
    return out["rate"]


@functools.cache
def burst_binary() -> str:
    """bench/burst.c, compiled once per run by the machine's C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise RuntimeError("bench/burst.c needs a C compiler: apt-get install gcc")
    folder = tempfile.mkdtemp(prefix="kiosk-bench-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # not left behind
    binary = Path(folder) / "burst"
    subprocess.run([compiler, "-O2", "-o", str(binary), str(HERE / "burst.c")], check=True)
    return str(binary)
