"""The JSON API: read the programme and room states; organisers steer rooms and edit the
running order."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..auth import organiser_required
from ..errors import N_, Refusal
from ..live import COMMANDS, heard
from ..order import find_turn
from ..push import run_command
from ..web import get_db, public_read, runtime

bp = Blueprint("api", __name__, url_prefix="/api")


def _known_room(room: str) -> None:
    if runtime().schedule.room(room) is None:
        raise Refusal("not_found", N_("Unknown room “%(room)s”."), room=room)


def _body() -> dict:
    """The request's JSON object ({} when empty), or a 400 saying what is wrong."""
    payload: object = {}
    if request.get_data(cache=True).strip():
        payload = request.get_json(force=True, silent=True)
        if payload is None:
            raise Refusal("invalid", N_("The body is not valid JSON."))
    if not isinstance(payload, dict):
        raise Refusal("invalid", N_("The body must be a JSON object."))
    return payload


@bp.get("/schedule")
def schedule():
    """The event, its rooms and every block with its running order as it now stands
    (the day's edits included, cancelled turns left out)."""
    programme = runtime().programme(get_db())
    data = programme.to_json()
    for block, as_run in zip(data["blocks"], programme.blocks, strict=True):
        kept = {t.id for t in heard(as_run)}
        block["turns"] = [t for t in block["turns"] if t["id"] in kept]
    return public_read(jsonify(data), compress=True)


@bp.get("/rooms/<room>/state")
def state(room: str):
    """What the room's screens show now."""
    _known_room(room)
    return public_read(jsonify(runtime().room_view(get_db(), room)))


@bp.post("/rooms/<room>/<action>")
@organiser_required
def command(room: str, action: str):
    """A command for the room (live.COMMANDS), for the organiser only."""
    _known_room(room)
    if action not in COMMANDS:
        raise Refusal("not_found", N_("Unknown command “%(action)s”."), action=action)
    return jsonify(run_command(runtime(), get_db(), room, action, _body()))


def _block_room(block_id: str) -> str:
    block = runtime().programme(get_db()).block(block_id)
    if block is None:
        raise Refusal("not_found", N_("Unknown session “%(session)s”."), session=block_id)
    return block.room


@bp.post("/blocks/<block_id>/turns")
@organiser_required
def insert_turn(block_id: str):
    """Add a turn (civility, name, function, role, minutes) before `before` (a turn id;
    null or absent: at the end). 201 with the new turn's id and the room's state."""
    body = _body()
    room = _block_room(block_id)
    data = run_command(runtime(), get_db(), room, "insert", {**body, "session": block_id})
    return jsonify({"id": data["created"], "state": data}), 201


@bp.patch("/turns/<turn_id>")
@organiser_required
def update_turn(turn_id: str):
    """Correct a turn: civility, name, function, role, minutes, cancelled."""
    body = _body()
    found = find_turn(runtime().programme(get_db()), turn_id)
    if found is None:
        raise Refusal("not_found", N_("Unknown turn “%(turn)s”."), turn=turn_id)
    data = run_command(runtime(), get_db(), found[0].room, "update", {**body, "turn": turn_id})
    return jsonify(data)


@bp.post("/blocks/<block_id>/order")
@organiser_required
def reorder(block_id: str):
    """The block's running order: `turns`, every turn id of the block in the new order."""
    body = _body()
    room = _block_room(block_id)
    data = run_command(runtime(), get_db(), room, "reorder", {**body, "session": block_id})
    return jsonify(data)


@bp.patch("/blocks/<block_id>")
@organiser_required
def block_times(block_id: str):
    """A block's new times (`start`, `end`: HH:MM) and its turns' budget (`turn_minutes`)."""
    body = _body()
    room = _block_room(block_id)
    data = run_command(runtime(), get_db(), room, "times", {**body, "session": block_id})
    return jsonify(data)


@bp.get("/report")
@organiser_required
def day_report():
    """The record of the day (kiosk.report): each block and turn, planned and actual."""
    from .. import report

    rt = runtime()
    return jsonify(report.to_json(report.build(get_db(), rt.schedule, rt.clock.now())))
