"""Who may do what: the organiser secret and the kiosk secret.

Public pages are read-only. Two roles hold a secret:

- organiser: controls the screens, sees and manages attendees (and may check people in);
- kiosk: a welcome-desk device; it can check people in and register walk-ins, nothing else.

A request proves its role with `Authorization: Bearer <secret>` (integrations, scripts), or
with the session cookie set by the role's link, plus a CSRF token in `X-CSRF-Token`,
since a browser sends cookies on its own.

What the server remembers about that (`Access`): the throttles on wrong secrets and
unknown codes, each keyed by what a client cannot choose (its address and the secret it
proved).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import secrets
import time
import unicodedata
from collections.abc import Callable

from flask import current_app, g, request, session

from .checkin import FailureLimiter
from .errors import N_, Refusal
from .i18n import gettext
from .web import runtime

ORGANISER = "organiser"
KIOSK = "kiosk"


class RateLimited(Refusal):
    """Too many failures from one client: it may try again in `retry_after` seconds."""

    def __init__(self, message: str, wait: float):
        super().__init__("rate_limited", message)
        self.retry_after = max(1, math.ceil(wait))

    def details(self) -> dict[str, int]:
        return {"retry_after": self.retry_after}


class Access:
    """The throttles, each kept in memory by this process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        # Wrong secrets per client address (links, login forms, Bearer headers, sockets).
        self.tokens = FailureLimiter(limit=10, window=60)
        # Unknown codes per client (address and role): ten a minute, then told to wait.
        self.unknown_codes = FailureLimiter(limit=10, window=60)


def access() -> Access:
    return current_app.extensions["access"]


def fingerprint(token: str) -> str:
    # The session keeps a digest, not the secret; changing the secret ends old sessions.
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def _secret(role: str) -> str:
    rt = runtime()
    return rt.organiser_token if role == ORGANISER else rt.kiosk_token


def token_role(candidate: object) -> str | None:
    """The role a secret gives, if any (compared in constant time, not throttled)."""
    if not isinstance(candidate, str) or not candidate:
        return None
    rt = runtime()
    sent = candidate.encode()
    for role, secret in ((ORGANISER, rt.organiser_token), (KIOSK, rt.kiosk_token)):
        if hmac.compare_digest(sent, secret.encode()):
            return role
    return None


def check_token(candidate: object) -> str | None:
    """The role a secret sent by this client gives, if any; wrong ones are counted.

    A client address that sent ten wrong secrets in a minute is refused (429, Retry-After)
    without its secret being compared, right or wrong: otherwise the answer would still
    tell a guess that works.
    """
    acc = access()
    client = request.environ.get("REMOTE_ADDR", "")
    now = acc.clock()
    wait = acc.tokens.retry_after(client, now)
    if wait:
        raise RateLimited(N_("Too many wrong secrets from this address: try again later."), wait)
    role = token_role(candidate)
    if role is None:
        acc.tokens.failed(client, now)
    return role


def client_key(role: str) -> tuple[str, str]:
    """Who a throttle counts: the client's address and the secret it proved."""
    return request.environ.get("REMOTE_ADDR", ""), role


def device_name(value: object, default: str) -> str:
    """A kiosk's name as given in its link: short printable text, or the default."""
    if not isinstance(value, str):
        return default
    return _printable(value[:200]) or default


# A kiosk sends its name with every scan: cleaning it character by character was 3 % of
# a check-in. A handful of names per event; the bound keeps a hostile client from
# growing it.
@functools.lru_cache(maxsize=256)
def _printable(value: str) -> str:
    text = "".join(c for c in value if unicodedata.category(c)[0] in "LNPZ")
    return " ".join(text.split())[:40]


def log_in(role: str, device: str | None = None) -> None:
    session.clear()
    session["role"] = role
    session["secret"] = fingerprint(_secret(role))
    session["device"] = device or gettext("organisation")
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True


def session_role() -> str | None:
    role = session.get("role")
    if role not in (ORGANISER, KIOSK):
        return None
    if not hmac.compare_digest(str(session.get("secret", "")), fingerprint(_secret(role))):
        return None
    return role


def session_is_organiser() -> bool:
    return session_role() == ORGANISER


def csrf_token() -> str:
    """The session's anti-forgery token, created on first use."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def csrf_ok(sent: object) -> bool:
    expected = session.get("csrf")
    return bool(expected) and isinstance(sent, str) and hmac.compare_digest(sent, expected)


def authenticate() -> tuple[str, str]:
    """(role, device) of the request; a Refusal (401, 403, 429) if it proves none."""
    # Straight from the WSGI environ: werkzeug's header look-up normalises the name on
    # every call, and this runs on every scan.
    environ = request.environ
    header = environ.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _sep, token = header.partition(" ")
        role = check_token(token.strip() if scheme.lower() == "bearer" else None)
        if role is None:
            raise Refusal("forbidden", N_("This token is not valid here."))
        if role == KIOSK:
            return role, device_name(environ.get("HTTP_X_KIOSK_DEVICE"), "api")
        return role, gettext("organisation")
    role = session_role()
    if role is None:
        raise Refusal("unauthorized", N_("Secret required (Authorization: Bearer <token>)."))
    if request.method != "GET" and not csrf_ok(request.headers.get("X-CSRF-Token")):
        raise Refusal("csrf", N_("Missing or wrong X-CSRF-Token header; reload the page."))
    return role, str(session.get("device", ""))


def authorize(*roles: str) -> None:
    """Let the request go on only for these roles; they are then in g.role and g.device."""
    role, g.device = authenticate()
    if role not in roles:
        raise Refusal("forbidden", N_("This secret does not allow that."))
    g.role = role


def required(*roles: str):
    """A view for these roles only (see authorize)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            authorize(*roles)
            return view(*args, **kwargs)

        return wrapped

    return decorate


organiser_required = required(ORGANISER)
