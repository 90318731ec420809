"""The Flask app factory: timetable checked, database migrated, secrets ready, parts wired."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException

from . import db as database
from . import i18n
from .auth import Access, SocketGuard
from .clock import RealClock
from .errors import Refusal
from .schedule import Schedule, load
from .web import (
    CachedSessionInterface,
    ForeignSockets,
    Forwarded,
    JSONProvider,
    Runtime,
    SiteHeaders,
    SocketOrigins,
    gzip_static,
    http_error,
    origins,
    refusal_response,
    release_db,
    socketio,
    storage_error,
)

# The most a client may send in one HTTP body or one Socket.IO message. Engine.IO's own
# default (1 MB) let one `join` naming a room 75,000 times stall the server.
MAX_BODY = 64 * 1024

_HERE = Path(__file__).resolve().parent
# In a wheel, static/ and templates/ are copied into the package; in a source checkout
# they sit at the top level of the repository.
_ROOT = _HERE if (_HERE / "templates").is_dir() else _HERE.parent
STATIC = _ROOT / "static"
TEMPLATES = _ROOT / "templates"


def _template_globals() -> dict[str, Any]:
    return {
        "js_strings": i18n.js_strings,
        "languages": i18n.LANGUAGES,
        "get_locale": i18n.select_locale,
    }


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: timetable checked, database checked and migrated, secrets ready.

    Raises db.DatabaseProblem for a database file that cannot serve.
    """
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
        # Base of the phone programme's QR code. Never the request's Host header, which
        # the client writes: `kiosk serve` sets it from --public-url or its own address.
        PUBLIC_URL="http://localhost:5000",
        ORGANISER_TOKEN=os.environ.get("KIOSK_ORGANISER_TOKEN") or None,
        KIOSK_TOKEN=os.environ.get("KIOSK_KIOSK_TOKEN") or None,
        STAGE_TOKEN=os.environ.get("KIOSK_STAGE_TOKEN") or None,
        # Pages of WAL at which a request's own write checkpoints. `kiosk serve` raises
        # it to a safety net: its background checkpointer does that work off the loop.
        WAL_AUTOCHECKPOINT=database.AUTOCHECKPOINT,
        # Every body the app accepts is a few hundred bytes (a message is 280 characters);
        # nothing is uploaded through the web.
        MAX_CONTENT_LENGTH=MAX_BODY,
        # Seconds a write waits for another process's lock before answering 503.
        BUSY_WAIT=database.BUSY_WAIT,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        # Served over TLS (`kiosk serve --certfile`): the session cookie is then Secure
        # and browsers are told to keep to HTTPS. Over plain http on a venue's network
        # the cookie must still be sent, so neither is the default.
        HTTPS=False,
        # The throttles' time source (seconds, monotonic); tests move it by hand.
        MONOTONIC=time.monotonic,
        # Other sites' pages that may read the public JSON and the .ics and follow the
        # rooms' public socket events (overlays, signage): `kiosk serve --allow-origin`.
        ALLOW_ORIGINS=os.environ.get("KIOSK_ALLOW_ORIGINS", ""),
        # Redis shared by several `kiosk serve` processes of this event (kiosk.queue):
        # `kiosk serve --message-queue`. None: one process.
        MESSAGE_QUEUE=None,
        # Behind a front on this machine (kiosk serve --workers, or --behind-proxy):
        # the client's address and scheme come from its X-Forwarded-* headers.
        BEHIND_PROXY=False,
        # This process's name among several (its port), sent in X-Kiosk-Process.
        PROCESS=None,
    )
    if test_config:
        app.config.from_mapping(test_config)
    app.config["ALLOW_ORIGINS"] = origins(app.config["ALLOW_ORIGINS"])  # ValueError: which
    if app.config["HTTPS"]:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["PREFERRED_URL_SCHEME"] = "https"

    schedule = app.config["SCHEDULE"]
    if not isinstance(schedule, Schedule):
        schedule = load(schedule)
    clock = app.config["CLOCK"] or RealClock(schedule.event.tz)

    database.check(app.config["DATABASE"])
    db = database.connect(app.config["DATABASE"])
    try:
        database.migrate(db)
        app.secret_key = database.secret(db, "flask_secret_key")
        token = database.secret(db, "organiser_token", app.config["ORGANISER_TOKEN"])
        kiosk_token = database.secret(db, "kiosk_token", app.config["KIOSK_TOKEN"])
        stage_token = database.secret(db, "stage_token", app.config.get("STAGE_TOKEN"))
        access = Access(db, app.permanent_session_lifetime, app.config["MONOTONIC"])
    finally:
        db.conn.close()
    if len({token, kiosk_token, stage_token}) < 3:
        raise database.SameSecrets()
    pool = database.Pool(
        app.config["DATABASE"],
        autocheckpoint=app.config["WAL_AUTOCHECKPOINT"],
        busy_wait=app.config["BUSY_WAIT"],
    )
    app.extensions["kiosk"] = Runtime(schedule, clock, token, kiosk_token, pool, stage_token)
    app.extensions["access"] = access
    app.session_interface = CachedSessionInterface()
    app.json = JSONProvider(app)

    app.teardown_appcontext(release_db)
    app.register_error_handler(Refusal, refusal_response)
    app.register_error_handler(sqlite3.DatabaseError, storage_error)
    app.register_error_handler(HTTPException, http_error)
    app.context_processor(_template_globals)
    app.add_template_filter(i18n.hm)
    app.add_template_filter(i18n.longdate)
    app.add_template_filter(i18n.shortday)
    # Templates translate through the same gettext as the views (newstyle: Jinja fills
    # the placeholders itself and escapes their values).
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    app.jinja_env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}

    from .views import api, arrivals, kiosk, organiser, public, stage

    for view in (public, kiosk, arrivals, organiser, stage, api):
        app.register_blueprint(view.bp)

    from . import events  # noqa: F401 - registers the Socket.IO handlers

    app.view_functions["static"] = gzip_static(app.view_functions["static"])
    app.wsgi_app = SiteHeaders(
        app.wsgi_app, https=app.config["HTTPS"], process=app.config["PROCESS"]
    )
    allowed = app.config["ALLOW_ORIGINS"]
    queue = {}
    if app.config["MESSAGE_QUEUE"]:
        queue["client_manager"] = _message_queue(app)
    socketio.init_app(
        app,
        **queue,
        async_mode=app.config["ASYNC_MODE"],
        # A screen must notice a dead link within 10 s to show « reconnexion… »:
        # a ping every 4 s, answered within 5 s.
        ping_interval=4,
        ping_timeout=5,
        max_http_buffer_size=MAX_BODY,
        # Same origin only (engine.io's default), unless origins are allowed; then
        # without credentials. Both given every time: init_app keeps the options of
        # the app built before.
        cors_allowed_origins=SocketOrigins(allowed) if allowed else None,
        cors_credentials=not allowed,
    )
    # In front of Socket.IO's own middleware: it sees every engine.io request first.
    app.wsgi_app = SocketGuard(app, app.wsgi_app)
    if allowed:
        app.wsgi_app = ForeignSockets(app.wsgi_app)  # another site's socket: no cookie
    if app.config["BEHIND_PROXY"]:
        # Outermost, so that every layer (throttles, the socket guard) sees the client's
        # own address, not the front's. Only the front reaches a process that trusts
        # it: `kiosk serve --workers` puts them on loopback.
        app.wsgi_app = Forwarded(app.wsgi_app)
    return app


def _message_queue(app: Flask):
    """The Redis manager the processes of this event share, told how to resync this
    process's screens after an outage and what the others pushed (kiosk.queue)."""
    from . import auth, push
    from .queue import MessageQueue, channel_name

    rt = app.extensions["kiosk"]
    acc = app.extensions["access"]
    acc.shared = True  # sessions the other processes end: Access.is_ended

    def heard(event: str, data: Any, to: str | None) -> None:
        push.heard(rt, event, data, to)
        auth.heard(acc, event, data, to)

    def resubscribed(everywhere: bool = False) -> None:
        db = database.connect(rt.pool.path)
        try:
            push.resync(rt, db, everywhere)
        finally:
            db.conn.close()

    def changed(up: bool) -> None:
        push.announce_queue(rt, up)
        if up:  # what this process pushed meanwhile reached its own clients only
            # (apart: called from within an emit, which must not wait for the rooms)
            socketio.start_background_task(resubscribed, True)

    rt.queue = MessageQueue(
        app.config["MESSAGE_QUEUE"],
        channel_name(app.config["DATABASE"]),
        on_resubscribed=resubscribed,
        heard=heard,
        on_change=changed,
    )
    return rt.queue
