"""The organisers' side of the welcome desk: arrivals live, search, manual check-in and
undo, the émargement, the sign-in sheet and the badges.

Organisers only, checked once for the whole blueprint: API calls prove the organiser
role (Bearer secret, or the session and its CSRF token); pages send anyone else to the
organiser login.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, g, redirect, render_template, request, url_for

from .. import attendees as people
from .. import checkin
from ..auth import ORGANISER, authorize, csrf_token, session_is_organiser
from ..i18n import categories, gettext, hm, select_locale
from ..push import announce_checkin
from ..web import get_db, runtime
from .answers import checkin_json

bp = Blueprint("arrivals", __name__)


@bp.before_request
def organisers_only():
    if request.path.startswith("/api/"):
        authorize(ORGANISER)
    elif not session_is_organiser():
        return redirect(url_for("organiser.tablet"))
    return None


def _tz():
    return runtime().schedule.event.tz


# --- the API -----------------------------------------------------------------------------


@bp.get("/api/attendance")
def api_attendance():
    """Counters: expected, checked in, walk-ins, by category, arrivals over time."""
    return checkin.attendance(get_db(), _tz())


def _attendee_json(attendee: people.Attendee, checked_in_at: str | None) -> dict:
    return {
        "id": attendee.id,
        "civility": attendee.civility,
        "first_name": attendee.first_name,
        "last_name": attendee.last_name,
        "organisation": attendee.organisation,
        "function": attendee.function,
        "category": attendee.category,
        # A walk-in typed their own function at the kiosk: not a VIP on their say-so.
        "vip": attendee.vip,
        "source": attendee.source,
        "checked_in_at": checked_in_at,
    }


@bp.get("/api/attendees")
def api_search():
    """Accent-insensitive search on names and organisations (50 results at most)."""
    query = request.args.get("q", "")[:200]
    found = checkin.search(get_db(), query)
    return {"attendees": [_attendee_json(a, at) for a, at in found]}


@bp.post("/api/attendees/<int:attendee_id>/checkin")
def api_manual_checkin(attendee_id: int):
    """An organiser checks someone in by hand."""
    rt = runtime()
    result = checkin.check_in_by_id(get_db(), attendee_id, g.device, rt.clock.now())
    announce_checkin(rt, result)
    return checkin_json(result)


@bp.post("/api/attendees/<int:attendee_id>/undo")
def api_undo(attendee_id: int):
    """An organiser cancels a check-in, saying why."""
    rt = runtime()
    payload = request.get_json(force=True, silent=True)
    reason = payload.get("reason") if isinstance(payload, dict) else None
    checkin.undo(get_db(), attendee_id, g.device, reason, rt.clock.now())
    announce_checkin(rt, None)
    return {"status": "undone"}


# --- pages -------------------------------------------------------------------------------


@bp.get("/organiser/attendees")
def attendees_page():
    """Arrivals live, search, manual check-in and undo, exports."""
    return render_template(
        "attendees.html",
        csrf=csrf_token(),
        schedule=runtime().schedule,
        categories=categories(),
        boot={
            "attendance": checkin.attendance(get_db(), _tz()),
            "categories": dict(categories()),
            "timezone": runtime().schedule.event.timezone,
            "locale": str(select_locale()),
        },
    )


@bp.get("/organiser/attendance.csv")
def attendance_csv():
    """The émargement as a spreadsheet."""
    text = people.export_attendance(get_db(), _tz(), gettext)
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=emargement.csv"},
    )


def _everyone():
    rows = people.rows_with_checkins(get_db())
    return [(people.from_row(r[:11]), r[11], r[12]) for r in rows]


@bp.get("/organiser/sign-in-sheet")
def sign_in_sheet():
    """A printable sign-in sheet sorted by name."""
    tz = _tz()
    rows = [
        (a, hm(dt.datetime.fromisoformat(at).astimezone(tz)) if at else "")
        for a, at, _k in _everyone()
    ]
    return render_template("sign_in_sheet.html", rows=rows, schedule=runtime().schedule)


BADGES_PER_PAGE = 96  # twelve A4 sheets of eight badges


@bp.get("/organiser/badges")
def badges():
    """A4 sheets of badges (name, function, organisation, QR) to print from the browser."""
    everyone = [a for a, _at, _k in _everyone()]
    page = request.args.get("page", 1, type=int) or 1
    pages = max(1, -(-len(everyone) // BADGES_PER_PAGE))
    page = min(max(page, 1), pages)
    shown = everyone[(page - 1) * BADGES_PER_PAGE : page * BADGES_PER_PAGE]
    return render_template(
        "badges.html",
        badges=shown,
        page=page,
        pages=pages,
        schedule=runtime().schedule,
        category_names=dict(categories()),
    )
