"""The export is TOML the loader accepts, and loading it back gives the same configuration (issue 14.3), over
configurations hypothesis makes up: any catalogue, skill groups, offices, desks (own and backup services, special
workplaces), hours, closed days, wartime settings, targets, policy and travel minutes the loader allows, names with
quotes, backslashes, Cyrillic and control characters included; and over the configuration a random run of the
head's live changes leaves."""

from __future__ import annotations

import string
import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cherga.engine import commands as c
from cherga.engine.config_toml import export
from cherga.engine.loader import load_network, parse_documents
from cherga.engine.model import (
    ALWAYS_OPEN,
    SERVICE_CATEGORIES,
    Category,
    Desk,
    Hours,
    Intent,
    Network,
    Office,
    OfficeKind,
    PolicyConfig,
    Service,
    Targets,
)
from cherga.engine.network import CityEngine
from cherga.errors import ChergaError

IDS = st.from_regex(r"[a-z0-9]{1,6}(-[a-z0-9]{1,4}){0,2}", fullmatch=True)
# any text but empty-looking: the loader refuses names that are only spaces
NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=30).filter(
    lambda s: s.strip() != "")
TEXTS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
MINUTES = st.floats(min_value=0.01, max_value=480.0, allow_nan=False)


def services() -> st.SearchStrategy[dict[str, Service]]:
    one = st.builds(
        lambda sid, uk, en, cat, letter, mean, s_uk, s_en, intent, url, reg, retired: Service(
            id=sid, name_uk=uk, name_en=en, category=cat, letter=letter, mean_service_min=mean, sphere_uk=s_uk,
            sphere_en=s_en, intent=intent, online_url=url, needs_registry=reg, retired=retired),
        IDS, NAMES, NAMES, st.sampled_from(SERVICE_CATEGORIES), st.sampled_from(string.ascii_uppercase), MINUTES,
        TEXTS, TEXTS, st.sampled_from(list(Intent)),
        st.none() | st.from_regex(r"https://[a-z]{1,8}\.ua(/[a-z0-9]{0,8})?", fullmatch=True),
        st.booleans(), st.booleans())
    return st.lists(one, min_size=1, max_size=6, unique_by=lambda s: s.id).map(lambda xs: {s.id: s for s in xs})


def hours() -> st.SearchStrategy[Hours]:
    def span(draw: st.DrawFn) -> tuple[int, int]:
        start = draw(st.integers(0, 24 * 60 - 1))
        return start, draw(st.integers(start + 1, 24 * 60))

    @st.composite
    def table(draw: st.DrawFn) -> Hours:
        days = draw(st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True))
        return Hours({d: span(draw) for d in sorted(days)})

    return st.just(ALWAYS_OPEN) | table()


DAYS = st.dates().map(lambda d: d.isoformat()).filter(lambda s: len(s) == 10)


@st.composite
def networks(draw: st.DrawFn) -> Network:
    catalogue = draw(services())
    ids = sorted(catalogue)
    special = {s for s in ids if catalogue[s].category is Category.SPECIAL}
    skills = draw(st.dictionaries(IDS, st.sets(st.sampled_from(ids), min_size=1).map(frozenset), min_size=1,
                                  max_size=3))
    office_ids = draw(st.lists(IDS, min_size=1, max_size=3, unique=True))
    desk_ids = iter(draw(st.lists(IDS, min_size=4 * len(office_ids), max_size=4 * len(office_ids), unique=True)))
    offices: dict[str, Office] = {}
    for oid in office_ids:
        desks = []
        numbers = draw(st.lists(st.from_regex(r"[0-9A-Za-z]{1,4}", fullmatch=True), min_size=1, max_size=4,
                                unique=True))
        for number in numbers:
            own = draw(st.sets(st.sampled_from(ids), min_size=1))
            backup = draw(st.sets(st.sampled_from(ids))) - own
            desks.append(Desk(id=next(desk_ids), office=oid, number=number, services=frozenset(own),
                              backup=frozenset(backup), special=bool((own | backup) & special)))
        offices[oid] = Office(
            id=oid, name_uk=draw(NAMES), name_en=draw(NAMES), kind=draw(st.sampled_from(list(OfficeKind))),
            desks=tuple(desks), timezone=draw(st.sampled_from(["Europe/Kyiv", "UTC", "Europe/Warsaw"])),
            hours=draw(hours()), address_uk=draw(TEXTS), region=draw(st.just("") | IDS),
            shelter_address_uk=draw(TEXTS), shelter_address_en=draw(TEXTS),
            alert_resume_min=draw(st.floats(0, 240)), alert_resume_at_opening_min=draw(st.floats(0, 240)),
            holidays=tuple(sorted(draw(st.sets(DAYS.map(lambda d: d[5:]), max_size=3)))),
            closures=tuple(sorted(draw(st.sets(DAYS, max_size=3)))),
        )
    # every service still issued is served by a desk as its own (the loader's rule)
    served = {s for o in offices.values() for d in o.desks for s in d.services}
    first = next(iter(offices.values()))
    extra = {s for s in ids if s not in served and not catalogue[s].retired}
    if extra:
        d0 = first.desks[0]
        grown = Desk(id=d0.id, office=d0.office, number=d0.number, services=d0.services | extra,
                     backup=d0.backup - extra, special=bool((d0.services | extra | d0.backup) & special))
        offices[first.id] = Office(**{**{f: getattr(first, f) for f in first.__dataclass_fields__},
                                      "desks": (grown, *first.desks[1:])})
    target = draw(st.floats(0.5, 60))
    limit = draw(st.floats(target, 480))
    targets = Targets(target_min=target, limit_min=limit, share_within_target=draw(st.floats(0.01, 1.0)),
                      share_over_limit=draw(st.floats(0.0, 0.99)))
    order = tuple(draw(st.permutations(list(Category))))
    policy = PolicyConfig(
        order=order, max_wait_min={cat: draw(st.floats(0.01, limit)) for cat in Category},
        rule=draw(st.sampled_from(["strict", "limits", "aging", "fifo"])), margin_min=draw(st.floats(0, limit)),
        max_calls=draw(st.integers(1, 20)), no_show_grace_min=draw(st.floats(0, 480)),
        aging_min_per_rank=draw(MINUTES), appointment_share=draw(st.floats(0, 1)),
        booked_window_min=draw(st.floats(0, 480)), booking_grace_min=draw(st.floats(0, 480)),
        booking_days_ahead=draw(st.integers(1, 366)))
    travel: dict[tuple[str, str], float] = {}
    for i, a in enumerate(office_ids):
        for b in office_ids[i + 1:]:
            if draw(st.booleans()):
                travel[(a, b)] = travel[(b, a)] = draw(st.floats(0.01, 1440))
    return Network(offices=offices, services=catalogue, travel_min=travel, targets=targets, policy=policy,
                   name_uk=draw(NAMES), name_en=draw(NAMES), skills=skills)


def load_back(net: Network) -> Network:
    files = export(net)
    return parse_documents(tomllib.loads(files["services.toml"]), tomllib.loads(files["network.toml"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_the_export_loads_back_to_the_same_configuration(net: Network) -> None:
    assert load_back(net) == net


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_the_export_loads_back_to_the_same_configuration_many(net: Network) -> None:
    assert load_back(net) == net


@settings(max_examples=6, deadline=None)
@given(networks())
def test_the_exported_files_are_what_cherga_serve_config_reads(net: Network) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in export(net).items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        assert load_network(tmp) == net


T0 = 1_795_417_200.0
DEMO = load_network()
MAIN = DEMO.offices["main"]
SERVICES = sorted(MAIN.services)
DESKS = [d.id for d in MAIN.desks]


def commands() -> st.SearchStrategy[c.Command]:
    put = st.builds(
        lambda sid, name, cat, letter, mean, desks: c.PutService(
            office="main", service=sid, name_uk=name, name_en=name, category=cat.value, letter=letter,
            mean_service_min=mean, desks=desks),
        st.sampled_from(SERVICES) | IDS, NAMES, st.sampled_from(SERVICE_CATEGORIES),
        st.sampled_from(string.ascii_uppercase), MINUTES,
        st.none() | st.lists(st.sampled_from(DESKS), min_size=1, max_size=3).map(tuple))
    desk = st.builds(
        lambda d, number, own, backup: c.PutDesk(office="main", desk=d, number=number, services=tuple(own),
                                                  backup=tuple(backup)),
        st.sampled_from(DESKS), st.from_regex(r"[0-9]{1,3}", fullmatch=True),
        st.lists(st.sampled_from(SERVICES), min_size=1, max_size=6, unique=True),
        st.lists(st.sampled_from(SERVICES), max_size=3, unique=True))
    return st.one_of(
        put, desk,
        st.builds(lambda s: c.RetireService(office="main", service=s), st.sampled_from(SERVICES)),
        st.builds(lambda n, s: c.SetSkillGroup(office="main", name=n, services=tuple(s)), IDS,
                  st.lists(st.sampled_from(SERVICES), max_size=4, unique=True)),
        st.builds(lambda h: c.SetHours(office="main", hours=tuple(
            (("mon", "tue", "wed", "thu", "fri", "sat", "sun")[d], f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:"
             f"{b % 60:02d}") for d, (a, b) in h.by_weekday.items()) if h != ALWAYS_OPEN else ()), hours()),
        st.builds(lambda hol, clo: c.SetClosedDays(office="main", holidays=tuple(hol), closures=tuple(clo)),
                  st.lists(DAYS.map(lambda d: d[5:]), max_size=2, unique=True),
                  st.lists(DAYS, max_size=2, unique=True)),
        st.builds(lambda t, extra: c.SetTargets(office="main", target_min=t, limit_min=t + extra,
                                                share_within_target=0.9, share_over_limit=0.01),
                  st.floats(1, 30), st.floats(0, 30)),
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(commands(), min_size=1, max_size=8))
def test_after_live_changes_the_export_loads_back_to_the_office_configuration(cmds: list[c.Command]) -> None:
    engine = CityEngine(DEMO)
    d = engine.offices["main"]
    accepted = 0
    for i, cmd in enumerate(cmds):
        try:
            engine.apply(cmd, T0 + i)
            accepted += 1
        except ChergaError:
            pass  # refused as the loader would refuse it in a file: nothing changed
    assert load_back(d.network) == d.network
    assert d.config_version == accepted
