"""UI strings that the browser scripts need, translated for the request's language.

Templates call gettext directly; scripts get this dictionary in the page, so every UI
string lives in the same Babel catalogs. Placeholders in braces are filled by the scripts.
"""

from __future__ import annotations

from flask_babel import gettext as _


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
        "late": _("Running {n} min late"),
        "early": _("Running {n} min early"),
        "on_time": _("On time"),
        "in_progress": _("In progress"),
        "mode_auto": _("Automatic: follows the clock"),
        "mode_manual": _("Manual: held by the organiser"),
        "drift_late": _("{n} min behind the printed programme"),
        "drift_early": _("{n} min ahead of the printed programme"),
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
        "checked_in": _("Checked in"),
        "not_arrived": _("Not arrived"),
        "check_in": _("Check in"),
        "undo": _("Undo"),
    }
