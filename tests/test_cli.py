"""The `kiosk` command: check, organiser-link, help texts, refusals without tracebacks."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kiosk.cli import cli

from .conftest import run_kiosk
from .test_schedule import GOOD

# The command's words are asserted in English (French is the default: test_cli_language).
pytestmark = pytest.mark.usefixtures("cli_in_english")


@pytest.fixture
def runner():
    return CliRunner()


def leaf_commands(group, prefix="kiosk"):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            assert command.help, name
            yield from leaf_commands(command, f"{prefix} {name}")
        else:
            yield f"{prefix} {name}", command


def test_every_command_has_help_with_an_example(runner):
    commands = dict(leaf_commands(cli))
    assert {"kiosk serve", "kiosk check", "kiosk attendees import"} <= set(commands)
    for name, command in commands.items():
        assert command.help, name
        assert f"Example: {name}" in command.help, name
        for param in command.params:
            if param.param_type_name != "argument":
                assert param.help, f"{name} {param.name}"


def test_check_bundled_schedule(runner):
    result = runner.invoke(cli, ["check"])
    assert result.exit_code == 0
    assert "Salle Lamartine (lamartine): 7 blocks, 21 turns, 08:30–17:15" in result.output


def test_check_bad_file_names_the_place_and_exits_non_zero(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace('end: "10:00"', 'end: "08:00"', 1), encoding="utf-8")
    result = run_kiosk("check", str(bad))
    assert result.returncode == 1
    assert f"{bad}, line 9: block 'one': end 08:00 is not after start 09:00" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_missing_file(runner, tmp_path):
    result = runner.invoke(cli, ["check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "no such file" in result.output


def test_serve_refuses_a_bad_timetable_before_listening(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("id: two", "id: one"), encoding="utf-8")
    result = run_kiosk(
        "serve", "--schedule", str(bad), "--db", str(tmp_path / "k.db"), "--port", "1"
    )
    assert result.returncode == 1
    assert "block 'one': duplicate id" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_bad_clock(tmp_path):
    result = run_kiosk(
        "serve", "--clock", "yesterday", "--db", str(tmp_path / "k.db"), "--port", "1"
    )
    assert result.returncode == 2
    assert "--clock" in result.stderr and "Traceback" not in result.stderr


def test_organiser_link_is_generated_once_and_kept(runner, tmp_path, monkeypatch):
    monkeypatch.delenv("KIOSK_ORGANISER_TOKEN", raising=False)
    db = str(tmp_path / "k.db")
    first = runner.invoke(cli, ["organiser-link", "--db", db]).output.strip()
    second = runner.invoke(cli, ["organiser-link", "--db", db, "--port", "8000"]).output.strip()
    token = first.rsplit("token=", 1)[1]
    assert len(token) >= 43  # 256 bits, URL-safe base64
    assert first.startswith("http://localhost:5000/organiser?token=")
    assert second == f"http://localhost:8000/organiser?token={token}"


def test_organiser_link_uses_the_environment_secret(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_ORGANISER_TOKEN", "from-the-environment-0123")
    out = runner.invoke(cli, ["organiser-link", "--db", str(tmp_path / "k.db")]).output
    assert out.strip().endswith("token=from-the-environment-0123")


def taken_port():
    """A listening socket on a free port: a server that got past its checks stops there."""
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    return taken


@pytest.mark.parametrize("variable", ["KIOSK_ORGANISER_TOKEN", "KIOSK_KIOSK_TOKEN"])
def test_serve_refuses_a_secret_under_128_bits_without_showing_it(tmp_path, variable):
    import os
    import subprocess

    from .conftest import KIOSK_COMMAND, KIOSK_TOKEN, TOKEN

    weak = "Short-Secret-42"
    env = dict(os.environ, KIOSK_ORGANISER_TOKEN=TOKEN, KIOSK_KIOSK_TOKEN=KIOSK_TOKEN)
    env[variable] = weak
    with taken_port() as taken:
        port = str(taken.getsockname()[1])
        result = subprocess.run(
            [*KIOSK_COMMAND, "serve", "--host", "127.0.0.1", "--port", port, "--db",
             str(tmp_path / "k.db")],
            capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
        )  # fmt: skip
    assert result.returncode == 1
    assert f"{variable} is too short" in result.stderr
    assert "128 bits" in result.stderr and "22 URL-safe base64" in result.stderr
    assert "Traceback" not in result.stderr
    assert weak not in result.stdout + result.stderr


def test_secret_strength_is_judged_by_length_and_alphabet(tmp_path):
    from kiosk import db as database
    from kiosk.db import WeakSecret, secret_bits

    db = database.connect(str(tmp_path / "k.db"))
    database.migrate(db)
    for weak in ("Q", "0123456789abcdef0123456789abcde", "Short-Secret-42"):
        with pytest.raises(WeakSecret, match="organiser_token") as refused:
            database.secret(db, "organiser_token", weak)
        assert weak not in str(refused.value)
    assert database.secret(db, "organiser_token", "0123456789abcdef" * 2) == "0123456789abcdef" * 2

    assert secret_bits("a" * 22) == 88  # hexadecimal digits only: four bits each
    assert secret_bits("0123456789abcdef" * 2) == 128
    assert secret_bits("x" * 22) == 132  # URL-safe base64: six bits each
    assert secret_bits("9" * 38) < 128 < secret_bits("9" * 39)  # digits: log2(10) bits


def test_link_commands_refuse_a_weak_environment_secret(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_ORGANISER_TOKEN", "hunter2")
    monkeypatch.setenv("KIOSK_KIOSK_TOKEN", "hunter3")
    for command, variable in (
        ("organiser-link", "KIOSK_ORGANISER_TOKEN"),
        ("kiosk-link", "KIOSK_KIOSK_TOKEN"),
    ):
        result = runner.invoke(cli, [command, "--db", str(tmp_path / "k.db")])
        assert result.exit_code == 1
        assert f"{variable} is too short" in result.output
        assert "hunter" not in result.output


def test_kiosk_link_carries_its_own_secret_and_device(runner, tmp_path, monkeypatch):
    monkeypatch.delenv("KIOSK_KIOSK_TOKEN", raising=False)
    monkeypatch.delenv("KIOSK_ORGANISER_TOKEN", raising=False)
    db = str(tmp_path / "k.db")
    link = runner.invoke(cli, ["kiosk-link", "--db", db, "--device", "kiosque 2"]).output.strip()
    organiser = runner.invoke(cli, ["organiser-link", "--db", db]).output.strip()
    token = link.split("token=")[1].split("&")[0]
    assert link == f"http://localhost:5000/kiosk?token={token}&device=kiosque%202"
    assert len(token) >= 43
    assert token != organiser.rsplit("token=", 1)[1]
    again = runner.invoke(cli, ["kiosk-link", "--db", db]).output
    assert f"token={token}&" in again


def test_serve_on_a_taken_port_says_so_without_traceback(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_kiosk(
            "serve", "--host", "127.0.0.1", "--port", str(port), "--db", str(tmp_path / "k.db")
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_speed_needs_a_simulated_clock(tmp_path):
    result = run_kiosk("serve", "--speed", "10", "--db", str(tmp_path / "k.db"), "--port", "1")
    assert result.returncode == 2
    assert "--speed" in result.stderr and "Traceback" not in result.stderr
