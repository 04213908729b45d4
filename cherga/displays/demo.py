"""``cherga demo``: simulated visitors and desks driving the service through its own HTTP API.

Visitors arrive at every office (a Poisson stream, ``speed`` times faster than a busy day), take tickets at a
kiosk, sometimes rate the service afterwards; desks open, press "next", serve for a lognormal time and finish. It
uses device tokens like real kiosks and desks, so what a newcomer sees on the boards is the real path.

Once a minute it prints one line: tickets issued and called since it started, visitors waiting now and the heads'
alerts now (``CHERGA_DEMO_STATUS_S`` sets another interval, e.g. for tests). Ctrl-C stops it: uvicorn shuts the
service down (the lifespan cancels the driver), and ``cherga`` exits with 130 and no traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
from fastapi import FastAPI

from cherga.displays.auth import TokenStore

log = logging.getLogger("cherga.demo")
# how the simulated visitors rate, on each scale (the office's rating_scale)
DEMO_SCORES: dict[str, dict[str, float]] = {"three": {"bad": 0.1, "good": 0.5, "exemplary": 0.4},
                                            "four": {"terrible": 0.05, "acceptable": 0.15, "good": 0.45,
                                                     "excellent": 0.35}}


def status_interval() -> float:
    """Seconds between status lines: a minute, unless ``CHERGA_DEMO_STATUS_S`` says otherwise."""
    try:
        value = float(os.environ.get("CHERGA_DEMO_STATUS_S", "60"))
    except ValueError:
        return 60.0
    return value if value > 0 else 60.0


class Counts:
    """What the simulated kiosks and desks did since the demo started."""

    def __init__(self) -> None:
        self.issued = 0
        self.called = 0


def attach_demo(app: FastAPI, *, speed: float, base_url: str, seed: int = 2026,
                status_every_s: float | None = None) -> None:
    inner = app.router.lifespan_context
    every = status_interval() if status_every_s is None else status_every_s

    @contextlib.asynccontextmanager
    async def with_demo(a: FastAPI) -> AsyncIterator[Any]:
        async with inner(a) as state:
            task = asyncio.create_task(drive(a, base_url, speed, np.random.default_rng(seed), every))
            try:
                yield state
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = with_demo


def status_line(app: FastAPI, counts: Counts, now: float | None = None) -> str:
    """One line, Ukrainian words first: issued and called so far, waiting now, alerts now."""
    svc = app.state.service
    offices = list(svc.network.offices)
    waiting = sum(svc.host.engine.office(o).waiting() for o in offices)
    alerts = sum(len(svc.alerts.compute(o)) for o in offices)
    stamp = time.strftime("%H:%M:%S", time.localtime(now))
    return (f"cherga demo {stamp}  видано/issued {counts.issued} · викликано/called {counts.called} · "
            f"чекають/waiting {waiting} · сповіщення/alerts {alerts}")


async def report(app: FastAPI, counts: Counts, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            line = status_line(app, counts)
        except Exception as exc:  # a line missed is no reason to stop the demo
            log.warning("demo status: %s", exc)
            continue
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


async def drive(app: FastAPI, base: str, speed: float, rng: np.random.Generator, every_s: float = 60.0) -> None:
    svc = app.state.service
    net = svc.network
    store: TokenStore = svc.tokens
    counts = Counts()
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        for _ in range(100):  # wait until the server listens
            try:
                if (await http.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        tasks = [asyncio.create_task(report(app, counts, every_s))]
        for office in net.offices.values():
            kiosk = store.issue(net, "kiosk", office=office.id)
            services = sorted(office.services)
            weights = np.array([1.0 / net.services[sid].mean_service_min for sid in services])
            # a busy office: arrivals at about 85% of what its open desks can serve
            open_desks = office.desks[: max(1, int(len(office.desks) * 0.75))]
            mean = float(np.average([net.services[sid].mean_service_min for sid in services], weights=weights))
            per_min = 0.85 * len(open_desks) / mean
            tasks.append(asyncio.create_task(
                visitors(http, office.id, kiosk, services, weights / weights.sum(), per_min * speed,
                         rng.spawn(1)[0], counts)))
            for desk in open_desks:
                token = store.issue(net, "desk", office=office.id, desk=desk.id)
                tasks.append(asyncio.create_task(serve_desk(http, desk.id, token, speed, rng.spawn(1)[0], counts,
                                                            DEMO_SCORES[office.rating_scale])))
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()


async def visitors(http: httpx.AsyncClient, office: str, token: str, services: list[str], p: Any,
                   per_min: float, rng: np.random.Generator, counts: Counts) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    while True:
        await asyncio.sleep(float(rng.exponential(60.0 / per_min)))
        body = {"service": str(rng.choice(services, p=p)), "vulnerable": bool(rng.random() < 0.08)}
        try:
            r = await http.post(f"/api/v1/offices/{office}/tickets", json=body, headers=auth)
            if r.status_code == 201:
                counts.issued += 1
            if r.status_code == 429:
                await asyncio.sleep(float(r.headers.get("Retry-After", "5")))
        except httpx.HTTPError as exc:
            log.warning("demo visitor: %s", exc)


async def serve_desk(http: httpx.AsyncClient, desk: str, token: str, speed: float,
                     rng: np.random.Generator, counts: Counts, scores: dict[str, float]) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    base = f"/api/v1/desks/{desk}"
    try:
        await http.post(f"{base}/open", headers=auth)
        while True:
            r = await http.post(f"{base}/call-next", headers=auth)
            if r.status_code != 200:
                await asyncio.sleep(float(rng.uniform(2, 5)))
                continue
            ticket = r.json()
            counts.called += 1
            await asyncio.sleep(float(rng.uniform(3, 8)))
            if rng.random() < 0.04:
                await http.post(f"{base}/no-show", headers=auth)
                continue
            await http.post(f"{base}/start", headers=auth)
            minutes = float(rng.lognormal(np.log(8.0), 0.5))
            await asyncio.sleep(minutes * 60.0 / speed)
            outcome = "refused" if rng.random() < 0.05 else "served"
            await http.post(f"{base}/finish", json={"outcome": outcome}, headers=auth)
            if rng.random() < 0.4:
                score = str(rng.choice(list(scores), p=list(scores.values())))
                await http.post(f"/api/v1/tickets/{ticket['id']}/rating", json={"score": score})
    except httpx.HTTPError as exc:
        log.warning("demo desk %s: %s", desk, exc)
