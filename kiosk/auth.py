"""Who may control the screens: the organiser secret, as a Bearer token or a session.

Public pages are read-only. Control takes either `Authorization: Bearer <token>`
(integrations, scripts) or the session cookie set by the organiser link, and then a
CSRF token in `X-CSRF-Token`, since a browser sends cookies on its own.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from flask import abort, jsonify, make_response, request, session
from flask_babel import gettext as _

from .app import runtime


def fingerprint(token: str) -> str:
    # The session keeps a digest, not the secret; changing the secret ends old sessions.
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def token_is_organiser(candidate: object) -> bool:
    if not isinstance(candidate, str) or not candidate:
        return False
    return hmac.compare_digest(candidate.encode(), runtime().organiser_token.encode())


def log_in_organiser() -> None:
    session.clear()
    session["organiser"] = fingerprint(runtime().organiser_token)
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True


def session_is_organiser() -> bool:
    return hmac.compare_digest(
        str(session.get("organiser", "")), fingerprint(runtime().organiser_token)
    )


def csrf_token() -> str:
    """The session's anti-forgery token, created on first use."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def csrf_ok(sent: object) -> bool:
    expected = session.get("csrf")
    return bool(expected) and isinstance(sent, str) and hmac.compare_digest(sent, expected)


def _refuse(status: int, code: str, message: str):
    abort(make_response(jsonify(error=code, message=message), status))


def check_organiser() -> None:
    """Abort with 401/403 unless the request carries the organiser's authority."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token_is_organiser(token.strip()):
            _refuse(403, "forbidden", _("This token does not give control of the screens."))
        return
    if session_is_organiser():
        if request.method != "GET" and not csrf_ok(request.headers.get("X-CSRF-Token")):
            _refuse(403, "csrf", _("Missing or wrong X-CSRF-Token header; reload the page."))
        return
    _refuse(401, "unauthorized", _("Organiser secret required (Authorization: Bearer <token>)."))


def organiser_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        check_organiser()
        return view(*args, **kwargs)

    return wrapped
