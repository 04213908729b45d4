"""Every call × every role, by device token and by staff session: 0 wrong allows, 0 wrong refusals (401 without a
token or session, 403 outside role or scope)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import httpx
import pytest
from server import ServerProcess

from cherga.displays.accounts import COOKIE, StaffStore
from cherga.engine.loader import load_network

ROLES = {
    "none": None,
    "kiosk": ("kiosk", "main", None),
    "desk": ("desk", "main", "main-03"),
    "other-desk": ("desk", "main", "main-04"),
    "head": ("head", "main", None),
    "other-head": ("head", "zamostia", None),
    "planner": ("planner", None, None),
    "alerts": ("alerts", None, None),  # an official alert feed, network-wide
    "other-alerts": ("alerts", "zamostia", None),  # a feed minted for another office
    "network": ("network", None, None),
    # paired screens (routes/devices.py): a hall board; the exit tablet; a desk's rating tablet
    "board": ("board", "main", None),
    "rating": ("rating", "main", None),
    "desk-rating": ("rating", "main", "main-03"),
}
# staff signed in (API.md 1.1): a session acts with its role as that role's device token would; an administrator
# as a desk token of any desk of their office (so for main-03 as "desk"; the one of another office as "other-desk")
SESSIONS = {
    "s-head": ("head", "main", "head"),
    "s-other-head": ("head", "zamostia", "other-head"),
    "s-admin": ("administrator", "main", "desk"),
    "s-other-admin": ("administrator", "zamostia", "other-desk"),
    "s-planner": ("planner", None, "planner"),
    "s-network": ("network", None, "network"),
}
PASSWORD = "role-matrix-pw"
EVERYONE = set(ROLES) | set(SESSIONS)
SIGNED_IN = set(SESSIONS)
DESK = {"desk", "head"}
MONTH = dt.date.today().strftime("%Y-%m")
PUSH_AT = "https://fcm.googleapis.com/fcm/send/role-matrix"  # a push service's address (never posted to here)


DEMO = load_network(None)
_S = DEMO.services["residence-certificate"]
SAME_SERVICE = {"name_uk": _S.name_uk, "name_en": _S.name_en, "category": _S.category.value, "letter": _S.letter,
                "mean_service_min": _S.mean_service_min, "sphere_uk": _S.sphere_uk, "sphere_en": _S.sphere_en}
_D = next(x for x in DEMO.offices["main"].desks if x.id == "main-03")
SAME_DESK = {"number": _D.number, "services": sorted(_D.services), "backup": sorted(_D.backup)}


def calls(ticket: str, done: str, code: str = "ZZZZZZ", other_device: str = "0" * 12,
          ) -> list[tuple[str, str, Any, set[str]]]:
    """(method, path, body, roles allowed)."""
    d = "/api/v1/desks/main-03"
    o = "/api/v1/offices/main"
    return [
        ("GET", "/api/v1/offices", None, EVERYONE),
        ("POST", f"{o}/tickets", {"service": "residence-certificate"}, {"kiosk", "head"}),
        ("GET", f"/api/v1/tickets/{ticket}", None, EVERYONE),
        ("GET", d, None, DESK | {"desk-rating"}),
        ("POST", f"{d}/open", None, DESK),
        ("POST", f"{d}/pause", None, DESK),
        ("POST", f"{d}/resume", None, DESK),
        ("POST", f"{d}/call-next", None, DESK),
        ("POST", f"{d}/recall", None, DESK),
        ("POST", f"{d}/start", None, DESK),
        ("POST", f"{d}/no-show", None, DESK),
        ("POST", f"{d}/finish", {"outcome": "served"}, DESK),
        ("POST", f"{d}/transfer", {"service": "residence-certificate"}, DESK),
        ("POST", f"{d}/close", None, DESK),
        ("GET", f"{d}/last-finished", None, DESK | {"desk-rating"}),
        ("POST", f"/api/v1/tickets/{done}/rating", {"score": "good"}, EVERYONE),
        ("POST", f"/api/v1/tickets/{ticket}/cancel", None, EVERYONE),
        ("GET", "/api/v1/push/key", None, EVERYONE),  # Web Push (#18.2): the visitor's phone, no token
        ("POST", f"/api/v1/tickets/{ticket}/push",
         {"subscription": {"endpoint": PUSH_AT, "keys": {"p256dh": "x", "auth": "y"}}}, EVERYONE),
        ("DELETE", f"/api/v1/tickets/{ticket}/push", {"endpoint": PUSH_AT}, EVERYONE),
        # "tell me when a slot frees" and the reminder (#18.4): the booking page's, no token (days long gone: 400)
        ("POST", f"{o}/slot-alerts", {"service": "residence-registration", "from": "2020-01-01", "to": "2020-01-02",
                                      "subscription": {"endpoint": PUSH_AT, "keys": {"p256dh": "x", "auth": "y"}}},
         EVERYONE),
        ("GET", "/api/v1/slot-alerts/no-such-alert", None, EVERYONE),
        ("DELETE", "/api/v1/slot-alerts/no-such-alert", None, EVERYONE),
        ("GET", "/api/v1/slot-holds/no-such-hold", None, EVERYONE),
        ("POST", f"{o}/appointments/{code}/reminder",
         {"subscription": {"endpoint": PUSH_AT, "keys": {"p256dh": "x", "auth": "y"}}}, EVERYONE),
        ("DELETE", f"{o}/appointments/{code}/reminder", {"endpoint": PUSH_AT}, EVERYONE),
        ("GET", f"{o}/state", None, EVERYONE),
        ("GET", f"{o}/policy", None, EVERYONE),
        ("PUT", f"{o}/policy", {"order": ["vulnerable", "special", "quick", "seasonal", "acceptance", "issuance",
                                          "consultation"], "max_wait_min": {}}, {"head"}),
        ("GET", f"{o}/slots", None, EVERYONE),
        ("POST", f"{o}/appointments", {"service": "residence-registration", "start": "2020-01-01T10:00:00+02:00"},
         {"none", "head"}),
        ("POST", f"{o}/check-in", {"code": "AAAAAA"}, {"kiosk", "head"}),
        ("GET", f"{o}/load", None, {"head", "planner"}),
        ("POST", f"{o}/redirects", {"ticket": ticket, "office": "zamostia"}, {"head"}),
        ("GET", f"{o}/report?format=json&month={MONTH}", None, {"head", "planner"}),
        ("GET", f"{o}/ratings", None, EVERYONE),
        ("POST", f"{o}/ratings", {"number": "Z999", "score": "good"}, {"kiosk", "head", "rating", "desk-rating"}),
        # wartime (API.md 1.1); the all-clear with 0 minutes, so the calls above and below are not held
        ("POST", f"{o}/alert", {"active": False, "resume_after_min": 0}, {"head", "network", "alerts"}),
        ("POST", "/api/v1/regions/vinnytsia/alert", {"active": False, "resume_after_min": 0}, {"network", "alerts"}),
        ("POST", f"{o}/registries", {"available": True}, {"head", "network"}),
        # devices (API.md 1.1): a screen asks and polls with no token; the office's head approves, lists, revokes
        ("POST", "/api/v1/pairings", {"office": "main"}, EVERYONE),
        ("GET", f"/api/v1/pairings/{code}", None, EVERYONE),
        ("POST", f"/api/v1/pairings/{code}/approve", {"role": "board"}, {"head"}),
        ("GET", f"{o}/devices", None, {"head"}),
        ("DELETE", f"/api/v1/devices/{other_device}", None, {"other-head"}),  # a device of zamostia
        # staff and the audit trail (API.md 1.1, docs/api.md); m-admin is an administrator of main
        ("GET", f"{o}/staff", None, {"head", "network"}),
        ("POST", f"{o}/staff", {"login": "m-new", "role": "administrator", "password": "new-admin-pw"}, {"head"}),
        ("PATCH", "/api/v1/staff/m-admin", {"active": True}, {"head"}),
        ("PUT", "/api/v1/staff/m-admin/password", {"password": PASSWORD}, {"head"}),
        ("DELETE", "/api/v1/staff/m-new", None, {"head"}),
        ("GET", f"{o}/audit", None, {"head"}),
        # the head's configuration, live (API.md 1.1): each change a no-op on the demo's values
        ("GET", f"{o}/config", None, {"head"}),
        ("GET", f"{o}/config.toml", None, {"head"}),
        ("GET", f"{o}/config/version", None, EVERYONE),
        ("PUT", f"{o}/services/residence-certificate", SAME_SERVICE, {"head"}),
        ("POST", f"{o}/services/land-consultation/retire", None, {"head"}),
        ("PUT", d, SAME_DESK, {"head"}),
        ("PUT", f"{o}/skills/quick", {"services": sorted(DEMO.skills["quick"])}, {"head"}),
        ("PUT", f"{o}/hours", {"mon": "08:00-20:00"}, {"head"}),
        ("PUT", f"{o}/closed-days", {"holidays": ["08-24"]}, {"head"}),
        ("PUT", f"{o}/targets", {"target_min": 15, "limit_min": 20, "share_within_target": 0.9,
                                 "share_over_limit": 0.01}, {"head"}),
        ("GET", "/api/v1/session", None, SIGNED_IN),
        ("PUT", "/api/v1/session/password", {"current": PASSWORD, "new": PASSWORD}, SIGNED_IN),
        ("DELETE", "/api/v1/session", None, SIGNED_IN),  # last: it ends the sessions
    ]


def with_sessions(allowed: set[str]) -> set[str]:
    """A call's allowed roles, with the sessions that act as those roles."""
    return allowed | {name for name, (_, _, acts_as) in SESSIONS.items() if acts_as in allowed}


@pytest.fixture(scope="module")
def proc(tmp_path_factory: pytest.TempPathFactory) -> Any:
    data = tmp_path_factory.mktemp("roles") / "data"
    store = StaffStore(data)
    net = load_network(None)
    for name, (role, office, _) in SESSIONS.items():
        store.add(net, name, role, PASSWORD, office)
    store.add(net, "m-admin", "administrator", PASSWORD, "main")
    store.close()
    p = ServerProcess(data).start()
    yield p
    p.stop()


def test_every_call_by_every_role(proc: ServerProcess) -> None:
    heads = {name: proc.auth(*spec) if spec else {} for name, spec in ROLES.items()}
    u = proc.url
    for name in SESSIONS:  # the cookie, and the csrf every state-changing call made with it needs
        r = httpx.post(f"{u}/api/v1/session", json={"login": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        heads[name] = {"Cookie": f"{COOKIE}={r.cookies[COOKIE]}", "X-CSRF-Token": r.json()["csrf"]}
    head = heads["head"]
    ticket = httpx.post(f"{u}/api/v1/offices/main/tickets", json={"service": "housing-subsidy"}, headers=head).json()
    httpx.post(f"{u}/api/v1/desks/main-13/open", headers=head)
    done = httpx.post(f"{u}/api/v1/offices/main/tickets", json={"service": "vehicle-registration"},
                      headers=head).json()
    httpx.post(f"{u}/api/v1/desks/main-13/call-next", headers=head)
    httpx.post(f"{u}/api/v1/desks/main-13/finish", headers=head)
    code = httpx.post(f"{u}/api/v1/pairings", json={"office": "main"}).json()["code"]
    other_device = hashlib.sha256(proc.token("kiosk", "zamostia").encode()).hexdigest()[:12]
    wrong: list[str] = []
    checked = 0
    with httpx.Client(base_url=u, timeout=30) as http:
        for method, path, body, allowed_tokens in calls(ticket["id"], done["id"], code, other_device):
            allowed = with_sessions(allowed_tokens)
            # the refused first, while what a call removes (a device, an account) is still there to be refused
            for role, headers in sorted(heads.items(), key=lambda kv: kv[0] in allowed):
                r = http.request(method, path, json=body, headers=headers)
                refused = r.status_code in (401, 403)
                checked += 1
                if role in allowed and refused:
                    wrong.append(f"wrong refusal: {role} {method} {path} -> {r.status_code} {r.text[:120]}")
                elif role not in allowed:
                    want = 401 if role == "none" else 403
                    if r.status_code != want:
                        wrong.append(f"wrong allow: {role} {method} {path} -> {r.status_code} (want {want})")
                    elif not r.json()["error"]["message"]:
                        wrong.append(f"no message: {role} {method} {path}")
    assert checked == len(calls("x", "y")) * (len(ROLES) + len(SESSIONS))
    assert wrong == [], "\n".join(wrong)
