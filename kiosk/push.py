"""The command service and what the server pushes: room states, arrivals, the clock ticker.

Views (HTTP) and socket handlers both steer rooms through `run_command`, and announce
check-ins through `announce_checkin`; every function takes the runtime explicitly.
Sent over Socket.IO:

- `state` after each command, and when the clock moves a room into another block or
  pause: the audience's (the object of GET /api/rooms/<room>/state) to the room's
  channel, the full one (with the word for the lectern and the cancelled turns) to its
  stage channel, which the tablets and the lectern's screen join;
- to the organisers' channel, `attendance` (the welcome desk's counters, at most once a
  second) and `vip` (a flagged guest has just checked in).
"""

from __future__ import annotations

import time
from typing import Any

from . import db as database
from .checkin import CHECKED_IN, attendance
from .errors import N_
from .live import CommandError, LiveStore, public, signature, view
from .web import Runtime, socketio

ORGANISERS = "organisers"
# A channel no client can join (a join names rooms of the timetable): what the processes
# sharing a message queue tell each other.
PROCESSES = "kiosk:processes"
# With a message queue, a process with organisers following arrivals says so to the
# others every WATCHING_EVERY seconds; they push their check-ins' counters for
# WATCHING_FOR seconds after the last word (two words may be lost).
WATCHING = "organisers_watching"
WATCHING_EVERY = 5.0
WATCHING_FOR = 3 * WATCHING_EVERY


def channel(room: str) -> str:
    return f"room:{room}"


def stage_channel(room: str) -> str:
    return f"stage:{room}"


def run_command(rt: Runtime, db, room: str, action: str, payload: Any) -> dict[str, Any]:
    """Apply an organiser command and broadcast the room's new state; return it."""
    if not isinstance(payload, dict):
        raise CommandError("invalid", N_("The body must be a JSON object."))
    version = payload.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise CommandError("invalid", N_("'version' must be a whole number."))
    now = rt.clock.now()
    store = LiveStore(db, rt.schedule)
    state = store.perform(room, action, payload, now, version)
    data = view(store.day(room), state, now, rt.clock.speed)
    if store.created:
        data["created"] = store.created
    broadcast_state(rt, data)
    # Let the screens' writers send before this request builds its own answer: under
    # gevent they only run when this greenlet yields, and the rooms come first.
    socketio.sleep(0)
    return data


def broadcast_state(rt: Runtime, data: dict[str, Any]) -> None:
    """Send a room's state to its screens and stages, and remember what they were sent."""
    rt.pushed[data["room"]] = signature(data)
    socketio.emit("state", public(data), to=channel(data["room"]))
    socketio.emit("state", data, to=stage_channel(data["room"]))


def announce_checkin(rt: Runtime, result: Any) -> None:
    """After a check-in (or an undo): counters soon, a VIP's arrival at once."""
    rt.attendance_dirty = True
    attendee = getattr(result, "attendee", None)
    if attendee is not None and attendee.vip and result.status == CHECKED_IN:
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


def flush_attendance(rt: Runtime, db, now: float | None = None) -> bool:
    """Push the counters to the organisers if a check-in changed them.

    At most once per tick (a second), however many kiosks scan meanwhile, and only when
    an organiser follows them, here or (with a message queue) in another process that
    said so: the counters cost two scans of the attendees (5 ms for 5,000), which must
    not be paid once per check-in, nor every second by every process of a busy welcome
    desk that nobody watches. Until someone does, the counters stay due.
    """
    if not rt.attendance_dirty or not organisers_watching(rt, now):
        return False
    rt.attendance_dirty = False
    socketio.emit("attendance", attendance(db, rt.schedule.event.tz), to=ORGANISERS)
    return True


def organisers_watching(rt: Runtime, now: float | None = None) -> bool:
    """Whether an organiser follows arrivals: connected here, or to another process that
    said so lately. (An organiser who opens a page gets the counters on joining.)"""
    if _anyone_in(ORGANISERS):
        return True
    now = time.monotonic() if now is None else now
    return rt.queue is not None and now < rt.organisers_elsewhere_until


def tell_watching(rt: Runtime, now: float | None = None, at_once: bool = False) -> bool:
    """With a message queue, tell the other processes that organisers here follow
    arrivals (every WATCHING_EVERY seconds; `at_once` when one has just started)."""
    now = time.monotonic() if now is None else now
    if rt.queue is None or not _anyone_in(ORGANISERS):
        return False
    if not at_once and now - rt.watching_told < WATCHING_EVERY:
        return False
    rt.watching_told = now
    socketio.emit(WATCHING, {}, to=PROCESSES)
    return True


def tick(rt: Runtime, db) -> list[str]:
    """Broadcast the rooms whose screen the clock has changed since their last push."""
    changed = []
    for room in rt.schedule.rooms:
        data = rt.room_view(db, room.id, full=True)
        if room.id not in rt.pushed:  # first look: screens got this state on joining
            rt.pushed[room.id] = signature(data)
        elif rt.pushed[room.id] != signature(data):
            broadcast_state(rt, data)
            changed.append(room.id)
    return changed


def resync(rt: Runtime, db, everywhere: bool = False) -> None:
    """Send this process's own screens, tablets and phones every room's state as it
    stands: after a message queue outage, during which the other processes' pushes
    were lost. `everywhere`: every process's, through the queue (this process's own
    pushes were lost to the others while it could not publish)."""
    for room in rt.schedule.rooms:
        data = rt.room_view(db, room.id, full=True)
        here = not everywhere
        socketio.emit("state", public(data), to=channel(room.id), ignore_queue=here)
        socketio.emit("state", data, to=stage_channel(room.id), ignore_queue=here)


def announce_queue(rt: Runtime, up: bool) -> None:
    """Tell this process's organisers whether the message queue is reachable: while it
    is not, their commands reach the screens connected to this process only."""
    socketio.emit("queue", {"up": up}, to=ORGANISERS, ignore_queue=True)


def heard(rt: Runtime, event: str, data: Any, to: str | None, now: float | None = None) -> None:
    """Another process pushed something: remember the states it sent the stages (the
    full ones), so that this process's clock ticker does not send them again; and
    whether organisers there follow arrivals."""
    if event == "state" and isinstance(data, dict) and to == stage_channel(data.get("room")):
        rt.pushed[data["room"]] = signature(data)
    elif event == WATCHING and to == PROCESSES:
        now = time.monotonic() if now is None else now
        rt.organisers_elsewhere_until = now + WATCHING_FOR


def run_ticker(rt: Runtime, log, interval: float = 1.0) -> None:
    """Background task of `kiosk serve`: follows the clock across block boundaries (in
    the process that owns the event's once-only jobs) and pushes this process's
    check-ins to the organisers."""
    db = database.connect(rt.pool.path)
    while True:
        try:
            if rt.queue is not None:
                rt.queue.probe()
            if rt.owner is None or rt.owner.try_take():
                tick(rt, db)
            tell_watching(rt)
            flush_attendance(rt, db)
        except Exception:  # a failed tick must not stop screens following the clock
            log.exception("clock tick failed")
        socketio.sleep(interval)
