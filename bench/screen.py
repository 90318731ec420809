"""The room screen page: bytes transferred with all its assets, and time to the first
render of the current speaker, in headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from common import ARGS, CHROMIUM, ORGANISER_TOKEN, Connection, start_kiosk, table

# Installed before the page's own scripts: notes when the speaker first appears.
WATCH = """
new MutationObserver((_, observer) => {
  if (document.querySelector('.turn.current .name')) {
    window.firstSpeakerAt = performance.now();
    observer.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
"""


def run(workdir: Path, loads: int = 10) -> tuple[str, dict]:
    import asyncio

    from playwright.sync_api import sync_playwright

    server = start_kiosk(workdir / "screen.db", "2023-07-03T11:40")
    port = server.port

    async def speaker():
        conn = await Connection(port).open()
        try:
            await conn.request(
                "POST",
                "/api/rooms/lamartine/goto",
                {"session": "session-2", "turn": 3},
                {"Authorization": f"Bearer {ORGANISER_TOKEN}"},
            )
        finally:
            conn.close()

    asyncio.run(speaker())
    url = f"http://127.0.0.1:{port}/screen/lamartine"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            sizes: dict[str, int] = {}
            times = []
            for i in range(loads):
                # A new context each time: an empty cache, as a screen that just started.
                context = browser.new_context(viewport={"width": 1920, "height": 1080})
                page = context.new_page()
                page.add_init_script(WATCH)
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                urls: dict[str, str] = {}
                got: dict[str, int] = {}
                cdp.on(
                    "Network.requestWillBeSent",
                    lambda e, urls=urls: urls.__setitem__(e["requestId"], e["request"]["url"]),
                )
                cdp.on(
                    "Network.loadingFinished",
                    lambda e, got=got: got.__setitem__(e["requestId"], int(e["encodedDataLength"])),
                )
                page.goto(url, wait_until="load")
                page.wait_for_selector(".turn.current .name")
                times.append(page.evaluate("window.firstSpeakerAt"))
                if i == 0:
                    for request_id, length in got.items():
                        name = urls.get(request_id, "?").split(str(port), 1)[-1]
                        if not name.startswith("/socket.io/"):  # the live link, not the page
                            sizes[name] = length
                context.close()
            browser.close()
    finally:
        server.stop()
    total = sum(sizes.values())
    rows = [[name, size / 1024] for name, size in sorted(sizes.items(), key=lambda x: -x[1])]
    rows.append(["**total**", total / 1024])
    text = table(["screen page resource", "KB transferred"], rows)
    text += "\n\n" + table(
        ["first render of the current speaker (ms after navigation start)", "median", "max"],
        [[f"{loads} loads, empty cache, 1920×1080", statistics.median(times), max(times)]],
    )
    return text, {"bytes": total, "resources": sizes, "first_render_ms": times}


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(run(Path(tmp), int(sys.argv[1]) if len(sys.argv) > 1 else 10)[0])
