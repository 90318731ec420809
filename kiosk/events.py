"""Socket.IO handlers: every screen, tablet and phone gets its room's full state, and every change.

Clients send:
- `join` {"room": id} or {"rooms": [ids]}  (anyone) -> a `state` event per room now,
  then one after every change. Clients re-join after each reconnection, so a screen
  resyncs by itself after a network cut or a server restart. With "full": true (an
  organiser's socket, or "stage": the stage secret) the state is the full one: the word
  for the lectern, the cancelled turns.
- `command` {"room", "action", "version"?, ...}  (organiser only) -> acknowledged with
  {"ok": true, "state": …} or {"ok": false, "status", "error", "message"}; the new
  state is broadcast to the room (kiosk.push).
- `watch_attendance`  (organiser only) -> `attendance` now, then after check-ins, and
  `vip` alerts; with several processes (kiosk.queue), `queue` {"up": false} while this
  process cannot reach the others' message queue, and {"up": true} once it can again.

Organiser rights belong to the socket, given once at connect (kiosk.auth.grant_socket)
from the browser session's cookie or a token in `auth`, and to the browser that proved
them: auth.SocketGuard refuses the socket's packets from anyone else, and a logout
disconnects it.

Refusals are acknowledged in the same shape as the HTTP API's errors (web.refusal_body).
"""

from __future__ import annotations

import functools
from typing import Any

from flask import request
from flask_socketio import emit, join_room

from .auth import STAGE, RateLimited, forget_socket, grant_socket, socket_is_organiser, token_role
from .checkin import attendance
from .errors import N_, Refusal
from .push import ORGANISERS, channel, run_command, stage_channel, tell_watching
from .web import get_db, refusal_body, runtime, socketio


def acknowledged(handler):
    """The handler's answer, or {"ok": false, …} with the refusal it raised."""

    @functools.wraps(handler)
    def wrapped(*args: Any) -> dict[str, Any]:
        try:
            return handler(*args)
        except Refusal as exc:
            return {"ok": False, **refusal_body(exc)}

    return wrapped


def _organiser_only() -> None:
    if not socket_is_organiser(request.sid):
        raise Refusal("forbidden", N_("Organiser secret required."))


@socketio.on("connect")
def on_connect(auth: Any = None) -> None:
    """Anyone may connect and watch; an organiser's session or token gives its rights."""
    token = auth.get("token") if isinstance(auth, dict) else None
    transport = socketio.server.manager.eio_sid_from_sid(request.sid, "/")
    try:
        grant_socket(request.sid, transport, token)
    except RateLimited as exc:  # too many wrong tokens from this address
        raise ConnectionRefusedError(refusal_body(exc)) from None


@socketio.on("disconnect")
def on_disconnect(*_reason: Any) -> None:
    """Rights given to a socket go with it."""
    forget_socket(request.sid)


@socketio.on("join")
@acknowledged
def on_join(data: Any) -> dict[str, Any]:
    """A screen, tablet or phone asks to follow rooms; it gets their state at once."""
    rt = runtime()
    rooms = []
    if isinstance(data, dict):
        rooms = data.get("rooms") if "rooms" in data else [data.get("room")]
    # More names than the event has rooms is a mistake or an attack: refused before any
    # work, as each room costs a state computed and sent.
    if isinstance(rooms, list) and len(rooms) > len(rt.schedule.rooms):
        raise Refusal("invalid", N_("Too many rooms."))
    if (
        not isinstance(rooms, list)
        or not rooms
        or any(not isinstance(r, str) or rt.schedule.room(r) is None for r in rooms)
    ):
        raise Refusal("not_found", N_("Unknown room."))
    full = isinstance(data, dict) and data.get("full") is True
    if full and not socket_is_organiser(request.sid) and token_role(data.get("stage")) != STAGE:
        raise Refusal("forbidden", N_("The organiser's or the stage's secret is required."))
    db = get_db()
    for room in dict.fromkeys(rooms):  # each once, in the order asked
        join_room(stage_channel(room) if full else channel(room))
        emit("state", rt.room_view(db, room, full))
    return {"ok": True}


@socketio.on("command")
@acknowledged
def on_command(data: Any) -> dict[str, Any]:
    """The organiser's tablet steers a room; refused for anyone else."""
    _organiser_only()
    if not isinstance(data, dict):
        raise Refusal("invalid", N_("The body must be a JSON object."))
    state = run_command(runtime(), get_db(), str(data.get("room")), str(data.get("action")), data)
    return {"ok": True, "state": state}


@socketio.on("watch_attendance")
@acknowledged
def on_watch_attendance(data: Any = None) -> dict[str, Any]:
    """An organiser's page follows arrivals: counters now and after check-ins, VIP alerts."""
    _organiser_only()
    join_room(ORGANISERS)
    rt = runtime()
    tell_watching(rt, at_once=True)  # the other processes' check-ins: pushed from now on
    emit("attendance", attendance(get_db(), rt.schedule.event.tz))
    if rt.queue is not None and not rt.queue.up:  # then `queue` again when it is back
        emit("queue", {"up": False})
    return {"ok": True}
