"""The organiser's tablet: log in with the organiser secret, then steer the rooms."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from ..auth import (
    ORGANISER,
    check_token,
    csrf_ok,
    csrf_token,
    log_in,
    log_out,
    session_is_organiser,
)
from ..i18n import _
from ..live import Day, RoomState, room_blocks
from ..web import get_db, runtime

bp = Blueprint("organiser", __name__, url_prefix="/organiser")


def _printed_blocks(schedule) -> dict[str, list]:
    """Each room's blocks as printed, in the shape of the state's blocks: the tablet shows
    a block as the state's `edited` has it, else as printed (so an undo back to print
    shows print again without a reload). Printed turns are never cancelled, so the
    audience's filter in room_blocks() keeps them all."""
    day = Day.as_printed(schedule)
    return {room.id: room_blocks(day, RoomState(room.id)) for room in schedule.rooms}


def _login_page(error: str | None = None, status: int = 200):
    return render_template("login.html", error=error, csrf=csrf_token()), status


@bp.get("")
def tablet():
    """The tablet page; the organiser link (?token=…) logs the browser in once."""
    token = request.args.get("token")
    if token is not None:
        if check_token(token) != ORGANISER:
            return _login_page(_("This organiser link is not valid."), 403)
        log_in(ORGANISER)
        # Drop the secret from the address bar and history.
        return redirect(url_for("organiser.tablet"))
    if not session_is_organiser():
        return _login_page()
    rt = runtime()
    boot = rt.all_rooms_boot(get_db(), full=True)
    boot["printed"] = _printed_blocks(rt.schedule)
    return render_template(
        "organiser.html", schedule=rt.programme(get_db()), boot=boot, csrf=csrf_token()
    )


@bp.post("/login")
def login():
    """The login form: the organiser types the secret."""
    if not csrf_ok(request.form.get("csrf")):
        return _login_page(_("The form expired; please try again."), 403)
    if check_token(request.form.get("token", "").strip()) != ORGANISER:
        return _login_page(_("This organiser code is not valid."), 403)
    log_in(ORGANISER)
    return redirect(url_for("organiser.tablet"))


@bp.post("/logout")
def logout():
    """End this browser's organiser session: on the server too, and its open sockets."""
    if csrf_ok(request.form.get("csrf")):
        log_out()
    return redirect(url_for("organiser.tablet"))


@bp.get("/report")
def report_page():
    """The record of the day, to print: the organiser only (others get the login)."""
    if not session_is_organiser():
        return _login_page()
    from .. import i18n, report

    rt = runtime()
    built = report.build(get_db(), rt.schedule, rt.clock.now())
    lang = i18n.select_locale().language
    return render_template(
        "report.html",
        report=built,
        day=i18n.longdate(built.date),
        lang=lang,
        css=None,
        stylesheet=url_for("static", filename="css/report.css"),
        icon=url_for("static", filename="img/favicon.svg"),
        back=url_for("organiser.tablet"),
        **report.helpers(i18n.gettext, "," if lang == "fr" else "."),
    )
