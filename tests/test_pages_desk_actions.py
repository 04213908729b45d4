"""The desk console in real Chromium enables exactly the actions the server sends with the desk (its table's).

While a ticket is called, "next", "pause" and "close" are disabled (the engine refuses them: the old console
enabled them), and the ticket's buttons are enabled; serving, open and closed likewise, each checked against the
``actions`` of ``GET /api/v1/desks/{desk}`` at the same moment.
"""

from __future__ import annotations

from typing import Any

from test_pages import (  # noqa: F401 - fixtures
    OFFICE,
    Ctx,
    Net,
    call_until,
    ctx,
    demo,
    desk_tokens,
    expect,
    http,
    open_desk_console,
    pick,
    shot,
)

DESK = "main-14"  # no other browser test uses it
# the console's buttons and the desk action each one takes
BUTTONS = {"next": "call_next", "recall": "recall", "start": "start", "served": "finish", "refused": "finish",
           "notpossible": "finish",  # shown only for a service that needs the registries
           "noshow": "no_show", "transfer": "transfer", "pause": "pause", "resume": "resume", "open": "open",
           "close": "close"}


def check_buttons(page: Any, net: Net, status: str) -> list[str]:
    """The desk is in ``status`` (as the server says) and the console's visible buttons are enabled exactly for the
    actions the server sends with it."""
    code, desk = http(net.server, "GET", f"/api/v1/desks/{DESK}", token=net.token("desk", OFFICE, DESK))
    assert code == 200 and desk["status"] == status, desk
    for button, action in BUTTONS.items():
        loc = page.locator(f"#act-{button}")
        if not loc.count():
            continue  # pause and resume: one of them is shown
        if action in desk["actions"]:
            expect(loc).to_be_enabled()
        else:
            expect(loc).to_be_disabled()
    return list(desk["actions"])


def test_the_console_enables_exactly_the_servers_actions(ctx: Ctx, demo: Net) -> None:  # noqa: F811
    svc = pick(demo, OFFICE, DESK)
    ticket = demo.issue(OFFICE, svc["id"])
    ctx.preset(tokens=desk_tokens(demo, DESK))
    page = open_desk_console(ctx, DESK)
    call_until(page, ticket["number"])

    called = check_buttons(page, demo, "called")
    for button in ("next", "pause", "close"):
        expect(page.locator(f"#act-{button}")).to_be_disabled()
    for button in ("recall", "start", "served", "refused", "noshow", "transfer"):
        expect(page.locator(f"#act-{button}")).to_be_enabled()
    assert not {"call_next", "pause", "close"} & set(called)
    shot(page, "desk-called-buttons")

    page.locator("#act-start").click()
    expect(page.locator("#act-start")).to_be_disabled()
    serving = check_buttons(page, demo, "serving")
    assert "finish" in serving and "recall" not in serving

    page.locator("#act-served").click()
    expect(page.locator("#act-next")).to_be_enabled()
    check_buttons(page, demo, "open")
    for button in ("pause", "close"):
        expect(page.locator(f"#act-{button}")).to_be_enabled()
    for button in ("recall", "start", "served", "noshow", "transfer"):
        expect(page.locator(f"#act-{button}")).to_be_disabled()

    page.locator("#act-close").click()
    expect(page.locator("#act-open")).to_be_enabled()
    assert check_buttons(page, demo, "closed") == ["open"]
