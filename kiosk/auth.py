"""Who may do what: the organiser secret and the kiosk secret.

Public pages are read-only. Two roles hold a secret:

- organiser: controls the screens, sees and manages attendees (and may check people in);
- kiosk: a welcome-desk device; it can check people in and register walk-ins, nothing else.

A request proves its role with `Authorization: Bearer <secret>` (integrations, scripts), or
with the session cookie set by the role's link, plus a CSRF token in `X-CSRF-Token`,
since a browser sends cookies on its own.

What the server remembers about that (`Access`): sessions ended by a logout, which the
signed cookie alone could not forget; which sockets hold organiser rights, and for which
browser; and the throttles on wrong secrets, unknown codes and walk-ins, each keyed by
what a client cannot choose (its address and the secret it proved).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import math
import secrets
import time
import unicodedata
from collections.abc import Callable
from typing import NamedTuple
from urllib.parse import parse_qs

from flask import current_app, g, request, session

from . import db as database
from .checkin import FailureLimiter
from .errors import N_, Refusal
from .i18n import gettext
from .push import PROCESSES
from .web import get_db, runtime, socketio

ORGANISER = "organiser"
KIOSK = "kiosk"
STAGE = "stage"  # the lectern's screen: reads its room's full state, nothing else


class RateLimited(Refusal):
    """Too many failures from one client: it may try again in `retry_after` seconds."""

    def __init__(self, message: str, wait: float):
        super().__init__("rate_limited", message)
        self.retry_after = max(1, math.ceil(wait))

    def details(self) -> dict[str, int]:
        return {"retry_after": self.retry_after}


class Grant(NamedTuple):
    """Organiser rights given to one socket when it connected, and whose they are."""

    session: str | None  # the id of the browser session that proved them (its cookie)
    address: str | None  # or, for a token sent on connecting, the client's address
    transport: str  # the engine.io session the socket's packets travel in


class Access:
    """Ended sessions, organiser sockets and throttles: what a signed cookie cannot hold."""

    def __init__(self, db, lifetime: dt.timedelta, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        # A logged-out cookie stays validly signed until it expires: its session id is
        # refused instead. Kept in the database, so a restart does not bring it back.
        horizon = (dt.datetime.now(dt.UTC) - lifetime).isoformat()
        with database.transaction(db):
            db.execute("DELETE FROM ended_sessions WHERE ended_at < ?", [horizon])
        self.ended = {row[0] for row in db.execute("SELECT id FROM ended_sessions")}
        # Wrong secrets per client address (links, login forms, Bearer headers, sockets).
        self.tokens = FailureLimiter(limit=10, window=60)
        # Unknown codes per client (address and role): ten a minute, then told to wait.
        self.unknown_codes = FailureLimiter(limit=10, window=60)
        # Walk-ins registered (or matched) per kiosk: a form takes a guest a minute or
        # more to fill, so ten in five minutes is a desk's rush, not a list being tried.
        self.walk_ins = FailureLimiter(limit=10, window=300)
        # Sockets with organiser rights, by Socket.IO sid and by engine.io sid.
        self.sockets: dict[str, Grant] = {}
        self.transports: dict[str, Grant] = {}
        # With several processes (a message queue), another may have ended a session:
        # the database says so, which this process then remembers.
        self.shared = False

    def end(self, sid: str) -> None:
        """Refuse this session from now on in this process, and drop its sockets here."""
        self.ended.add(sid)
        for socket_sid, grant in list(self.sockets.items()):
            if grant.session == sid:
                self.forget(socket_sid)
                socketio.server.disconnect(socket_sid, namespace="/")

    def forget(self, socket_sid: str) -> None:
        grant = self.sockets.pop(socket_sid, None)
        if grant is not None:
            self.transports.pop(grant.transport, None)

    def is_ended(self, sid: str) -> bool:
        if sid in self.ended:
            return True
        if not self.shared:
            return False
        db = get_db()
        if db.execute("SELECT 1 FROM ended_sessions WHERE id = ?", [sid]).fetchone():
            self.ended.add(sid)
            return True
        return False


def heard(acc: Access, event: str, data: object, to: str | None) -> None:
    """Another process ended a session: its sockets here go too."""
    if event == "session_ended" and to == PROCESSES and isinstance(data, dict):
        sid = data.get("session")
        if isinstance(sid, str):
            acc.end(sid)


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
    secrets = ((ORGANISER, rt.organiser_token), (KIOSK, rt.kiosk_token), (STAGE, rt.stage_token))
    for role, secret in secrets:
        if not secret:
            continue
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


# --- browser sessions ---------------------------------------------------------------------


def log_in(role: str, device: str | None = None) -> None:
    """This browser now holds `role`; a session of another role it held is ended."""
    previous = session_role()
    # The same role again (the link opened twice) is the same session: its other tabs
    # keep their sockets and CSRF token, and one logout still ends it all. Another role
    # ends the old session, and with it an organiser's rights on copies of its cookie
    # and on its sockets.
    same = previous == role
    sid, csrf = (session["id"], session.get("csrf")) if same else (None, None)
    if previous is not None and not same:
        end_session(session["id"])
    session.clear()
    session["role"] = role
    session["secret"] = fingerprint(_secret(role))
    # Recorded nowhere until it ends: a logout refuses it from then on (see Access).
    session["id"] = sid or secrets.token_urlsafe(18)
    session["device"] = device or gettext("organisation")
    session["csrf"] = csrf or secrets.token_urlsafe(32)
    session.permanent = True


def log_out() -> None:
    """End this browser's session on the server (copies of its cookie too), and forget it."""
    sid = session.get("id")
    if isinstance(sid, str) and session_role() is not None:
        end_session(sid)
    session.clear()


def end_session(sid: str) -> None:
    """Refuse this session id from now on, and drop the sockets it opened."""
    acc = access()
    # Written first, remembered after: should the write fail (503), a second tap on
    # « Déconnexion » writes it again, and a restart cannot bring the session back.
    db = get_db()
    with database.transaction(db):
        db.execute(
            "INSERT OR IGNORE INTO ended_sessions (id, ended_at) VALUES (?, ?)",
            [sid, dt.datetime.now(dt.UTC).isoformat()],
        )
    acc.end(sid)
    if runtime().queue is not None:  # the other processes drop it too
        socketio.emit("session_ended", {"session": sid}, to=PROCESSES)


def session_role() -> str | None:
    role = session.get("role")
    if role not in (ORGANISER, KIOSK):
        return None
    # A cookie from before sessions had ids cannot be ended by a logout: not accepted.
    sid = session.get("id")
    if not isinstance(sid, str) or access().is_ended(sid):
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


# --- requests -----------------------------------------------------------------------------


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


# --- sockets ------------------------------------------------------------------------------


def grant_socket(sid: str, transport: str, token: object) -> None:
    """At a socket's connect: organiser rights, if its token or its browser session proves
    them, bound to that browser session (or, for a token, to the client's address)."""
    if token is not None:
        if check_token(token) != ORGANISER:
            return
        grant = Grant(None, request.environ.get("REMOTE_ADDR", ""), transport)
    elif session_role() == ORGANISER:
        grant = Grant(session["id"], None, transport)
    else:
        return
    acc = access()
    acc.sockets[sid] = grant
    acc.transports[transport] = grant


def socket_is_organiser(sid: str) -> bool:
    """Whether this socket was granted organiser rights, by a session still open."""
    acc = access()
    grant = acc.sockets.get(sid)
    return grant is not None and (grant.session is None or not acc.is_ended(grant.session))


def forget_socket(sid: str) -> None:
    access().forget(sid)


class SocketGuard:
    """WSGI middleware before Socket.IO: an engine.io session id is not a credential.

    A polling client names its engine.io session in every request (`?sid=…`), and
    engine.io takes whoever sends that id for the client. For a socket holding organiser
    rights, every request must come from the browser session that proved them (its
    cookie), or, for a token sent on connecting, from the same address; anyone else gets
    403 and reaches neither engine.io nor the socket. Only such sockets are looked at:
    a screen's socket has no rights to borrow.
    """

    def __init__(self, app, wsgi_app, path: str = "/socket.io/"):
        self.app = app
        self.wsgi_app = wsgi_app
        self.path = path

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith(self.path):
            # Parsed as engine.io parses it (`%73id=` is `sid=` to it), every value looked
            # at: a raw-text check for "sid=" once let an encoded name through.
            transports = self.app.extensions["access"].transports
            for sid in parse_qs(environ.get("QUERY_STRING", "")).get("sid", ()):
                grant = transports.get(sid)
                if grant is not None and not self._same_client(grant, environ):
                    headers = [("Content-Type", "text/plain; charset=utf-8")]
                    start_response("403 FORBIDDEN", headers)
                    return [b"This connection belongs to another browser."]
        return self.wsgi_app(environ, start_response)

    def _same_client(self, grant: Grant, environ) -> bool:
        if grant.session is None:
            return environ.get("REMOTE_ADDR") == grant.address
        app = self.app
        sent = app.session_interface.open_session(app, app.request_class(environ))
        return sent is not None and sent.get("id") == grant.session
