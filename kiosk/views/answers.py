"""How a check-in is told to whoever made it: a kiosk's scan, an organiser's tap."""

from __future__ import annotations

from .. import checkin
from ..i18n import gettext, hm
from ..web import runtime


def greeting(result: checkin.Result) -> str:
    """« Bienvenue, Mme Martin », « Déjà enregistré·e à 9 h 12 (kiosque 1) »…"""
    if result.status == checkin.CHECKED_IN:
        return gettext("Welcome, %(name)s", name=result.attendee.display_name)
    if result.status == checkin.ALREADY:
        return gettext(
            "Already checked in at %(time)s (%(kiosk)s)",
            time=hm(result.checked_in_at.astimezone(runtime().schedule.event.tz)),
            kiosk=result.kiosk,
        )
    if result.status == checkin.UNKNOWN:
        return gettext("Unknown code — please ask at the welcome desk")
    if result.status == checkin.NOT_A_TICKET:
        return gettext(
            "This QR code is not a ticket for this event — please ask at the welcome desk"
        )
    return gettext("Unreadable code — please scan again or ask at the welcome desk")


def checkin_json(result: checkin.Result) -> dict:
    """A check-in's outcome: `status` says which (checked_in, already_checked_in…)."""
    body = {"status": result.status, "message": greeting(result)}
    if result.attendee is not None:
        body["attendee"] = {"display_name": result.attendee.display_name}
        body["checked_in_at"] = result.checked_in_at.isoformat()
        body["kiosk"] = result.kiosk
    return body
