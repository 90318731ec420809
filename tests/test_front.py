"""`kiosk serve --workers 2`: two processes behind Debian's nginx, sharing a real Redis.

Clients come from different loopback addresses (127.0.0.x), as phones and screens come
from different addresses at a venue; nginx hashes each address to one process, and the
X-Kiosk-Process header says which one answered.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from kiosk import workers

from .browsing import SERVER_DOWN
from .cluster import Listener, front_arguments, nginx_of, process_on
from .conftest import KIOSK_COMMAND, KIOSK_TOKEN, TOKEN, free_ports


class Front:
    """`kiosk serve --workers N` in its own process group."""

    def __init__(
        self,
        tmp_path: Path,
        redis_url: str,
        workers: int = 2,
        clock="2023-07-03T10:20",
        env: dict[str, str] | None = None,
    ):
        self.port = free_ports(workers + 1)
        self.db = tmp_path / "kiosk.db"
        self.log = tmp_path / "front.log"
        self.workers = workers
        cmd = [*KIOSK_COMMAND, *front_arguments(workers, redis_url, self.port, self.db, clock)]
        env = dict(
            os.environ,
            KIOSK_ORGANISER_TOKEN=TOKEN,
            KIOSK_KIOSK_TOKEN=KIOSK_TOKEN,
            KIOSK_LANG="en",
            **(env or {}),
        )
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
                start_new_session=True,
            )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        # Ready when every process answers through the front's own address... and its own.
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kiosk serve --workers exited: {self.log.read_text()}")
            if all(self.answers(p) for p in self.process_ports()) and self.answers(self.port):
                return
            time.sleep(0.1)  # polling for readiness
        raise RuntimeError(f"--workers did not start: {self.log.read_text()}")

    def process_ports(self) -> list[int]:
        return [self.port + n for n in range(1, self.workers + 1)]

    @staticmethod
    def answers(port: int) -> bool:
        try:
            return request("127.0.0.1", port, "GET", "/api/schedule")[0] == 200
        except OSError:
            return False

    def request(self, source: str, method: str, path: str, body=None, token=None):
        return request(source, self.port, method, path, body, token)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def request(source: str, port: int, method: str, path: str, body=None, token=None):
    """An HTTP request from the loopback address `source`: (status, headers, JSON or
    text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = conn.getresponse()
        data = response.read()
        if response.getheader("Content-Type", "").startswith("application/json"):
            return response.status, dict(response.getheaders()), json.loads(data)
        return response.status, dict(response.getheaders()), data.decode()  # nginx's 502
    finally:
        conn.close()


def sources_on_each_process(front: Front) -> dict[str, str]:
    """For each process (by its port), a loopback address nginx sends to it."""
    found: dict[str, str] = {}
    for n in range(2, 60):
        source = f"127.0.0.{n}"
        _status, headers, _ = front.request(source, "GET", "/api/rooms/lamartine/state")
        found.setdefault(headers["X-Kiosk-Process"], source)
        if len(found) == front.workers:
            return found
    raise AssertionError(f"nginx sent every address to {set(found)}")


def socket_from(front: Front, source: str, token: str | None = None) -> Listener:
    """A socket.io client connected through the front from `source` (websocket only)."""
    sock = socket.create_connection(("127.0.0.1", front.port), source_address=(source, 0))
    return Listener(front.url, token, websocket_extra_options={"socket": sock})


def closed(port: int) -> None:
    """Returns once nothing listens on `port` any more: a process killed with its threads
    still exiting holds its sockets a moment after its main thread is a zombie."""
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return
        except ConnectionResetError:  # its listening socket went while we connected
            pass
        assert time.monotonic() < deadline, f"port {port} still open"
        time.sleep(0.01)  # polling for the end of a process we do not own


@pytest.fixture
def front(tmp_path, redis_server):
    running = Front(tmp_path, redis_server.url)
    yield running
    running.stop()


def test_a_screen_on_one_process_sees_a_command_sent_to_the_other(front):
    (one, a), (two, b) = sorted(sources_on_each_process(front).items())
    assert one != two
    screen = socket_from(front, a)
    try:
        assert screen.client.call("join", {"room": "lamartine"}, timeout=5) == {"ok": True}
        screen.wait_for("state")
        sent = time.monotonic()
        status, headers, state = front.request(
            b, "POST", "/api/rooms/lamartine/message", {"text": "Salle comble"}, TOKEN
        )
        assert status == 200, state
        assert headers["X-Kiosk-Process"] == two  # the command went to the other process
        seen = screen.wait_for("state", lambda s: s["message"] == "Salle comble")
        assert seen["version"] == state["version"]
        assert screen.arrived - sent < 1.0  # within a second of the command, as the issue asks
    finally:
        screen.close()


def test_a_check_in_through_one_process_reaches_the_arrivals_on_the_other(front):
    (one, a), (two, b) = sorted(sources_on_each_process(front).items())
    desk = socket_from(front, a, token=TOKEN)
    try:
        assert desk.client.call("watch_attendance", {}, timeout=5) == {"ok": True}
        assert desk.wait_for("attendance")["checked_in"] == 0
        status, headers, walk_in = front.request(
            b, "POST", "/api/attendees",
            {"first_name": "Léa", "last_name": "Martin", "category": "presse"}, KIOSK_TOKEN,
        )  # fmt: skip
        assert status == 201, walk_in
        assert headers["X-Kiosk-Process"] == two
        desk.wait_for("attendance", lambda counts: counts["checked_in"] == 1)
        # the walk-in's code checks in (once) through the other process too
        status, _, again = front.request(
            a, "POST", "/api/checkin", {"code": walk_in["code"]}, KIOSK_TOKEN
        )
        assert (status, again["status"]) == (200, "already_checked_in")
    finally:
        desk.close()


def test_redis_restarted_behind_the_front_pushes_resume_across_processes(front, redis_server):
    (one, a), (two, b) = sorted(sources_on_each_process(front).items())
    screen = socket_from(front, a)
    try:
        assert screen.client.call("join", {"room": "lamartine"}, timeout=5) == {"ok": True}
        screen.wait_for("state")
        redis_server.stop()
        # Redis away: the other process still takes the command through nginx (kept in
        # SQLite), and the screen on the first hears of it once Redis is back.
        status, headers, _ = front.request(
            b, "POST", "/api/rooms/lamartine/message", {"text": "Pendant la coupure"}, TOKEN
        )
        assert (status, headers["X-Kiosk-Process"]) == (200, two)
        redis_server.start()
        screen.wait_for("state", lambda s: s["message"] == "Pendant la coupure", timeout=15)
        status, headers, state = front.request(
            b, "POST", "/api/rooms/lamartine/message", {"text": "Rétabli"}, TOKEN
        )
        assert (status, headers["X-Kiosk-Process"]) == (200, two)
        seen = screen.wait_for("state", lambda s: s["message"] == "Rétabli")
        assert seen["version"] == state["version"]
    finally:
        screen.close()


def test_the_front_passes_the_clients_own_address_to_the_throttles(front):
    (_one, a), (_two, b) = sorted(sources_on_each_process(front).items())
    # Eleven wrong secrets from one address: that address is told to wait...
    statuses = [
        front.request(a, "GET", "/api/attendees", token="wrong-" + "x" * 30)[0] for _ in range(11)
    ]
    assert statuses[-1] == 429
    # ...and a kiosk at another address still checks in.
    status, _, answer = front.request(b, "POST", "/api/checkin", {"code": "A" * 24}, KIOSK_TOKEN)
    assert status == 404, answer  # an unknown code, not a refusal of the address


def test_the_links_are_printed_once_not_by_every_process(front):
    # Each process printed the event's links with their secrets: the organiser read them
    # once per process, and the log holds the secrets that many times.
    log = front.log.read_text()
    assert log.count("/organiser?token=") == 1, log
    assert log.count("/kiosk?token=") == 1, log


def test_nginx_runs_as_a_batch_task(front):
    # Woken for every couple of answers, nginx preempted a busy process each time (about a
    # third of its CPU samples in the switches), and both cores saturated served fewer
    # check-ins. A batch task does not preempt on waking, and forwards more answers a time.
    nginx = nginx_of(front.proc.pid)
    assert len(nginx) == 2, nginx  # its master and its one worker
    assert {os.sched_getscheduler(pid) for pid in nginx} == {os.SCHED_BATCH}
    # The processes keep the ordinary policy: they answer the moment a request comes.
    policies = {os.sched_getscheduler(process_on(p)) for p in front.process_ports()}
    assert policies == {os.SCHED_OTHER}


@pytest.mark.browser
def test_a_killed_process_its_screen_comes_back_through_the_front(front, pages):
    from playwright.sync_api import expect

    pages.expect_console(SERVER_DOWN)  # a process is killed on purpose
    screen = pages.open(front.url + "/screen/lamartine", 1280, 720)
    expect(screen.locator("body[data-online=yes]")).to_have_count(1)
    # The browser comes from 127.0.0.1: whichever process that hashes to is killed.
    _, headers, _ = request("127.0.0.1", front.port, "GET", "/api/schedule")
    victim = int(headers["X-Kiosk-Process"])
    pid = process_on(victim)
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    closed(victim)  # a request now is refused there, and goes to the other process
    status, _, state = front.request(
        "127.0.0.1", "POST", "/api/rooms/lamartine/message", {"text": "Après la panne"}, TOKEN
    )
    assert status == 200, state  # the front sent the command to the process left
    # and the welcome desk goes on: a walk-in registered and checked in, through the front
    status, _, walk_in = front.request(
        "127.0.0.1", "POST", "/api/attendees",
        {"first_name": "Noël", "last_name": "Bézier", "category": "presse"}, KIOSK_TOKEN,
    )  # fmt: skip
    assert status == 201, walk_in
    status, _, again = front.request(
        "127.0.0.1", "POST", "/api/checkin", {"code": walk_in["code"]}, KIOSK_TOKEN
    )
    assert (status, again["status"]) == (200, "already_checked_in")
    # the screen back, through the front on the other process, within 5 s of the kill
    left_ms = max(1.0, (5.0 - (time.monotonic() - killed)) * 1000)  # 0 is "no timeout"
    expect(screen.locator("#message")).to_contain_text("Après la panne", timeout=left_ms)
    expect(screen.locator("body[data-online=yes]")).to_have_count(1)
    # and the supervisor starts the killed process again
    deadline = time.monotonic() + 20
    while not Front.answers(victim):
        assert time.monotonic() < deadline, front.log.read_text()
        time.sleep(0.1)  # polling for the restart


def test_a_process_killed_again_and_again_is_started_again_each_time(front):
    """A process that listened and then died is a crash to recover from, however soon
    after its start (it was stopped for good after three deaths within 5 s of a start)."""
    port = front.process_ports()[0]
    for _ in range(4):
        pid = process_on(port)
        os.kill(pid, signal.SIGKILL)
        closed(port)
        deadline = time.monotonic() + 20
        while not Front.answers(port):  # started again by the supervisor
            assert front.proc.poll() is None, front.log.read_text()
            assert time.monotonic() < deadline, front.log.read_text()
            time.sleep(0.05)  # polling for the restart
    assert front.answers(front.port)
    # The first process prints the links with their secrets at its first start, not at
    # each restart (the log, or systemd's journal, would hold them once per crash).
    assert front.log.read_text().count("/organiser?token=") == 1


def test_both_processes_killed_the_first_one_back_answers_at_once(front):
    """nginx does not keep a process it saw fail set aside once it is back: after both
    died, the welcome desk checks in again the moment one of them answers (with
    `max_fails=1 fail_timeout=2s`, every request during the outage set both aside for
    two more seconds, answered 502 at once).
    """
    ports = front.process_ports()
    for port in ports:
        os.kill(process_on(port), signal.SIGKILL)
    for port in ports:
        closed(port)
    deadline = time.monotonic() + 20
    while not any(Front.answers(port) for port in ports):
        assert time.monotonic() < deadline, front.log.read_text()
        # kiosks keep scanning through the outage: nothing answers them
        status, _, _ = front.request("127.0.0.2", "GET", "/api/schedule")
        assert status == 502
        time.sleep(0.05)  # polling for the restart
    status, headers, answer = front.request(
        "127.0.0.2", "POST", "/api/checkin", {"code": "A" * 24}, KIOSK_TOKEN
    )
    assert status == 404, answer  # answered by a process: an unknown code
    assert int(headers["X-Kiosk-Process"]) in ports


def test_the_front_leaves_no_folder_behind(tmp_path, redis_server):
    """nginx's configuration and temporary files are in a folder of the supervisor's,
    removed when it stops: every run left one in /tmp (636 on a test machine), and under
    systemd's Restart= a crash loop would add one every few seconds."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    front = Front(tmp_path, redis_server.url, env={"TMPDIR": str(temp)})
    try:
        names = [p.name for p in temp.iterdir()]
        assert len(names) == 1 and names[0].startswith("kiosk-front-"), names  # nginx's
    finally:
        front.stop()
    assert list(temp.iterdir()) == []


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(None, id="its-own-request-echoed"),  # a poll connected to itself reads it
        pytest.param(b"SSH-2.0-OpenSSH_9.2\r\n", id="another-protocol"),
    ],
)
def test_a_port_that_answers_but_not_in_http_is_not_a_process_up(reply):
    # The supervisor polls each process's port until it answers; an answer that is not HTTP
    # raised out of the poll (http.client's BadStatusLine is no OSError) and stopped them all.
    with socket.socket() as program:
        program.bind(("127.0.0.1", 0))
        program.listen()

        def answer():
            conn, _ = program.accept()
            with conn:
                request = conn.recv(4096)
                conn.sendall(request if reply is None else reply)

        thread = threading.Thread(target=answer)
        thread.start()
        try:
            assert workers._answers(program.getsockname()[1]) is False
        finally:
            thread.join(timeout=10)


def test_a_process_that_cannot_start_stops_the_whole(tmp_path, redis_server):
    """A process that fails every start (here its port is taken by another program)
    makes the supervisor give up with its message rather than restart it forever, and
    leaves nothing behind."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    port = free_ports(3)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port + 1))
        squatter.listen()
        done = subprocess.run(
            [*KIOSK_COMMAND, "serve", "--workers", "2", "--message-queue", redis_server.url,
             "--host", "127.0.0.1", "--port", str(port), "--db", str(tmp_path / "k.db")],
            capture_output=True, text=True, timeout=60,
            env=dict(os.environ, KIOSK_LANG="en", TMPDIR=str(temp)),
        )  # fmt: skip
    assert done.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port + 1}" in done.stderr
    assert "process 1 cannot start: stopping" in done.stderr
    assert list(temp.iterdir()) == []
