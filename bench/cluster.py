"""Several processes: one `kiosk serve` against `kiosk serve --workers N` behind nginx, on a
real Redis, side by side in one run.

    python bench/cluster.py [--tiny] [--out FILE]

- check-in throughput: one process reached directly, one behind nginx (nginx's own cost),
  two behind nginx; clients from addresses of their own (127.2.x.y), as kiosks at a venue,
  so that nginx spreads them; the configurations take turns round by round;
- push fan-out: 2,000 screens on one process, against 2,000 spread by nginx over two
  processes, the commands alternating between them (bench/fanout.py's screens and
  pairing);
- tap-to-paint in real browsers: Chromium's tablet taps « Suivant », Chromium's room
  screen repaints the speaker; from the tap to the animation frame that paints the new
  name, over 50 taps, with one process and with the screen on the other process of two.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fanout  # noqa: E402
from checkin import attendees_csv  # noqa: E402
from common import (  # noqa: E402
    ARGS,
    CHROMIUM,
    KIOSK_TOKEN,
    ORGANISER_TOKEN,
    Process,
    burst_binary,
    checkin_burst,
    cpu_seconds_of,
    kiosk_command,
    peak_rss_mb_of,
    percentile,
    start_kiosk,
    table,
)

from tests.cluster import (  # noqa: E402
    Redis,
    front_arguments,
    nginx_of,
    process_on,
    processes,
)
from tests.conftest import free_ports  # noqa: E402

SIZES = {
    # 72 rounds: a round's rate moves by a fifth either way on this machine, and the median
    # of 24 rounds' ratios moved by 0.1 from run to run (1.51-1.72 in four full runs)
    "full": {"attendees": 43200, "rounds": 72, "per_round": 600, "clients": 64,
             "screens": 2000, "commands": 50, "fanout_rounds": 3, "taps": 50, "kills": 5},
    "tiny": {"attendees": 200, "rounds": 2, "per_round": 40, "clients": 4,
             "screens": 20, "commands": 5, "fanout_rounds": 1, "taps": 4, "kills": 1},
}  # fmt: skip


class Front:
    """`kiosk serve --workers N` behind its nginx: the port is the front's; CPU and memory
    are the sum over the kiosk processes (nginx's own are reported apart)."""

    spread = True  # clients from many addresses, as nginx hashes them

    def __init__(self, workdir: Path, db: Path, workers: int, redis: Redis, clock: str):
        self.workers = workers
        self.port = free_ports(workers + 1)
        self.log = workdir / f"front-{self.port}.log"
        argv = [*kiosk_command(), *front_arguments(workers, redis.url, self.port, db, clock)]
        self.process = Process(argv, self.port, self.log)
        self.process.start("/api/schedule")
        for p in range(self.port + 1, self.port + 1 + workers):  # every process answers
            wait_for(p)

    def pids(self) -> list[int]:
        return [
            pid
            for pid, args in processes()
            if b"--behind-proxy" in args
            and (
                int(args[args.index(b"--port") + 1])
                in range(self.port + 1, self.port + 1 + self.workers)
            )
        ]

    def nginx_pids(self) -> list[int]:
        """This front's nginx: the supervisor's child and its workers."""
        return nginx_of(self.process.proc.pid)

    def cpu_seconds(self) -> float:
        return sum(cpu_of(pid) for pid in self.pids())

    def nginx_cpu_seconds(self) -> float:
        return sum(cpu_of(pid) for pid in self.nginx_pids())

    def peak_rss_mb(self) -> float:
        return sum(rss_of(pid) for pid in self.pids())

    def stop(self) -> None:
        self.process.stop()


class Direct:
    """One `kiosk serve`, reached directly."""

    spread = False

    def __init__(self, db: Path, clock: str):
        self.process = start_kiosk(db, clock)
        self.port = self.process.port

    def cpu_seconds(self) -> float:
        return self.process.cpu_seconds()

    def nginx_cpu_seconds(self) -> float:
        return 0.0

    def peak_rss_mb(self) -> float:
        return self.process.peak_rss_mb()

    def stop(self) -> None:
        self.process.stop()


def cpu_of(pid: int) -> float:
    try:
        return cpu_seconds_of(pid)
    except OSError:  # gone meanwhile (a worker of nginx, a killed process)
        return 0.0


def rss_of(pid: int) -> float:
    return peak_rss_mb_of(pid, 0.0)


def wait_for(port: int) -> None:
    """Until the kiosk process on `port` answers (plain urllib: callable from Playwright's
    synchronous API, which runs an event loop of its own)."""
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/schedule", timeout=2):
                return
        except OSError:
            time.sleep(0.05)  # polling for a process's start
    raise RuntimeError(f"nothing answers on {port}")


def database(workdir: Path, name: str, attendees: int) -> tuple[Path, list[str]]:
    import sqlite3

    db = workdir / f"{name}.db"
    subprocess.run(
        [*kiosk_command(), "attendees", "import",
         str(attendees_csv(workdir / f"{name}.csv", attendees)), "--db", str(db)],
        check=True, capture_output=True,
    )  # fmt: skip
    codes = [c for (c,) in sqlite3.connect(db).execute("SELECT code FROM attendees")]
    return db, codes


# --- check-in throughput ----------------------------------------------------------------


def kiosk_addresses(count: int) -> list[str]:
    """Kiosks' addresses of their own (127.2.x.y on loopback), as at a venue, so that
    nginx's hash spreads them over the processes."""
    return [f"127.2.{n >> 8 & 255}.{n & 255 or 1}" for n in range(1, count + 1)]


def client_cpu_seconds() -> float:
    """The load's CPU: checkin_burst's client runs as a child of this process."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def checkin_throughput(workdir: Path, redis: Redis, size: dict) -> dict:
    burst_binary()  # compiled before the client's CPU is counted
    configs = {}
    codes = {}
    try:
        db, codes["one"] = database(workdir, "one", size["attendees"])
        configs["one"] = Direct(db, "2023-07-03T08:30")
        db, codes["one_front"] = database(workdir, "one-front", size["attendees"])
        configs["one_front"] = Front(workdir, db, 1, redis, "2023-07-03T08:30")
        db, codes["two_front"] = database(workdir, "two-front", size["attendees"])
        configs["two_front"] = Front(workdir, db, 2, redis, "2023-07-03T08:30")
        kiosks = kiosk_addresses(size["clients"])
        rates: dict[str, list[float]] = {name: [] for name in configs}
        answered_by: dict[str, dict[str, int]] = {name: {} for name in configs}
        client_cpu = dict.fromkeys(configs, 0.0)
        cpu0 = {name: (c.cpu_seconds(), c.nginx_cpu_seconds()) for name, c in configs.items()}
        redis_cpu = dict.fromkeys(configs, 0.0)
        per = size["per_round"]
        for r in range(size["rounds"]):
            # the order of the configurations turns with the rounds: none always goes first
            names = list(configs)[r % 3 :] + list(configs)[: r % 3]
            for name in names:
                batch = codes[name][r * per : (r + 1) * per]
                before, redis_before = client_cpu_seconds(), cpu_of(redis.proc.pid)
                rates[name].append(
                    checkin_burst(configs[name].port, batch, kiosks, KIOSK_TOKEN, answered_by[name])
                )
                client_cpu[name] += client_cpu_seconds() - before
                redis_cpu[name] += cpu_of(redis.proc.pid) - redis_before
        done = size["rounds"] * per
        out = {}
        for name, config in configs.items():
            cpu, nginx_cpu = config.cpu_seconds(), config.nginx_cpu_seconds()
            # against one process round by round: the machine's speed drifts (other guests
            # on its host), and a round's neighbours ran at the same speed
            ratios = [r / one for r, one in zip(rates[name], rates["one"], strict=True)]
            out[name] = {
                "throughput": statistics.median(rates[name]),
                "paired_ratio": statistics.median(ratios),
                "paired_ratios": ratios,
                "rounds": rates[name],
                "cpu_ms": (cpu - cpu0[name][0]) * 1000 / done,
                "nginx_cpu_ms": (nginx_cpu - cpu0[name][1]) * 1000 / done,
                "client_cpu_ms": client_cpu[name] * 1000 / done,
                "redis_cpu_ms": redis_cpu[name] * 1000 / done,
                # the busiest process's share of the check-ins (nginx hashes addresses)
                "busiest_share": max(answered_by[name].values()) / done,
            }
        return out
    finally:
        for config in configs.values():
            config.stop()


# --- fan-out ----------------------------------------------------------------------------


def fanout_pair(workdir: Path, redis: Redis, size: dict) -> dict:
    one = two = None
    try:
        one = Direct(workdir / "fan-one.db", "2023-07-03T10:20")
        two = Front(workdir, workdir / "fan-two.db", 2, redis, "2023-07-03T10:20")
        return fanout.run_pair(
            {
                "one": (one, "lamartine", fanout.kiosk_command_step),
                "two": (two, "lamartine", fanout.kiosk_command_step),
            },
            size["screens"],
            size["commands"],
            workdir,
            2,
            size["fanout_rounds"],
        )
    finally:
        for config in (one, two):
            if config is not None:
                config.stop()


# --- tap to paint -----------------------------------------------------------------------

# On the room screen, before its scripts: the moment of the animation frame that paints
# each new speaker's name.
PAINTED = """
window.painted = [];
let shown = null;
new MutationObserver(() => {
  const name = document.querySelector('.turn.current .name');
  const text = name ? name.textContent : null;
  if (text && text !== shown) {
    shown = text;
    requestAnimationFrame((t) => window.painted.push([text, performance.timeOrigin + t]));
  }
}).observe(document, {childList: true, subtree: true, characterData: true});
"""
# The speaker on the screen is the last one painted.
PAINTED_NOW = """() => {
  const name = document.querySelector('.turn.current .name');
  const last = window.painted[window.painted.length - 1];
  return name !== null && last !== undefined && last[0] === name.textContent;
}"""
TAP = """() => {
  const at = performance.timeOrigin + performance.now();
  document.querySelector('button[data-action=next]').click();
  return at;
}"""


def taps(browser, tablet_url: str, screen_url: str, api_port: int, count: int) -> list[float]:
    """`count` taps on « Suivant », each from the same turn (put back through the API
    between taps, unmeasured): from the tap to the frame that paints the speaker, in ms."""
    tablet = browser.new_page(viewport={"width": 1280, "height": 800})
    tablet.goto(tablet_url)
    tablet.wait_for_selector("body[data-online=yes]")
    screen_context = browser.new_context(viewport={"width": 1920, "height": 1080})
    screen_context.add_init_script(PAINTED)
    screen = screen_context.new_page()
    screen.goto(screen_url)
    screen.wait_for_selector("body[data-online=yes]")
    out = []

    def command(action: str, body: dict) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{api_port}/api/rooms/lamartine/{action}",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {ORGANISER_TOKEN}",
                     "Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())["version"]

    version = command("goto", {"session": "session-2", "turn": 0})
    for _ in range(count):
        # Both pages show the first turn before the tap (else the tablet's versioned Next
        # would be refused as stale), and the tablet's guard against a double tap (its
        # buttons held for 600 ms after a command) is over.
        tablet.wait_for_function(
            "v => document.body.dataset.version === String(v) "
            "&& !document.body.classList.contains('busy')",
            arg=version,
        )
        screen.wait_for_function("v => document.body.dataset.version === String(v)", arg=version)
        screen.wait_for_function(PAINTED_NOW)  # its frame may come after the version
        before = screen.evaluate("() => window.painted.length")
        at = tablet.evaluate(TAP)
        screen.wait_for_function("n => window.painted.length > n", arg=before)
        painted = screen.evaluate("() => window.painted[window.painted.length - 1][1]")
        out.append(painted - at)
        # Back to the first turn, unmeasured: « Précédent » withdraws the turn just
        # called (not heard), so that the next tap calls it again.
        version = command("previous", {})
    screen_context.close()
    tablet.close()
    return out


def tap_to_paint(workdir: Path, redis: Redis, count: int) -> dict:
    from playwright.sync_api import sync_playwright

    out = {}
    one = two = None
    try:
        one = Direct(workdir / "tap-one.db", "2023-07-03T11:40")
        two = Front(workdir, workdir / "tap-two.db", 2, redis, "2023-07-03T11:40")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            base = f"http://127.0.0.1:{one.port}"
            out["one"] = taps(
                browser, f"{base}/organiser?token={ORGANISER_TOKEN}",
                f"{base}/screen/lamartine", one.port, count,
            )  # fmt: skip
            # Every Chromium page comes from 127.0.0.1, which nginx sends to one process:
            # the tablet goes through the front, the screen to the other process's port.
            front = f"http://127.0.0.1:{two.port}"
            with urllib.request.urlopen(f"{front}/api/schedule", timeout=10) as response:
                tablet_process = int(response.headers["X-Kiosk-Process"])
            other = next(p for p in range(two.port + 1, two.port + 3) if p != tablet_process)
            out["two"] = taps(
                browser, f"{front}/organiser?token={ORGANISER_TOKEN}",
                f"http://127.0.0.1:{other}/screen/lamartine", two.port, count,
            )  # fmt: skip
            browser.close()
    finally:
        for config in (one, two):
            if config is not None:
                config.stop()
    return out


def back_after_kill(workdir: Path, redis: Redis, times: int) -> list[float]:
    """A Chromium room screen through the front; the process it is connected to killed
    (SIGKILL), and at once a message sent through the front (to the other process): the
    seconds from the kill until the screen shows it. The supervisor restarts the killed
    process between two kills, and the screen is opened again on it."""
    from playwright.sync_api import sync_playwright

    front = Front(workdir, workdir / "kill.db", 2, redis, "2023-07-03T10:20")
    out = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"http://127.0.0.1:{front.port}/screen/lamartine")
            for n in range(times):
                if n:  # back on the process its address is sent to (the one restarted):
                    page.reload()  # its websocket stayed on the other one
                page.wait_for_selector("body[data-online=yes]")
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{front.port}/api/schedule", timeout=10
                ) as response:  # the browser's address goes where this one goes
                    victim = int(response.headers["X-Kiosk-Process"])
                pid = process_on(victim)
                text = f"Reprise {n + 1}"
                killed = time.monotonic()
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 30
                while True:  # through the front, until the other process takes it
                    try:
                        command(front.port, "message", {"text": text})
                        break
                    except OSError:  # a 502 while the killed one still holds its port
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.01)
                page.wait_for_function(
                    "t => document.getElementById('message').textContent.includes(t)",
                    arg=text,
                    timeout=30_000,
                )
                out.append(time.monotonic() - killed)
                wait_for(victim)  # started again by the supervisor
            browser.close()
    finally:
        front.stop()
    return out


def command(port: int, action: str, body: dict) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/rooms/lamartine/{action}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {ORGANISER_TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["version"]


def run(workdir: Path, size_name: str = "full") -> tuple[str, dict]:
    size = SIZES[size_name]
    redis = Redis(workdir).start()
    try:
        checkins = checkin_throughput(workdir, redis, size)
        fan = fanout_pair(workdir, redis, size)
        paint = tap_to_paint(workdir, redis, size["taps"])
        back = back_after_kill(workdir, redis, size["kills"])
    finally:
        redis.stop()
    data = {"checkin": checkins, "fanout": fan, "tap": paint, "back_after_kill": back}
    return report(checkins, fan, paint, back), data


def spread(values: list[float], form: str) -> str:
    """min · first quartile · median · third quartile · max."""
    if len(values) < 2:
        return " · ".join([form.format(values[0])] * 5)
    middle = statistics.quantiles(values, n=4, method="inclusive")  # within min and max
    return " · ".join(form.format(v) for v in (min(values), *middle, max(values)))


def report(checkins: dict, fan: dict, paint: dict, back: list[float]) -> str:
    one = checkins["one"]["throughput"]
    rows = [
        [label, checkins[key]["throughput"], checkins[key]["throughput"] / one,
         checkins[key]["paired_ratio"],
         checkins[key]["cpu_ms"], checkins[key]["nginx_cpu_ms"], checkins[key]["redis_cpu_ms"],
         checkins[key]["client_cpu_ms"], f"{checkins[key]['busiest_share']:.0%}",
         spread(checkins[key]["rounds"], "{:,.0f}")]
        for key, label in (("one", "1 process, direct"), ("one_front", "1 process behind nginx"),
                           ("two_front", "2 processes behind nginx"))
    ]  # fmt: skip
    text = "### Check-in throughput\n\n" + table(
        ["", "check-ins/s (median round)", "× 1 process", "× 1 process, round by round (median)",
         "CPU ms/check-in: kiosk", "nginx",
         "Redis", "client", "busiest process", "check-ins/s by round: min · quartiles · max"],
        rows,
    )  # fmt: skip
    ratios = checkins["two_front"]["paired_ratios"]
    text += (
        f"\n\nTwo processes behind nginx ÷ one process, round by round, over {len(ratios)} rounds"
        f" (min · quartiles · max): {spread(ratios, '{:.2f}')}."
    )
    text += "\n\n### Push fan-out\n\n" + table(
        ["screens", "", "p50 ms", "p99 ms", "max ms", "per-round p99", "lost", "kiosk CPU %"],
        [
            [fan[k]["n"], label, fan[k]["p50"], fan[k]["p99"], fan[k]["max"],
             " · ".join(f"{r:.0f}" for r in fan[k]["p99_by_round"]), fan[k]["missing"],
             fan[k]["server_cpu_pct"]]
            for k, label in (("one", "1 process"), ("two", "2 processes behind nginx"))
        ],
    )  # fmt: skip
    text += "\n\n### Tap to paint (Chromium tablet → Chromium screen)\n\n" + table(
        ["", "taps", "p50 ms", "p95 ms", "max ms"],
        [
            [label, len(paint[k]), percentile(paint[k], 50), percentile(paint[k], 95),
             max(paint[k])]
            for k, label in (("one", "1 process"),
                             ("two", "2 processes: the screen on the other one"))
        ],
    )  # fmt: skip
    text += "\n\n### A process killed: its screen back\n\n" + table(
        ["kills", "median s", "max s", "each (s)"],
        [[len(back), statistics.median(back), max(back), " · ".join(f"{b:.1f}" for b in back)]],
    )
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        text, data = run(Path(tmp), "tiny" if args.tiny else "full")
    print(text)
    if args.out:
        args.out.write_text(json.dumps(data, indent=1))
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
