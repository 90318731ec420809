"""`kiosk serve --workers N`: N `kiosk serve` processes sharing a message queue, and nginx
in front of them, started, watched and stopped as one.

Each process is one gevent loop on one core; the front spreads clients over them with
sticky sessions (kiosk/deploy/nginx.conf). A process that dies is started again after
`RESTART_PAUSE`; meanwhile its clients reconnect through the front to the others. The
processes listen on loopback only: nobody reaches them but the front, which is why they
may trust the client address the front passes on (--behind-proxy).
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

# Seconds before a process that died is started again (a crash loop stays slow).
RESTART_PAUSE = 1.0
# A process that exits with an error before it ever answered, this many times in a row,
# cannot start (its port taken, a database it may not open): everything stops, with its
# message. One that answered, or was killed, is started again however often.
FAILED_STARTS = 3
# Seconds the processes get to stop on SIGTERM before they are killed.
STOP_WAIT = 10.0
KIOSK = [sys.executable, "-c", "from kiosk.cli import main; main()"]


class FrontMissing(RuntimeError):
    """nginx is not installed."""


# `kiosk serve`'s hidden option: the event's links (with their secrets) not printed. All
# processes but the first get it, and the first when it is started again.
NO_LINKS = "--no-links"


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if found is None:
        raise FrontMissing("nginx")
    return found


def nginx_config(
    prefix: Path,
    host: str,
    port: int,
    upstreams: list[int],
    certfile: str | None = None,
    keyfile: str | None = None,
) -> str:
    """kiosk/deploy/nginx.conf filled in for these processes, this address and TLS."""
    template = resources.files("kiosk").joinpath("deploy/nginx.conf").read_text("utf-8")
    listen_host = f"[{host}]" if ":" in host else host
    listen = f"        listen {listen_host}:{port}{' ssl' if certfile else ''};\n"
    if certfile:
        listen += (
            f"        ssl_certificate {Path(certfile).resolve()};\n"
            f"        ssl_certificate_key {Path(keyfile).resolve()};\n"
            "        ssl_protocols TLSv1.2 TLSv1.3;\n"
        )
    # Never set aside (max_fails=0): a dead process refuses at once and the next answers;
    # marked down, it would stay so for a while after it is back (docs/deploy.md).
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=0;" for p in upstreams)
    return (
        template.replace("@PREFIX@", str(prefix))
        .replace("@UPSTREAMS@", servers)
        .replace("@LISTEN@", listen)
    )


class Supervisor:
    """The processes and the front: started, restarted when one dies, stopped together."""

    def __init__(
        self,
        worker_args: list[list[str]],
        nginx: list[str],
        env: dict[str, str],
        folder: Path | None = None,
    ):
        self.worker_args = worker_args
        self.nginx_args = nginx
        self.env = env
        # nginx's configuration and temporary files, removed once everything has stopped:
        # left behind, one folder a run piled up in /tmp (and one per restart under systemd).
        self.folder = folder
        self.workers: list[subprocess.Popen | None] = [None] * len(worker_args)
        self.front: subprocess.Popen | None = None
        self.stopping = False
        self.ports = [int(args[args.index("--port") + 1]) for args in worker_args]
        self.listening = [False] * len(worker_args)
        self.failed_starts = [0] * len(worker_args)

    def start_worker(self, n: int, again: bool = False) -> None:
        self.listening[n] = False
        # The links and their secrets printed once: by the first process, at its first start.
        quiet = [NO_LINKS] if n or again else []
        self.workers[n] = subprocess.Popen(
            [*KIOSK, *self.worker_args[n], *quiet], env=self.env, preexec_fn=_end_with_parent
        )

    def run(self) -> int:
        from .server import raise_open_files_limit

        # The handlers first and everything in the try: a signal or a failure while
        # starting still stops what started and removes nginx's folder.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        try:
            raise_open_files_limit()  # inherited by nginx and the processes
            for n in range(len(self.workers)):
                self.start_worker(n)
            self.front = subprocess.Popen(self.nginx_args, preexec_fn=_start_front)
            while not self.stopping:
                if self.front.poll() is not None:
                    log.error("the front (nginx) stopped: exit status %s", self.front.returncode)
                    return 1
                for n, proc in enumerate(self.workers):
                    if proc is None or self.stopping:
                        continue
                    if proc.poll() is None:
                        if not self.listening[n] and _answers(self.ports[n]):
                            self.listening[n] = True
                            self.failed_starts[n] = 0
                        continue
                    # Ended by itself with an error before it answered: it cannot start.
                    # Killed by a signal (kill -9, the OOM killer, a crash), it is started
                    # again whenever that happened.
                    if not self.listening[n] and proc.returncode > 0:
                        self.failed_starts[n] += 1
                        if self.failed_starts[n] >= FAILED_STARTS:
                            log.error("process %d cannot start: stopping", n + 1)
                            return 1
                    log.error(
                        "process %d (port %s) ended with status %s: starting it again",
                        n + 1,
                        self.ports[n],
                        proc.returncode,
                    )
                    time.sleep(RESTART_PAUSE)
                    if not self.stopping:
                        self.start_worker(n, again=True)
                time.sleep(0.2)  # the supervisor's own pace: it only watches
            return 0
        finally:
            self.shutdown()

    def _stop(self, signum, frame) -> None:
        self.stopping = True

    def shutdown(self) -> None:
        self.stopping = True
        procs = [p for p in [*self.workers, self.front] if p is not None and p.poll() is None]
        if self.front is not None and self.front.poll() is None:
            # nginx's fast stop: a graceful one (SIGQUIT) would wait for every open
            # websocket to close, which screens never do by themselves.
            self.front.send_signal(signal.SIGTERM)
        for proc in self.workers:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _answers(port: int) -> bool:
    """Whether the kiosk process of `port` answers there (its X-Kiosk-Process says so: not
    another program that holds the port). An answer that is not HTTP is no process either:
    another program's, or this poll's own request read back when, on a port in the kernel's
    ephemeral range, it was given the port it polls as its own and connected to itself."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=0.5)
    try:
        conn.request("GET", "/api/schedule")
        response = conn.getresponse()
        response.read()
        return response.getheader("X-Kiosk-Process") == str(port)
    except (OSError, http.client.HTTPException):  # nothing there yet, or no HTTP there
        return False
    finally:
        conn.close()


def _end_with_parent() -> None:
    """In a child, before it runs: the kernel sends it SIGTERM if the supervisor dies,
    even by kill -9, so that no process or nginx is left holding the ports (Linux)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _start_front() -> None:
    """In nginx, before it runs: ended with the supervisor, and scheduled as a batch task.

    With the processes keeping both cores busy, nginx woke for every couple of answers and
    preempted a process each time (about a third of its CPU samples in the switches: perf,
    finish_task_switch). A batch task (SCHED_BATCH, its fair share of CPU unchanged) does
    not preempt on waking: it runs when a core frees, or at a scheduler tick once the
    running process has had its time slice (ticks of 4 ms here; longer when several tasks
    share the core), and forwards more answers each time. Measured with two processes, both
    fronts taking turns in one run: nginx's CPU per check-in 0.10 → 0.06 ms, check-ins per
    second +8 to +12 %; and a request made meanwhile waited less, not more (median 23
    against 31-44 ms: bench/notes.md). On an idle core nginx runs at once, as before. Its
    workers inherit the policy.
    """
    _end_with_parent()
    with contextlib.suppress(AttributeError, OSError):  # not Linux: the ordinary policy
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def worker_ports(port: int, workers: int) -> list[int]:
    """The processes listen on the ports right after the front's."""
    return [port + n for n in range(1, workers + 1)]


def prepare(
    workers: int,
    host: str,
    port: int,
    serve_args: list[str],
    certfile: str | None,
    keyfile: str | None,
    front_url: str,
) -> Supervisor:
    """The supervisor of `workers` processes (each `kiosk serve` with `serve_args`) and
    nginx on host:port; nginx's files in a temporary folder of its own, which the
    supervisor removes when it stops."""
    nginx = nginx_binary()
    prefix = Path(tempfile.mkdtemp(prefix="kiosk-front-"))
    ports = worker_ports(port, workers)
    try:
        (prefix / "nginx.conf").write_text(
            nginx_config(prefix, host, port, ports, certfile, keyfile), encoding="utf-8"
        )
    except BaseException:
        shutil.rmtree(prefix, ignore_errors=True)
        raise
    epoch = str(time.time())  # one simulated clock for all (ignored without --clock)
    worker_args = [
        [
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(p),
            *serve_args,
            "--behind-proxy",
            "--public-url",
            front_url,
            "--clock-epoch",
            epoch,
        ]
        for p in ports
    ]
    return Supervisor(
        worker_args,
        [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        dict(os.environ),
        prefix,
    )
