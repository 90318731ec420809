"""The `kiosk` command: serve the day, check a timetable, print the organiser link."""

from __future__ import annotations

import os
import sys

import click

from .errors import N_
from .schedule import ScheduleError

DEFAULT_DB = "kiosk.db"


def _schedule_option(f):
    return click.option(
        "--schedule",
        "schedule_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="Timetable file (default: the bundled colloque of 3 July 2023).",
    )(f)


def _db_option(f):
    return click.option(
        "--db",
        "db_path",
        default=DEFAULT_DB,
        show_default=True,
        type=click.Path(dir_okay=False),
        help="SQLite file holding the live state and secrets (created if missing).",
    )(f)


def language() -> str:
    """The language of what the command writes: French, as the pages, unless the
    environment's locale is English (KIOSK_LANG, then the usual LC_ALL, LC_MESSAGES, LANG)."""
    for name in ("KIOSK_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "en" if value.lower().startswith("en") else "fr"
    return "fr"


def _(message: str, /, **params) -> str:
    """`message` in the command's language (see language()), placeholders filled."""
    from .i18n import translator

    return translator(language())(message, **params)


def ngettext(singular: str, plural: str, n: int, /, **params) -> str:
    """The singular or plural of `message` for `n`, in the command's language."""
    from .i18n import plural_translator

    return plural_translator(language())(singular, plural, n, **params)


def told(exc) -> str:
    """A domain error (errors.Explained, or anything with describe()) in the command's
    language; the domain keeps its messages untranslated."""
    from .i18n import translator

    return exc.describe(translator(language()))


class Failure(click.ClickException):
    """The command refuses: one line, « Erreur : … » in the command's language where Click
    would say « Error: … » in English."""

    def show(self, file=None) -> None:
        message = _("Error: %(message)s", message=self.format_message())
        click.echo(message, file=file, err=file is None)


# Where a secret given in the environment comes from, to name it when it is refused.
SECRET_VARIABLES = {
    "organiser_token": "KIOSK_ORGANISER_TOKEN",
    "kiosk_token": "KIOSK_KIOSK_TOKEN",
    "stage_token": "KIOSK_STAGE_TOKEN",
}


def refused_secret(exc) -> Failure:
    """A secret too weak to serve with, named by its variable; its value is not shown."""
    from .db import MIN_SECRET_BITS

    name = SECRET_VARIABLES.get(exc.key, exc.key)
    return Failure(
        _(
            "%(name)s is too short to be unguessable: a secret needs at least %(bits)d "
            "bits, that is 22 URL-safe base64 characters or 32 hexadecimal digits "
            "(%(command)s makes one). "
            "Unset %(name)s to have one generated and kept in the database.",
            name=name,
            bits=MIN_SECRET_BITS,
            command="python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )
    )


def _env_secret(db_path: str, key: str) -> str:
    from . import db as database

    try:
        return database.secret(_open_db(db_path), key, os.environ.get(SECRET_VARIABLES[key]))
    except database.WeakSecret as exc:
        raise refused_secret(exc) from None


WILDCARDS = ("0.0.0.0", "::", "")


def organiser_link(host: str, port: int, token: str, scheme: str = "http") -> str:
    shown = "localhost" if host in ("0.0.0.0", "::", "127.0.0.1") else host
    return f"{scheme}://{shown}:{port}/organiser?token={token}"


def stage_link(base: str, room: str, token: str) -> str:
    """The lectern's screen of a room, with the stage secret (it reads, nothing more)."""
    return f"{base}/stage/{room}?key={token}"


class _Commands(click.Group):
    """The `kiosk` command: a database that cannot serve is one line naming it, no traceback."""

    def invoke(self, ctx: click.Context):
        # Imported here, after main() has let gevent patch the standard library.
        from . import db as database

        try:
            return super().invoke(ctx)
        except database.DatabaseProblem as exc:
            raise Failure(told(exc)) from None
        except database.Unavailable as exc:
            fault = database.FAULTS.get(exc.fault) or N_("unavailable")
            problem = _(fault)
            raise Failure(
                _("%(file)s: %(problem)s; try again", file=exc.path, problem=problem)
            ) from None


def own_address(host: str) -> str:
    """The address this server is reached at: the one it listens on, or when it listens
    on every interface, the one the machine's default route leaves from."""
    import socket

    if host not in WILDCARDS:
        return host
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        # Connecting a UDP socket sends nothing: the kernel only picks the interface
        # (192.0.2.1 is a documentation address, never a real one).
        probe.connect(("192.0.2.1", 9))
        return probe.getsockname()[0]
    except OSError:  # no network at all: only this machine can reach the server
        return "localhost"
    finally:
        probe.close()


def public_url(given: str | None, host: str, port: int, scheme: str) -> str:
    """Base of the programme's QR code: --public-url, or this server's own address."""
    if given:
        return given.rstrip("/")
    address = own_address(host)
    if ":" in address:  # an IPv6 address is bracketed in a URL
        address = f"[{address}]"
    return f"{scheme}://{address}:{port}"


@click.group(cls=_Commands)
@click.version_option(package_name="kiosk")
def cli() -> None:
    """Live room screens and organiser tablet for a conference day."""


@cli.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
def check(file: str | None) -> None:
    """Check a timetable and summarise it; exit 1 with the place of the first problem.

    Example: kiosk check schedule.yaml
    """
    from .schedule import load

    try:
        schedule = load(file)
    except ScheduleError as exc:
        raise Failure(told(exc)) from None
    click.echo(_("OK: %(title)s", title=schedule.event.title))
    days = schedule.days()
    if len(days) > 1:
        click.echo(
            _(
                "  %(days)s: %(dates)s",
                days=ngettext("%(n)d day", "%(n)d days", len(days), n=len(days)),
                dates=", ".join(d.isoformat() for d in days),
            )
        )
    for room in schedule.rooms:
        blocks = schedule.blocks_in(room.id)
        turns = sum(len(b.turns) for b in blocks)
        click.echo(
            _(
                "  %(room)s (%(id)s): %(blocks)s, %(turns)s, %(start)s–%(end)s",
                room=room.name,
                id=room.id,
                blocks=ngettext("%(n)d block", "%(n)d blocks", len(blocks), n=len(blocks)),
                turns=ngettext("%(n)d turn", "%(n)d turns", turns, n=turns),
                # over several days, the days with the times
                start=blocks[0].start.strftime("%Y-%m-%d %H:%M" if len(days) > 1 else "%H:%M"),
                end=blocks[-1].end.strftime("%Y-%m-%d %H:%M" if len(days) > 1 else "%H:%M"),
            )
        )


@cli.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@_db_option
@_schedule_option
@click.option(
    "--clock",
    "clock_start",
    default=None,
    metavar="YYYY-MM-DDTHH:MM",
    help="Run a simulated clock from this moment (in the event's time zone).",
)
@click.option(
    "--speed",
    default=1.0,
    show_default=True,
    type=float,
    help="How fast the simulated clock runs (60: one minute per second).",
)
@click.option(
    "--public-url",
    "public_url_option",
    default=None,
    metavar="URL",
    help="Address phones use to reach this server (for the QR code); "
    "default: the address it listens on (with 0.0.0.0, this machine's network address).",
)
@click.option(
    "--certfile",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="TLS certificate (PEM): serve HTTPS, which tablet cameras require "
    "when the kiosk page is not opened on localhost.",
)
@click.option(
    "--keyfile",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="TLS private key (PEM) matching --certfile.",
)
@click.option(
    "--idle-timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    help="Close a connection that sends nothing for this long (screens ping every 4 s).",
)
@click.option(
    "--allow-origin",
    "allow_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Let pages of this origin (https://signage.example) read the public JSON and the "
    ".ics and follow the rooms' public socket events, without cookies; repeatable. "
    "Default: KIOSK_ALLOW_ORIGINS (comma-separated), else none (same origin only).",
)
@click.option(
    "--message-queue",
    "message_queue",
    default=None,
    envvar="KIOSK_MESSAGE_QUEUE",
    metavar="redis://HOST:PORT/N",
    help="Redis shared by several kiosk serve processes of this event (one database): a "
    "command or a check-in made through any of them reaches every screen. "
    "Default: KIOSK_MESSAGE_QUEUE, else one process alone.",
)
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(min=1, max=64),
    help="Run this many processes (one per core) behind nginx, which listens on --host "
    "and --port and holds the TLS certificate; they listen on the ports after it, on "
    "loopback. Needs --message-queue and Debian's nginx package. Default: one process, "
    "no front.",
)
@click.option(
    "--behind-proxy",
    is_flag=True,
    default=False,
    help="Clients come through a front (nginx) on this machine: read their address and "
    "scheme from its X-Forwarded-For and X-Forwarded-Proto. Set by --workers.",
)
@click.option(
    "--clock-epoch",
    "clock_epoch",
    default=None,
    type=float,
    hidden=True,  # set by --workers: its processes' simulated clocks keep one time
    help="Unix time at which the simulated clock showed --clock.",
)
@click.option(
    "--no-links",
    "no_links",
    is_flag=True,
    default=False,
    hidden=True,  # set by --workers (kiosk.workers.NO_LINKS): the links printed once
    help="Print nothing at the start: neither the event's links with their secrets nor "
    "the message queue's address.",
)
def serve(
    host,
    port,
    db_path,
    schedule_path,
    clock_start,
    speed,
    public_url_option,
    certfile,
    keyfile,
    idle_timeout,
    allow_origins,
    message_queue,
    workers,
    behind_proxy,
    clock_epoch,
    no_links,
) -> None:
    """Serve the screens, tablet and programme (gevent: one process, many websockets).

    Example: kiosk serve --clock 2023-07-03T08:55 --speed 60
    """
    from gevent import monkey

    # gevent must patch the standard library before sockets and threads are used;
    # `main()` already did when the command line asks for `serve`.
    if not monkey.is_module_patched("socket"):
        monkey.patch_all()
    import logging

    # Faults go to stderr with their time, one line each (storage faults once per kind
    # and interval: kiosk.db.FaultLog).
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    from .app import create_app
    from .clock import SimulatedClock, parse_start
    from .db import SameSecrets, WeakSecret
    from .push import run_ticker
    from .queue import Owner, listen_now
    from .schedule import load
    from .server import AUTOCHECKPOINT_SAFETY_NET, AlreadyServing, claim, run_checkpoints
    from .server import serve as serve_app
    from .web import origins, socketio

    try:
        schedule = load(schedule_path)
    except ScheduleError as exc:
        raise Failure(told(exc)) from None
    if speed <= 0:
        raise click.BadParameter("must be positive", param_hint="--speed")
    if speed != 1 and not clock_start:
        raise click.BadParameter(
            "only a simulated clock (--clock) runs faster", param_hint="--speed"
        )
    clock = None
    if clock_start:
        try:
            clock = SimulatedClock(
                parse_start(clock_start, schedule.event.tz), speed, epoch=clock_epoch
            )
        except ValueError:
            raise click.BadParameter(
                f"{clock_start!r} is not a moment like 2023-07-03T08:55", param_hint="--clock"
            ) from None
    if bool(certfile) != bool(keyfile):
        raise click.UsageError("--certfile and --keyfile go together")
    # The options given replace the environment's list, as for any option.
    try:
        allowed = origins(allow_origins or os.environ.get("KIOSK_ALLOW_ORIGINS", ""))
    except ValueError as exc:
        hint = "--allow-origin" if allow_origins else "KIOSK_ALLOW_ORIGINS"
        raise click.BadParameter(str(exc), param_hint=hint) from None
    if message_queue and message_queue.split("://")[0] not in ("redis", "rediss", "unix"):
        raise click.BadParameter(
            f"{message_queue!r} is not a Redis address like redis://127.0.0.1:6379/0",
            param_hint="--message-queue",
        )
    tls = {"certfile": certfile, "keyfile": keyfile} if certfile else {}
    scheme = "https" if tls else "http"
    if workers:
        if not message_queue:
            raise click.UsageError(
                "--workers needs --message-queue (or KIOSK_MESSAGE_QUEUE): the processes "
                "share their pushes through Redis"
            )
        forwarded = ["--db", os.path.abspath(db_path), "--message-queue", message_queue]
        if schedule_path:
            forwarded += ["--schedule", os.path.abspath(schedule_path)]
        if clock_start:
            forwarded += ["--clock", clock_start, "--speed", str(speed)]
        forwarded += ["--idle-timeout", str(idle_timeout)]
        for origin in allow_origins:
            forwarded += ["--allow-origin", origin]
        front = public_url(public_url_option, host, port, scheme)
        return run_workers(workers, host, port, forwarded, certfile, keyfile, front)
    # Before anything opens the database: one server per database, or several sharing a
    # message queue (see server.claim).
    try:
        lock = claim(db_path, f"{scheme}://{host}:{port}", shared=bool(message_queue))
    except AlreadyServing as exc:
        raise Failure(told(exc)) from None
    except OSError as exc:
        raise Failure(
            _("cannot lock %(file)s: %(reason)s", file=db_path + ".lock", reason=exc.strerror)
        ) from None
    # Every link printed below, and the programme's QR code, start with the address the
    # venue's tablets, screens and phones reach this server at.
    base = public_url(public_url_option, host, port, scheme)
    try:
        app = create_app(
            {
                "DATABASE": db_path,
                "SCHEDULE": schedule,
                "CLOCK": clock,
                "ASYNC_MODE": "gevent",
                "PUBLIC_URL": base,
                "WAL_AUTOCHECKPOINT": AUTOCHECKPOINT_SAFETY_NET,
                "ALLOW_ORIGINS": allowed,
                "MESSAGE_QUEUE": message_queue,
                "BEHIND_PROXY": behind_proxy,
                "PROCESS": str(port) if message_queue else None,
                "HTTPS": bool(tls) or (behind_proxy and base.startswith("https://")),
            }
        )
    except WeakSecret as exc:
        raise refused_secret(exc) from None
    except SameSecrets:
        raise Failure(
            _(
                "%(organiser)s, %(kiosk)s and %(stage)s must hold three different secrets: "
                "otherwise a kiosk or the lectern's screen could steer the screens.",
                **dict(
                    zip(("organiser", "kiosk", "stage"), SECRET_VARIABLES.values(), strict=True)
                ),
            )
        ) from None
    rt = app.extensions["kiosk"]
    # The organiser, kiosk and stage links below carry the secrets in full, on purpose:
    # they are how the tablets and lecterns log in. Nothing else printed shows a secret.
    # Labels in the command's language, links as they are (f-strings kept out of the
    # _() calls: the catalogs' extractor cannot read them).
    # Under --workers only the first process prints them, at its first start (--no-links).
    if not no_links:
        screens = f"{base}/screen/{schedule.rooms[0].id}"
        organiser = f"{base}/organiser?token={rt.organiser_token}"
        kiosk = f"{base}/kiosk?token={rt.kiosk_token}&device=kiosque%201"
        click.echo(_("kiosk: %(title)s", title=schedule.event.title))
        click.echo(_("  screens:   %(url)s", url=screens))
        click.echo(_("  programme: %(url)s", url=base + "/programme"))
        click.echo(_("  organiser: %(url)s", url=organiser))
        click.echo(_("  kiosk:     %(url)s", url=kiosk))
        for room in schedule.rooms:
            click.echo(_("  stage:     %(url)s", url=stage_link(base, room.id, rt.stage_token)))
        if host in WILDCARDS:
            here = f"{scheme}://localhost:{port}"
            click.echo(_("  (on this machine itself: %(url)s)", url=here))
        if clock:
            start, times = f"{clock.start:%Y-%m-%d %H:%M}", f"{speed:g}"
            click.echo(
                _("  simulated clock from %(start)s at ×%(speed)s", start=start, speed=times)
            )
        if message_queue:
            click.echo(_("  message queue: %(url)s", url=message_queue))
    sys.stdout.flush()
    if message_queue:
        rt.owner = Owner(db_path)  # the clock ticker and checkpoints run in one process
        listen_now(socketio.server)
    socketio.start_background_task(run_ticker, rt, app.logger)
    socketio.start_background_task(run_checkpoints, db_path, owner=rt.owner)
    try:
        serve_app(app, host, port, idle_timeout=idle_timeout, **tls)
    except OSError as exc:  # the port is taken, or the address is not this machine's
        raise Failure(
            _(
                "cannot listen on %(host)s:%(port)s: %(reason)s",
                host=host,
                port=port,
                reason=exc.strerror,
            )
        ) from None
    finally:
        lock.close()


def run_workers(
    workers: int,
    host: str,
    port: int,
    forwarded: list[str],
    certfile: str | None,
    keyfile: str | None,
    front: str,
) -> None:
    """`kiosk serve --workers N`: the processes and nginx, watched until SIGTERM."""
    import logging

    from .workers import FrontMissing, prepare, worker_ports

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        supervisor = prepare(workers, host, port, forwarded, certfile, keyfile, front)
    except FrontMissing:
        raise Failure(
            _("--workers runs nginx in front of the processes: apt-get install nginx")
        ) from None
    ports = ", ".join(str(p) for p in worker_ports(port, workers))
    click.echo(
        _(
            "kiosk: %(n)s processes (ports %(ports)s) behind nginx at %(url)s",
            n=workers,
            ports=ports,
            url=front,
        )
    )
    sys.stdout.flush()
    sys.exit(supervisor.run())


@cli.command("organiser-link")
@_db_option
@click.option("--host", default="localhost", show_default=True, help="Host name in the link.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port in the link.")
def organiser_link_command(db_path, host, port) -> None:
    """Print the organiser link (it carries the secret: share it with organisers only).

    Example: kiosk organiser-link --host 192.168.1.20
    """
    click.echo(organiser_link(host, port, _env_secret(db_path, "organiser_token")))


@cli.command("stage-link")
@_db_option
@_schedule_option
@click.option("--host", default="localhost", show_default=True, help="Host name in the link.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port in the link.")
@click.option("--room", "room_id", default=None, help="Only this room's link (its id).")
def stage_link_command(db_path, schedule_path, host, port, room_id) -> None:
    """Print the lectern's screen link of each room (it reads the stage and steers nothing).

    Example: kiosk stage-link --host 192.168.1.20 --room lamartine
    """
    from .schedule import load

    try:
        rooms = [r.id for r in load(schedule_path).rooms]
    except ScheduleError as exc:
        raise Failure(told(exc)) from None
    if room_id is not None:
        if room_id not in rooms:
            raise Failure(
                _("no room “%(room)s” (rooms: %(rooms)s)", room=room_id, rooms=", ".join(rooms))
            )
        rooms = [room_id]
    token = _env_secret(db_path, "stage_token")
    shown = "localhost" if host in WILDCARDS or host == "127.0.0.1" else host
    for room in rooms:
        click.echo(stage_link(f"http://{shown}:{port}", room, token))


def _open_db(db_path: str):
    import logging

    from . import db as database

    # A storage fault ends the command with its own error line (_Commands): the server's
    # fault log would say it a second time.
    logging.getLogger(database.__name__).addHandler(logging.NullHandler())
    database.check(db_path)
    db = database.connect(db_path)
    database.migrate(db)
    return db


def _event_tz(schedule_path: str | None):
    from .schedule import load

    try:
        return load(schedule_path).event.tz
    except ScheduleError as exc:
        raise Failure(told(exc)) from None


@cli.command("kiosk-link")
@_db_option
@click.option("--host", default="localhost", show_default=True, help="Host name in the link.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port in the link.")
@click.option(
    "--device",
    default="kiosque 1",
    show_default=True,
    help="Name of the kiosk, recorded with each check-in it makes.",
)
def kiosk_link_command(db_path, host, port, device) -> None:
    """Print a welcome-desk kiosk link: it can check people in and register walk-ins only.

    Example: kiosk kiosk-link --host 192.168.1.20 --device "kiosque 2"
    """
    from urllib.parse import quote

    token = _env_secret(db_path, "kiosk_token")
    shown = "localhost" if host in ("0.0.0.0", "::", "127.0.0.1") else host
    click.echo(f"http://{shown}:{port}/kiosk?token={token}&device={quote(device)}")


@cli.group()
def attendees() -> None:
    """Import, export, print and purge the attendee list."""


def _pairs(option: str, values: tuple[str, ...]) -> dict[str, str]:
    """« Colonne=field » options as a dict; a value without « = » is refused by name."""
    pairs = {}
    for value in values:
        left, equal, right = value.partition("=")
        if not equal or not left.strip():
            raise click.BadParameter(
                _("%(value)s: expected « Column=value »", value=repr(value)), param_hint=option
            )
        pairs[left.strip()] = right.strip()
    return pairs


@attendees.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_db_option
@click.option("--dry-run", is_flag=True, help="Check and count, write nothing.")
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar='"Column=field"',
    help="Read a column as a field (civility, first_name, last_name, name, organisation, "
    "function, email, category, vip, code), or as nothing: « Email payeur= ». Repeatable.",
)
@click.option(
    "--category",
    "category_labels",
    multiple=True,
    metavar='"Label=category"',
    help="Count a label of the category column as a category: « Étudiant=chercheur ». "
    "Repeatable; other labels are kept as written.",
)
def import_command(file, db_path, dry_run, mappings, category_labels) -> None:
    """Import attendees from a CSV file (all or nothing; no duplicates on a second run).

    Reads the exports of pretix (order data, check-in list), Eventbrite (attendee
    summary), Weezevent, HelloAsso, Google Forms and Excel (, ; or tab separators, UTF-8,
    UTF-16 « Texte Unicode », Windows-1252), in French or English. Says which column feeds
    which field and which columns are left out, then the counts. The attendee's own
    columns come before the buyer's; a ticket's own code (pretix secret, barcode, ticket
    number) is kept, so that the guest's QR code checks them in.

    A file with problems writes nothing and lists them all: line, column, value, and what
    the cell may hold (the first 50, then how many more).

    Example: kiosk attendees import inscrits.csv --dry-run --map "Votre structure=organisation"
    """
    import datetime as dt
    from pathlib import Path

    from .attendees import IMPORT_FIELDS, CsvError, import_csv

    mapping = _pairs("--map", mappings)
    for field in mapping.values():
        if field and field not in IMPORT_FIELDS:
            raise click.BadParameter(
                _(
                    "%(field)s is not a field; one of %(fields)s, or nothing to leave the "
                    "column out",
                    field=repr(field),
                    fields=", ".join(IMPORT_FIELDS),
                ),
                param_hint="--map",
            )
    raw = Path(file).read_bytes()
    db = _open_db(db_path)
    lines = max(raw.count(b"\n"), 1)
    try:
        with click.progressbar(length=lines, label="Import", file=sys.stderr) as bar:
            report = import_csv(
                db,
                raw,
                dt.datetime.now(dt.UTC),
                progress=bar.update,
                mapping=mapping,
                categories=_pairs("--category", category_labels),
                dry_run=dry_run,
            )
    except CsvError as exc:
        from .i18n import translator

        report = exc.report(limit=50, gettext=translator(language()))
        raise Failure(_("%(file)s: %(problem)s", file=file, problem=report)) from None
    columns = report.columns
    click.echo(_("Columns read:"))
    for column, field, instead_of in columns.describe():
        if instead_of is None:
            click.echo(f"  {column} → {field}")
        else:
            click.echo(
                _(
                    "  %(column)s → %(field)s, where %(first)s is empty",
                    column=column,
                    field=field,
                    first=instead_of,
                )
            )
    if columns.ignored:
        names = ", ".join(columns.header[i] for i in columns.ignored)
        click.echo(_("Columns left out: %(names)s", names=names))
    counts = _(
        "%(imported)s, %(present)s.",
        imported=ngettext(
            "%(n)d attendee imported",
            "%(n)d attendees imported",
            report.created,
            n=report.created,
        ),
        present=ngettext(
            "%(n)d already present",
            "%(n)d already present",
            report.already_present,
            n=report.already_present,
        ),
    )
    if dry_run:
        counts = _("Dry run, nothing written: %(counts)s", counts=counts)
    click.echo(counts)
    if "code" in columns.fields:
        click.echo(
            ngettext(
                "%(n)d new attendee keeps their ticket's code; the others get a code made here.",
                "%(n)d new attendees keep their ticket's code; the others get a code made here.",
                report.with_their_code,
                n=report.with_their_code,
            )
        )


@attendees.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@_db_option
@_schedule_option
def export_command(file, db_path, schedule_path) -> None:
    """Write every attendee with their code and arrival time (CSV, ; and UTF-8 BOM).

    Example: kiosk attendees export liste-avec-codes.csv
    """
    from pathlib import Path

    from .attendees import export_all
    from .i18n import translator

    text = export_all(_open_db(db_path), _event_tz(schedule_path), translator(language()))
    Path(file).write_text(text, encoding="utf-8", newline="")
    count = text.count(chr(10)) - 1
    click.echo(
        ngettext(
            "%(n)d attendee written to %(file)s.",
            "%(n)d attendees written to %(file)s.",
            count,
            n=count,
            file=file,
        )
    )


@attendees.command("qr")
@click.argument("directory", type=click.Path(file_okay=False))
@_db_option
def qr_command(directory, db_path) -> None:
    """Write one QR code image (SVG) per attendee; the image carries the code only.

    Example: kiosk attendees qr badges-qr/
    """
    from pathlib import Path

    from .attendees import write_qr_codes

    db = _open_db(db_path)
    total = db.execute("SELECT COUNT(*) FROM attendees").fetchone()[0]
    with click.progressbar(length=total, label="QR", file=sys.stderr) as bar:
        count = write_qr_codes(db, Path(directory), progress=bar.update)
    click.echo(
        ngettext(
            "%(n)d QR code written to %(directory)s.",
            "%(n)d QR codes written to %(directory)s.",
            count,
            n=count,
            directory=directory,
        )
    )


@attendees.command("purge")
@_db_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge_command(db_path, yes) -> None:
    """Delete all personal data after the event, keeping anonymous counts by category.

    Example: kiosk attendees purge --yes
    """
    import datetime as dt

    from .checkin import purge

    if not yes:
        click.confirm(_("Delete every attendee's personal data for good?"), abort=True)
    count = purge(_open_db(db_path), dt.datetime.now(dt.UTC))
    click.echo(
        ngettext(
            "%(n)d attendee deleted; anonymous counts kept.",
            "%(n)d attendees deleted; anonymous counts kept.",
            count,
            n=count,
        )
    )


@cli.group("schedule")
def schedule_group() -> None:
    """Bring in a timetable published by another tool (pretalx, frab)."""


@schedule_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the YAML to this file (default: print it).",
)
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
def schedule_import_command(file, out, force) -> None:
    """Convert a frab/pretalx schedule.xml or a pretalx schedule.json into kiosk's YAML.

    One block per talk (its type as the label, its abstract as the description, its
    speakers as turns); prints what was converted and what was left out (overlapping
    talks, talks crossing midnight, speakers without a name, fields kiosk has no place for).

    Example: kiosk schedule import schedule.xml -o schedule.yaml
    """
    from pathlib import Path

    from .schedule import parse
    from .timetables import ConversionError, convert

    if out and Path(out).exists() and not force:
        raise Failure(_("%(file)s already exists (--force to overwrite it)", file=out))
    try:
        text = Path(file).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Failure(
            _("%(file)s: not UTF-8 text (%(reason)s)", file=file, reason=exc.reason)
        ) from None
    try:
        conversion = convert(text, file)
    except ConversionError as exc:
        raise Failure(told(exc)) from None
    made = conversion.to_yaml(Path(file).name)
    try:  # what is written must be a timetable `kiosk check` and `kiosk serve` accept
        parse(made, out or "<converted>")
    except ScheduleError as exc:
        raise Failure(told(exc)) from None
    if out:
        Path(out).write_text(made, encoding="utf-8")
    else:
        click.echo(made, nl=False)
    # Without -o the YAML is the output: the summary goes to stderr, out of its way.
    say = (lambda line: click.echo(line)) if out else (lambda line: click.echo(line, err=True))
    say(
        _(
            "Converted from %(format)s: %(title)s",
            format=conversion.format,
            title=conversion.data["event"]["title"],
        )
    )
    say(
        _(
            "  %(rooms)s, %(days)s, %(blocks)s (%(breaks)s), %(speakers)s",
            rooms=ngettext("%(n)d room", "%(n)d rooms", conversion.rooms, n=conversion.rooms),
            days=ngettext("%(n)d day", "%(n)d days", len(conversion.days), n=len(conversion.days)),
            blocks=ngettext("%(n)d block", "%(n)d blocks", conversion.blocks, n=conversion.blocks),
            breaks=ngettext("%(n)d break", "%(n)d breaks", conversion.breaks, n=conversion.breaks),
            speakers=ngettext(
                "%(n)d speaker", "%(n)d speakers", conversion.speakers, n=conversion.speakers
            ),
        )
    )
    for note in conversion.notes:
        say(_("  note: %(note)s", note=told(note)))
    if conversion.left_out:
        say(_("Left out:"))
        for item in conversion.left_out:
            say(_("  - %(item)s", item=told(item)))
    else:
        say(_("Nothing left out."))
    if out:
        say(_("Written to %(file)s; check it with « kiosk check %(file)s ».", file=out))


def report_html(report, css: str, lang: str) -> str:
    """The report's page (templates/report.html) outside any request: with `css`, the
    stylesheet is written into the page so that the file prints on its own."""
    import jinja2
    from babel.dates import format_date

    from . import report as record
    from .app import TEMPLATES
    from .i18n import plural_translator, translator

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    gettext = translator(lang)
    env.install_gettext_callables(gettext, plural_translator(lang), newstyle=True)  # type: ignore[attr-defined]
    return env.get_template("report.html").render(
        report=report,
        day=format_date(report.date, "full", locale=lang),
        lang=lang,
        css=css,
        **record.helpers(gettext, "," if lang == "fr" else "."),
    )


@cli.command("report")
@_db_option
@_schedule_option
@click.option(
    "--format",
    "kind",
    type=click.Choice(["md", "csv", "html"]),
    default="md",
    show_default=True,
    help="md for the rapporteur, csv for a spreadsheet (« ; » and UTF-8 BOM, as French "
    "Excel opens it), html to print.",
)
@click.argument("file", required=False, type=click.Path(dir_okay=False, writable=True))
def report_command(db_path, schedule_path, kind, file) -> None:
    """Write the record of the day: each block and turn, planned and actual times and
    minutes, overruns, status, delays and messages, with the day's totals (to FILE, or
    the screen).

    Example: kiosk report --format csv compte-rendu.csv
    """
    from pathlib import Path

    from babel.dates import format_date

    from . import report as record
    from .app import STATIC
    from .i18n import translator
    from .schedule import load

    try:
        schedule = load(schedule_path)
    except ScheduleError as exc:
        raise Failure(told(exc)) from None
    lang = language()
    gettext = translator(lang)
    decimal = "," if lang == "fr" else "."
    built = record.build(_open_db(db_path), schedule)
    if kind == "csv":
        text = record.to_csv(built, gettext, decimal)
    elif kind == "html":
        css = (STATIC / "css" / "report.css").read_text(encoding="utf-8")
        text = report_html(built, css, lang)
    else:
        day = format_date(built.date, "full", locale=lang)
        text = record.to_markdown(built, gettext, decimal, day)
    if file is None:
        click.echo(text.removeprefix("\ufeff"), nl=not text.endswith("\n"))
        return
    Path(file).write_text(text, encoding="utf-8", newline="")
    click.echo(_("Report written to %(file)s.", file=file))


def main() -> None:
    # Patch before anything imports socket or threading, as gevent requires.
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        from gevent import monkey

        monkey.patch_all()
    cli()
