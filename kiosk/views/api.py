"""The JSON API: read the timetable and room states; organisers send commands."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..auth import organiser_required
from ..errors import N_, Refusal
from ..live import COMMANDS
from ..push import run_command
from ..web import get_db, runtime

bp = Blueprint("api", __name__, url_prefix="/api")


def _known_room(room: str) -> None:
    if runtime().schedule.room(room) is None:
        raise Refusal("not_found", N_("Unknown room “%(room)s”."), room=room)


@bp.get("/schedule")
def schedule():
    """The event, its rooms and every block with its running order."""
    return jsonify(runtime().schedule.to_json())


@bp.get("/rooms/<room>/state")
def state(room: str):
    """What the room's screens show now."""
    _known_room(room)
    return jsonify(runtime().room_view(get_db(), room))


@bp.post("/rooms/<room>/<action>")
@organiser_required
def command(room: str, action: str):
    """next, previous, goto, delay, message or auto, for the organiser only."""
    _known_room(room)
    if action not in COMMANDS:
        raise Refusal("not_found", N_("Unknown command “%(action)s”."), action=action)
    payload: object = {}
    if request.get_data(cache=True).strip():
        payload = request.get_json(force=True, silent=True)
        if payload is None:
            raise Refusal("invalid", N_("The body is not valid JSON."))
    return jsonify(run_command(runtime(), get_db(), room, action, payload))
