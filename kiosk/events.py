"""Socket.IO: every screen, tablet and phone gets its room's full state, and every change.

Clients send:
- `join` {"room": id} or {"rooms": [ids]}  (anyone) -> a `state` event per room now,
  then one after every change. Clients re-join after each reconnection, so a screen
  resyncs by itself after a network cut or a server restart.
- `command` {"room", "action", "version"?, ...}  (organiser only) -> acknowledged with
  {"ok": true, "state": …} or {"ok": false, "status", "error", "message"}; the new
  state is broadcast to the room.
- `watch_attendance`  (organiser only) -> `attendance` now, then after check-ins.

The server sends `state` (the object of GET /api/rooms/<room>/state) to a room's channel
after each command, and when the clock moves a room into another block or pause; to the
organisers, `attendance` (the welcome desk's counters, at most once a second) and `vip`
(a flagged guest has just checked in).
"""

from __future__ import annotations

from typing import Any

from flask import session
from flask_babel import gettext as _
from flask_socketio import emit, join_room

from . import db as database
from .app import get_db, runtime, socketio
from .auth import ORGANISER, fingerprint, session_is_organiser, token_is_organiser
from .checkin import attendance
from .live import N_, CommandError, LiveStore, signature, view

STATUS = {"invalid": 400, "not_found": 404, "stale": 409, "at_end": 409, "at_start": 409}


def channel(room: str) -> str:
    return f"room:{room}"


def refusal(exc: CommandError) -> tuple[dict[str, Any], int]:
    """A refused command as JSON in the user's language, with its HTTP status."""
    body: dict[str, Any] = {"error": exc.code, "message": _(exc.template, **exc.params)}
    if exc.state is not None:  # stale: the client catches up on what it missed
        body["state"] = runtime().room_view(get_db(), exc.state.room)
    return body, STATUS.get(exc.code, 400)


def run_command(room: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Apply an organiser command and broadcast the room's new state; return it."""
    rt = runtime()
    if not isinstance(payload, dict):
        raise CommandError("invalid", N_("The body must be a JSON object."))
    version = payload.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise CommandError("invalid", N_("'version' must be a whole number."))
    now = rt.clock.now()
    state = LiveStore(get_db(), rt.schedule).perform(room, action, payload, now, version)
    data = view(rt.schedule, state, now, rt.clock.speed)
    broadcast_state(rt, data)
    # Let the screens' writers send before this request builds its own answer: under
    # gevent they only run when this greenlet yields, and the rooms come first.
    socketio.sleep(0)
    return data


def _forbidden() -> dict[str, Any]:
    return {
        "ok": False,
        "status": 403,
        "error": "forbidden",
        "message": _("Organiser secret required."),
    }


@socketio.on("connect")
def on_connect(auth: Any = None) -> None:
    """Anyone may connect and watch; a token in `auth` gives organiser rights."""
    if isinstance(auth, dict) and token_is_organiser(auth.get("token")):
        session["role"] = ORGANISER
        session["secret"] = fingerprint(runtime().organiser_token)


@socketio.on("join")
def on_join(data: Any) -> dict[str, Any]:
    """A screen, tablet or phone asks to follow rooms; it gets their state at once."""
    rt = runtime()
    rooms = []
    if isinstance(data, dict):
        rooms = data.get("rooms") if "rooms" in data else [data.get("room")]
    if (
        not isinstance(rooms, list)
        or not rooms
        or any(not isinstance(r, str) or rt.schedule.room(r) is None for r in rooms)
    ):
        return {"ok": False, "error": "not_found", "message": _("Unknown room.")}
    db = get_db()
    for room in rooms:
        join_room(channel(room))
        emit("state", rt.room_view(db, room))
    return {"ok": True}


@socketio.on("command")
def on_command(data: Any) -> dict[str, Any]:
    """The organiser's tablet steers a room; refused for anyone else."""
    if not session_is_organiser():
        return _forbidden()
    if not isinstance(data, dict):
        return {
            "ok": False,
            "status": 400,
            "error": "invalid",
            "message": _("The body must be a JSON object."),
        }
    try:
        state = run_command(str(data.get("room")), str(data.get("action")), data)
    except CommandError as exc:
        body, status = refusal(exc)
        return {"ok": False, "status": status, **body}
    return {"ok": True, "state": state}


ORGANISERS = "organisers"


def announce_checkin(result: Any, rt: Any = None) -> None:
    """After a check-in (or an undo): counters soon, a VIP's arrival at once."""
    (rt or runtime()).attendance_dirty = True
    attendee = getattr(result, "attendee", None)
    if attendee is not None and attendee.vip and result.status == "checked_in":
        socketio.emit(
            "vip",
            {
                "display_name": f"{attendee.civility} {attendee.full_name}".strip(),
                "function": attendee.function,
                "organisation": attendee.organisation,
                "checked_in_at": result.checked_in_at.isoformat(),
            },
            to=ORGANISERS,
        )


def _anyone_in(room: str) -> bool:
    return next(socketio.server.manager.get_participants("/", room), None) is not None


def flush_attendance(app, db) -> bool:
    """Push the counters to the organisers if a check-in changed them.

    At most once per tick (a second), however many kiosks scan meanwhile, and only when
    an organiser follows them: the counters cost a scan of the attendees (5 ms for
    5,000), which must not be paid once per check-in.
    """
    rt = app.extensions["kiosk"]
    if not rt.attendance_dirty:
        return False
    rt.attendance_dirty = False
    if not _anyone_in(ORGANISERS):  # an organiser who opens a page gets them on joining
        return False
    socketio.emit("attendance", attendance(db, rt.schedule.event.tz), to=ORGANISERS)
    return True


@socketio.on("watch_attendance")
def on_watch_attendance(data: Any = None) -> dict[str, Any]:
    """An organiser's page follows arrivals: counters now and after check-ins, VIP alerts."""
    if not session_is_organiser():
        return _forbidden()
    join_room(ORGANISERS)
    emit("attendance", attendance(get_db(), runtime().schedule.event.tz))
    return {"ok": True}


def broadcast_state(rt, data: dict[str, Any]) -> None:
    """Send a room's state to its screens, and remember what they were last sent."""
    rt.pushed[data["room"]] = signature(data)
    socketio.emit("state", data, to=channel(data["room"]))


def tick(app, db) -> list[str]:
    """Broadcast the rooms whose screen the clock has changed since their last push."""
    rt = app.extensions["kiosk"]
    changed = []
    for room in rt.schedule.rooms:
        data = rt.room_view(db, room.id)
        if room.id not in rt.pushed:  # first look: screens got this state on joining
            rt.pushed[room.id] = signature(data)
        elif rt.pushed[room.id] != signature(data):
            broadcast_state(rt, data)
            changed.append(room.id)
    return changed


def run_ticker(app, interval: float = 1.0) -> None:
    """Background task of `kiosk serve`: follows the clock across block boundaries."""
    db = database.connect(app.config["DATABASE"])
    while True:
        try:
            tick(app, db)
            flush_attendance(app, db)
        except Exception:  # a failed tick must not stop screens following the clock
            app.logger.exception("clock tick failed")
        socketio.sleep(interval)
