"""Public, read-only pages: room screens, the phone programme, the QR code."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from flask import Blueprint, Response, abort, current_app, render_template, request, url_for

from .. import ical
from .. import programme as programmes
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
    """The day on a phone: what is on now in every room, then the day's list by time, a
    screenful from now (« Plus tôt », « Plus tard »), filtered by ?room= and searched
    by ?q=; the page follows the rooms live with its script, and reads without it."""
    rt = runtime()
    db = get_db()
    schedule = rt.programme(db)
    tz = schedule.event.tz
    now = rt.clock.now()
    states = [rt.room_view(db, r.id) for r in schedule.rooms]
    days = schedule.days()
    asked = request.args.get("day", "")
    day = next((d for d in days if d.isoformat() == asked), None) or programmes.day_of(
        schedule, now
    )
    room = request.args.get("room") or None
    if room is not None and schedule.room(room) is None:
        room = None
    query = request.args.get("q", "")[:100]
    listing = (
        programmes.listing(
            schedule,
            day,
            now,
            room=room,
            query=query,
            start=programmes.clock_time(day, request.args.get("from"), tz),
        )
        if day
        else programmes.Listing([], whole=True)
    )
    # What the script needs beyond the page: the rooms, and the print of blocks the day
    # has edited, should an undo take them back to it. The rooms' states come with the
    # socket's join: not 37 KB of them twice.
    boot = {
        "rooms": [r.id for r in schedule.rooms],
        "room_names": {r.id: r.name for r in schedule.rooms},
        "day": day.isoformat() if day else None,
        "timezone": schedule.event.timezone,
        "locale": str(select_locale()),
        "whole": listing.whole,
        "printed": {
            b.id: {
                "start": b.start.isoformat(),
                "end": b.end.isoformat(),
                "turns": [t.to_json() for t in heard(b)],
            }
            for b in rt.schedule.blocks
            if schedule.block(b.id) != b
        },
    }
    live = {s["room"]: s for s in states}
    here = {"day": day.isoformat() if asked and day and len(days) > 1 else None, "room": room}

    def paged(moment):
        return (
            url_for("public.programme", **here, **{"from": f"{moment:%H:%M}"}) if moment else None
        )

    page = render_template(
        "programme.html",
        schedule=schedule,
        boot=boot,
        day=day,
        days=days,
        now=programmes.now_lines(states, tz),
        live=live,
        listing=listing,
        room=room,
        query=query,
        moved_times=programmes.projected_times(states, tz),
        earlier_url=paged(listing.earlier),
        later_url=paged(listing.later),
    )
    response = Response(page, content_type="text/html; charset=utf-8")
    response.vary.add("Cookie")  # the language (?lang=en, remembered in a cookie)
    return public_read(response, compress=True)


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
