"""Join from the phone (#18.3) on a region (``cherga serve --redis``, two processes over one real Redis): a remote
ticket asked of a process that does not own the office is forwarded to its owner, and the owner's browser cookie
comes back through the relay, so one live remote ticket per browser holds across processes. Marked slow (two
processes and a Redis, ~20 s); the single-process behaviour is tests/test_remote_http.py's, in the default run."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from redis_server import RedisServer
from server import ServerProcess
from test_cluster import OFFICES, owners
from test_remote_http import remote_config


@pytest.mark.slow
def test_a_remote_ticket_through_another_process_keeps_its_browser(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis").start()
    cfg = remote_config(tmp_path)
    extra = ["--lease-ms", "1000", "--config", str(cfg)]
    procs: list[ServerProcess] = []
    try:
        procs = [ServerProcess(tmp_path / f"p{i}", redis=redis.url, extra=extra).start() for i in range(2)]
        deadline = time.monotonic() + 20
        own: dict[str, ServerProcess] = {}
        while time.monotonic() < deadline:
            try:
                own = owners(procs)
            except AssertionError:  # an office changing hands is seen at both for a moment
                own = {}
            if set(own) == OFFICES and len({id(p) for p in own.values()}) == 2:
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"the two processes never shared the offices: {own}")
        owner = own["main"]
        other = next(p for p in procs if p is not owner)
        head = other.auth("head", "main")
        listing = {o["id"]: o for o in httpx.get(f"{other.url}/api/v1/offices", timeout=20).json()}
        desk = listing["main"]["desks"][0]
        service = sorted(desk["services"])[0]
        assert httpx.post(f"{other.url}/api/v1/desks/{desk['id']}/open", headers=head, timeout=20).status_code == 200
        r = httpx.post(f"{other.url}/api/v1/offices/main/tickets", json={"service": service}, headers=head,
                       timeout=20)
        assert r.status_code == 201, r.text
        assert httpx.post(f"{other.url}/api/v1/desks/{desk['id']}/call-next", headers=head,
                          timeout=20).status_code == 200
        phone = httpx.Client(base_url=other.url, timeout=20)  # the phone reaches the process that does not own main
        r = phone.post("/api/v1/offices/main/tickets", json={"service": service, "remote": True})
        assert r.status_code == 201 and r.json()["status"] == "remote", r.text
        assert "cherga_browser" in phone.cookies  # the owner's cookie came back through the relay
        again = phone.post("/api/v1/offices/main/tickets", json={"service": service, "remote": True})
        assert again.status_code == 409 and again.json()["error"]["code"] == "remote_live", again.text
        # at the owner directly, the same browser is the same browser
        direct = httpx.post(f"{owner.url}/api/v1/offices/main/tickets", json={"service": service, "remote": True},
                            cookies=dict(phone.cookies), timeout=20)
        assert direct.status_code == 409 and direct.json()["error"]["code"] == "remote_live", direct.text
    finally:
        for p in procs:
            p.kill()
        redis.kill()
