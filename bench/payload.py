"""What the server pushes to each audience, in bytes, on days of 1, 8 and 16 rooms.

    python bench/payload.py [--rooms 1,8,16] [--json FILE]

A real `kiosk serve` per day (the colloque's schedule.yaml; bench/bigday.py's days of 8 and
16 rooms) and raw Socket.IO clients on its websocket, so that the sizes are the frames'
text as it crosses the wire (`42["state",{…}]`):

- a room screen joins its room (`join {rooms: [room]}`, as screen.js does): the state it
  gets at joining, then the one it gets when an organiser sends `next` to its room;
- a phone follows every room (`join {rooms: all}`, what /programme does): the states at
  joining, then what it gets per change (one room's public state);
- a tablet or stage follows with the organiser's secret (`join {rooms: all, full: true}`):
  the full state of the changed room;
- each page's inline boot JSON (`<script id="boot">`): the screen's, the programme's,
  the tablet's, and the whole HTML it sits in.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path

import bigday
import requests
import simple_websocket
from common import ORGANISER_TOKEN, Process, free_port, kiosk_command, table

COLLOQUE_CLOCK = "2023-07-03T10:20"  # the colloque's room is in a session then
BIGDAY_CLOCK = "2023-07-03T10:05"
BOOT = re.compile(r'<script type="application/json" id="boot">(.*?)</script>', re.S)


def start_day(workdir: Path, rooms: int) -> tuple[Process, str]:
    """`kiosk serve` on the day of `rooms` rooms; the server and the room the bench steers."""
    port = free_port()
    db = workdir / f"payload-{rooms}.db"
    argv = [*kiosk_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--db", str(db)]
    if rooms == 1:  # the bundled colloque: one room, lamartine
        argv += ["--clock", COLLOQUE_CLOCK]
        room = "lamartine"
    else:
        schedule = workdir / f"payload-day-{rooms}.yaml"
        bigday.write(schedule, rooms=rooms, talks=round(239 * rooms / 8), turns=48 * rooms)
        argv += ["--clock", BIGDAY_CLOCK, "--schedule", str(schedule)]
        room = "a"
    env = {"KIOSK_LANG": "fr"}
    return Process(argv, port, db.with_suffix(".log"), env=env).start("/api/schedule"), room


class Socket:
    """A raw Socket.IO client on Engine.IO v4's websocket: every frame's text, as received."""

    def __init__(self, port: int, auth: dict | None = None):
        self.ws = simple_websocket.Client.connect(
            f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"
        )
        assert self.receive().startswith("0")  # Engine.IO's open
        self.ws.send("40" + (json.dumps(auth) if auth else ""))
        assert self.receive().startswith("40")  # Socket.IO's connect

    def receive(self, timeout: float = 10) -> str:
        while True:
            frame = self.ws.receive(timeout)
            if frame is None:
                raise TimeoutError("no frame")
            if frame == "2":  # the server's ping: answered, not counted
                self.ws.send("3")
                continue
            return frame

    def join(self, data: dict) -> list[str]:
        """Joins; the `state` frames received until the join's acknowledgement."""
        self.ws.send("421" + json.dumps(["join", data]))
        states = []
        while not (frame := self.receive()).startswith("431"):
            assert frame.startswith('42["state"'), frame[:80]
            states.append(frame)
        assert json.loads(frame[3:]) == [{"ok": True}], frame
        return states

    def state(self) -> str:
        frame = self.receive()
        assert frame.startswith('42["state"'), frame[:80]
        return frame

    def close(self) -> None:
        self.ws.close()


def boots(url: str, room: str) -> dict[str, tuple[int, int]]:
    """Each page's inline boot JSON and whole HTML, in bytes (uncompressed)."""
    out = {}
    organiser = requests.Session()
    organiser.get(f"{url}/organiser", params={"token": ORGANISER_TOKEN}, timeout=30)
    for name, path, session in (
        ("room screen", f"/screen/{room}", requests),
        ("phone programme", "/programme", requests),
        ("tablet", "/organiser", organiser),
    ):
        html = session.get(url + path, timeout=30).content
        boot = BOOT.search(html.decode())
        out[name] = (len(boot.group(1).encode()) if boot else 0, len(html))
    return out


def measure_day(workdir: Path, rooms: int) -> dict:
    server, room = start_day(workdir, rooms)
    url = f"http://127.0.0.1:{server.port}"
    try:
        screen = Socket(server.port)
        phone = Socket(server.port)
        tablet = Socket(server.port, {"token": ORGANISER_TOKEN})
        screen_join = screen.join({"rooms": [room]})  # as screen.js joins
        ids = [r["id"] for r in requests.get(f"{url}/api/schedule", timeout=30).json()["rooms"]]
        phone_join = phone.join({"rooms": ids})
        tablet_join = tablet.join({"rooms": ids, "full": True})
        answer = requests.post(
            f"{url}/api/rooms/{room}/next",
            json={},
            headers={"Authorization": f"Bearer {ORGANISER_TOKEN}"},
            timeout=30,
        )
        answer.raise_for_status()
        pushed = {"room screen": screen.state(), "phone": phone.state(), "tablet": tablet.state()}
        for frame in pushed.values():  # the changed room's, and only it
            assert json.loads(frame[2:])[1]["room"] == room
        for s in (screen, phone, tablet):
            s.close()
        pages = boots(url, room)
    finally:
        server.stop()

    def sizes(frames):
        return [len(f.encode()) for f in frames]

    return {
        "rooms": rooms,
        "join": {
            "room screen": sizes(screen_join),
            "phone": sizes(phone_join),
            "tablet": sizes(tablet_join),
        },
        "push": {name: len(frame.encode()) for name, frame in pushed.items()},
        "boot": {name: {"json": b, "html": h} for name, (b, h) in pages.items()},
    }


def measure(workdir: Path, days: tuple[int, ...] = (1, 8, 16)) -> list[dict]:
    return [measure_day(workdir, rooms) for rooms in days]


def report(days: list[dict], before: dict | None = None) -> str:
    """The table per audience, one column per day; then the 8-room day measured before."""
    if before and any(d["rooms"] == 8 for d in days):
        for day in before["days"]:
            if day["rooms"] == 8:
                days = [
                    *days,
                    {**day, "label": f"{day['rooms']} rooms, before ({before['commit']})"},
                ]

    def kb(n: int) -> str:
        return f"{n / 1024:,.1f} KB" if n >= 1024 else f"{n:,} B"

    header = ["bytes"] + [
        d.get("label", f"{d['rooms']} room{'s' if d['rooms'] > 1 else ''}") for d in days
    ]
    rows = [
        ["**push per change**, room screen (its room's public state)"]
        + [kb(d["push"]["room screen"]) for d in days],
        ["**push per change**, phone following every room (the changed room's public state)"]
        + [kb(d["push"]["phone"]) for d in days],
        ["**push per change**, tablet / stage (the changed room's full state)"]
        + [kb(d["push"]["tablet"]) for d in days],
        ["at joining, room screen: states × bytes"]
        + [f"{len(d['join']['room screen'])} × {kb(max(d['join']['room screen']))}" for d in days],
        ["at joining, phone following every room: states, total"]
        + [f"{len(d['join']['phone'])}, {kb(sum(d['join']['phone']))}" for d in days],
        ["at joining, tablet (full states): states, total"]
        + [f"{len(d['join']['tablet'])}, {kb(sum(d['join']['tablet']))}" for d in days],
    ]
    for page in ("room screen", "phone programme", "tablet"):
        rows.append(
            [f"boot JSON of the {page}'s page (its whole HTML)"]
            + [f"{kb(d['boot'][page]['json'])} ({kb(d['boot'][page]['html'])})" for d in days]
        )
    return table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", default="1,8,16", help="the days' sizes, in rooms")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        days = measure(Path(tmp), tuple(int(n) for n in args.rooms.split(",")))
    if args.json:
        Path(args.json).write_text(json.dumps(days, indent=2) + "\n")
    print(report(days))


if __name__ == "__main__":
    main()
