"""Staff pages in Chromium (issue 14.1, 14.4): the sign-in page (Ukrainian first, English switch; a wrong password and
a lockout said plainly), the head's dashboard opened with the session cookie alone (no token), the staff panel, the
audit page and its filters, password change and sign-out at the desk console and on the dashboard; axe-core finds no
violation on any of them. Screenshots in ``test-artifacts/screenshots/signin-*``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from server import ServerProcess
from test_pages import TIMEOUT_MS, run_axe, shot

from cherga.displays.accounts import COOKIE, StaffStore
from cherga.engine.loader import load_network

PW = {"anna": "anna-head-pass", "olha": "olha-desk-pass", "lock": "lock-head-pass", "net": "net-network-pass"}


@pytest.fixture(scope="module")
def proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("signin") / "data"
    store = StaffStore(data)
    net = load_network(None)
    store.add(net, "anna", "head", PW["anna"], "main")
    store.add(net, "olha", "administrator", PW["olha"], "main")
    store.add(net, "lock", "head", PW["lock"], "main")
    store.add(net, "net", "network", PW["net"])
    store.close()
    p = ServerProcess(data).start()
    yield p
    p.stop()


def context(browser: Any, lang: str = "uk", size: tuple[int, int] = (1280, 900)) -> Any:
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="uk-UA")
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.add_init_script(f"localStorage.setItem('cherga.lang', {json.dumps(lang)});")
    return ctx


def sign_in(page: Any, login: str, password: str) -> None:
    page.fill("#signin-login", login)
    page.fill("#signin-password", password)
    page.press("#signin-password", "Enter")


def test_sign_in_wrong_password_then_the_dashboard_by_cookie(browser: Any, proc: ServerProcess) -> None:
    ctx = context(browser)
    errors: list[str] = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{proc.url}/signin")
    page.wait_for_selector("#signin-form")
    assert page.locator("html").get_attribute("lang") == "uk"
    assert page.locator("#signin-h").inner_text() == "Вхід для працівників"
    assert page.evaluate("document.activeElement.id") == "signin-login"
    run_axe(page, "sign-in page")
    shot(page, "signin-page")
    sign_in(page, "anna", "not-the-password")
    page.wait_for_selector("#signin-error:not([hidden])")
    assert "Неправильний логін або пароль" in page.inner_text("#signin-error")
    assert page.input_value("#signin-login") == "anna"  # kept; the password is typed again
    run_axe(page, "sign-in page, wrong password")
    shot(page, "signin-wrong-password")
    # the English switch
    page.click(".lang-switch button[data-lang=en]")
    assert page.locator("#signin-h").inner_text() == "Staff sign-in"
    page.click(".lang-switch button[data-lang=uk]")
    # the right password: to the head's dashboard, with no token kept on this browser
    sign_in(page, "anna", PW["anna"])
    page.wait_for_url(f"{proc.url}/head/main")
    page.wait_for_selector("#account-who")
    assert "anna" in page.inner_text("#account-who") and "керівник" in page.inner_text("#account-who")
    page.wait_for_selector("#desks table")  # the load came (GET .../load with the cookie)
    page.wait_for_selector("#staff-table")
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('cherga.token'))") == []
    assert not page.locator("#token-input").is_visible()
    assert page.evaluate("document.cookie") == ""  # HttpOnly: no script reads it
    run_axe(page, "head dashboard signed in")
    shot(page, "signin-head-dashboard")
    # the staff panel: add an administrator
    page.fill("#staff-login", "ivan")
    page.select_option("#staff-role", "administrator")
    page.fill("#staff-password", "ivan-first-pass")
    page.click("#staff-add-submit")
    page.wait_for_selector("#staff-table tr[data-login=ivan]")
    assert "ivan" in page.inner_text("#staff-note")
    page.locator("#staff").scroll_into_view_if_needed()
    run_axe(page, "head dashboard, staff panel")
    page.locator("#staff").screenshot(path=str(shot_path("signin-staff-panel")))
    page.once("dialog", lambda d: d.accept())
    page.click("#staff-table tr[data-login=ivan] button[data-do=remove]")
    page.wait_for_selector("#staff-table tr[data-login=ivan]", state="detached")
    # the policy saved from the dashboard goes with the CSRF token (a state-changing call by cookie)
    status = page.evaluate("""async () => {
        const s = await (await fetch('/api/v1/session')).json();
        const r = await fetch('/api/v1/offices/main/policy', {method: 'PUT', headers: {'Content-Type':
          'application/json', 'X-CSRF-Token': s.csrf}, body: JSON.stringify({order: ['vulnerable', 'special',
          'quick', 'seasonal', 'acceptance', 'issuance', 'consultation'], max_wait_min: {}})});
        const bare = await fetch('/api/v1/offices/main/policy', {method: 'PUT', headers: {'Content-Type':
          'application/json'}, body: JSON.stringify({order: ['vulnerable'], max_wait_min: {}})});
        return [r.status, bare.status];
    }""")
    assert status == [200, 403]
    # the audit page, from the staff panel's link; filters by person and kind
    page.click("#audit-link")
    page.wait_for_url(f"{proc.url}/offices/main/audit")
    page.wait_for_selector("#audit-table")
    actions = page.eval_on_selector_all("#audit-table tbody tr", "rows => rows.map(r => r.dataset.action)")
    assert {"session.signin", "session.signin_failed", "staff.add", "staff.remove", "policy.change"} <= set(actions)
    run_axe(page, "audit page")
    shot(page, "signin-audit")
    page.fill("#audit-who", "anna")
    page.select_option("#audit-kind", "staff")
    page.click("#audit-apply")
    page.wait_for_function("() => [...document.querySelectorAll('#audit-table tbody tr')].every(r => "
                           "r.dataset.action.startsWith('staff.'))")
    whos = page.eval_on_selector_all("#audit-table tbody tr td:nth-child(2)", "cells => cells.map(c => c.textContent)")
    assert whos and set(whos) == {"anna"}
    assert "who=anna" in page.url and "action=staff" in page.url
    csv_href = page.get_attribute("#audit-csv", "href")
    assert csv_href is not None and "format=csv" in csv_href and "who=anna" in csv_href
    csv = page.evaluate("async (u) => (await fetch(u)).text()", csv_href)
    assert csv.startswith("at,office,who") and "staff.add" in csv
    run_axe(page, "audit page filtered")
    shot(page, "signin-audit-filtered")
    # sign out: the sign-in page, and the cookie opens nothing any more
    cookie = next(c["value"] for c in ctx.cookies() if c["name"] == COOKIE)
    page.click("#account-signout")
    page.wait_for_url(f"{proc.url}/signin?next=%2Foffices%2Fmain%2Faudit")
    page.wait_for_selector("#signin-form")
    assert httpx.get(f"{proc.url}/api/v1/offices/main/load", cookies={COOKIE: cookie}).status_code == 401
    page.goto(f"{proc.url}/head/main")
    page.wait_for_selector("#token-input")  # no session, no token: asked for one, or a sign-in
    assert page.locator("#token-signin").get_attribute("href") == "/signin?next=%2Fhead%2Fmain"
    assert errors == []
    ctx.close()


def shot_path(name: str) -> Any:
    from test_pages import SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / f"{name}.png"


def test_lockout_is_said_with_its_minutes_in_english(browser: Any, proc: ServerProcess) -> None:
    ctx = context(browser, "en")
    page = ctx.new_page()
    page.goto(f"{proc.url}/signin")
    page.wait_for_selector("#signin-form")
    assert page.locator("#signin-h").inner_text() == "Staff sign-in"
    for i in range(5):
        sign_in(page, "lock", f"wrong-{i}-pass")
        page.wait_for_selector("#signin-error:not([hidden])")
        assert "wrong" in page.inner_text("#signin-error")
        page.wait_for_selector("#signin-submit:not([disabled])")
    sign_in(page, "lock", PW["lock"])
    page.wait_for_function("() => document.querySelector('#signin-error').textContent.includes('Too many')")
    assert "Try again in 15 min" in page.inner_text("#signin-error")
    run_axe(page, "sign-in locked out")
    shot(page, "signin-locked-en")
    ctx.close()


def test_an_administrator_at_the_desk_console(browser: Any, proc: ServerProcess) -> None:
    ctx = context(browser, size=(1366, 768))
    errors: list[str] = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{proc.url}/signin?next=/desk/main-03")
    sign_in(page, "olha", PW["olha"])
    page.wait_for_url(f"{proc.url}/desk/main-03")
    page.wait_for_selector("#account-who")
    assert "olha" in page.inner_text("#account-who") and "адміністратор" in page.inner_text("#account-who")
    opened = page.evaluate("""async () => {
        const s = await (await fetch('/api/v1/session')).json();
        return (await fetch('/api/v1/desks/main-03/open', {method: 'POST', headers: {'X-CSRF-Token': s.csrf}})).status;
    }""")
    assert opened == 200
    assert not page.locator("#token-input").is_visible()
    run_axe(page, "desk console signed in")
    shot(page, "signin-desk-console")
    # the password change, from the header
    page.click("#account-password")
    page.fill("#pw-current", PW["olha"])
    page.fill("#pw-new", "olha-new-pass")
    page.fill("#pw-repeat", "olha-other")
    page.click("#pw-save")
    assert "не збігаються" in page.inner_text("#pw-error")
    run_axe(page, "password dialog")
    shot(page, "signin-password-dialog")
    page.fill("#pw-repeat", "olha-new-pass")
    page.click("#pw-save")
    page.wait_for_selector("#account-note:not([hidden])")
    assert "Пароль змінено" in page.inner_text("#account-note")
    head = httpx.get(f"{proc.url}/api/v1/offices/main/audit", headers=proc.auth("head", "main")).json()
    mine = [r for r in head if r["who"] == "olha"]
    assert {"session.signin", "desk.open", "staff.password_change"} <= {r["action"] for r in mine}
    page.click("#account-signout")
    page.wait_for_url(f"{proc.url}/signin?next=%2Fdesk%2Fmain-03")
    r = httpx.post(f"{proc.url}/api/v1/session", json={"login": "olha", "password": "olha-new-pass"})
    assert r.status_code == 200
    assert errors == []
    ctx.close()


def test_the_network_manages_the_centres_heads(browser: Any, proc: ServerProcess) -> None:
    ctx = context(browser)
    errors: list[str] = []
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{proc.url}/signin")
    sign_in(page, "net", PW["net"])
    page.wait_for_url(f"{proc.url}/staff/main")
    page.wait_for_selector("#staff-table")
    assert "мережа" in page.inner_text("#account-who")
    assert page.eval_on_selector_all("#staff-role option", "os => os.map(o => o.value)") == ["head"]
    # the heads are managed here; an administrator is not the network's to manage
    assert page.locator("#staff-table tr[data-login=anna] button[data-do=disable]").count() == 1
    assert page.locator("#staff-table tr[data-login=olha] button").count() == 0
    page.select_option("#staff-office", "zamostia")
    page.wait_for_url(f"{proc.url}/staff/zamostia")
    page.wait_for_selector("#staff-add")
    page.fill("#staff-login", "zam-head")
    page.fill("#staff-password", "zam-head-first")
    page.click("#staff-add-submit")
    page.wait_for_selector("#staff-table tr[data-login=zam-head]")
    assert "null" not in page.inner_text("#staff")
    run_axe(page, "network staff page")
    shot(page, "signin-network-staff")
    r = httpx.post(f"{proc.url}/api/v1/session", json={"login": "zam-head", "password": "zam-head-first"})
    assert r.status_code == 200 and r.json()["office"] == "zamostia" and r.json()["role"] == "head"
    assert errors == []
    ctx.close()
