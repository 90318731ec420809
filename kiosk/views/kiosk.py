"""The welcome desk's kiosk: its page and login, scans, walk-ins and their QR badges.

A kiosk's secret allows this and nothing else; the organiser's allows it too.
"""

from __future__ import annotations

import io
import math

import qrcode
import qrcode.image.svg
from flask import (
    Blueprint,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from .. import attendees as people
from .. import checkin
from ..auth import (
    KIOSK,
    ORGANISER,
    RateLimited,
    access,
    check_token,
    client_key,
    csrf_ok,
    csrf_token,
    device_name,
    log_in,
    required,
    session_is_organiser,
    session_role,
)
from ..errors import N_, Refusal
from ..i18n import _, categories, select_locale
from ..push import announce_checkin
from ..web import CSP, get_db, json_response, runtime
from .answers import checkin_json, greeting

bp = Blueprint("kiosk", __name__)


def _login_page(error: str | None = None, status: int = 200):
    return render_template("kiosk_login.html", error=error, csrf=csrf_token()), status


@bp.get("/kiosk")
def kiosk():
    """The tablet at the entrance; its link (?token=…&device=…) logs it in once."""
    token = request.args.get("token")
    if token is not None:
        role = check_token(token)
        if role is None:
            return _login_page(_("This kiosk link is not valid."), 403)
        device = device_name(request.args.get("device"), _("kiosk"))
        if role == KIOSK and session_is_organiser():
            # A kiosk link opened by mistake must not end an organiser's session behind
            # their back: they are asked first. The link's secret has been checked; the
            # session (signed, not encrypted) keeps only which kiosk to become.
            session["kiosk_switch"] = device
            return redirect(url_for("kiosk.switch"))
        log_in(role, device)
        return redirect(url_for("kiosk.kiosk"))
    if session_role() not in (KIOSK, ORGANISER):
        return _login_page()
    page = render_template(
        "kiosk.html",
        csrf=csrf_token(),
        categories=categories(),
        limits=people.LIMITS,
        civilities=people.CIVILITY_CHOICES,
        schedule=runtime().schedule,
        boot={"timezone": runtime().schedule.event.timezone, "locale": str(select_locale())},
    )
    # The QR decoder is WebAssembly: this page alone may compile it (still no inline
    # script, nothing from another origin). SiteHeaders leaves a view's own policy alone.
    return page, {"Content-Security-Policy": CSP + "; script-src 'self' 'wasm-unsafe-eval'"}


@bp.post("/kiosk/login")
def kiosk_login():
    """The kiosk's login form: the kiosk code and the device's name."""
    if not csrf_ok(request.form.get("csrf")):
        return _login_page(_("The form expired; please try again."), 403)
    role = check_token(request.form.get("token", "").strip())
    if role is None:
        return _login_page(_("This kiosk code is not valid."), 403)
    log_in(role, device_name(request.form.get("device"), _("kiosk")))
    return redirect(url_for("kiosk.kiosk"))


@bp.route("/kiosk/switch", methods=["GET", "POST"])
def switch():
    """An organiser's browser that opened a kiosk link: stay organiser, or become the kiosk."""
    device = session.get("kiosk_switch")
    if not isinstance(device, str) or not session_is_organiser():
        return redirect(url_for("kiosk.kiosk"))
    if request.method == "POST" and csrf_ok(request.form.get("csrf")):
        log_in(KIOSK, device)  # ends the organiser session, its copies and its sockets
        return redirect(url_for("kiosk.kiosk"))
    return render_template("kiosk_switch.html", device=device, csrf=csrf_token())


@bp.post("/api/checkin")
@required(KIOSK, ORGANISER)
def api_checkin():
    """A kiosk (or an organiser) checks a code in.

    The answer is the scan's outcome, whatever it is: `status` says which (checked_in,
    already_checked_in, unknown, invalid, rate_limited), `message` what to show.

    A valid code is always checked in: the throttle counts unknown codes only, per
    client (its address and secret, not the name it sends), and a client past ten a
    minute is told to wait for its unknown codes alone. Text not shaped like a code (a
    web address in someone else's QR code) is answered « unreadable » and not counted:
    it is no guess at a code.
    """
    rt = runtime()
    payload = request.get_json(force=True, silent=True)
    code = payload.get("code") if isinstance(payload, dict) else None
    result = checkin.check_in(get_db(), code, g.device, rt.clock.now())
    if result.status in (checkin.MALFORMED, checkin.NOT_A_TICKET):
        return json_response({**checkin_json(result), "status": "invalid"}, 400)
    if result.status == checkin.UNKNOWN:
        acc = access()
        client, now = client_key(g.role), acc.clock()
        wait = acc.unknown_codes.retry_after(client, now)
        # Counted even when refused: a client that keeps guessing stays refused.
        acc.unknown_codes.failed(client, now)
        if wait:
            message = _(
                "Too many unknown codes from this kiosk: wait a minute, or ask at the welcome desk."
            )
            body = {"status": "rate_limited", "message": message}
            return json_response(body, 429, {"Retry-After": str(math.ceil(wait))})
        return json_response(checkin_json(result), 404)
    announce_checkin(rt, result)
    return json_response(checkin_json(result))


@bp.post("/api/attendees")
@required(KIOSK, ORGANISER)
def api_walk_in():
    """A walk-in registers: created, checked in, and given a QR badge.

    The form faces the public, so what it answers is for whoever typed it: a name
    already registered is refused without saying whose record it matched, the typed
    function makes no one a VIP (no alert goes out), and a kiosk registers at most ten
    walk-ins in five minutes (an organiser is not counted).
    """
    rt = runtime()
    acc = access()
    client, now = client_key(g.role), acc.clock()
    if g.role == KIOSK:
        wait = acc.walk_ins.retry_after(client, now)
        if wait:
            raise RateLimited(
                N_("Too many registrations from this kiosk: please ask at the welcome desk."),
                wait,
            )
    payload = request.get_json(force=True, silent=True)
    try:
        result = checkin.register_walk_in(get_db(), payload, g.device, rt.clock.now())
    except checkin.ExistingAttendee:
        if g.role == KIOSK:
            acc.walk_ins.failed(client, now)
        raise Refusal(
            "existing",
            N_(
                "This name is already registered: please show your QR code, or ask at "
                "the welcome desk."
            ),
        ) from None
    if g.role == KIOSK:
        acc.walk_ins.failed(client, now)
    a = result.attendee
    announce_checkin(rt, result)  # never a VIP alert: a walk-in is no VIP (checkin.py)
    body = {
        "status": result.status,
        "message": greeting(result),
        "id": a.id,
        "code": a.code,
        "qr_url": url_for("kiosk.code_qr", code=a.code),
        "attendee": {
            "display_name": a.display_name,
            "civility": a.civility,
            "first_name": a.first_name,
            "last_name": a.last_name,
            "organisation": a.organisation,
            "function": a.function,
        },
    }
    return json_response(body, 201)


@bp.get("/qr/code/<code>.svg")
def code_qr(code: str):
    """The QR image of a code: it carries the code and nothing else."""
    if not people.CODE.match(code):
        abort(400, _("This is not an attendee code."))
    image = qrcode.make(code, image_factory=qrcode.image.svg.SvgPathImage, border=2, box_size=10)
    out = io.BytesIO()
    image.save(out)
    # A guest's code is what checks them in: its image is not kept in a browser's cache
    # (SiteHeaders marks every answer no-store unless its view says otherwise).
    return Response(out.getvalue(), mimetype="image/svg+xml")
