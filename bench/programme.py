"""The phone programme on a big day: its first view on a mid-range phone, and /api/schedule.

    python bench/programme.py [--runs 5] [--rooms 8] [--json FILE]

A real `kiosk serve` on the generated congress day (bench/bigday.py: 8 rooms, 239 talks,
384 turns) at a fixed clock, /programme opened in Debian's Chromium through Playwright as a
phone opens it: 390×844, mobile, touch, CPU slowed down 4× (CDP Emulation.setCPUThrottlingRate),
an empty cache each time. Each figure is the median of the runs.

What is counted:
- "transferred": every HTTP response's `Network.loadingFinished.encodedDataLength` (headers
  and body as they crossed the wire, compressed if they were) from navigation until the page
  is interactive: the HTML, CSS, scripts, icons, socket.io's polling requests; plus the
  socket's WebSocket upgrade (its response headers) and the payload of the frames it received
  meanwhile (the rooms' states). Requests still open at that moment (a long poll) are not.
- "interactive": from navigation start until `document.body.dataset.ready === "yes"` (the
  page says its live states are applied and its search and filter usable); for a page
  without that marker (the programme before issue 12), until both the `load` event and
  `document.body.dataset.online === "yes"` (the socket joined), whichever is later.
- "longest task": the longest main-thread task (PerformanceObserver 'longtask') until then.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import tempfile
from pathlib import Path

import bigday
from common import ARGS, CHROMIUM, Connection, Process, start_kiosk, table

CLOCK = "2023-07-03T10:05"  # mid-morning: every room is in a talk, some breaks ahead
PHONE = {"width": 390, "height": 844}
SLOWDOWN = 4
# Targets of issue 12. The DOM bound: a 844 px screen shows about ten lines of the day;
# each line (time, room, label, title, speakers, badges) is 10 to 15 elements, the page's
# frame (header, live bar, filter, search, footer) about a hundred: 800 leaves room for a
# few screens' worth before the user scrolls or searches, and is a twentieth of a whole
# day drawn at once.
TARGETS = {"interactive_ms": 1000, "transferred_kb": 100, "dom_elements": 800}

# Installed before the page's own scripts: notes the moments the page marks, and the
# longest main-thread task.
WATCH = """
window.__bench = { longest: 0 };
(() => {
  const b = window.__bench;
  const check = () => {
    const body = document.body;
    if (!body) return;
    if (body.dataset.ready === "yes" && b.ready === undefined) b.ready = performance.now();
    if (body.dataset.online === "yes" && b.online === undefined) b.online = performance.now();
    if (body.dataset.live === "yes" && b.live === undefined) b.live = performance.now();
  };
  new MutationObserver(check).observe(document, {
    attributes: true, subtree: true, childList: true,
    attributeFilter: ["data-ready", "data-online", "data-live"],
  });
  addEventListener("load", () => { b.load = performance.now(); check(); });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.longest = Math.max(b.longest, e.duration);
    }).observe({ type: "longtask", buffered: true });
  } catch (e) { b.longest = null; }
})();
"""
READY = "() => window.__bench.ready !== undefined"
# Every room's state from the socket (the page's `data-live`, after interactive).
LIVE = "() => window.__bench.live !== undefined"
LOADED_ONLINE = "() => window.__bench.load !== undefined && window.__bench.online !== undefined"
EITHER = f"() => ({READY})() || ({LOADED_ONLINE})()"
FIGURES = """() => {
  const bar = document.querySelector(".live-bar");
  return {
    dom_elements: document.getElementsByTagName("*").length,
    page_height_px: document.documentElement.scrollHeight,
    live_bar_px: bar ? bar.offsetHeight : null,
    longest_task_ms: window.__bench.longest,
    first_paint_ms: (performance.getEntriesByName("first-contentful-paint")[0] || {}).startTime,
    load_ms: window.__bench.load,
    scripts_run_ms: performance.getEntriesByType("navigation")[0].domInteractive,
    online_ms: window.__bench.online,
    marks: window.__bench,
  };
}"""


def start_server(workdir: Path, rooms: int) -> Process:
    """`kiosk serve` on a generated day of `rooms` rooms, at the benchmark's clock."""
    talks, turns = bigday_size(rooms)
    schedule = workdir / f"bigday-{rooms}.yaml"
    bigday.write(schedule, rooms=rooms, talks=talks, turns=turns)
    return start_kiosk(
        workdir / f"programme-{rooms}.db",
        CLOCK,
        ("--schedule", str(schedule)),
        {"KIOSK_LANG": "fr"},
    )


def bigday_size(rooms: int) -> tuple[int, int]:
    """The issue's days: 8 rooms → 239 talks, 384 turns; other sizes in proportion."""
    return round(239 * rooms / 8), 48 * rooms


def api_schedule(port: int) -> dict:
    """/api/schedule's bytes: the body as it is, and as served to a client taking gzip."""
    import asyncio

    async def fetch(headers):
        conn = await Connection(port).open()
        try:
            return await conn.request("GET", "/api/schedule", headers=headers)
        finally:
            conn.close()

    _, raw = asyncio.run(fetch({}))
    _, served = asyncio.run(fetch({"Accept-Encoding": "gzip"}))
    gzipped = served[:2] == b"\x1f\x8b"
    return {
        "raw_bytes": len(raw),
        "gzip_bytes": len(served) if gzipped else len(gzip.compress(raw, 6)),
        "served_gzip": gzipped,
    }


def first_view(browser, url: str, marker: str | None) -> dict:
    """One first view on an empty cache; `marker` is READY or LOADED_ONLINE (None: find out)."""
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    page = context.new_page()
    page.add_init_script(WATCH)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": SLOWDOWN})
    sizes: dict[str, int] = {}
    urls: dict[str, str] = {}
    socket = {"handshake": 0, "frames": 0, "frame_count": 0}
    cdp.on(
        "Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"])
    )
    cdp.on(
        "Network.loadingFinished",
        lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])),
    )

    def handshake(e):
        headers = e["response"].get("headersText") or "".join(
            f"{k}: {v}\r\n" for k, v in e["response"].get("headers", {}).items()
        )
        socket["handshake"] += len(headers.encode())

    def frame(e):
        socket["frames"] += len(e["response"]["payloadData"].encode())
        socket["frame_count"] += 1

    cdp.on("Network.webSocketHandshakeResponseReceived", handshake)
    cdp.on("Network.webSocketFrameReceived", frame)
    response = page.goto(url, wait_until="commit")
    html_decoded = len(response.body())

    def snapshot() -> tuple[int, dict]:
        """What has crossed the wire so far, and the page's figures, at this moment."""
        return sum(sizes.values()) + socket["handshake"] + socket["frames"], page.evaluate(FIGURES)

    if marker is None:  # the page as it is: does it say when it is ready?
        page.wait_for_function(EITHER, timeout=60_000)
        transferred, figures = snapshot()  # interactive, should the page have no marker
        try:
            page.wait_for_function(READY, timeout=5_000)
            marker = READY
            transferred, figures = snapshot()
        except Exception:  # Playwright's TimeoutError: no marker, the page before issue 12
            marker = LOADED_ONLINE
    else:
        page.wait_for_function(marker, timeout=60_000)
        transferred, figures = snapshot()
    marks = figures.pop("marks")
    interactive = marks["ready"] if marker == READY else max(marks["load"], marks["online"])
    # Live: the page as it follows the day. The page before issue 12 carried every room's
    # state in its HTML: live once interactive.
    live_ms, live_bytes = interactive, transferred
    if marker == READY:
        page.wait_for_function(LIVE, timeout=60_000)
        live_bytes, _ = snapshot()
        live_ms = page.evaluate("() => window.__bench.live")
    html = next((sizes[r] for r, u in urls.items() if u == url and r in sizes), float("nan"))
    resources = {}
    for request_id, length in sizes.items():
        name = urls.get(request_id, "?").split("127.0.0.1", 1)[-1].split("/", 1)[-1]
        name = "/" + name.split("?", 1)[0]
        resources[name] = resources.get(name, 0) + length
    context.close()
    return {
        "marker": "ready" if marker == READY else "load + online",
        "interactive_ms": interactive,
        "transferred_bytes": transferred,
        "live_ms": live_ms,
        "live_transferred_bytes": live_bytes,
        "socket_bytes": socket["handshake"] + socket["frames"],
        "socket_frames": socket["frame_count"],
        "html_transferred_bytes": html,
        "html_decoded_bytes": html_decoded,
        "resources": resources,
        **figures,
    }


def measure(workdir: Path, runs: int = 5, rooms: int = 8) -> dict:
    """The median of `runs` first views of /programme, and /api/schedule's bytes."""
    from playwright.sync_api import sync_playwright

    server = start_server(workdir, rooms)
    url = f"http://127.0.0.1:{server.port}/programme"
    try:
        views = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            marker = None
            for _ in range(runs):
                views.append(first_view(browser, url, marker))
                marker = READY if views[-1]["marker"] == "ready" else LOADED_ONLINE
            browser.close()
        schedule = api_schedule(server.port)
    finally:
        server.stop()
    median = {}
    for key in views[0]:
        values = [v[key] for v in views if isinstance(v.get(key), (int, float))]
        if values:
            median[key] = statistics.median(values)
    return {
        "rooms": rooms,
        "talks": bigday_size(rooms)[0],
        "runs": runs,
        "clock": CLOCK,
        "kiosk": kiosk_source(),
        "marker": views[0]["marker"],
        "median": median,
        "interactive_ms_all": [round(v["interactive_ms"]) for v in views],
        "resources": views[0]["resources"],
        "api_schedule": schedule,
    }


def kiosk_source() -> str:
    """Which kiosk is measured: the commit and branch of the package this interpreter runs
    (the `kiosk serve` started is the one beside it), « + changes » if its tree is not clean."""
    import subprocess

    import kiosk

    repo = Path(kiosk.__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
        return done.stdout.strip()

    commit = git("rev-parse", "--short=7", "HEAD") or "unknown commit"
    dirty = (
        " + changes" if git("status", "--porcelain", "--", "kiosk", "templates", "static") else ""
    )
    return f"{commit}{dirty} (branch {git('rev-parse', '--abbrev-ref', 'HEAD') or '?'})"


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min) on {os.cpu_count()} cores"


def kb(v: float) -> str:
    return f"{v / 1024:,.0f} KB" if v == v else "–"


def ms(v: float | None) -> str:
    return f"{v:,.0f} ms" if v is not None else "–"


def verdict(m: dict) -> list[list]:
    """The issue's targets against the medians: [target, measured, met]."""
    return [
        [
            "programme interactive < 1 s at 4× slowdown",
            f"{m['interactive_ms']:,.0f} ms",
            m["interactive_ms"] < TARGETS["interactive_ms"],
        ],
        [
            "programme's first view < 100 KB transferred (until live: the rooms' states too)",
            kb(live_bytes(m)),
            live_bytes(m) < TARGETS["transferred_kb"] * 1024,
        ],
        [
            f"programme's DOM ≤ {TARGETS['dom_elements']} elements at first view",
            f"{m['dom_elements']:,.0f}",
            m["dom_elements"] <= TARGETS["dom_elements"],
        ],
    ]


def live_bytes(m: dict) -> float:
    # figures measured before the page had a live mark: live once interactive
    return m.get("live_transferred_bytes", m["transferred_bytes"])


def report(after: dict, before: dict | None) -> str:
    """The before/after table and the verdict against the targets, in Markdown."""

    def figures(m: dict, api: dict) -> list[str]:
        bar = m.get("live_bar_px")
        longest = m.get("longest_task_ms")
        return [
            f"{m['interactive_ms']:,.0f} ms",
            ms(m.get("first_paint_ms")),
            ms(m.get("scripts_run_ms")),
            ms(m.get("load_ms")),
            ms(m.get("online_ms")),
            ms(m.get("live_ms", m["interactive_ms"])),
            kb(m["transferred_bytes"]),
            kb(live_bytes(m)),
            kb(m["socket_bytes"]),
            f"{kb(m['html_transferred_bytes'])} / {kb(m['html_decoded_bytes'])}",
            f"{m['dom_elements']:,.0f}",
            f"{m['page_height_px']:,.0f} px",
            f"{longest:,.0f} ms" if longest is not None else "–",
            f"{bar:,.0f} px" if bar is not None else "–",
            f"{kb(api['raw_bytes'])} / {kb(api['gzip_bytes'])}",
        ]

    labels = [
        "interactive (median)",
        "first contentful paint",
        "HTML parsed, its scripts run (`domInteractive`)",
        "`load` event",
        "socket joined (`data-online`)",
        "live: every room's state from the socket",
        "transferred until interactive",
        "transferred until live",
        "of which the socket, until live (upgrade, states received)",
        "HTML transferred / decoded",
        "DOM elements, first view",
        "page height",
        "longest main-thread task",
        "live bar height (of 844 px)",
        "/api/schedule raw / gzip",
    ]
    after_cells = figures(after["median"], after["api_schedule"])
    header = ["", "after"]
    if before:
        header = ["", f"before ({before['commit']}, {before['date']})", "after"]
        before_cells = figures(before["median"], before["api_schedule"])
        rows = [
            [label, b, a] for label, b, a in zip(labels, before_cells, after_cells, strict=True)
        ]
    else:
        rows = [[label, a] for label, a in zip(labels, after_cells, strict=True)]
    text = table(header, rows)
    text += "\n\n" + table(
        ["target (after)", "measured", "met"],
        [[a, b, "yes" if ok else "**no**"] for a, b, ok in verdict(after["median"])],
    )
    resources = sorted(after["resources"].items(), key=lambda x: -x[1])
    text += "\n\n" + table(
        ["first view's responses (after, one run)", "KB transferred"],
        [[name, size / 1024] for name, size in resources],
    )
    text += (
        f"\n\nInteractive, each run (after, ms): {', '.join(map(str, after['interactive_ms_all']))}"
        f"; the page's marker: {after['marker']}."
    )
    if before:
        text += f" Before: {', '.join(map(str, before['interactive_ms_all']))}; {before['note']}"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rooms", type=int, default=8)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    load = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        data = measure(Path(tmp), args.runs, args.rooms)
    data["load_before"] = load
    data["load_after"] = load_average()
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    print(report(data, None))
    print(json.dumps(data, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
