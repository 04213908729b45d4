"""Running on a real office network (issue 14.5): the LAN, ``cherga serve --help``, the systemd unit, the container.

* ``cherga serve --help`` shows every option's default, and how to serve the office network.
* ``cherga serve --host 0.0.0.0`` answers on this machine's LAN address, prints that address (not 0.0.0.0) for the
  pages, and admits a board page opened from the LAN address to its websocket while a foreign origin is refused.
* ``deploy/cherga.service`` and the backup timer pass ``systemd-analyze verify``; the service runs as its own user in
  its state directory, restarts, and its hardening exposure (``systemd-analyze security``) stays "OK".
* ``deploy/Containerfile``: python slim, a non-root user, the data in a volume, a healthcheck on ``/healthz`` whose
  command, run here against a real service, passes while it answers and fails when it does not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import websockets
import websockets.exceptions
from server import ServerProcess, free_port

from cherga.cli import build_parser
from cherga.displays import lan

REPO = Path(__file__).parent.parent
DEPLOY = REPO / "deploy"


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found: argparse.ArgumentParser = sub.choices[name]
    return found


@pytest.mark.parametrize("command", ["serve", "demo", "backup", "restore"])
def test_help_shows_every_default(command: str) -> None:
    p = _subparser(command)
    formatter = p._get_formatter()
    missing = []
    for action in p._actions:
        if isinstance(action, argparse._HelpAction) or action.required:
            continue
        text = formatter._get_help_string(action) or ""
        if "(default" not in text:
            missing.append(action.option_strings[0])
    assert missing == [], f"cherga {command} --help gives no default for {missing}"
    if command == "serve":
        shown = p.format_help()
        assert "(default: 127.0.0.1)" in shown and "(default: 8080)" in shown and "(default: cherga-data)" in shown
        assert "--host 0.0.0.0" in shown, "the help says how to serve the office network"


def test_readme_first_command_serves_the_office_network() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first = re.search(r"^    (.*cherga serve.*)$", readme, re.M)
    assert first is not None and "--host 0.0.0.0" in first.group(1)
    assert "docs/deploy.md" in readme


def _lan_address() -> str:
    for address in lan.machine_addresses():
        if address not in lan.LOOPBACK and not address.startswith("127.") and address.replace(".", "").isdigit():
            return address
    pytest.fail(f"this machine has no non-loopback IPv4 address to serve a LAN on: {lan.machine_addresses()}")


def test_serve_on_every_interface_answers_the_lan_and_admits_its_pages(tmp_path: Path) -> None:
    address = _lan_address()
    server = ServerProcess(tmp_path / "data", extra=["--host", "0.0.0.0"]).start(timeout=120)
    try:
        assert httpx.get(f"http://{address}:{server.port}/healthz", timeout=10).status_code == 200
        url = f"ws://{address}:{server.port}/ws/offices/main/board"

        async def scenario() -> None:
            async with websockets.connect(url, origin=f"http://{address}:{server.port}") as ws:  # type: ignore[arg-type]
                first = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert first["type"] == "snapshot"
            with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
                async with websockets.connect(url, origin=f"http://evil.example:{server.port}"):  # type: ignore[arg-type]
                    pass
            assert refused.value.response.status_code == 403

        asyncio.run(scenario())
        log = (tmp_path / f"serve-{server.port}.log").read_text(encoding="utf-8")
        assert f"http://{address}:{server.port}/board/main" in log, "the pages' addresses are the LAN's"
        assert "0.0.0.0" not in log
        _healthcheck_passes(server.port)
    finally:
        server.stop()
    _healthcheck_fails(server.port)


# ---------------------------------------------------------------------------------------------------- systemd


def _unit(name: str) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in (DEPLOY / name).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_the_systemd_unit_runs_as_its_own_user_in_its_data_directory_and_restarts() -> None:
    unit = _unit("cherga.service")
    assert unit["User"] == ["cherga"] and unit["StateDirectory"] == ["cherga"]
    assert unit["Restart"] == ["always"]
    start = shlex.split(unit["ExecStart"][0])
    assert start[1:2] == ["serve"] and "--host" in start and start[start.index("--data") + 1] == "/var/lib/cherga"
    # what SQLite needs stays open: its directory writable (the state directory), shared memory for the WAL index
    assert unit["ProtectSystem"] == ["strict"] and "MemoryDenyWriteExecute" in unit
    assert "AF_UNIX" in unit["RestrictAddressFamilies"][0] and "AF_INET" in unit["RestrictAddressFamilies"][0]
    backup = _unit("cherga-backup.service")
    assert backup["User"] == ["cherga"] and "cherga backup --data /var/lib/cherga" in backup["ExecStart"][0]


def test_the_systemd_units_pass_systemd_analyze(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    for name in ("cherga.service", "cherga-backup.service", "cherga-backup.timer"):
        # verify checks that ExecStart's program exists: this machine's interpreter stands in for /opt/cherga
        text = (DEPLOY / name).read_text(encoding="utf-8").replace("/opt/cherga/bin/cherga", sys.executable)
        (tmp_path / name).write_text(text, encoding="utf-8")
    out = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / n) for n in ("cherga.service",
                          "cherga-backup.service", "cherga-backup.timer"))], capture_output=True, text=True)
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr
    out = subprocess.run(["systemd-analyze", "security", "--offline=true", str(tmp_path / "cherga.service")],
                         capture_output=True, text=True)
    level = re.search(r"Overall exposure level for cherga.service: ([\d.]+) (\w+)", out.stdout)
    assert level is not None, out.stdout[-2000:] + out.stderr
    assert float(level.group(1)) <= 2.0 and level.group(2) == "OK", level.group(0)


# ---------------------------------------------------------------------------------------------------- container


def _containerfile() -> list[tuple[str, str]]:
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
            for line in (raw.strip() for raw in text.splitlines()) if line and not line.startswith("#")]


def test_the_container_is_python_slim_non_root_with_a_data_volume_and_a_healthcheck() -> None:
    steps = _containerfile()
    froms = [arg for op, arg in steps if op == "FROM"]
    assert froms and all(re.match(r"python:3\.1\d-slim", f) for f in froms)
    final = [i for i, (op, _) in enumerate(steps) if op == "FROM"][-1]
    users = [arg for op, arg in steps[final:] if op == "USER"]
    assert users == ["cherga"], "the service runs as its own user, not root"
    assert ("VOLUME", '["/data"]') in steps
    cmd = json.loads(next(arg for op, arg in steps if op == "CMD"))
    assert cmd[0] == "serve" and cmd[cmd.index("--host") + 1] == "0.0.0.0" and cmd[cmd.index("--data") + 1] == "/data"
    assert "/healthz" in _healthcheck()[-1]


def _healthcheck() -> list[str]:
    arg = next(arg for op, arg in _containerfile() if op == "HEALTHCHECK")
    command: list[str] = json.loads(arg[arg.index("CMD") + 3:].strip())
    return command


def _run_healthcheck(port: int) -> int:
    command = [sys.executable if c == "python" else c.replace("127.0.0.1:8080", f"127.0.0.1:{port}")
               for c in _healthcheck()]
    return subprocess.run(command, capture_output=True, timeout=30).returncode


def _healthcheck_passes(port: int) -> None:
    assert _run_healthcheck(port) == 0, "the container's healthcheck fails against a healthy service"


def _healthcheck_fails(port: int) -> None:
    assert _run_healthcheck(port) != 0, "the container's healthcheck passes with no service"


def test_the_healthcheck_fails_when_nothing_answers() -> None:
    _healthcheck_fails(free_port())
