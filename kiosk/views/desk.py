"""The welcome desk: the kiosk page, check-in and walk-in API, the organisers' side."""

from __future__ import annotations

import datetime as dt
import io
import json
import time

import qrcode
import qrcode.image.svg
from flask import (
    Blueprint,
    Response,
    abort,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from .. import attendees as people
from .. import checkin
from ..app import CSP, get_db, hm, runtime, translate
from ..auth import (
    KIOSK,
    ORGANISER,
    csrf_ok,
    csrf_token,
    device_name,
    log_in,
    required,
    session_is_organiser,
    session_role,
    token_role,
)
from ..events import announce_checkin
from ..live import N_

bp = Blueprint("desk", __name__)

FIELD_LABELS = {
    "civility": lambda: _("Civility"),
    "first_name": lambda: _("First name"),
    "last_name": lambda: _("Last name"),
    "organisation": lambda: _("Organisation"),
    "function": lambda: _("Function"),
    "email": lambda: _("Email"),
    "category": lambda: _("Category"),
    "body": lambda: _("Form"),
}


def _tz():
    return runtime().schedule.event.tz


def _now():
    return runtime().clock.now()


def categories() -> list[tuple[str, str]]:
    return [(key, _(label)) for key, label in people.CATEGORIES]


# --- the kiosk page --------------------------------------------------------------------


def _kiosk_login(error: str | None = None, status: int = 200):
    return render_template("kiosk_login.html", error=error, csrf=csrf_token()), status


@bp.get("/kiosk")
def kiosk():
    """The tablet at the entrance; its link (?token=…&device=…) logs it in once."""
    token = request.args.get("token")
    if token is not None:
        role = token_role(token)
        if role is None:
            return _kiosk_login(_("This kiosk link is not valid."), 403)
        log_in(role, device_name(request.args.get("device"), _("kiosk")))
        return redirect(url_for("desk.kiosk"))
    if session_role() not in (KIOSK, ORGANISER):
        return _kiosk_login()
    page = render_template(
        "kiosk.html",
        csrf=csrf_token(),
        categories=categories(),
        limits=people.LIMITS,
        civilities=people.CIVILITY_CHOICES,
        schedule=runtime().schedule,
        boot={"timezone": runtime().schedule.event.timezone, "locale": str(get_locale())},
    )
    # The QR decoder is WebAssembly: this page alone may compile it (still no inline
    # script, nothing from another origin). SiteHeaders leaves a view's own policy alone.
    return page, {"Content-Security-Policy": CSP + "; script-src 'self' 'wasm-unsafe-eval'"}


@bp.post("/kiosk/login")
def kiosk_login():
    """The kiosk's login form: the kiosk code and the device's name."""
    if not csrf_ok(request.form.get("csrf")):
        return _kiosk_login(_("The form expired; please try again."), 403)
    role = token_role(request.form.get("token", "").strip())
    if role is None:
        return _kiosk_login(_("This kiosk code is not valid."), 403)
    log_in(role, device_name(request.form.get("device"), _("kiosk")))
    return redirect(url_for("desk.kiosk"))


# --- check-in API ----------------------------------------------------------------------


def _greeting(result: checkin.Result) -> str:
    # translate(), not Flask-Babel's gettext: this runs on every scan (see app.translate).
    if result.status == checkin.CHECKED_IN:
        return translate(N_("Welcome, %(name)s"), name=result.attendee.display_name)
    if result.status == checkin.ALREADY:
        return translate(
            N_("Already checked in at %(time)s (%(kiosk)s)"),
            time=hm(result.checked_in_at.astimezone(_tz())),
            kiosk=result.kiosk,
        )
    if result.status == checkin.UNKNOWN:
        return translate(N_("Unknown code — please ask at the welcome desk"))
    return translate(N_("Unreadable code — please scan again or ask at the welcome desk"))


def _result_json(result: checkin.Result) -> dict:
    body = {"status": result.status, "message": _greeting(result)}
    if result.attendee is not None:
        body["attendee"] = {"display_name": result.attendee.display_name}
        body["checked_in_at"] = result.checked_in_at.isoformat()
        body["kiosk"] = result.kiosk
    return body


# jsonify goes through the app's JSON provider (a debug check, sorted keys, \u escapes):
# a third of a scan's answer in-process. The scan's answer is a plain dict of strings.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _scan_answer(body: dict, status: int = 200) -> Response:
    return Response(_encode(body), status, content_type="application/json")


@bp.post("/api/checkin")
@required(KIOSK, ORGANISER)
def api_checkin():
    """A kiosk (or an organiser) checks a code in."""
    rt = runtime()
    limiter = rt.failures
    kiosk = g.device
    device = f"{g.role}:{kiosk}:{request.remote_addr}"
    moment = time.monotonic()
    if limiter.blocked(device, moment):
        return jsonify(
            status="rate_limited",
            message=_(
                "Too many unknown codes from this kiosk: wait a minute, or ask at the welcome desk."
            ),
        ), 429
    payload = request.get_json(force=True, silent=True)
    code = payload.get("code") if isinstance(payload, dict) else None
    result = checkin.check_in(get_db(), code, kiosk, rt.clock.now())
    if result.status in (checkin.UNKNOWN, checkin.MALFORMED):
        limiter.failed(device, moment)
    if result.status == checkin.MALFORMED:
        return _scan_answer({**_result_json(result), "status": "invalid"}, 400)
    if result.status == checkin.UNKNOWN:
        return _scan_answer(_result_json(result), 404)
    announce_checkin(result, rt)
    return _scan_answer(_result_json(result))


@bp.post("/api/attendees")
@required(KIOSK, ORGANISER)
def api_walk_in():
    """A walk-in registers: created, checked in, and given a QR badge."""
    payload = request.get_json(force=True, silent=True)
    try:
        result = checkin.register_walk_in(get_db(), payload, g.device, _now())
    except people.InvalidField as exc:
        label = FIELD_LABELS[exc.field]() if exc.field in FIELD_LABELS else exc.field
        problem = _(exc.template, **exc.params)
        message = _("%(field)s: %(problem)s", field=label, problem=problem)
        return jsonify(status="invalid", field=exc.field, message=message), 400
    except checkin.ExistingAttendee as exc:
        return jsonify(
            status="existing",
            message=_(
                "%(name)s is already registered: please show your QR code, or ask at the welcome "
                "desk.",
                name=exc.attendee.full_name,
            ),
        ), 409
    announce_checkin(result)
    a = result.attendee
    return jsonify(
        status=result.status,
        message=_greeting(result),
        id=a.id,
        code=a.code,
        qr_url=url_for("desk.code_qr", code=a.code),
        attendee={
            "display_name": a.display_name,
            "civility": a.civility,
            "first_name": a.first_name,
            "last_name": a.last_name,
            "organisation": a.organisation,
            "function": a.function,
        },
    ), 201


@bp.get("/qr/code/<code>.svg")
def code_qr(code: str):
    """The QR image of a code: it carries the code and nothing else."""
    if not people.CODE.match(code):
        abort(400, _("This is not an attendee code."))
    image = qrcode.make(code, image_factory=qrcode.image.svg.SvgPathImage, border=2, box_size=10)
    out = io.BytesIO()
    image.save(out)
    return Response(
        out.getvalue(),
        mimetype="image/svg+xml",
        headers={"Cache-Control": "private, max-age=86400"},
    )


# --- organisers ------------------------------------------------------------------------


@bp.get("/api/attendance")
@required(ORGANISER)
def api_attendance():
    """Counters: expected, checked in, walk-ins, by category, arrivals over time."""
    return jsonify(checkin.attendance(get_db(), _tz()))


def _attendee_json(attendee: people.Attendee, checked_in_at: str | None) -> dict:
    return {
        "id": attendee.id,
        "civility": attendee.civility,
        "first_name": attendee.first_name,
        "last_name": attendee.last_name,
        "organisation": attendee.organisation,
        "function": attendee.function,
        "category": attendee.category,
        "vip": attendee.vip,
        "source": attendee.source,
        "checked_in_at": checked_in_at,
    }


@bp.get("/api/attendees")
@required(ORGANISER)
def api_search():
    """Accent-insensitive search on names and organisations (50 results at most)."""
    query = request.args.get("q", "")[:200]
    found = checkin.search(get_db(), query)
    return jsonify(attendees=[_attendee_json(a, at) for a, at in found])


def _organiser_refusal(exc: checkin.CheckinError):
    status = {"not_found": 404, "not_checked_in": 409}.get(exc.code, 400)
    return jsonify(error=exc.code, message=_(exc.template, **exc.params)), status


@bp.post("/api/attendees/<int:attendee_id>/checkin")
@required(ORGANISER)
def api_manual_checkin(attendee_id: int):
    """An organiser checks someone in by hand."""
    try:
        result = checkin.check_in_by_id(get_db(), attendee_id, g.device, _now())
    except checkin.CheckinError as exc:
        return _organiser_refusal(exc)
    announce_checkin(result)
    return jsonify(_result_json(result))


@bp.post("/api/attendees/<int:attendee_id>/undo")
@required(ORGANISER)
def api_undo(attendee_id: int):
    """An organiser cancels a check-in, saying why."""
    payload = request.get_json(force=True, silent=True)
    reason = payload.get("reason") if isinstance(payload, dict) else None
    try:
        checkin.undo(get_db(), attendee_id, g.device, reason, _now())
    except checkin.CheckinError as exc:
        return _organiser_refusal(exc)
    announce_checkin(None)
    return jsonify(status="undone")


def _organiser_page():
    if not session_is_organiser():
        return redirect(url_for("organiser.tablet"))
    return None


@bp.get("/organiser/attendees")
def attendees_page():
    """Arrivals live, search, manual check-in and undo, exports."""
    if (login := _organiser_page()) is not None:
        return login
    return render_template(
        "attendees.html",
        csrf=csrf_token(),
        schedule=runtime().schedule,
        categories=categories(),
        boot={
            "attendance": checkin.attendance(get_db(), _tz()),
            "categories": dict(categories()),
            "timezone": runtime().schedule.event.timezone,
            "locale": str(get_locale()),
        },
    )


@bp.get("/organiser/attendance.csv")
def attendance_csv():
    """The émargement as a spreadsheet."""
    if (login := _organiser_page()) is not None:
        return login
    text = people.export_attendance(get_db(), _tz())
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
    if (login := _organiser_page()) is not None:
        return login
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
    if (login := _organiser_page()) is not None:
        return login
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
