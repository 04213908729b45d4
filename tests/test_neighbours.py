"""Travel minutes from coordinates, the neighbour index, and the kiosk's alternatives weighed among neighbours only.

* ``geo``: great-circle kilometres against known distances, minutes = km × road factor ÷ speed, symmetric;
* ``Network.travel``: a listed pair overrides the coordinates; no coordinates and no pair, no minutes;
* the loader: ``lat``/``lon`` per office and the ``[roads]``/``[alternatives]`` tables, every mistake named;
* ``neighbours.build``: nearest first, within the reach (listed pairs however far), capped, equal to a brute-force
  reference on random networks (high latitudes and the antimeridian included);
* ``CityEngine.issue``: the alternatives offered equal those of the former full scan (written out here) on the
  demo network driven through a random day, and on generated networks where every office has travel pairs, with
  remote offices' published loads among them; past ``nearest`` offices, they equal the full scan over the nearest
  that offer the service; a service a neighbour is given while open (PutDesk) is looked for there at once.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from crash_writer import RandomDriver, open_all

from cherga.engine import balancer, forecast, geo, neighbours
from cherga.engine import commands as c
from cherga.engine import events as e
from cherga.engine.loader import DEMO_DIR, NETWORK_FILE, SERVICES_FILE, load_network
from cherga.engine.model import ALWAYS_OPEN, Network, Office
from cherga.engine.network import CityEngine
from cherga.errors import ChergaError, ConfigError

T0 = 1_795_417_200.0
KYIV = (50.4501, 30.5234)
LVIV = (49.8397, 24.0297)
ODESA = (46.4825, 30.7233)


# ------------------------------------------------------------------------------------------------ geo


def test_great_circle_against_known_distances() -> None:
    assert geo.great_circle_km(*KYIV, *LVIV) == pytest.approx(469.0, rel=0.01)
    assert geo.great_circle_km(*KYIV, *ODESA) == pytest.approx(441.0, rel=0.01)
    assert geo.great_circle_km(*KYIV, *KYIV) == 0.0
    assert geo.great_circle_km(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * geo.EARTH_RADIUS_KM)
    assert geo.great_circle_km(0.0, 179.9, 0.0, -179.9) == pytest.approx(22.24, rel=0.01)  # across 180°


def test_minutes_are_km_times_road_factor_over_speed_and_symmetric() -> None:
    km = geo.great_circle_km(*KYIV, *LVIV)
    assert geo.road_min(*KYIV, *LVIV, 1.3, 40.0) == round(km * 1.3 / 40.0 * 60.0, 1)
    assert geo.road_min(*KYIV, *LVIV, 1.0, 80.0) == round(km * 60.0 / 80.0, 1)
    rng = random.Random(1)
    for _ in range(2000):
        a = (rng.uniform(-89, 89), rng.uniform(-180, 180))
        b = (rng.uniform(-89, 89), rng.uniform(-180, 180))
        assert geo.road_min(*a, *b, 1.3, 40.0) == geo.road_min(*b, *a, 1.3, 40.0)
    assert geo.reach_km(60.0, 1.3, 40.0) == pytest.approx(40.0 / 1.3)


# ------------------------------------------------------------------------------------------------ the network


def placed(n: int, rng: random.Random, *, lat: tuple[float, float] = (45.6, 51.9),
           lon: tuple[float, float] = (22.3, 39.6), pairs: dict[tuple[str, str], float] | None = None,
           unplaced: int = 0, **network: object) -> Network:
    """``n`` copies of the demo's branches and remote workplace in turn (4, 4 and 1 desks; the workplace offers a few
    services only) at random places (the last ``unplaced`` without coordinates), with the travel pairs given."""
    demo = load_network()
    offices: dict[str, Office] = {}
    for i in range(n):
        oid = f"o{i:03d}"
        template = demo.offices[("zamostia", "vyshenka", "khutory")[i % 3]]
        desks = tuple(dataclasses.replace(d, id=f"{oid}-{k}", office=oid) for k, d in enumerate(template.desks))
        where = (None, None) if i >= n - unplaced else (rng.uniform(*lat), rng.uniform(*lon))
        offices[oid] = dataclasses.replace(template, id=oid, desks=desks, hours=ALWAYS_OPEN, lat=where[0],
                                           lon=where[1])
    return dataclasses.replace(demo, offices=offices, travel_min=pairs or {}, **network)  # type: ignore[arg-type]


def test_travel_from_coordinates_and_listed_pairs_override() -> None:
    net = load_network()
    main, zam = net.offices["main"], net.offices["zamostia"]
    assert main.lat is not None and main.lon is not None and zam.lat is not None and zam.lon is not None
    assert net.travel("main", "zamostia") == 20.0  # the demo's pair, not the 3.8 minutes of the coordinates
    bare = dataclasses.replace(net, travel_min={})
    expected = geo.road_min(main.lat, main.lon, zam.lat, zam.lon, 1.3, 40.0)
    assert bare.travel("main", "zamostia") == bare.travel("zamostia", "main") == expected
    assert 2.0 < expected < 8.0  # two districts of one city, a few kilometres apart
    assert bare.travel("main", "main") == 0.0
    slow = dataclasses.replace(bare, road_factor=1.5, speed_kmh=20.0)
    assert slow.travel("main", "zamostia") == geo.road_min(main.lat, main.lon, zam.lat, zam.lon, 1.5, 20.0)
    one_way = dataclasses.replace(bare, travel_min={("zamostia", "main"): 7.0})
    assert one_way.travel("main", "zamostia") == one_way.travel("zamostia", "main") == 7.0
    nowhere = dataclasses.replace(bare, offices={**bare.offices, "khutory": dataclasses.replace(
        bare.offices["khutory"], lat=None, lon=None)})
    assert nowhere.travel("main", "khutory") is None
    assert nowhere.travel("main", "vyshenka") is not None


def test_demo_offices_stand_in_vinnytsia() -> None:
    net = load_network()
    for office in net.offices.values():
        assert office.lat is not None and office.lon is not None, office.id
        # within 10 km of the city centre (Vinnytsi Khutory, the village of the remote workplace, included)
        assert geo.great_circle_km(office.lat, office.lon, 49.2331, 28.4682) < 10.0, office.id
    assert (net.road_factor, net.speed_kmh, net.reach_min, net.nearest) == (1.3, 40.0, 90.0, 12)


# ------------------------------------------------------------------------------------------------ the loader


def _copy_demo(target: Path) -> Path:
    for name in (SERVICES_FILE, NETWORK_FILE):
        shutil.copyfile(DEMO_DIR / name, target / name)
    return target


def _edit(directory: Path, old: str, new: str) -> None:
    path = directory / NETWORK_FILE
    text = path.read_text(encoding="utf-8")
    assert old in text, f"the demo no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


ZAM_LAT = "lat = 49.2382\n"
ZAM_LON = "lon = 28.4941\n"
ROADS = "road_factor = 1.3\nspeed_kmh = 40\n"
ALTS = "reach_min = 90\nnearest = 12\n"

LOADER_MISTAKES: list[tuple[str, str, tuple[str, ...]]] = [
    (ZAM_LAT, "lat = 249.2382\n", ("office[1].lat", "office 'zamostia'", "latitude", "between -90 and 90",
                                   "249.2382")),
    (ZAM_LAT, "lat = 128.4941\n", ("office[1].lat", "lat and lon swapped?")),
    (ZAM_LON, "lon = -200\n", ("office[1].lon", "office 'zamostia'", "longitude", "between -180 and 180")),
    (ZAM_LON, 'lon = "28.49"\n', ("office[1].lon", "office 'zamostia'", "as a number", "a string")),
    (ZAM_LAT, "lat = true\n", ("office[1].lat", "a boolean")),
    (ZAM_LAT, "lat = nan\n", ("office[1].lat", "as a number")),
    (ZAM_LAT, "", ("office[1].lat", "missing", "office 'zamostia' gives lon", "give both lat and lon")),
    (ZAM_LON, "", ("office[1].lon", "missing", "office 'zamostia' gives lat")),
    (ROADS, "road_factor = 0.8\nspeed_kmh = 40\n", ("roads.road_factor", "at least 1")),
    (ROADS, "road_factor = 1.3\nspeed_kmh = 0\n", ("roads.speed_kmh", "must be > 0 km/h")),
    (ROADS, "road_factor = 1.3\nspeed_kmh = 900\n", ("roads.speed_kmh", "at most 200 km/h")),
    (ROADS, "road_factor = 1.3\nspeed_kph = 40\n", ("roads.speed_kph", "unknown field", "speed_kmh")),
    (ALTS, "reach_min = -5\nnearest = 12\n", ("alternatives.reach_min", "at least 0 minutes")),
    (ALTS, "reach_min = 90\nnearest = 0\n", ("alternatives.nearest", "from 1 to 100", "0")),
    (ALTS, "reach_min = 90\nnearest = 2.5\n", ("alternatives.nearest", "whole number")),
    (ALTS, "reach_min = 90\nnearest = true\n", ("alternatives.nearest", "whole number")),
]


@pytest.mark.parametrize(("old", "new", "fragments"), LOADER_MISTAKES, ids=[f"{m[2][0]}-{i}"
                                                                            for i, m in enumerate(LOADER_MISTAKES)])
def test_loader_names_the_office_and_field(tmp_path: Path, old: str, new: str, fragments: tuple[str, ...]) -> None:
    _edit(_copy_demo(tmp_path), old, new)
    with pytest.raises(ConfigError) as info:
        load_network(tmp_path)
    message = str(info.value)
    assert message.startswith("network.toml: "), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_loader_reads_roads_and_alternatives_and_offices_without_coordinates(tmp_path: Path) -> None:
    _copy_demo(tmp_path)
    _edit(tmp_path, ROADS, "road_factor = 1.5\nspeed_kmh = 25\n")
    _edit(tmp_path, ALTS, "reach_min = 30\nnearest = 2\n")
    _edit(tmp_path, ZAM_LAT + ZAM_LON, "")  # an office without coordinates is fine: its listed pairs still count
    net = load_network(tmp_path)
    assert (net.road_factor, net.speed_kmh, net.reach_min, net.nearest) == (1.5, 25.0, 30.0, 2)
    assert net.offices["zamostia"].lat is None and net.offices["zamostia"].lon is None
    assert net.travel("main", "zamostia") == 20.0
    index = neighbours.build(net)
    assert index.of("main") == (("zamostia", 20.0), ("vyshenka", 25.0), ("khutory", 35.0)) and index.nearest == 2
    _edit(tmp_path, "[roads]\nroad_factor = 1.5\nspeed_kmh = 25\n", "")  # the defaults without the table
    assert load_network(tmp_path).road_factor == geo.ROAD_FACTOR


# ------------------------------------------------------------------------------------------------ the index


def reference_index(net: Network) -> dict[str, neighbours.Neighbours]:
    """Every pair weighed: listed pairs, else coordinates within the reach; nearest first, ties by id, capped."""
    near: dict[str, neighbours.Neighbours] = {}
    for a in net.offices:
        found = []
        for b in net.offices:
            if b == a:
                continue
            listed = (a, b) in net.travel_min or (b, a) in net.travel_min
            t = net.travel(a, b)
            if t is not None and (listed or t <= net.reach_min):
                found.append((t, b))
        found.sort()
        near[a] = tuple((b, t) for t, b in found[:neighbours.CANDIDATES * net.nearest])
    return near


def test_index_nearest_first_within_reach_capped() -> None:
    net = load_network()
    bare = dataclasses.replace(net, travel_min={})
    index = neighbours.build(bare)
    assert index.of("main") == (("zamostia", 3.8), ("vyshenka", 8.1), ("khutory", 12.2))
    assert all(x[1] <= y[1] for near in index.near.values() for x, y in itertools.pairwise(near))
    assert index.of("no-such-office") == ()
    assert neighbours.build(dataclasses.replace(bare, reach_min=10.0)).of("main") == (
        ("zamostia", 3.8), ("vyshenka", 8.1))
    one = neighbours.build(dataclasses.replace(bare, nearest=1))  # 1 weighed, of 4 candidates
    assert one.nearest == 1 and len(one.of("main")) == 3
    assert neighbours.build(dataclasses.replace(bare, reach_min=0.0)).near["main"] == ()
    # the demo's listed pairs override the coordinates, and the order follows them (ties by id)
    assert neighbours.build(net).near["vyshenka"] == (("khutory", 25.0), ("main", 25.0), ("zamostia", 35.0))
    # a listed pair counts however far; nothing else past the reach does
    far = dataclasses.replace(bare, reach_min=5.0, travel_min={("main", "khutory"): 300.0, ("khutory", "main"): 300.0})
    assert neighbours.build(far).near["main"] == (("zamostia", 3.8), ("khutory", 300.0))
    assert neighbours.build(far).near["vyshenka"] == ()


@pytest.mark.parametrize(("name", "lat", "lon", "reach"), [
    ("ukraine", (45.6, 51.9), (22.3, 39.6), 90.0),
    ("dense-city", (49.20, 49.26), (28.40, 28.52), 15.0),
    ("far-north", (69.0, 71.0), (20.0, 40.0), 240.0),
    ("antimeridian", (-5.0, 5.0), (178.5, 181.5), 120.0),
    ("the-world", (-80.0, 80.0), (-180.0, 180.0), 1440.0),
])
def test_index_equals_brute_force(name: str, lat: tuple[float, float], lon: tuple[float, float],
                                  reach: float) -> None:
    rng = random.Random(name)
    for n, nearest in ((60, 12), (150, 5)):
        net = placed(n, rng, lat=lat, lon=lon, unplaced=3, reach_min=reach, nearest=nearest)
        offices = list(net.offices)
        pairs = {}
        for _ in range(n // 3):  # some listed pairs, a few past the reach, an unplaced office among them
            a, b = rng.sample(offices, 2)
            pairs[(a, b)] = pairs[(b, a)] = round(rng.uniform(1.0, 2 * reach), 1)
        net = dataclasses.replace(net, travel_min=pairs)
        # longitudes past 180 are the same places as wrapped ones: the index must find them either way
        net = dataclasses.replace(net, offices={k: dataclasses.replace(o, lon=(o.lon + 180.0) % 360.0 - 180.0)
                                                if o.lon is not None else o for k, o in net.offices.items()})
        index = neighbours.build(net)
        assert index.near == reference_index(net)
        assert sum(len(v) for v in index.near.values()) > n // 2  # not vacuous


# ------------------------------------------------------------------------------------------------ alternatives


def full_scan(engine: CityEngine, office: str, service: str, more: tuple[str, ...], eta_here: float,
              now: float) -> list[balancer.Alternative]:
    """The former alternatives: every office's expected wait (published loads of remote ones, then the engine's
    own, if issuing and not under an air-raid alert), those offering every service of the visit, each with its
    travel minutes; sooner than here, best first."""
    net = engine.network
    etas: dict[str, float] = {oid: load.eta_by_service[service] for oid, load in engine.remote_loads.items()
                              if load.issuing and service in load.eta_by_service}
    for oid, d in engine.offices.items():
        q = d.queues.get((service, False))
        if q is not None and not d.issuing_stopped and not d.under_alert(now):  # under an alert it issues nothing
            eta = forecast.new_ticket_eta(d, q, now)[0]
            if eta is not None:
                etas[oid] = round(eta, 1)
    if eta_here <= net.targets.target_min:
        return []
    out = []
    for other, eta in etas.items():
        if other == office or (more and not net.offices[other].services.issuperset(more)):
            continue
        travel = net.travel(office, other)
        if travel is not None and travel + eta < eta_here:
            out.append(balancer.Alternative(office=other, eta_min=round(eta, 1), travel_min=travel))
    out.sort(key=lambda a: (a.travel_min + a.eta_min, a.office))
    return out


def _issue_and_compare(engine: CityEngine, cmd: c.IssueTicket, now: float, nearest_only: bool = False) -> int:
    """Issue ``cmd`` and check its alternatives against the full scan; how many were offered."""
    issued = engine.issue(cmd, now)
    eta = next(ev for ev in issued.events if isinstance(ev, e.TicketIssued)).eta_min
    here = math.inf if eta is None else eta
    expected = full_scan(engine, cmd.office, cmd.service, cmd.more_services, here, now)
    if nearest_only:  # the first ``nearest`` candidates that offer the visit's services
        offices = engine.network.offices
        offering = [b for b, _ in engine.neighbours.of(cmd.office)
                    if ((b in engine.offices and (cmd.service, False) in engine.offices[b].queues)
                        or (b in engine.remote_loads and cmd.service in engine.remote_loads[b].eta_by_service))
                    and offices[b].services.issuperset(cmd.more_services)]
        expected = [a for a in expected if a.office in offering[:engine.neighbours.nearest]]
    assert issued.alternatives == expected
    if eta is not None and eta <= engine.network.targets.target_min:
        assert issued.alternatives == []
    return len(expected)


def test_demo_day_offers_what_the_full_scan_offered() -> None:
    """A random day over the demo network (the engine's own test driver), with kiosks busier than its desks."""
    engine = CityEngine(load_network())
    rng = np.random.default_rng(16)
    driver = RandomDriver(engine, rng, policy_changes=False)
    now = T0
    open_all(engine, now)
    offered = issues = 0
    for _ in range(2500):
        now += float(rng.exponential(6.0))
        cmd = driver.command(now)
        if not isinstance(cmd, c.IssueTicket) and rng.random() < 0.35:
            oid = driver._pick(driver.office_ids)
            cmd = driver._issue(engine.offices[oid], driver._pick(driver.services[oid]), now)
        try:
            if isinstance(cmd, c.IssueTicket):
                offered += _issue_and_compare(engine, cmd, now)
                issues += 1
            else:
                engine.apply(cmd, now)
        except ChergaError:
            pass
    assert issues > 500 and offered > 100, (issues, offered)  # the comparison covered many offers


def _busy_network_day(net: Network, rng: np.random.Generator, *, nearest_only: bool = False,
                      remote: frozenset[str] = frozenset()) -> int:
    """Desks open, tickets issued everywhere (the home offices fill past the target), some desks closed again; an
    engine owns the offices not in ``remote`` and hears the others' published loads."""
    own = [o for o in net.offices if o not in remote]
    engine = CityEngine(net, offices=own)
    other = CityEngine(net, offices=sorted(remote)) if remote else None
    now = T0
    for eng in (engine, other):
        if eng is not None:
            open_all(eng, now)
    offices = sorted(net.offices)
    services = {o: sorted(net.offices[o].services) for o in offices}
    offered = 0
    for step in range(900):
        now += float(rng.exponential(10.0))
        oid = offices[int(rng.integers(len(offices)))]
        eng = other if oid in remote else engine
        assert eng is not None
        d = eng.offices[oid]
        r = rng.random()
        if r < 0.06:  # a desk opens or closes: some offices end with nobody for a service
            desk = sorted(d.desks)[int(rng.integers(len(d.desks)))]
            cmd: c.Command = c.CloseDesk(desk=desk) if rng.random() < 0.5 else c.OpenDesk(desk=desk)
        elif r < 0.15:
            desk = sorted(d.desks)[int(rng.integers(len(d.desks)))]
            cmd = c.CallNext(desk=desk)
        else:
            svc = services[oid][int(rng.integers(len(services[oid])))]
            more = (services[oid][int(rng.integers(len(services[oid])))],) if rng.random() < 0.1 else ()
            cmd = c.IssueTicket(office=oid, service=svc, more_services=tuple(m for m in more if m != svc))
        if other is not None and step % 5 == 0:
            engine.remote_loads = dict(other.loads(now))
        try:
            if isinstance(cmd, c.IssueTicket) and eng is engine:
                offered += _issue_and_compare(engine, cmd, now, nearest_only)
            else:
                eng.apply(cmd, now)
        except ChergaError:
            pass
    return offered


def _complete_pairs(net: Network, rng: random.Random) -> Network:
    pairs: dict[tuple[str, str], float] = {}
    ids = sorted(net.offices)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            pairs[(a, b)] = pairs[(b, a)] = float(rng.choice((5, 10, 15, 20, 30, 45, 60, 90)))
    return dataclasses.replace(net, travel_min=pairs)


@pytest.mark.parametrize("seed", [1, 2])
def test_generated_networks_with_every_pair_offer_what_the_full_scan_offered(seed: int) -> None:
    rng = random.Random(seed)
    net = _complete_pairs(placed(9, rng, unplaced=9), rng)  # pairs only, fewer offices than ``nearest``
    assert _busy_network_day(net, np.random.default_rng(seed)) > 30
    # the same with a third of the offices run by another engine, their loads published
    remote = frozenset(sorted(net.offices)[::3])
    assert _busy_network_day(net, np.random.default_rng(seed + 10), remote=remote) > 30


def test_past_nearest_the_full_scan_over_the_nearest() -> None:
    rng = random.Random(7)
    net = dataclasses.replace(_complete_pairs(placed(16, rng), rng), nearest=5)
    assert all(len(v) == 15 for v in neighbours.build(net).near.values())  # every other office, 5 of them weighed
    assert _busy_network_day(net, np.random.default_rng(7), nearest_only=True) > 30


def test_forecasts_weighed_per_issue_do_not_grow_with_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted, not timed: the other offices' waits an issue with alternatives asks for, at 20 offices and at 2,000
    (all run by the one engine): never more than ``nearest``, where the former scan asked every office."""
    asked: list[str] = []
    original = CityEngine._eta

    def counting(self: CityEngine, office: str, service: str, now: float) -> float | None:
        asked.append(office)
        return original(self, office, service, now)

    monkeypatch.setattr(CityEngine, "_eta", counting)
    most = {}
    for n in (20, 2000):
        net = placed(n, random.Random(5), reach_min=240.0, nearest=8)
        engine = CityEngine(net)
        open_all(engine, T0)
        near = engine.neighbours.near
        home = max(sorted(near), key=lambda o: len(near[o]))  # the office with most neighbours
        most[n] = 0
        for k in range(12):
            asked.clear()
            issued = engine.issue(c.IssueTicket(office=home, service="residence-registration"), T0 + k)
            assert len(asked) <= net.nearest and set(asked) <= {b for b, _ in engine.neighbours.of(home)}
            most[n] = max(most[n], len(asked))
        assert issued.alternatives  # the home is past its target and its neighbours idle
    assert most[2000] == 8 >= most[20] >= 1, most


def test_a_service_given_to_a_neighbour_while_open_is_looked_for_there() -> None:
    """The kiosk asks the neighbours' live configuration which of them offer the service, not the configuration
    loaded at the start: a desk of Zamostia given vehicle registration (the main centre's alone) is offered."""
    engine = CityEngine(dataclasses.replace(load_network(), travel_min={}))
    open_all(engine, T0)
    service = "vehicle-registration"
    now = T0
    offered: list[balancer.Alternative] = []
    for k in range(12):  # the main centre's one transport desk: the wait passes the target after a few
        offered = engine.issue(c.IssueTicket(office="main", service=service), now + k).alternatives
    assert offered == []  # nobody else registers vehicles
    desk = engine.network.offices["zamostia"].desks[3]
    engine.apply(c.PutDesk(office="zamostia", desk=desk.id, number=desk.number,
                           services=(*sorted(desk.services), service)), now + 20)
    assert _issue_and_compare(engine, c.IssueTicket(office="main", service=service), now + 21) == 1
    issued = engine.issue(c.IssueTicket(office="main", service=service), now + 22)
    assert [a.office for a in issued.alternatives] == ["zamostia"]
    assert issued.alternatives[0].travel_min == engine.network.travel("main", "zamostia")
