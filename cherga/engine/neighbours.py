"""The offices near each office, found once (when a :class:`~cherga.engine.network.CityEngine` is made for the
network): where a kiosk looks for alternatives.

A kiosk offers another office only when the road there plus the wait there beats the wait here
(:func:`cherga.engine.balancer.alternatives`); it cannot weigh every office of a country at every ticket. So each
office keeps a short list, built here once: the offices a ``[[travel]]`` pair names (however far: the person who
wrote the pair meant the trip), and the offices within ``Network.reach_min`` minutes by road from their
coordinates (:func:`cherga.engine.geo.road_min`), each with its travel minutes (a listed pair overrides the
coordinates), nearest first (ties by id), the ``CANDIDATES × Network.nearest`` nearest kept. The kiosk walks that
list and weighs the first ``nearest`` that offer the ticket's service as configured at that moment (the head may add
a service to a desk while the centre is open), so a remote workplace next door that does not take passports leaves
room for a centre further off that does. Asking for them is O(1) and weighing them O(nearest) forecasts (and at most
``CANDIDATES × nearest`` dictionary look-ups), at 20 offices or 5,000.

What is worth weighing follows from the balancer's own rules: a move is offered only once the wait here passes the
target (15 minutes) and only where road plus the wait there is shorter than the wait here, so a road at least as long
as the wait here is never offered: walking the list nearest first, the kiosk stops there. The defaults bound the
rest: ``reach_min`` 90 minutes (a wait here past an hour and a half is a breakdown to be handled by the head, not a
bus ride to suggest) and ``nearest`` 12 (more than a visitor reads on a kiosk, and a dozen forecasts at most per
ticket).

Building is O(n × k) for n offices with k within reach of each: offices with coordinates are dropped into a grid of
cells at least the reach wide (in kilometres, at the network's highest latitude), so only the 3 × 3 cells around an
office hold its candidates. Pure, no I/O; mypyc-compilable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cherga.engine import geo
from cherga.engine.model import Network

Neighbours = tuple[tuple[str, float], ...]
"""(office, travel minutes), nearest first."""

KM_PER_DEGREE = math.pi * geo.EARTH_RADIUS_KM / 180.0
ROUNDING_MIN = 0.1  # road_min rounds to a tenth: the grid reaches that much further, so no rounding is missed
# candidates kept per office, in ``nearest``s: room for the offices near it that do not offer a ticket's service
CANDIDATES = 4


@dataclass(frozen=True, slots=True)
class Index:
    """``near[office]``: the offices within reach or listed, nearest first, the ``CANDIDATES × nearest`` nearest;
    ``nearest``: how many of them that offer a ticket's service the kiosk weighs."""

    near: dict[str, Neighbours]
    nearest: int

    def of(self, office: str) -> Neighbours:
        """``office``'s candidates, nearest first. O(1)."""
        return self.near.get(office, ())


def build(network: Network) -> Index:
    """The network's :class:`Index`: see the module's docstring."""
    keep = max(0, network.nearest)
    near = within_reach(network)
    return Index(near={oid: ranked[:CANDIDATES * keep] for oid, ranked in near.items()}, nearest=keep)


def within_reach(network: Network) -> dict[str, Neighbours]:
    """Every office's listed and within-reach offices, nearest first (ties by id); ``()`` for none."""
    offices = network.offices
    found: dict[str, dict[str, float]] = {oid: {} for oid in offices}
    listed: set[tuple[str, str]] = set()
    for a, b in network.travel_min:
        if a == b or a not in offices or b not in offices:
            continue
        for x, y in ((a, b), (b, a)):
            t = network.travel(x, y)
            if t is not None:
                found[x][y] = t
                listed.add((x, y))
    _by_coordinates(network, found, listed)
    out: dict[str, Neighbours] = {}
    for oid, near in found.items():
        out[oid] = tuple(sorted(near.items(), key=_by_travel))
    return out


def _by_travel(item: tuple[str, float]) -> tuple[float, str]:
    return (item[1], item[0])


def _by_coordinates(network: Network, found: dict[str, dict[str, float]], listed: set[tuple[str, str]]) -> None:
    """Add to ``found`` the offices within ``reach_min`` by road of each office with coordinates (a listed pair
    keeps its own minutes)."""
    placed: list[tuple[str, float, float]] = []
    for oid, office in network.offices.items():
        if office.lat is not None and office.lon is not None:
            placed.append((oid, office.lat, office.lon))
    if len(placed) < 2 or network.reach_min <= 0.0:
        return
    factor = network.road_factor
    speed = network.speed_kmh
    reach = network.reach_min
    reach_km = geo.reach_km(reach + ROUNDING_MIN, factor, speed)
    # rows: a great circle covers at least as many km as its change of latitude does on a meridian
    cell_lat = reach_km / KM_PER_DEGREE
    # columns: haversine's h >= cos(lat1) cos(lat2) sin²(dlon / 2), so within reach dlon is at most this
    top = 0.0
    for _, lat, _ in placed:
        top = max(top, abs(lat))
    lowest_cos = math.cos(math.radians(min(top, 89.9)))
    s = math.sin(reach_km / (2.0 * geo.EARTH_RADIUS_KM)) / lowest_cos
    dlon = 360.0 if s >= 1.0 else math.degrees(2.0 * math.asin(s))
    columns = max(1, int(360.0 / dlon)) if dlon < 360.0 else 1
    width = 360.0 / columns
    cells: dict[tuple[int, int], list[tuple[str, float, float]]] = {}
    where: dict[str, tuple[int, int]] = {}
    for item in placed:
        oid, lat, lon = item
        key = (math.floor((lat + 90.0) / cell_lat), math.floor((lon + 180.0) / width) % columns)
        where[oid] = key
        cells.setdefault(key, []).append(item)
    for oid, lat, lon in placed:
        row, col = where[oid]
        mine = found[oid]
        for cc in sorted({(col - 1) % columns, col, (col + 1) % columns}):
            for rr in (row - 1, row, row + 1):
                for other, lat2, lon2 in cells.get((rr, cc), ()):
                    if other == oid or (oid, other) in listed:
                        continue
                    t = geo.road_min(lat, lon, lat2, lon2, factor, speed)
                    if t <= reach:
                        mine[other] = t
