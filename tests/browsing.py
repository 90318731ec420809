"""Every browser page of the tests, opened through one object that watches it for errors.

An uncaught exception or a `console.error` in any page fails the test that opened it,
with the messages, unless the test declared that message expected beforehand (a server
killed on purpose makes the socket's requests fail, and Chromium logs each one). The
`pages` fixture in conftest.py hands this out; no test opens a page any other way.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("KIOSK_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# What Chromium logs while the server is down: each socket.io request or upgrade that
# failed at the network level (refused, reset, cut short: which one depends on where the
# request was when the server died), never an HTTP status or a script's error.
SERVER_DOWN = r"Failed to load resource: net::ERR_[A-Z_]+ |WebSocket connection to .* failed"


def launch(playwright, *extra: str):
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, *extra])


class Pages:
    """Opens pages (each in its own browser context unless told otherwise) and keeps
    every page error they raise; `problems()` is what the test has not declared."""

    def __init__(self, playwright, browser):
        self._playwright = playwright
        self._browser = browser
        self._launched: list = []
        self._contexts: list = []
        self._expected: list[re.Pattern] = []
        self.errors: list[str] = []

    def launch(self, *extra: str):
        """A browser of this test's own, with extra flags (a fake camera, say)."""
        browser = launch(self._playwright, *extra)
        self._launched.append(browser)
        return browser

    def open(
        self,
        url: str,
        width: int = 1920,
        height: int = 1080,
        *,
        browser=None,
        context=None,
        permissions: tuple[str, ...] = (),
    ):
        """A new page showing `url`, watched from before its first script runs."""
        if context is None:
            context = (browser or self._browser).new_context(
                viewport={"width": width, "height": height}
            )
            self._contexts.append(context)
            if permissions:
                parts = urlsplit(url)
                context.grant_permissions(
                    list(permissions), origin=f"{parts.scheme}://{parts.netloc}"
                )
        page = context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: uncaught {exc}"))
        page.on("console", lambda msg: self._console(page, msg))
        page.goto(url)
        return page

    def _console(self, page, msg) -> None:
        if msg.type == "error":
            # Chromium's own messages (a failed request) name the resource only here.
            source = msg.location.get("url", "")
            self.errors.append(f"{page.url}: console.error {msg.text} [{source}]")

    def expect_console(self, pattern: str) -> None:
        """Declare a console message this test causes on purpose (regular expression)."""
        self._expected.append(re.compile(pattern))

    def problems(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self._expected)]

    def check(self) -> None:
        """Fail now if a page has failed so far (the fixture checks again at the end)."""
        assert self.problems() == []

    def close(self) -> None:
        for context in self._contexts:
            context.close()
        for browser in self._launched:
            browser.close()
