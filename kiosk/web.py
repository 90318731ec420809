"""What views and socket handlers share: the Socket.IO server, the runtime, the database.

Imported by views, handlers and the command service; imports none of them. The app
factory (kiosk.app) fills these in; nothing here builds an app.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface
from flask_socketio import SocketIO
from werkzeug.exceptions import HTTPException
from werkzeug.http import dump_cookie

from . import db as database
from .errors import N_, Refusal
from .i18n import gettext, language_in, select_locale
from .live import CommandError, LiveStore, public, view
from .order import apply
from .order import load as load_edits
from .schedule import Schedule

socketio = SocketIO()


class Runtime:
    """What the whole app shares: the timetable, the clock and the secrets."""

    def __init__(
        self,
        schedule: Schedule,
        clock: Any,
        organiser_token: str,
        kiosk_token: str,
        pool: database.Pool,
        stage_token: str = "",
    ):
        self.pool = pool
        self.stage_token = stage_token  # reads a room's stage (the lectern's screen), no more
        self.schedule = schedule
        self.clock = clock
        self.organiser_token = organiser_token
        self.kiosk_token = kiosk_token
        # What each room's screens were last sent (live.signature), so that the clock
        # ticker pushes only what a command has not already pushed.
        self.pushed: dict[str, tuple] = {}
        # Set by a check-in; the ticker then pushes fresh counters to the organisers.
        self.attendance_dirty = False
        # Several processes share a message queue (kiosk.queue): this one cannot see
        # the others' clients, and runs the once-only jobs only while `owner` says so.
        self.queue: Any = None
        self.owner: Any = None
        # time.monotonic() until which organisers follow arrivals in another process, and
        # when this one last told the others its own do (kiosk.push.tell_watching).
        self.organisers_elsewhere_until = 0.0
        self.watching_told = float("-inf")

    def room_view(self, db, room: str, full: bool = False) -> dict[str, Any]:
        """A room's state: the audience's, or in full (organisers, the lectern's screen)."""
        store = LiveStore(db, self.schedule)
        data = view(store.day(room), store.state(room), self.clock.now(), self.clock.speed)
        return data if full else public(data)

    def programme(self, db) -> Schedule:
        """The programme as it now stands: print and the day's edits."""
        return apply(self.schedule, load_edits(db))

    def all_rooms_boot(self, db, full: bool = False) -> dict[str, Any]:
        """What a page following every room (tablet, phones) starts from."""
        return {
            "rooms": [r.id for r in self.schedule.rooms],
            "states": {r.id: self.room_view(db, r.id, full) for r in self.schedule.rooms},
            "timezone": self.schedule.event.timezone,
            "locale": str(select_locale()),
        }


def runtime() -> Runtime:
    return current_app.extensions["kiosk"]


def get_db():
    """This request's connection, taken from the pool on first use, returned at teardown."""
    db = g.get("db")  # each look-up through Flask's `g` proxy costs: one on the hot path
    if db is None:
        db = g.db = runtime().pool.take()
    return db


def release_db(exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        runtime().pool.give_back(db)


# --- refusals and errors: one JSON shape --------------------------------------------------


def refusal_body(exc: Refusal) -> dict[str, Any]:
    """A refusal as every client gets it: {"status", "error", "message"} and its details."""
    body = {"status": exc.status, "error": exc.code, "message": exc.describe(gettext)}
    body.update(exc.details())
    if isinstance(exc, CommandError) and exc.state is not None:
        # stale: the client catches up on what it missed
        body["state"] = runtime().room_view(get_db(), exc.state.room, full=True)
    return body


def refusal_response(exc: Refusal):
    """The errorhandler for Refusal: JSON for the API, a page for people."""
    body = refusal_body(exc)
    if request.path.startswith("/api/"):
        response = json_response(body, exc.status)
    else:
        page = render_template("error.html", code=exc.status, message=body["message"])
        response = Response(page, exc.status, content_type="text/html; charset=utf-8")
    if "retry_after" in body:  # a throttle or a storage fault: when to try again
        response.headers["Retry-After"] = str(body["retry_after"])
    return response


def storage_error(exc: sqlite3.DatabaseError):
    """The errorhandler for SQLite's errors that escaped the connection's own check (a
    row fetched from a failing disk): a fault of the storage is a 503 like the others;
    anything else is a bug, left to Flask's 500."""
    refusal = database.unavailable(exc, runtime().pool.path)
    if refusal is None:
        raise exc
    return refusal_response(refusal)


# Werkzeug's own refusals, in our words: its descriptions are English, and its codes
# (« request_entity_too_large ») were listed nowhere.
HTTP_ERRORS = {
    400: ("invalid", N_("The request is not valid.")),
    404: ("not_found", N_("There is nothing at this address.")),
    405: ("method_not_allowed", N_("This address does not take this method.")),
    413: ("too_large", N_("The request is too large.")),
}


def http_error(exc: HTTPException):
    """Werkzeug's errors (404, 405, 413…) in the same shape and language; no traceback."""
    code, default = HTTP_ERRORS.get(exc.code, (exc.name.lower().replace(" ", "_"), None))
    # A view's own abort(400, _("…")) keeps its message; Werkzeug's stock text does not.
    own = exc.description != type(exc).description
    message = exc.description if own or default is None else gettext(default)
    if request.path.startswith("/api/"):
        return json_response({"status": exc.code, "error": code, "message": message}, exc.code)
    return render_template("error.html", code=exc.code, message=message), exc.code


# jsonify goes through the app's JSON provider (a debug check, sorted keys, \u escapes):
# a third of a scan's answer in-process. Answers here are plain dicts of JSON values.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def json_response(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(_encode(body), status, headers, content_type="application/json")


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, where nesting too deep to parse is bad JSON (400), not a crash (500)."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


# --- what every response carries ---------------------------------------------------------

# No inline script or style anywhere, so the policy can be strict: user text that slipped
# through escaping still could not run.
CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'self'"
)


class SiteHeaders:
    """WSGI middleware: the security headers on every response, and ?lang= remembered.

    Written at the WSGI level, appended to the header list as it goes out, rather than in
    an after_request hook through werkzeug's Headers: on the check-in hot path the hook
    and its header validation cost 12 µs a scan (measured), for constant strings.
    A view may widen the policy by setting its own Content-Security-Policy (the kiosk's
    WebAssembly decoder); it is then left as it is.

    Nothing is cached unless its view says so (static files, the programme's QR code,
    the public reads that `public_read` marks for revalidation):
    most answers name guests (a scan's, a walk-in's, search, exports, badges) or carry a
    secret or a CSRF token, and a page a view forgot to mark must not stay in a browser's
    cache or a proxy's. Over HTTPS (`https=True`: `kiosk serve --certfile`), browsers are
    also told to come back over HTTPS only (HSTS).
    """

    HEADERS = (
        ("X-Content-Type-Options", "nosniff"),
        # The organiser link carries the secret: never leak it in a Referer.
        ("Referrer-Policy", "no-referrer"),
    )
    # One day: the event. A year, as usual on the web, would keep a tablet from ever
    # accepting next year's self-signed certificate under the same name.
    HSTS = ("Strict-Transport-Security", "max-age=86400")

    def __init__(self, wsgi_app, https: bool = False, process: str | None = None):
        self.wsgi_app = wsgi_app
        self.https = https
        self.headers = self.HEADERS + ((self.HSTS,) if https else ())
        if process:  # one of several behind a front: which one answered (logs, tests)
            self.headers += (("X-Kiosk-Process", process),)

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            names = [name.lower() for name, _value in headers]
            if "content-security-policy" not in names:
                headers.append(("Content-Security-Policy", CSP))
            if "cache-control" not in names:
                headers.append(("Cache-Control", "no-store"))
            headers.extend(self.headers)
            asked = language_in(environ.get("QUERY_STRING", ""))
            if asked:
                cookie = dump_cookie(
                    "lang", asked, max_age=365 * 86400, samesite="Lax", secure=self.https
                )
                headers.append(("Set-Cookie", cookie))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


class Forwarded:
    """WSGI middleware of `kiosk serve --behind-proxy`: the client's address and scheme as
    the front saw them (X-Forwarded-For, X-Forwarded-Proto), for the throttles, the
    organiser socket's owner and Secure cookies.

    What werkzeug's ProxyFix(x_for=1, x_proto=1) does, the last value of each header
    (the one the front wrote), at a seventh of its cost: it parses the list headers in
    full, 8 µs a request here, 1 % of a check-in behind nginx.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    # The header the front writes, and what of the request it replaces.
    FROM_FRONT = (
        ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"),
        ("HTTP_X_FORWARDED_PROTO", "wsgi.url_scheme"),
    )

    def __call__(self, environ, start_response):
        for header, key in self.FROM_FRONT:
            value = environ.get(header)
            if value:
                value = value.rpartition(",")[2].strip()
                if value:
                    environ[key] = value
        return self.wsgi_app(environ, start_response)


# --- public reads: revalidated, compressed, readable from the origins allowed ------------

# Below this, gzip's own header and the work outweigh what it saves.
GZIP_FROM = 1024


def public_read(response: Response, compress: bool = False) -> Response:
    """A public read (the programme, a room's state) that caches may keep but must check
    every time: states change at any second. A strong ETag from the body makes the check
    a 304 when nothing changed; with `compress`, a body over 1 KB goes gzipped to clients
    that take it. Pages of the origins `--allow-origin` names may read it (no cookies).
    """
    body = response.get_data()
    tag = hashlib.blake2b(body, digest_size=16).hexdigest()
    if compress:
        response.vary.add("Accept-Encoding")
        if len(body) >= GZIP_FROM and request.accept_encodings["gzip"]:
            # mtime=0: the same body compresses to the same bytes, under the same ETag
            response.set_data(gzip.compress(body, compresslevel=6, mtime=0))
            response.headers["Content-Encoding"] = "gzip"
            tag += "-gzip"  # another representation: another strong ETag
    response.set_etag(tag)
    response.headers["Cache-Control"] = "no-cache"
    allowed = current_app.config.get("ALLOW_ORIGINS", ())
    if allowed:
        response.vary.add("Origin")
        origin = request.headers.get("Origin")
        if origin in allowed:
            # never with credentials: these answers are the same for everyone
            response.headers["Access-Control-Allow-Origin"] = origin
    # If-None-Match compares weakly (RFC 9110): a proxy may have weakened our tag.
    if request.if_none_match.contains_weak(tag):
        response.status_code = 304
        response.set_data(b"")
    return response


# Static files worth compressing: scripts, styles, SVG. Fonts and PNGs are compressed
# already.
COMPRESSIBLE = ("text/javascript", "application/javascript", "text/css", "image/svg+xml")


def gzip_static(static_view):
    """The static files' view, answering gzip to browsers that take it.

    A phone on the venue's Wi-Fi loads the programme's scripts first thing: socket.io's
    client alone is 46 KB as shipped, 15 KB gzipped. Each file is compressed once and kept
    (by its ETag: a new file, a new entry); its gzipped form has an ETag of its own, and a
    browser revalidating that one gets its 304."""
    done: dict[str, bytes] = {}

    def view(filename: str):
        response = static_view(filename=filename)
        if response.status_code != 200 or response.mimetype not in COMPRESSIBLE:
            return response
        response.vary.add("Accept-Encoding")
        if not request.accept_encodings["gzip"]:
            return response
        tag, _weak = response.get_etag()
        zipped_tag = f"{tag}-gzip"
        if request.if_none_match.contains_weak(zipped_tag):
            response.direct_passthrough = False
            response.set_data(b"")
            response.status_code = 304
            response.set_etag(zipped_tag)
            return response
        body = done.get(tag)
        response.direct_passthrough = False  # send_file's file wrapper: read it here
        if body is None:
            body = done[tag] = gzip.compress(response.get_data(), compresslevel=9, mtime=0)
        response.set_data(body)
        response.headers["Content-Encoding"] = "gzip"
        response.headers.pop("Accept-Ranges", None)  # ranges of the file, not of this
        response.set_etag(zipped_tag)
        return response

    return view


def origins(values: str | Iterable[str]) -> tuple[str, ...]:
    """Origins as browsers send them (`https://a.example`, `http://b.example:8080`), from
    a comma-separated text or a list; ValueError names the first that is not one."""
    if isinstance(values, str):
        values = values.split(",")
    out = []
    for value in values:
        text = value.strip().rstrip("/")
        if not text:
            continue
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            parts, port = None, None
        if (
            parts is None
            or parts.scheme.lower() not in ("http", "https")
            or not parts.hostname
            or parts.path
            or parts.query
            or parts.fragment
            or parts.username is not None
            or parts.password is not None
        ):
            raise ValueError(f"{value.strip()!r} is not an origin like https://signage.example")
        host = parts.hostname.lower()
        host = f"[{host}]" if ":" in host else host
        origin = f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")
        if origin not in out:
            out.append(origin)
    return tuple(out)


def own_origins(environ) -> list[str]:
    """The origins a request to this server comes from when it comes from its own pages
    (as engine.io judges a same-origin request: the Host, or a proxy's forwarded host)."""
    found = []
    host = environ.get("HTTP_HOST")
    if host:
        scheme = environ.get("wsgi.url_scheme", "http")
        found.append(f"{scheme}://{host}")
        if "HTTP_X_FORWARDED_PROTO" in environ or "HTTP_X_FORWARDED_HOST" in environ:
            scheme = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
            host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
            found.append(f"{scheme}://{host}")
    return found


class SocketOrigins:
    """Socket.IO's `cors_allowed_origins`: the server's own pages, as by default, and the
    origins allowed (overlays and signage hosted elsewhere)."""

    def __init__(self, allowed: tuple[str, ...]):
        self.allowed = allowed

    def __call__(self, origin: str | None, environ=None) -> bool:
        return origin in self.allowed or (environ is not None and origin in own_origins(environ))


class ForeignSockets:
    """WSGI middleware: a socket opened by another origin's page brings no cookie in.

    Allowed origins may follow the rooms' public states; the browser would still send
    the organiser's session cookie with their socket (a site on the same domain is
    « same-site » to SameSite=Lax), and the socket would get the organiser's rights.
    Without the cookie it is an audience's socket: `join`, nothing more.
    """

    def __init__(self, wsgi_app, path: str = "/socket.io/"):
        self.wsgi_app = wsgi_app
        self.path = path

    def __call__(self, environ, start_response):
        origin = environ.get("HTTP_ORIGIN")
        if (
            origin
            and "HTTP_COOKIE" in environ
            and environ.get("PATH_INFO", "").startswith(self.path)
            and origin not in own_origins(environ)
        ):
            del environ["HTTP_COOKIE"]
        return self.wsgi_app(environ, start_response)


class CachedSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without rebuilding the signer on every request.

    Profiling the check-in endpoint showed the serializer's construction at 4 % of a
    request; it depends only on the secret key, which never changes while serving.
    """

    _cached: tuple[Any, Any] | None = None

    def get_signing_serializer(self, app: Flask):
        if self._cached is None or self._cached[0] != app.secret_key:
            self._cached = (app.secret_key, super().get_signing_serializer(app))
        return self._cached[1]

    def open_session(self, app: Flask, request):
        # A kiosk or script sending its Bearer token has no cookie at all: looking for one
        # parses the whole environ into headers and raises a KeyError (14 µs of a scan,
        # measured). Without our cookie's name in the raw header, the session is new.
        name = self.get_cookie_name(app)
        if app.secret_key and name + "=" not in request.environ.get("HTTP_COOKIE", ""):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        # The same request: an empty session nobody read or wrote has nothing to save,
        # and Flask's own method looks up seven cookie settings before finding that out.
        if not session and not session.modified and not session.accessed:
            return
        super().save_session(app, session, response)
