"""Languages: which one a request reads, its catalog, and how times and dates are written.

One translation path for the whole app: views, socket handlers, templates (Jinja's i18n
extension is given `gettext` below) and the domain's refusals all go through
`gettext()`, which reads the Babel catalogs in kiosk/translations. French unless the
request asks for English with ?lang=en, remembered in a cookie.

Scripts get `js_strings()` in the page, so every UI string lives in the same catalogs.
Placeholders in braces are filled by the scripts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from babel import Locale
from babel.dates import format_date
from babel.support import Translations
from flask import request

from . import attendees as people
from .errors import as_written

LANGUAGES = ("fr", "en")
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

# Parsed once: a Locale is looked up on every request.
_LOCALES = {code: Locale.parse(code) for code in LANGUAGES}
_CATALOGS: dict[str, Translations] = {}


def language_in(query_string: str) -> str | None:
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
    asked = language_in(environ.get("QUERY_STRING", ""))
    if asked:
        return _LOCALES[asked]
    if "lang=" not in environ.get("HTTP_COOKIE", ""):
        return _LOCALES["fr"]
    return _LOCALES.get(request.cookies.get("lang", "fr"), _LOCALES["fr"])


def _catalog(code: str | None = None) -> Translations:
    code = code or select_locale().language
    catalog = _CATALOGS.get(code)
    if catalog is None:
        catalog = _CATALOGS[code] = Translations.load(str(TRANSLATIONS), [code])
    return catalog


def gettext(message: str, **params: Any) -> str:
    """`message` in the request's language, `%(name)s` placeholders filled from params.

    A dictionary look-up once the catalog is loaded: this runs on every scan, where
    Flask-Babel's gettext (context look-ups, locale selection on each call) cost 12 % of
    a check-in in cProfile.
    """
    return as_written(_catalog().gettext(message), **params)


def translator(language: str) -> Callable[..., str]:
    """gettext in one given language, where there is no request (the CLI's exports)."""
    catalog = _catalog(language if language in LANGUAGES else "fr")

    def translate(message: str, /, **params: Any) -> str:
        return as_written(catalog.gettext(message), **params)

    return translate


def plural_translator(language: str) -> Callable[..., str]:
    """ngettext in one given language, where there is no request (the CLI's counts)."""
    catalog = _catalog(language if language in LANGUAGES else "fr")

    def translate(singular: str, plural: str, n: int, /, **params: Any) -> str:
        return as_written(catalog.ngettext(singular, plural, n), **params)

    return translate


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    """For Jinja's i18n extension (the catalogs hold no plural forms yet)."""
    return as_written(_catalog().ngettext(singular, plural, n), **params)


_ = gettext


def hm(moment) -> str:
    """A time of day as the audience reads it: « 10 h 05 » in French, 10:05 in English."""
    if select_locale().language == "fr":
        return f"{moment.hour} h {moment.minute:02d}"
    return f"{moment.hour}:{moment.minute:02d}"


def longdate(day) -> str:
    """« lundi 3 juillet 2023 », « Monday, 3 July 2023 »."""
    return format_date(day, "full", locale=select_locale())


def shortday(day) -> str:
    """« ven. 3 mai », « Fri 3 May »: a day's tab."""
    return format_date(day, "EEE d MMM", locale=select_locale())


def categories() -> list[tuple[str, str]]:
    """The attendee categories, (key, label in the request's language)."""
    return [(key, gettext(label)) for key, label in people.CATEGORIES]


def js_strings() -> dict[str, str]:
    return {
        "reconnecting": _("reconnecting…"),
        "live": _("Live"),
        # French puts a space before the colon, English does not.
        "label_colon": _("{label}:"),
        "pair": _("{label}: {value}"),
        "at_lectern": _("At the lectern"),
        "moderator": _("Chair"),
        "next_at": _("Next at {time}"),
        "starts_at": _("Starts at {time}"),
        "resumes_at": _("Resumes at {time}"),
        "instead_of": _("instead of {time}"),
        "break": _("Break"),
        "welcome": _("Welcome"),
        "day_over": _("The day is over"),
        "thanks": _("Thank you for attending"),
        "late": _("Running {duration} late"),
        "early": _("Running {duration} early"),
        "on_time": _("On time"),
        # Durations: under an hour in minutes, longer ones in hours (« 4 h », « 6 h 10 »).
        "minutes": _("{n} min"),
        "hours": _("{h} h {mm}"),
        "whole_hours": _("{h} h"),
        "in_progress": _("In progress"),
        "mode_auto": _("Automatic: follows the clock"),
        "mode_manual": _("Manual: held by the organiser"),
        "drift_late": _("{duration} behind the printed programme"),
        "drift_early": _("{duration} ahead of the printed programme"),
        "stale": _(
            "Nothing was done: the screen had changed in the meantime. Check and tap again."
        ),
        "sent": _("Done"),
        "error": _("Error"),
        "offline": _("Not connected: commands cannot be sent."),
        "nobody": _("Nobody highlighted"),
        "message_empty": _("Type a message first."),
        "camera_starting": _("Starting the camera…"),
        "camera_ready": _("Hold the QR code in front of the camera"),
        "camera_unavailable": _("Camera unavailable: use the handheld scanner or type the code."),
        "network_error": _("No answer from the server: please try again."),
        "vip_arrival": _("VIP arrival"),
        "undo_reason": _("Why undo this check-in?"),
        "not_arrived": _("Not arrived"),
        "check_in": _("Check in"),
        "undo": _("Undo"),
        # The organiser's tablet: time-keeping and the running order.
        "session_open": _("Session open, nobody at the lectern"),
        "pause_until": _("Pause — resumes at {time}"),
        "next_resumes": _("Next resumes"),
        "block_ends": _("Session ends at {time}"),
        "day_ends": _("Day ends at {time}"),
        "apply_delay": _("Apply the delay (+{duration})"),
        "apply_on_time": _("Apply: back on time"),
        "timer_paused": _("timer paused"),
        "overtime": _("overtime"),
        "no_budget": _("no time budget: time spoken"),
        "budget_of": _("budget {duration}"),
        "extra_given": _("+{n} min given"),
        "heard": _("Heard"),
        "badge_inserted": _("added"),
        "badge_moved": _("moved"),
        "badge_cancelled": _("cancelled"),
        "badge_corrected": _("corrected"),
        "badge_minutes": _("time changed"),
        "move_up": _("Move up"),
        "move_down": _("Move down"),
        "correct": _("Correct"),
        "budget": _("Time budget"),
        "cancel_turn": _("Cancel this turn"),
        "restore": _("Restore"),
        "add_turn": _("Add a turn"),
        "times": _("Times"),
        "turn_budgets": _("Time per turn"),
        "form_insert": _("Add a turn to {block}"),
        "form_correct": _("Correct: {who}"),
        "form_budget": _("Time budget: {who}"),
        "form_block_budget": _("Time per turn in {block}"),
        "form_times": _("Times of {block}"),
        "add": _("Add"),
        "save": _("Save"),
        "this_turn": _("This turn only"),
        "whole_session": _("Every turn of the session"),
        "before_turn": _("Before {who}"),
        "at_the_end": _("At the end"),
        "at_lectern_now": _("On the lectern screen"),
        "screen_hidden": _("Room screen hidden"),
        "black_screen": _("black screen"),
        "title_only": _("title only"),
        "turn_is_cancelled": _(
            "This turn is cancelled: restore it first (Edit the running order)."
        ),
        # The lectern's screen (stage.js).
        "stage_remaining": _("Time left"),
        "stage_time_up": _("Time is up"),
        "stage_overtime": _("Overtime"),
        "stage_paused": _("Paused"),
        "stage_elapsed": _("Speaking for {time} (no time set)"),
        "stage_extra": _("+{n} min given"),
        "stage_open": _("Session open — nobody at the lectern"),
        "stage_pause_until": _("Break — resumes at {time}"),
        "stage_next": _("Coming next"),
    }
