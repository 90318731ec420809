"""The lectern's screen (its own read-only secret) and the stream's lower third (public).

The stage secret reads a room's full state (the organiser's private word for the speaker)
and nothing else: it steers nothing and checks nobody in (auth.required leaves it out).
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from ..auth import STAGE, check_token, session_is_organiser
from ..i18n import _, select_locale
from ..web import get_db, runtime

bp = Blueprint("stage", __name__)


def _room_boot(room: str, full: bool) -> dict:
    rt = runtime()
    if rt.schedule.room(room) is None:
        abort(404)
    return {
        "room": room,
        "state": rt.room_view(get_db(), room, full),
        "timezone": rt.schedule.event.timezone,
        "locale": str(select_locale()),
    }


@bp.get("/stage/<room>")
def stage(room: str):
    """The confidence monitor at the lectern: its link (?key=…) or an organiser's session."""
    key = request.args.get("key")
    allowed = (key is not None and check_token(key) == STAGE) or session_is_organiser()
    if not allowed:
        message = _(
            "This stage link is not valid. Ask an organiser for the stage link "
            "(printed by “kiosk serve” and “kiosk stage-link”)."
        )
        return render_template("error.html", code=403, message=message), 403
    boot = _room_boot(room, full=True)
    # The page joins its room's stage with the secret: the organiser's browser gets it too
    # (it may read everything), so that its screen does not depend on the session's life.
    boot["stage"] = runtime().stage_token
    page = render_template("stage.html", schedule=runtime().schedule, boot=boot)
    # The page carries the secret: never cached, never sent on in a Referer (SiteHeaders
    # adds « Referrer-Policy: no-referrer » to every answer).
    return page, {"Cache-Control": "no-store"}


@bp.get("/overlay/<room>")
def overlay(room: str):
    """The lower third for a stream's browser source (OBS, vMix): the audience's state only."""
    boot = _room_boot(room, full=False)
    return render_template("overlay.html", schedule=runtime().schedule, boot=boot)
