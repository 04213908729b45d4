"""The pages while the journal is down (issue 19), in Debian's Chromium against a real ``cherga serve``: the board and
the visitor's ticket page say "service paused, your place is kept", the head's dashboard "journal unavailable since
HH:MM", and all of them clear it by themselves once the journal takes writes again (the board on a fresh snapshot).
The journal is made to fail for real: the serving process's file-size limit set to 0 (every write fails with EFBIG,
as on a full disk), then lifted. Screenshots: ``test-artifacts/screenshots/heal-*.png``."""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from server import ServerProcess

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots"
OFFICE = "main"
SERVICE = "housing-subsidy"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "data").start()
    try:
        yield server
    finally:
        server.stop()


def issue(server: ServerProcess) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/offices/{OFFICE}/tickets", json={"service": SERVICE},
                      headers=server.auth("head", OFFICE), timeout=30)


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_pages_show_the_pause_and_clear_it_by_themselves(browser: Any, served: ServerProcess) -> None:
    ticket = issue(served).json()
    head_token = served.token("head", OFFICE)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="uk-UA")
    context.set_default_timeout(20_000)
    context.add_init_script(f"localStorage.setItem({json.dumps(f'cherga.token.head.{OFFICE}')}, "
                            f"{json.dumps(head_token)});")
    errors: list[str] = []
    pages = {}
    for name, path in (("board", f"/board/{OFFICE}"), ("head", f"/head/{OFFICE}"), ("ticket", f"/t/{ticket['id']}")):
        page = context.new_page()
        page.on("pageerror", lambda exc, name=name: errors.append(f"{name}: {exc}"))
        page.goto(served.url + path)
        pages[name] = page
    board, head, visitor = pages["board"], pages["head"], pages["ticket"]
    board.wait_for_function("() => window.chergaBoard && window.chergaBoard.state.seq !== null")
    head.wait_for_selector("#summary table, #summary .stat, #summary p")
    assert board.locator("#journal-paused").count() == 0, "paused before anything failed"

    assert served.proc is not None
    pid = served.proc.pid
    _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    try:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, hard))
        refused = issue(served)
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "journal", refused.text
        for page in (board, visitor):  # the websocket notice
            banner = page.locator("#journal-paused")
            banner.wait_for(state="visible")
            assert banner.get_attribute("role") == "status"
            assert "Обслуговування призупинено, ваше місце збережено" in banner.inner_text()
        banner = head.locator("#journal-paused")  # the head's watch of /healthz
        banner.wait_for(state="visible")
        since = time.strftime("%H:%M")
        text = banner.inner_text()
        assert "Журнал недоступний з " in text and (since in text or time.strftime("%H:%M",
                                                   time.localtime(time.time() - 60)) in text), text
        time.sleep(0.5)  # let the paint settle
        shot(board, "heal-board-paused")
        shot(head, "heal-head-paused")
        shot(visitor, "heal-ticket-paused")
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard, hard))
    # nobody touches anything: the service's probe finds the journal back, the pages' /healthz checks clear the notice
    for page in (board, head, visitor):
        page.wait_for_selector("#journal-paused", state="hidden", timeout=20_000)
    after = issue(served)
    assert after.status_code == 201, after.text
    state = httpx.get(f"{served.url}/api/v1/offices/{OFFICE}/state", timeout=10).json()
    board.wait_for_function(f"() => window.chergaBoard.state.seq >= {int(state['seq'])}")
    shot(board, "heal-board-back")
    context.close()
    assert errors == [], errors
