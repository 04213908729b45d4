"""Schemathesis over the staff calls (API.md 1.1, issue 14.6): signing in and out, one's own password, staff
management and the audit trail, every check on (no server error, no answer off the schema, no undeclared status,
schema-valid requests accepted and invalid ones refused), once with a head's device token and once with a head's
session cookie and its CSRF token, against a real ``cherga serve``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
from server import ServerProcess

from cherga.displays.accounts import COOKIE, StaffStore
from cherga.engine.loader import load_network

PATHS = r"^/api/v1/(session|staff|offices/\{office\}/(staff|audit))"


def schemathesis(proc: ServerProcess, config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("schemathesis") or shutil.which("st")
    cmd = [exe] if exe else [sys.executable, "-m", "schemathesis.cli"]
    return subprocess.run(
        [*cmd, "--config-file", str(config), "run", f"{proc.url}/openapi.json", "--checks", "all",
         "--max-examples", "15", "--seed", "2026", "--request-timeout", "10", "--include-path-regex", PATHS, *extra],
        capture_output=True, text=True, timeout=600,
    )


def test_schemathesis_finds_nothing_in_the_staff_calls(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = StaffStore(data)
    net = load_network(None)
    store.add(net, "anna", "head", "anna-fuzz-secret", "main")
    for i in range(3):  # administrators for the calls on one login to find (some are disabled or removed)
        store.add(net, f"adm{i}", "administrator", "adm-fuzz-secret", "main")
    store.close()
    config = tmp_path / "schemathesis.toml"
    config.write_text('[parameters]\n"path.office" = "main"\n"path.login" = "adm0"\n', encoding="utf-8")
    proc = ServerProcess(data).start()
    try:
        token = proc.token("head", "main")
        by_token = schemathesis(proc, config, "-H", f"Authorization: Bearer {token}")
        assert by_token.returncode == 0, by_token.stdout[-6000:] + by_token.stderr[-2000:]
        assert "Server error" not in by_token.stdout
        assert "10 selected" in by_token.stdout  # every staff call was tried
        signed = httpx.post(f"{proc.url}/api/v1/session", json={"login": "anna", "password": "anna-fuzz-secret"})
        assert signed.status_code == 200
        config.write_text('[parameters]\n"path.office" = "main"\n"path.login" = "adm1"\n', encoding="utf-8")
        by_cookie = schemathesis(proc, config, "-H", f"Cookie: {COOKIE}={signed.cookies[COOKIE]}",
                                 "-H", f"X-CSRF-Token: {signed.json()['csrf']}",
                                 "--exclude-name", "DELETE /api/v1/session")  # signing out would end the run's cookie
        assert by_cookie.returncode == 0, by_cookie.stdout[-6000:] + by_cookie.stderr[-2000:]
        assert "Server error" not in by_cookie.stdout
        assert httpx.get(f"{proc.url}/healthz").status_code == 200
    finally:
        proc.stop()
