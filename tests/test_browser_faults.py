"""The kiosk page and a screen in a real browser when the server cannot record a scan
(503) or is stopped (SIGTERM)."""

from __future__ import annotations

import signal
import sqlite3

import pytest

from .browsing import SERVER_DOWN
from .test_browser_desk import codes, kiosk_url

pytestmark = pytest.mark.browser


def test_a_scan_answered_503_keeps_its_code_to_send_again(pages, server):
    from playwright.sync_api import expect

    pages.expect_console(r"status of 503 .*\[.*/api/checkin\]$")  # the refusal, on purpose
    code = codes(server)["Hollande"]
    holder = sqlite3.connect(server.db, isolation_level=None)
    try:
        page = pages.open(kiosk_url(server), 1280, 800)
        expect(page.locator("#code")).to_be_focused()
        holder.execute("BEGIN IMMEDIATE")  # another process holds the database
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        expect(page.locator("#result-text")).to_have_text(
            "Service momentanément indisponible — réessayez.", timeout=10_000
        )
        holder.execute("ROLLBACK")
        # Back to scanning with the code still there: Enter alone sends it again.
        expect(page.locator("#scan")).to_be_visible(timeout=15_000)
        expect(page.locator("#code")).to_have_value(code)
        expect(page.locator("#code")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("#result-text")).to_have_text("Bienvenue, M. Hollande")
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")


def test_a_screen_reconnects_to_the_next_server_after_a_sigterm(pages, server):
    from playwright.sync_api import expect

    pages.expect_console(SERVER_DOWN)  # the server is stopped on purpose
    screen = pages.open(server.url + "/screen/lamartine", 1280, 720)
    expect(screen.locator("body")).to_have_attribute("data-online", "yes")
    screen.evaluate("window.notReloaded = true")
    # Told to go, the screen takes it as a lost link (a Socket.IO-level disconnect
    # would have told it not to come back)...
    server.kill(signal.SIGTERM)
    expect(screen.locator("#offline")).to_be_visible(timeout=10_000)
    # ...and comes back by itself to the next server, which has moved on meanwhile.
    server.start()
    assert server.post("/api/rooms/lamartine/goto", {"session": "session-3", "turn": 1}).ok
    expect(screen.locator(".turn.current .name")).to_have_text(
        "M. Stéphane Troussel", timeout=15_000
    )
    expect(screen.locator("#offline")).to_be_hidden()
    assert screen.evaluate("window.notReloaded") is True


def test_a_scan_lost_on_the_network_keeps_its_code_to_send_again(pages, server):
    """A scan with no answer at all (Wi-Fi cut, a server restarting) used to lose the code."""
    from playwright.sync_api import expect

    pages.expect_console(r"Failed to load resource: net::ERR_FAILED .*\[.*/api/checkin\]$")
    code = codes(server)["Hollande"]
    page = pages.open(kiosk_url(server), 1280, 800)
    expect(page.locator("#code")).to_be_focused()
    page.route("**/api/checkin", lambda route: route.abort())  # the network eats it
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    expect(page.locator("#result-text")).to_have_text(
        "Pas de réponse du serveur : veuillez réessayer."
    )
    page.unroute("**/api/checkin")
    expect(page.locator("#scan")).to_be_visible(timeout=15_000)
    expect(page.locator("#code")).to_have_value(code)
    page.keyboard.press("Enter")
    expect(page.locator("#result-text")).to_have_text("Bienvenue, M. Hollande")
