"""A known day built through the HTTP API, then the head's report of it through the API: every count exact."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
from server import ServerProcess


def test_a_day_through_the_api_is_reported_exactly(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "data").start()
    try:
        u = proc.url
        kiosk, head = proc.auth("kiosk", "main"), proc.auth("head", "main")
        d13, d16 = proc.auth("desk", "main", "main-13"), proc.auth("desk", "main", "main-16")
        with httpx.Client(base_url=u) as http:
            http.post("/api/v1/desks/main-13/open", json={"staff": "adm-1"}, headers=d13)
            http.post("/api/v1/desks/main-16/open", headers=d16)
            tickets = [http.post("/api/v1/offices/main/tickets", json={"service": "vehicle-registration"},
                                 headers=kiosk).json() for _ in range(3)]
            advice = http.post("/api/v1/offices/main/tickets", json={"service": "administrator-consultation"},
                               headers=kiosk).json()
            http.post(f"/api/v1/tickets/{tickets[2]['id']}/cancel")  # leaves before being called
            http.post("/api/v1/desks/main-13/call-next", headers=d13)
            http.post("/api/v1/desks/main-13/finish", json={"outcome": "served"}, headers=d13)
            http.post("/api/v1/desks/main-13/call-next", headers=d13)
            http.post("/api/v1/desks/main-13/finish", json={"outcome": "refused"}, headers=d13)
            http.post("/api/v1/desks/main-16/call-next", headers=d16)
            http.post("/api/v1/desks/main-16/finish", headers=d16)
            assert http.post(f"/api/v1/tickets/{tickets[0]['id']}/rating", json={"score": "good"}).status_code == 201
            assert http.post(f"/api/v1/tickets/{advice['id']}/rating", json={"score": "exemplary"}).status_code == 201
            month = dt.date.today().strftime("%Y-%m")
            r = http.get(f"/api/v1/offices/main/report?format=json&month={month}", headers=head)
            assert r.status_code == 200, r.text
            csv = http.get(f"/api/v1/offices/main/report?format=csv&month={month}", headers=head)
            assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        main = next(o for o in r.json()["offices"] if o["id"] == "main")
        assert (main["issued"], main["served"], main["refused"], main["no_show"], main["consultations"]) == (
            4, 2, 1, 0, 1)
        assert {s["service"]: s["served"] for s in main["by_service"]} == {
            "vehicle-registration": 1, "administrator-consultation": 1}
        assert main["ratings"] == {"bad": 0, "good": 1, "exemplary": 1}
        wait = main["wait"]
        assert wait["share_within_15"] == 1.0 and wait["share_within_20"] == 1.0
        assert 0 <= wait["mean_min"] <= wait["p90_min"] <= wait["max_min"] < 1.0
    finally:
        proc.stop()
