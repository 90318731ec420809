"""Push fan-out: N screens on one room; the organiser issues 50 commands; for each command
and screen, the time from the command's HTTP request to that screen's receipt of the state.

kiosk (started as `kiosk serve`) against the floor (bench/floor.py: a bare Flask-SocketIO
app broadcasting a payload of the same size, served by the same function).

The screens are raw Socket.IO-over-websocket clients (Engine.IO v4): each client process
runs one asyncio event loop whose protocol parses frame headers and looks for the version
number, nothing more, so a client costs a few microseconds per message. The clients'
CPU time is measured and reported beside the server's, to show they are not the
bottleneck.
"""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing as mp
import os
import re
import struct
import sys
import time
from pathlib import Path

from common import (
    ORGANISER_TOKEN,
    Connection,
    Process,
    free_port,
    percentile,
    start_floor,
    start_kiosk,
    table,
)

VERSION = re.compile(rb'"version":\s*(\d+)')


class Screen(asyncio.Protocol):
    """One room screen: Socket.IO connect, join, answer pings, note each state's arrival."""

    def __init__(self, room: str, joined, received: list, done: asyncio.Future):
        self.room = room
        self.joined = joined
        self.received = received
        self.done = done
        self.buffer = b""
        self.upgraded = False
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def send(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        length = len(payload)
        header = (
            bytes([0x81, 0x80 | length])
            if length < 126
            else bytes([0x81, 0x80 | 126]) + struct.pack("!H", length)
        )
        self.transport.write(header + mask + masked)

    def data_received(self, data: bytes):
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in self.buffer[:20]:
                self.done.set_exception(RuntimeError(self.buffer[:200]))
                return
            self.upgraded = True
            self.buffer = self.buffer[end + 4 :]
        while len(self.buffer) >= 2:
            length = self.buffer[1] & 0x7F
            start = 2
            if length == 126:
                if len(self.buffer) < 4:
                    return
                length, start = struct.unpack("!H", self.buffer[2:4])[0], 4
            elif length == 127:
                if len(self.buffer) < 10:
                    return
                length, start = struct.unpack("!Q", self.buffer[2:10])[0], 10
            if len(self.buffer) < start + length:
                return
            message = self.buffer[start : start + length]
            self.buffer = self.buffer[start + length :]
            self.on_message(message)

    def on_message(self, message: bytes):
        if message[:1] == b"0":  # Engine.IO open
            self.send("40")
        elif message[:1] == b"2":  # ping
            self.send("3")
        elif message.startswith(b"40"):  # Socket.IO connected
            self.send('420["join",' + json.dumps({"room": self.room}) + "]")
        elif message.startswith(b"430"):  # join acknowledged
            with self.joined.get_lock():
                self.joined.value += 1
        elif message.startswith(b'42["state"'):
            match = VERSION.search(message, 0, 400)
            if match:
                self.received.append((int(match[1]), time.time()))


def client_process(
    port: int, count: int, room: str, joined, received_count, out_path: str, stop
) -> None:
    """One event loop holding `count` screens; writes their receipts when told to stop."""

    async def main():
        loop = asyncio.get_running_loop()
        received: list = []
        done = loop.create_future()
        transports = []
        semaphore = asyncio.Semaphore(64)

        async def open_one():
            async with semaphore:
                for _attempt in range(20):
                    try:
                        t, _ = await loop.create_connection(
                            lambda: Screen(room, joined, received, done), "127.0.0.1", port
                        )
                        transports.append(t)
                        return
                    except OSError:
                        await asyncio.sleep(0.2)
                raise RuntimeError("could not connect")

        await asyncio.gather(*(open_one() for _ in range(count)))
        cpu_start = time.process_time()
        last = 0
        while not stop.is_set():
            if len(received) != last:
                with received_count.get_lock():
                    received_count.value += len(received) - last
                last = len(received)
            await asyncio.sleep(0.001)
        cpu = time.process_time() - cpu_start
        Path(out_path).write_text(json.dumps({"received": received, "cpu": cpu}))
        for t in transports:
            t.close()

    asyncio.run(main())


def run_one(
    server: Process, n: int, command, commands: int, workdir: Path, room: str, processes: int
) -> dict:
    ctx = mp.get_context("spawn")
    joined = ctx.Value("i", 0)
    received_count = ctx.Value("i", 0)
    stop = ctx.Event()
    outs = [str(workdir / f"clients-{n}-{i}.json") for i in range(processes)]
    shares = [n // processes + (1 if i < n % processes else 0) for i in range(processes)]
    procs = [
        ctx.Process(
            target=client_process,
            args=(server.port, shares[i], room, joined, received_count, outs[i], stop),
        )
        for i in range(processes)
    ]
    for p in procs:
        p.start()
    deadline = time.monotonic() + 120
    while joined.value < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {joined.value} of {n} screens joined")
        time.sleep(0.01)
    time.sleep(0.5)  # let the join-time state messages drain before measuring
    with received_count.get_lock():
        received_count.value = 0
    sent: dict[int, float] = {}
    server_cpu0 = server.cpu_seconds()
    started = time.monotonic()
    conn_loop = asyncio.new_event_loop()
    conn = conn_loop.run_until_complete(Connection(server.port).open())
    for i in range(commands):
        expected = (i + 1) * n
        t0 = time.time()
        version = conn_loop.run_until_complete(command(conn, i))
        sent[version] = t0
        deadline = time.monotonic() + 30
        while received_count.value < expected and time.monotonic() < deadline:
            time.sleep(0.0005)
    elapsed = time.monotonic() - started
    server_cpu = server.cpu_seconds() - server_cpu0
    conn.close()
    conn_loop.close()
    stop.set()
    for p in procs:
        p.join(60)
    latencies, client_cpu = [], []
    first: dict[int, float] = {}
    for path in outs:
        data = json.loads(Path(path).read_text())
        client_cpu.append(data["cpu"])
        for version, at in data["received"]:
            if version in sent:
                latencies.append(at - sent[version])
                first[version] = min(first.get(version, 1e9), at - sent[version])
    return {
        "latencies_ms": [x * 1000 for x in latencies],
        # the first screen to hear of each command: the command's own processing time
        "first_ms": [x * 1000 for x in first.values()],
        "expected": n * commands,
        "server_cpu_pct": 100 * server_cpu / elapsed,
        "client_cpu_pct": max(100 * c / elapsed for c in client_cpu),
    }


def combine(n: int, server: Process, rounds: list[dict]) -> dict:
    ms = [x for r in rounds for x in r["latencies_ms"]]
    return {
        "n": n,
        "p50": percentile(ms, 50),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else float("nan"),
        "missing": sum(r["expected"] for r in rounds) - len(ms),
        "first_p50": percentile([x for r in rounds for x in r["first_ms"]], 50),
        "rss_mb": server.peak_rss_mb(),
        "server_cpu_pct": max(r["server_cpu_pct"] for r in rounds),
        "client_cpu_pct": max(r["client_cpu_pct"] for r in rounds),
    }


def kiosk_server(workdir: Path) -> Process:
    return start_kiosk(workdir / f"fanout-{free_port()}.db", "2023-07-03T10:20")


def floor_server(workdir: Path, payload_bytes: int) -> Process:
    return start_floor(workdir / f"floor-{free_port()}.db", payload_bytes)


async def kiosk_command_step(conn: Connection, i: int) -> int:
    # next, previous, next…: every command changes the room and is broadcast.
    action = "next" if i % 2 == 0 else "previous"
    status, body = await conn.request(
        "POST", f"/api/rooms/lamartine/{action}", {}, {"Authorization": f"Bearer {ORGANISER_TOKEN}"}
    )
    if status != 200:
        raise RuntimeError(body[:200])
    return json.loads(body)["version"]


async def floor_command_step(conn: Connection, i: int) -> int:
    status, body = await conn.request("POST", "/broadcast", {})
    return json.loads(body)["version"]


def run(
    workdir: Path, sizes=(100, 1000, 2000), commands: int = 50, processes: int = 2, rounds: int = 2
) -> tuple[str, dict]:
    """For each size, both servers up at once, taking turns round by round (a noisy
    moment of the virtual machine then falls on both), `commands` commands in all each."""
    from common import get

    results: dict[str, list] = {"kiosk": [], "floor": []}
    payload_bytes = 0
    for n in sizes:
        kiosk = kiosk_server(workdir)
        floor = None
        try:
            payload_bytes = len(asyncio.run(get(kiosk.port, "/api/rooms/lamartine/state"))[1])
            floor = floor_server(workdir, payload_bytes)
            done: dict[str, list] = {"kiosk": [], "floor": []}
            for _ in range(rounds):
                done["kiosk"].append(
                    run_one(
                        kiosk,
                        n,
                        kiosk_command_step,
                        commands // rounds,
                        workdir,
                        "lamartine",
                        processes,
                    )
                )
                done["floor"].append(
                    run_one(
                        floor, n, floor_command_step, commands // rounds, workdir, "room", processes
                    )
                )
            results["kiosk"].append(combine(n, kiosk, done["kiosk"]))
            results["floor"].append(combine(n, floor, done["floor"]))
        finally:
            kiosk.stop()
            if floor:
                floor.stop()
    rows = []
    for ours, base in zip(results["kiosk"], results["floor"], strict=True):
        rows.append(
            [
                ours["n"],
                ours["p50"],
                base["p50"],
                ours["p99"],
                base["p99"],
                ours["p99"] / base["p99"],
                ours["max"],
                base["max"],
                ours["rss_mb"],
                base["rss_mb"],
                ours["missing"] + base["missing"],
                f"{ours['first_p50']:.1f} / {base['first_p50']:.1f}",
                f"{ours['server_cpu_pct']:.0f} / {ours['client_cpu_pct']:.0f}",
            ]
        )
    text = table(
        [
            "screens",
            "kiosk p50 ms",
            "floor p50 ms",
            "kiosk p99 ms",
            "floor p99 ms",
            "p99 ratio",
            "kiosk max ms",
            "floor max ms",
            "kiosk peak RSS MB",
            "floor peak RSS MB",
            "lost",
            "first screen p50 ms, kiosk / floor",
            "kiosk CPU % server / busiest client",
        ],
        rows,
    )
    text += (
        f"\n\nPayload: {payload_bytes} bytes per state (kiosk's full room state; the floor "
        f"pads to the same size). {commands} commands per size and server, in {rounds} "
        f"rounds taken in turns; {processes} client processes."
    )
    return text, {**results, "payload_bytes": payload_bytes}


if __name__ == "__main__":
    import tempfile

    sizes = tuple(int(x) for x in sys.argv[1:]) or (100, 1000, 2000)
    with tempfile.TemporaryDirectory() as tmp:
        print(run(Path(tmp), sizes)[0])
