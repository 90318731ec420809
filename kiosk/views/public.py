"""Public, read-only pages: room screens, the phone programme, the QR code."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from flask import Blueprint, Response, abort, current_app, render_template, url_for

from .. import ical
from ..i18n import gettext, select_locale
from ..live import LiveStore, heard, room_blocks
from ..web import get_db, public_read, runtime

bp = Blueprint("public", __name__)


def programme_url() -> str:
    # From the configuration only (`kiosk serve` sets it from --public-url or its own
    # address), never from the request's Host header: whoever sends the request writes
    # that, and the QR code it would go into is shown on every screen.
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for("public.programme")


@bp.get("/")
def index():
    """A landing page linking each audience to its page."""
    return render_template("index.html", schedule=runtime().schedule)


@bp.get("/screen/<room>")
def screen(room: str):
    """The room's TV or projector."""
    rt = runtime()
    if rt.schedule.room(room) is None:
        abort(404)
    store = LiveStore(get_db(), rt.schedule)
    boot = {
        "room": room,
        "state": rt.room_view(get_db(), room),
        "blocks": room_blocks(store.day(room), store.state(room)),
        "timezone": rt.schedule.event.timezone,
        "locale": str(select_locale()),
    }
    return render_template(
        "screen.html", schedule=rt.schedule, boot=boot, programme_url=programme_url()
    )


@bp.get("/programme")
def programme():
    """The whole day on a phone, the current item highlighted live."""
    rt = runtime()
    boot = rt.all_rooms_boot(get_db())
    programme = rt.programme(get_db())
    # Blocks the day has edited are served as they stand; should an undo take them back
    # to print, the page needs print (the others it has).
    boot["printed"] = {
        b.id: {
            "start": b.start.isoformat(),
            "end": b.end.isoformat(),
            "turns": [t.to_json() for t in heard(b)],
        }
        for b in rt.schedule.blocks
        if programme.block(b.id) != b
    }
    return render_template("programme.html", schedule=programme, boot=boot)


@bp.get("/programme.ics")
def programme_calendar():
    """The programme as it now stands, for phones' calendars: the declared delays applied
    to the blocks still to come, cancelled speakers left out."""
    rt = runtime()
    db = get_db()
    projected = {}
    for room in rt.schedule.rooms:
        projected.update(rt.room_view(db, room.id)["projected"])
    text = ical.build(
        rt.programme(db), projected, ical.last_change(db), gettext, page=programme_url()
    )
    response = Response(text, content_type="text/calendar; charset=utf-8")
    response.vary.add("Cookie")  # the language (?lang=en, remembered in a cookie)
    return public_read(response, compress=True)


@bp.get("/qr/programme.svg")
def programme_qr():
    """QR code of the phone programme's address, for the room screens."""
    image = qrcode.make(
        programme_url(),
        image_factory=qrcode.image.svg.SvgPathImage,
        box_size=10,
        border=2,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
    )
    out = io.BytesIO()
    image.save(out)
    return Response(
        out.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "public, max-age=300"}
    )
