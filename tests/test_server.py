"""A real `kiosk serve` process: real websockets, kill -9 and restart, offline assets."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import socketio

from .conftest import KIOSK_TOKEN, TOKEN, Server, free_port, run_kiosk

# The command's words are asserted in English (French is the default: test_cli_language).
pytestmark = pytest.mark.usefixtures("cli_in_english")

FRENCH_503 = "Service momentanément indisponible — réessayez."


def test_state_survives_kill_9(server: Server):
    assert server.post("/api/rooms/lamartine/goto", {"session": "session-3", "turn": 2}).ok
    assert server.post("/api/rooms/lamartine/delay", {"minutes": 20}).ok
    assert server.post("/api/rooms/lamartine/message", {"text": "Reprise à 15 h"}).ok
    order = ["session-3-1", "session-3-3", "session-3-2", "session-3-4", "session-3-5"]
    assert server.post("/api/blocks/session-3/order", {"turns": order}).ok
    before = server.state()
    server.kill()  # SIGKILL: no chance to flush or clean up
    server.start()
    after = server.state()
    for data in (before, after):
        data.pop("server_time")
        # the speaker's clock goes on (and the simulated one restarts at --clock)
        del data["timer"]["elapsed_seconds"], data["timer"]["remaining_seconds"]
    assert after == before
    assert [t["id"] for t in after["session"]["turns"]] == order
    assert (
        after["version"],
        after["speaker"]["name"],
        after["delay_minutes"],
        after["message"],
    ) == (4, "Bertrand Gallet", 20, "Reprise à 15 h")


def test_websocket_client_gets_state_on_join_and_each_change(server: Server):
    client = socketio.Client(reconnection=False)
    received: list[dict] = []
    changed = threading.Event()

    @client.on("state")
    def on_state(data):
        received.append(data)
        if data["version"] == 1:
            changed.set()

    client.connect(server.url, transports=["websocket"])
    try:
        assert client.transport() == "websocket"
        assert client.call("join", {"room": "lamartine"}, timeout=5) == {"ok": True}
        assert received[0]["version"] == 0
        assert server.post("/api/rooms/lamartine/next", {"version": 0}).ok
        assert changed.wait(5)
        assert received[-1]["speaker"]["name"] == "Dorothée Schmid"
        refused = client.call("command", {"room": "lamartine", "action": "next"}, timeout=5)
        assert refused["status"] == 403
        assert server.state()["version"] == 1
    finally:
        client.disconnect()


def test_pages_load_nothing_from_the_internet(server: Server):
    for path in ("/", "/programme", "/screen/lamartine", "/organiser"):
        html = requests.get(server.url + path, timeout=5).text
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert url.startswith(("/", "?", "#")), (path, url)
            if url.startswith("/static/"):
                assert requests.get(server.url + url, timeout=5).ok, url


def test_served_by_gevent_not_the_development_server(server: Server):
    response = requests.get(server.url + "/api/schedule", timeout=5)
    # Werkzeug's development server names itself in every response; gevent's does not.
    assert response.ok
    assert "Werkzeug" not in response.headers.get("Server", "")


def test_eight_clients_posting_the_same_code_at_once_check_in_once(server: Server):
    from concurrent.futures import ThreadPoolExecutor

    from .conftest import KIOSK_TOKEN

    walk_in = requests.post(
        server.url + "/api/attendees",
        json={"first_name": "Léa", "last_name": "Martin", "category": "presse"},
        headers={"Authorization": f"Bearer {KIOSK_TOKEN}"},
        timeout=5,
    )
    assert walk_in.status_code == 201
    code = walk_in.json()["code"]
    # Undo the walk-in's own check-in so that the eight kiosks race for the first one.
    undo = server.post(f"/api/attendees/{walk_in.json()['id']}/undo", {"reason": "test"})
    assert undo.ok
    barrier = threading.Barrier(8)

    def kiosk(n: int) -> tuple[int, str]:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {KIOSK_TOKEN}", "X-Kiosk-Device": f"k{n}"}
        barrier.wait()
        response = session.post(
            server.url + "/api/checkin", json={"code": code}, headers=headers, timeout=10
        )
        return response.status_code, response.json()["status"]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(kiosk, range(8)))
    assert sorted(results) == [(200, "already_checked_in")] * 7 + [(200, "checked_in")]


def test_eight_kiosks_scanning_different_codes_get_no_error(server: Server):
    from concurrent.futures import ThreadPoolExecutor

    from kiosk import db as database
    from kiosk.attendees import import_csv

    from .conftest import KIOSK_TOKEN, at

    rows = "".join(
        f"Guest{chr(97 + i // 26)}{chr(97 + i % 26)};Martin;Mairie {i}\n" for i in range(160)
    )
    db = database.connect(str(server.db))
    import_csv(db, ("Prénom;Nom;Organisation\n" + rows).encode(), at("07:00"))
    codes = [c for (c,) in db.execute("SELECT code FROM attendees").fetchall()]
    barrier = threading.Barrier(8)

    def kiosk(n: int) -> list[int]:
        session = requests.Session()  # keep-alive, as a kiosk tablet does
        headers = {"Authorization": f"Bearer {KIOSK_TOKEN}", "X-Kiosk-Device": f"k{n}"}
        barrier.wait()
        return [
            session.post(
                server.url + "/api/checkin", json={"code": code}, headers=headers, timeout=10
            ).status_code
            for code in codes[n::8]
        ]

    with ThreadPoolExecutor(8) as pool:
        statuses = [s for batch in pool.map(kiosk, range(8)) for s in batch]
    assert statuses == [200] * 160
    assert db.execute("SELECT COUNT(checked_in_at) FROM attendees").fetchone()[0] == 160


def wal_progress(db: Path) -> tuple[int, int]:
    """(frames in the WAL, frames copied back into the database), from SQLite's -shm file.

    Read from the file rather than asked through a connection, since asking
    (PRAGMA wal_checkpoint) would checkpoint. Layout: sqlite.org/walformat.html, §2.2.
    """
    header = Path(f"{db}-shm").read_bytes()[:100]
    (max_frame,) = struct.unpack_from("=I", header, 16)
    (backfilled,) = struct.unpack_from("=I", header, 96)
    return max_frame, backfilled


def test_the_server_checkpoints_the_wal_off_the_request_path(server: Server):
    # A few writes: far below the 20,000 pages at which a request would checkpoint itself.
    for minutes in range(1, 21):
        assert server.post("/api/rooms/lamartine/delay", {"minutes": minutes}).ok
    deadline = time.monotonic() + 10
    while True:
        frames, backfilled = wal_progress(server.db)
        if frames and backfilled == frames:
            break
        assert time.monotonic() < deadline, f"{backfilled} of {frames} WAL frames copied back"
        time.sleep(0.05)  # polling for the background checkpoint, not waiting for it


def test_the_server_freezes_start_up_objects_and_collects_garbage_less_often():
    # In a child process: freezing would otherwise hold this test session's objects.
    script = (
        "import gc; from kiosk.server import GC_THRESHOLDS, tune_garbage_collector; "
        "tune_garbage_collector(); "
        "assert gc.get_threshold() == GC_THRESHOLDS and GC_THRESHOLDS[0] > 700; "
        "assert gc.get_freeze_count() > 1000, gc.get_freeze_count()"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


class HeldRequest:
    """A POST that the server has in hand while the test holds back its body.

    The request says `Expect: 100-continue`: the server answers « 100 Continue » when the
    app starts reading the body, so once the constructor returns the request is inside
    the app, waiting; `send_body()` lets it go on, `response()` reads the answer.
    """

    def __init__(self, server: Server, path: str, body: dict, headers: dict[str, str]):
        self.body = json.dumps(body).encode()
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        lines = [
            f"POST {path} HTTP/1.1",
            "Host: 127.0.0.1",
            "Content-Type: application/json",
            f"Content-Length: {len(self.body)}",
            "Expect: 100-continue",
            "Connection: close",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""
        interim = self._head()
        assert interim.startswith(b"HTTP/1.1 100"), interim

    def _receive(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def _head(self) -> bytes:
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        return head

    def send_body(self) -> None:
        self.sock.sendall(self.body)

    def response(self) -> tuple[int, dict[str, str], dict]:
        lines = self._head().decode().split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:])
        length = int(headers["content-length"])
        while len(self.buffer) < length:
            self._receive()
        self.sock.close()
        return int(lines[0].split()[1]), headers, json.loads(self.buffer[:length])


def kiosk_headers(device: str = "kiosque 1") -> dict[str, str]:
    return {"Authorization": f"Bearer {KIOSK_TOKEN}", "X-Kiosk-Device": device}


def test_a_lock_held_by_another_process_leaves_reads_and_screens_flowing(server: Server):
    screen = socketio.Client(reconnection=False)
    dropped = threading.Event()
    screen.on("disconnect", lambda *reason: dropped.set())
    moved = threading.Event()
    screen.on("state", lambda data: data["version"] == 1 and moved.set())
    screen.connect(server.url, transports=["websocket"])
    assert screen.call("join", {"room": "lamartine"}, timeout=5) == {"ok": True}
    events = []
    holder = sqlite3.connect(server.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing, for longer than a scan waits
    try:
        scan = HeldRequest(server, "/api/checkin", {"code": "x" * 24}, kiosk_headers())
        scan.send_body()  # the scan now waits for the lock
        # Under a server that waits inside SQLite, this waits for the scan: 10 s.
        state = requests.get(f"{server.url}/api/rooms/lamartine/state", timeout=5)
        events.append(("state", state.status_code))
        assert screen.call("join", {"room": "lamartine"}, timeout=5) == {"ok": True}
        events.append(("screen", "served"))
        status, headers, body = scan.response()
        events.append(("scan", status))
        command = server.post("/api/rooms/lamartine/next")
        events.append(("command", command.status_code))
    finally:
        holder.execute("ROLLBACK")
    assert events == [("state", 200), ("screen", "served"), ("scan", 503), ("command", 503)]
    assert (headers["retry-after"], body["error"], body["message"]) == (
        "2",
        "unavailable",
        FRENCH_503,
    )
    assert command.headers["Retry-After"] == "2"
    assert not dropped.is_set()
    log = server.log.read_text()
    assert "Traceback" not in log
    assert log.count("database is locked (another process held the write lock") == 1, log
    # The lock released, writes go through again, and the screen hears of them.
    assert server.post("/api/rooms/lamartine/next").json()["version"] == 1
    assert moved.wait(5)
    screen.disconnect()


def test_a_full_disk_answers_scans_503_with_one_log_line_and_recovers(server: Server):
    # The server may write nothing past its files' first 4 KiB: its log (a few hundred
    # bytes) still grows, but no page reaches the WAL, as on a full disk (EFBIG, which
    # SQLite reports as a disk I/O error). A higher limit would let a checkpoint make
    # room now and then.
    assert server.log.stat().st_size < 2048
    soft, hard = resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (4096, hard))
    session = requests.Session()

    def scan(n: int) -> requests.Response:
        # One device per scan: unknown codes would otherwise be rate-limited (429).
        code = f"{n:024d}"
        return session.post(
            f"{server.url}/api/checkin", json={"code": code}, headers=kiosk_headers(f"k{n}")
        )

    answers = [scan(n) for n in range(100)]
    assert {(r.status_code, r.headers["Retry-After"], r.json()["message"]) for r in answers} == {
        (503, "2", FRENCH_503)
    }
    assert session.get(f"{server.url}/api/rooms/lamartine/state").status_code == 200
    resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (soft, hard))
    assert scan(100).status_code == 404
    assert server.post("/api/rooms/lamartine/next").json()["version"] == 1
    log = server.log.read_text()
    assert "Traceback" not in log
    assert log.count("disk I/O error") == 1, log


def test_a_second_server_on_the_same_database_refuses_naming_the_first(server: Server):
    port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--db", str(server.db)]
    result = run_kiosk(*args, timeout=30)  # a second server that starts serves until then
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: {server.db} is already served by process {server.proc.pid} "
        f"(http://127.0.0.1:{server.port}); stop it first, or serve another --db"
    ]
    # Killed with no chance to clean up, the first leaves no stale lock behind.
    server.kill()
    second = Server(server.db, port, server.clock).start()
    try:
        assert second.state()["room"] == "lamartine"
    finally:
        second.kill(signal.SIGTERM)


def test_sigterm_finishes_the_request_in_flight_tells_screens_and_exits_0(server: Server):
    screen = socketio.Client(reconnection=False)
    reasons = []
    gone = threading.Event()

    @screen.on("disconnect")
    def on_disconnect(reason=None):
        reasons.append(reason)
        gone.set()

    screen.connect(server.url, transports=["websocket"])
    assert screen.call("join", {"room": "lamartine"}, timeout=5) == {"ok": True}
    organiser = {"Authorization": f"Bearer {TOKEN}"}
    command = HeldRequest(server, "/api/rooms/lamartine/next", {"version": 0}, organiser)
    server.proc.send_signal(signal.SIGTERM)
    # No new connections...
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
        except ConnectionRefusedError:
            break
        assert time.monotonic() < deadline, "still accepting connections"
        time.sleep(0.05)  # polling for the listener to close
    # ...the screen is told to go (not cut off), while the command is still in hand...
    assert gone.wait(10)
    assert reasons == [socketio.Client.reason.SERVER_DISCONNECT]
    # ...which is answered, and written.
    command.send_body()
    status, _headers, body = command.response()
    assert (status, body["version"]) == (200, 1)
    assert server.proc.wait(timeout=10) == 0
    assert "Traceback" not in server.log.read_text()
    server.start()
    assert server.state()["version"] == 1


def test_a_polling_organiser_sockets_id_is_refused_to_anyone_else(server: Server):
    from .conftest import TOKEN

    browser = requests.Session()  # its cookie goes with every request, as a browser's does
    assert browser.get(f"{server.url}/organiser?token={TOKEN}", timeout=5).ok
    tablet = socketio.Client(reconnection=False, http_session=browser)
    tablet.connect(server.url, transports=["polling"])
    try:
        url = f"{server.url}/socket.io/?EIO=4&transport=polling&sid={tablet.eio.sid}"
        stolen = '421["command",{"room":"lamartine","action":"next","version":0}]'
        assert requests.post(url, data=stolen, timeout=5).status_code == 403
        reply = tablet.call("command", {"room": "lamartine", "action": "next", "version": 0})
        assert reply["ok"] is True
        assert server.state()["version"] == 1
    finally:
        tablet.disconnect()


def test_plain_http_sends_no_hsts_and_a_cookie_without_secure(server: Server):
    from .conftest import TOKEN

    response = requests.get(
        f"{server.url}/organiser?token={TOKEN}", allow_redirects=False, timeout=5
    )
    assert "Secure" not in response.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in response.headers


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1, as the README tells organisers to make."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl makes the test's certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def test_over_https_the_session_cookie_is_secure_and_hsts_is_sent(tmp_path, certificate):
    from .conftest import TOKEN, free_port

    srv = Server(tmp_path / "tls.db", free_port(), None, tls=certificate).start()
    try:
        assert f"https://127.0.0.1:{srv.port}/programme" in srv.log.read_text()
        response = requests.get(
            f"{srv.url}/organiser?token={TOKEN}",
            allow_redirects=False,
            verify=srv.verify,
            timeout=5,
        )
        assert response.status_code == 302
        assert "; Secure" in response.headers["Set-Cookie"]
        assert response.headers["Strict-Transport-Security"] == "max-age=86400"
    finally:
        srv.kill(signal.SIGTERM)


def test_the_programme_qr_code_is_built_from_the_servers_own_address(server: Server):
    # No --public-url: the address it listens on, never the Host header a client sends.
    assert f"programme: http://127.0.0.1:{server.port}/programme" in server.log.read_text()
    honest = requests.get(server.url + "/qr/programme.svg", timeout=5)
    forged = requests.get(
        server.url + "/qr/programme.svg", headers={"Host": "evil.example"}, timeout=5
    )
    assert forged.content == honest.content


def test_serving_on_every_interface_prints_links_the_venue_network_can_open(tmp_path):
    """`kiosk serve` listens on 0.0.0.0 by default but printed localhost links, which no
    tablet can open: the links carry the address the machine's network route leaves from."""
    from kiosk.cli import own_address

    from .conftest import KIOSK_COMMAND, TOKEN, free_port

    address = own_address("0.0.0.0")
    if address == "localhost":
        pytest.skip("this machine has no network interface besides loopback")
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "KIOSK_ORGANISER_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*KIOSK_COMMAND, "serve", "--host", "0.0.0.0", "--port", str(port), "--db",
             str(tmp_path / "kiosk.db")],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while "kiosk:     " not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.05)  # polling for the banner, not waiting for an outcome
        printed = log.read_text()
        base = f"http://{address}:{port}"
        for line in (
            f"screens:   {base}/screen/lamartine",
            f"programme: {base}/programme",
            f"organiser: {base}/organiser?token={TOKEN}",
            f"kiosk:     {base}/kiosk?token=",
        ):
            assert line in printed, printed
        assert f"localhost:{port}" in printed  # and the address on this machine itself
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def test_idle_and_slow_connections_are_closed_but_screens_stay(tmp_path):
    """A client that opens connections and sends nothing, or a byte now and then
    (slowloris), held a socket and a greenlet each for good. With a 10 s idle timeout the
    server closes them; a screen's websocket, which answers a ping every 4 s, stays."""
    srv = Server(tmp_path / "kiosk.db", free_port(), None, extra=["--idle-timeout", "10"]).start()
    screen = socketio.Client(reconnection=False)
    dropped = threading.Event()
    screen.on("disconnect", lambda *args: dropped.set())
    try:
        screen.connect(srv.url, transports=["websocket"])
        idle = socket.create_connection(("127.0.0.1", srv.port))
        slow = socket.create_connection(("127.0.0.1", srv.port))
        slow.sendall(b"GET /api/schedule HTTP/1.1\r\nHost: x\r\n")  # never finished
        # A byte every 2 s: each read is well within the timeout, the whole head is not.
        trickle = socket.create_connection(("127.0.0.1", srv.port))
        trickle.settimeout(2)
        head = b"GET /api/schedule HTTP/1.1\r\nX-Slow: " + b"x" * 100
        closed = False
        for byte in head:
            try:
                trickle.send(bytes([byte]))
                answer = trickle.recv(1024)  # waits 2 s for the server to give up
            except TimeoutError:
                continue  # still listening: the next byte
            except (BrokenPipeError, ConnectionResetError):
                answer = b""
            closed = answer == b"" or answer.startswith(b"HTTP/1.1 408")
            break
        assert closed  # long before the 130-byte head was through (it takes 260 s)
        for conn in (idle, slow):
            conn.settimeout(30)
            answer = b""
            while chunk := conn.recv(1024):  # until the server closes the connection
                answer += chunk
            # Closed, at most with a 4xx for the request that never ended.
            assert answer == b"" or re.match(rb"HTTP/1\.1 4\d\d ", answer), answer
        # Long past the idle timeout, the screen is still connected and answered.
        assert not dropped.wait(12)
        assert screen.call("join", {"room": "lamartine"}, timeout=5) == {"ok": True}
        assert "Traceback" not in srv.log.read_text()
    finally:
        screen.disconnect()
        srv.kill(signal.SIGTERM)


class _RecordingSocket:
    """What gevent's handler sends, and with which flags."""

    def __init__(self):
        self.sends: list[tuple[bytes, int]] = []

    def sendall(self, data, flags=0):
        self.sends.append((bytes(data), flags))

    def makefile(self, *args):
        import io

        return io.BytesIO()


def _answer(
    body: bytes, status: str = "200 OK", tls: bool = False, streamed: tuple[bytes, ...] = ()
) -> list[tuple[bytes, int]]:
    """What the handler sends for an answer: `body` with its length, or, `streamed`,
    those chunks with none (HTTP/1.1's chunked encoding, as gevent sends a generator's)."""
    from kiosk.server import _Handler

    server = type("Server", (), {"ssl_enabled": tls})()
    handler = _Handler(_RecordingSocket(), ("127.0.0.1", 1), server)
    handler.request_version, handler.environ, handler.response_length = "HTTP/1.1", {}, 0
    handler.start_response(status, [] if streamed else [("Content-Length", str(len(body)))])
    for data in streamed or (body,):
        handler.write(data)
    return handler.socket.sends


def test_an_answers_head_waits_in_the_kernel_for_its_body():
    # One segment for head and body: nginx in front wakes and forwards once per answer.
    (head, head_flags), (body, body_flags) = _answer(b'{"status": "checked_in"}')
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\n\r\n")
    assert head_flags == socket.MSG_MORE
    assert (body, body_flags) == (b'{"status": "checked_in"}', 0)


def test_a_head_without_a_body_and_answers_over_tls_go_at_once():
    # Held back with nothing to follow, a 204's head would wait for the kernel's timeout;
    # an SSL socket's sendall refuses flags.
    [(head, flags)] = _answer(b"", "204 No Content")
    assert head.startswith(b"HTTP/1.1 204") and flags == 0
    assert [flags for _, flags in _answer(b"ok", tls=True)] == [0, 0]


def test_a_streamed_answers_head_goes_with_its_first_chunk_only():
    # An answer written as it goes (no length: chunked): the head waits for the first
    # chunk, not for the ones after it, which the application has not written yet.
    (head, head_flags), *chunks = _answer(b"", streamed=(b"first", b"second"))
    assert b"Transfer-Encoding: chunked" in head and head_flags == socket.MSG_MORE
    assert chunks == [(b"5\r\nfirst\r\n", 0), (b"6\r\nsecond\r\n", 0)]


def _masked(opcode: int, payload: bytes) -> bytes:
    """One client frame (clients mask theirs: RFC 6455, 5.3)."""
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


def _receive(sock: socket.socket, buffer: bytearray, size: int) -> bytes:
    """`size` bytes from what `sock` sends (the server closing first fails the test)."""
    while len(buffer) < size:
        chunk = sock.recv(4096)
        assert chunk, "the server closed the connection"
        buffer += chunk
    taken = bytes(buffer[:size])
    del buffer[:size]
    return taken


def _upgrade(sock: socket.socket, port: int, path: str) -> tuple[bytes, bytearray]:
    """A websocket handshake on `path`: the answer's head, and what came after it."""
    import base64

    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    buffer = bytearray()
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(4096)
        assert chunk, "the server closed the connection"
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    return head, bytearray(rest)


def test_a_websocket_that_ended_takes_its_connection_with_it(server: Server):
    # gevent kept the connection for a next HTTP request once the websocket was over, and
    # read the client's last frames as one: « Expected GET method » and garbage in the log,
    # a 400 sent into a closing websocket. Bytes sent after the close are not a request.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        head, buffer = _upgrade(sock, server.port, "/socket.io/?EIO=4&transport=websocket")
        assert head.startswith(b"HTTP/1.1 101")
        sock.sendall(_masked(0x8, struct.pack(">H", 1000)))  # close, normal
        while True:  # the server's frames (unmasked), up to its close
            first, second = _receive(sock, buffer, 2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack(">H", _receive(sock, buffer, 2))
            _receive(sock, buffer, length)
            if first & 0x0F == 0x8:
                break
        after = b""
        try:
            sock.sendall(b"GET /api/schedule HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            # until the server closes (fixed), or the head of an answer (the defect)
            while (chunk := sock.recv(4096)) and b"\r\n\r\n" not in after + chunk:
                after += chunk
            after += chunk
        except ConnectionError:  # reset, or a broken pipe: closed, as it should be
            pass
    assert b"HTTP/1.1" not in after


def test_a_refused_upgrade_leaves_its_connection_open_for_the_next_request(server: Server):
    # Only a websocket that took the connection over ends it: a refusal is an answer like
    # any other, and nginx may send its next request on the same connection.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        head, buffer = _upgrade(sock, server.port, "/socket.io/?EIO=4&transport=bogus")
        assert head.startswith(b"HTTP/1.1 400")
        length = int(re.search(rb"(?i)content-length: (\d+)", head)[1])
        _receive(sock, buffer, length)
        sock.sendall(b"GET /api/schedule HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(4096)
            assert chunk, "the server closed the connection"
            buffer += chunk
        assert bytes(buffer).startswith(b"HTTP/1.1 200")
