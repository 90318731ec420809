"""The JSON API: read the timetable and room states; organisers send commands."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, make_response, request
from flask_babel import gettext as _

from ..app import get_db, runtime
from ..auth import organiser_required
from ..events import refusal, run_command
from ..live import COMMANDS, CommandError

bp = Blueprint("api", __name__, url_prefix="/api")


def _known_room(room: str) -> None:
    if runtime().schedule.room(room) is None:
        message = _("Unknown room “%(room)s”.", room=room)
        abort(make_response(jsonify(error="not_found", message=message), 404))


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
        return jsonify(
            error="not_found", message=_("Unknown command “%(action)s”.", action=action)
        ), 404
    payload: object = {}
    if request.get_data(cache=True).strip():
        payload = request.get_json(force=True, silent=True)
        if payload is None:
            return jsonify(error="invalid", message=_("The body is not valid JSON.")), 400
    try:
        return jsonify(run_command(room, action, payload))  # type: ignore[arg-type]
    except CommandError as exc:
        body, status = refusal(exc)
        return jsonify(body), status
