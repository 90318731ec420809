"""The Flask app factory and what the whole app shares (timetable, clock, secrets)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from babel import Locale
from babel.support import Translations
from flask import Flask, current_app, g, jsonify, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel, format_date, get_locale
from flask_socketio import SocketIO
from werkzeug.exceptions import HTTPException
from werkzeug.http import dump_cookie

from . import db as database
from .checkin import FailureLimiter
from .clock import RealClock
from .live import LiveStore, view
from .schedule import Schedule, load

_HERE = Path(__file__).resolve().parent
# In a wheel, static/ and templates/ are copied into the package; in a source checkout
# they sit at the top level of the repository.
_ROOT = _HERE if (_HERE / "templates").is_dir() else _HERE.parent
STATIC = _ROOT / "static"
TEMPLATES = _ROOT / "templates"
LANGUAGES = ("fr", "en")

socketio = SocketIO()
babel = Babel()


class Runtime:
    """What the whole app shares: the timetable, the clock and the secrets."""

    def __init__(
        self,
        schedule: Schedule,
        clock: Any,
        organiser_token: str,
        kiosk_token: str,
        pool: database.Pool,
    ):
        self.pool = pool
        self.schedule = schedule
        self.clock = clock
        self.organiser_token = organiser_token
        self.kiosk_token = kiosk_token
        # Unknown or malformed codes per kiosk device: in memory, as a slowdown only.
        self.failures = FailureLimiter()
        # What each room's screens were last sent (live.signature), so that the clock
        # ticker pushes only what a command has not already pushed.
        self.pushed: dict[str, tuple] = {}
        # Set by a check-in; the ticker then pushes fresh counters to the organisers.
        self.attendance_dirty = False

    def room_view(self, db, room: str) -> dict[str, Any]:
        store = LiveStore(db, self.schedule)
        return view(self.schedule, store.state(room), self.clock.now(), self.clock.speed)

    def all_rooms_boot(self, db) -> dict[str, Any]:
        """What a page following every room (tablet, phones) starts from."""
        return {
            "rooms": [r.id for r in self.schedule.rooms],
            "states": {r.id: self.room_view(db, r.id) for r in self.schedule.rooms},
            "timezone": self.schedule.event.timezone,
            "locale": str(get_locale()),
        }


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


def runtime() -> Runtime:
    return current_app.extensions["kiosk"]


def get_db():
    """This request's connection, taken from the pool on first use, returned at teardown."""
    db = g.get("db")  # each look-up through Flask's `g` proxy costs: one on the hot path
    if db is None:
        db = g.db = runtime().pool.take()
    return db


def _release_db(exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        runtime().pool.give_back(db)


# Parsed once: Flask-Babel re-parses a locale name on every request, a Locale it keeps.
_LOCALES = {code: Locale.parse(code) for code in LANGUAGES}


_CATALOGS: dict[str, Translations] = {}


def translate(message: str, **params: Any) -> str:
    """gettext for the check-in hot path, from the same catalogs as Flask-Babel's.

    Flask-Babel's gettext was 12 % of a check-in in cProfile (context look-ups, locale
    selection on each call); this asks select_locale() and a dictionary.
    """
    code = select_locale().language
    catalog = _CATALOGS.get(code)
    if catalog is None:
        catalog = _CATALOGS[code] = Translations.load(str(_HERE / "translations"), [code])
    text = catalog.gettext(message)
    return text % params if params else text


def _language_in(query_string: str) -> str | None:
    """The language a query string asks for (?lang=en), if it is one we speak."""
    # On the check-in hot path most requests carry no query string: look at the raw text
    # first, and parse only when there is something to find. Profiling showed both.
    if "lang=" not in query_string:
        return None
    asked = parse_qs(query_string).get("lang", [None])[-1]
    return asked if asked in LANGUAGES else None


def select_locale() -> Locale:
    """French unless ?lang=en (remembered in a cookie) asks otherwise."""
    environ = request.environ
    asked = _language_in(environ.get("QUERY_STRING", ""))
    if asked:
        return _LOCALES[asked]
    if "lang=" not in environ.get("HTTP_COOKIE", ""):
        return _LOCALES["fr"]
    return _LOCALES.get(request.cookies.get("lang", "fr"), _LOCALES["fr"])


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
    """

    HEADERS = (
        ("X-Content-Type-Options", "nosniff"),
        # The organiser link carries the secret: never leak it in a Referer.
        ("Referrer-Policy", "no-referrer"),
    )

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            if not any(name == "Content-Security-Policy" for name, _value in headers):
                headers.append(("Content-Security-Policy", CSP))
            headers.extend(self.HEADERS)
            asked = _language_in(environ.get("QUERY_STRING", ""))
            if asked:
                cookie = dump_cookie("lang", asked, max_age=365 * 86400, samesite="Lax")
                headers.append(("Set-Cookie", cookie))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


def _http_error(exc: HTTPException):
    """JSON for the API, a page for people; never a traceback."""
    if request.path.startswith("/api/"):
        return jsonify(error=exc.name.lower().replace(" ", "_"), message=exc.description), exc.code
    return render_template("error.html", code=exc.code, message=exc.description), exc.code


def hm(moment) -> str:
    """A time of day as the audience reads it: « 10 h 05 » in French, 10:05 in English."""
    if select_locale().language == "fr":
        return f"{moment.hour} h {moment.minute:02d}"
    return f"{moment.hour}:{moment.minute:02d}"


def longdate(day) -> str:
    return format_date(day, "full")


def _template_globals() -> dict[str, Any]:
    from .i18n import js_strings

    return {"js_strings": js_strings, "languages": LANGUAGES, "get_locale": get_locale}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: timetable checked, database migrated, secrets ready."""
    app = Flask(
        __name__,
        static_folder=str(STATIC),
        template_folder=str(TEMPLATES),
        instance_relative_config=False,
    )
    app.config.from_mapping(
        DATABASE="kiosk.db",
        SCHEDULE=None,  # the bundled colloque
        CLOCK=None,  # RealClock in the event's zone
        ASYNC_MODE=None,  # let Flask-SocketIO pick (gevent when `kiosk serve` runs)
        PUBLIC_URL=None,  # base of the phone programme's QR code; defaults to the request's
        ORGANISER_TOKEN=os.environ.get("KIOSK_ORGANISER_TOKEN") or None,
        KIOSK_TOKEN=os.environ.get("KIOSK_KIOSK_TOKEN") or None,
        # Pages of WAL at which a request's own write checkpoints. `kiosk serve` raises
        # it to a safety net: its background checkpointer does that work off the loop.
        WAL_AUTOCHECKPOINT=database.AUTOCHECKPOINT,
        BABEL_DEFAULT_LOCALE="fr",
        BABEL_TRANSLATION_DIRECTORIES=str(_HERE / "translations"),
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        JSON_SORT_KEYS=False,
    )
    if test_config:
        app.config.from_mapping(test_config)

    schedule = app.config["SCHEDULE"]
    if not isinstance(schedule, Schedule):
        schedule = load(schedule)
    clock = app.config["CLOCK"] or RealClock(schedule.event.tz)

    db = database.connect(app.config["DATABASE"])
    try:
        database.migrate(db)
        app.secret_key = database.secret(db, "flask_secret_key")
        token = database.secret(db, "organiser_token", app.config["ORGANISER_TOKEN"])
        kiosk_token = database.secret(db, "kiosk_token", app.config["KIOSK_TOKEN"])
    finally:
        db.conn.close()
    if token == kiosk_token:
        raise ValueError("the organiser and kiosk secrets must differ")
    pool = database.Pool(app.config["DATABASE"], autocheckpoint=app.config["WAL_AUTOCHECKPOINT"])
    app.extensions["kiosk"] = Runtime(schedule, clock, token, kiosk_token, pool)
    app.session_interface = CachedSessionInterface()

    app.teardown_appcontext(_release_db)
    app.register_error_handler(HTTPException, _http_error)
    app.context_processor(_template_globals)
    app.add_template_filter(hm)
    app.add_template_filter(longdate)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}

    from .views import api, desk, organiser, public

    app.register_blueprint(public.bp)
    app.register_blueprint(desk.bp)
    app.register_blueprint(organiser.bp)
    app.register_blueprint(api.bp)

    from . import events  # noqa: F401 - registers the Socket.IO handlers

    app.wsgi_app = SiteHeaders(app.wsgi_app)
    socketio.init_app(
        app,
        async_mode=app.config["ASYNC_MODE"],
        # A screen must notice a dead link within 10 s to show « reconnexion… »:
        # a ping every 4 s, answered within 5 s.
        ping_interval=4,
        ping_timeout=5,
    )
    return app
