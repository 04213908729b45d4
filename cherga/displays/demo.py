"""``cherga demo``: simulated visitors and desks driving the service through its own HTTP API.

Visitors arrive at every office (a Poisson stream, ``speed`` times faster than a busy day), take tickets at a
kiosk, sometimes rate the service afterwards; desks open, press "next", serve for a lognormal time and finish. It
uses device tokens like real kiosks and desks, so what a newcomer sees on the boards is the real path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
from fastapi import FastAPI

from cherga.displays.auth import TokenStore

log = logging.getLogger("cherga.demo")


def attach_demo(app: FastAPI, *, speed: float, base_url: str, seed: int = 2026) -> None:
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def with_demo(a: FastAPI) -> AsyncIterator[Any]:
        async with inner(a) as state:
            task = asyncio.create_task(drive(a, base_url, speed, np.random.default_rng(seed)))
            try:
                yield state
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = with_demo


async def drive(app: FastAPI, base: str, speed: float, rng: np.random.Generator) -> None:
    svc = app.state.service
    net = svc.network
    store: TokenStore = svc.tokens
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        for _ in range(100):  # wait until the server listens
            try:
                if (await http.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        tasks = []
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
                         rng.spawn(1)[0])))
            for desk in open_desks:
                token = store.issue(net, "desk", office=office.id, desk=desk.id)
                tasks.append(asyncio.create_task(serve_desk(http, desk.id, token, speed, rng.spawn(1)[0])))
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()


async def visitors(http: httpx.AsyncClient, office: str, token: str, services: list[str], p: Any,
                   per_min: float, rng: np.random.Generator) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    while True:
        await asyncio.sleep(float(rng.exponential(60.0 / per_min)))
        body = {"service": str(rng.choice(services, p=p)), "vulnerable": bool(rng.random() < 0.08)}
        try:
            r = await http.post(f"/api/v1/offices/{office}/tickets", json=body, headers=auth)
            if r.status_code == 429:
                await asyncio.sleep(float(r.headers.get("Retry-After", "5")))
        except httpx.HTTPError as exc:
            log.warning("demo visitor: %s", exc)


async def serve_desk(http: httpx.AsyncClient, desk: str, token: str, speed: float,
                     rng: np.random.Generator) -> None:
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
                score = str(rng.choice(["bad", "good", "exemplary"], p=[0.1, 0.5, 0.4]))
                await http.post(f"/api/v1/tickets/{ticket['id']}/rating", json={"score": score})
    except httpx.HTTPError as exc:
        log.warning("demo desk %s: %s", desk, exc)
