"""The floor: the least our stack can do for the same work, served the same way.

- POST /api/checkin {"code"}: one indexed look-up and one conditional write on SQLite
  (WAL, synchronous=NORMAL, as kiosk uses), nothing else.
- Socket.IO `join` puts the client in one room; POST /broadcast emits a `state` event of
  the same size as kiosk's to it.

Served like `kiosk serve`, by the same function (kiosk.server.serve): gevent
(monkey-patched first), its WSGI server with simple-websocket, the same ping settings.

Example: python bench/floor.py --port 5100 --db floor.db --payload-bytes 9000
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import sqlite3  # noqa: E402

from flask import Flask, jsonify, request  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402

from kiosk.server import serve  # noqa: E402 - the same server as `kiosk serve`

SCHEMA = """
CREATE TABLE IF NOT EXISTS attendees (
    id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, checked_in_at TEXT
);
"""


def create(db_path: str, payload_bytes: int):
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="gevent", ping_interval=4, ping_timeout=5)
    db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    state = {"version": 0}

    @app.get("/ready")
    def ready():
        return "ok"

    @app.post("/api/checkin")
    def checkin():
        code = request.get_json(force=True)["code"]
        row = db.execute("SELECT id FROM attendees WHERE code = ?", (code,)).fetchone()
        if row is None:
            return jsonify(status="unknown"), 404
        now = dt.datetime.now(dt.UTC).isoformat()
        written = db.execute(
            "UPDATE attendees SET checked_in_at = ? WHERE id = ? AND checked_in_at IS NULL",
            (now, row[0]),
        ).rowcount
        return jsonify(status="checked_in" if written else "already_checked_in")

    @socketio.on("join")
    def join(data):
        join_room("room")
        return {"ok": True}

    @app.post("/broadcast")
    def broadcast():
        state["version"] += 1
        payload = {"version": state["version"], "pad": ""}
        filler = payload_bytes - len(str(payload).encode())
        payload["pad"] = "x" * max(0, filler)
        socketio.emit("state", payload, to="room")
        return jsonify(version=state["version"])

    return app, socketio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--payload-bytes", type=int, default=9000)
    args = parser.parse_args()
    app, socketio = create(args.db, args.payload_bytes)
    serve(app, "127.0.0.1", args.port)


if __name__ == "__main__":
    main()
