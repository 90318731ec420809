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


def _link_login(endpoint: str):
    """The organiser link (?token=…) logs the browser in once, then comes back to
    `endpoint` without the secret in the address bar and history; None: no token given."""
    token = request.args.get("token")
    if token is None:
        return None
    if check_token(token) != ORGANISER:
        return _login_page(_("This organiser link is not valid."), 403)
    log_in(ORGANISER)
    return redirect(url_for(endpoint))


@bp.get("")
def tablet():
    """The tablet page; the organiser link (?token=…) logs the browser in once."""
    answer = _link_login("organiser.tablet")
    if answer is not None:
        return answer
    if not session_is_organiser():
        return _login_page()
    rt = runtime()
    boot = rt.all_rooms_boot(get_db(), full=True)
    boot["printed"] = _printed_blocks(rt.schedule)
    return render_template(
        "organiser.html", schedule=rt.programme(get_db()), boot=boot, csrf=csrf_token()
    )


@bp.get("/board")
def board():
    """The régie's board: every room on one screen, each tile opening that room's controls.

    Organisers only, as the tablet: the stage's private word is on it."""
    answer = _link_login("organiser.board")
    if answer is not None:
        return answer
    if not session_is_organiser():
        return _login_page()
    rt = runtime()
    db = get_db()
    return render_template(
        "board.html", schedule=rt.programme(db), boot=rt.all_rooms_boot(db, full=True)
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
