"""The bundled demo network loads and is sound; every mistake in the files is a ConfigError that says where and what."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cherga.engine.loader import DEMO_DIR, NETWORK_FILE, SERVICES_FILE, load_network
from cherga.engine.model import SERVICE_CATEGORIES, Category, Network, OfficeKind
from cherga.errors import ConfigError

# ------------------------------------------------------------------------------------------------ the demo


@pytest.fixture(scope="module")
def demo() -> Network:
    return load_network()


def test_demo_loads_from_default_and_explicit_path(demo: Network) -> None:
    again = load_network(DEMO_DIR)
    assert again.services == demo.services
    assert set(again.offices) == set(demo.offices)
    assert load_network(str(DEMO_DIR / NETWORK_FILE)).name_en == demo.name_en
    assert demo.name_uk and demo.name_en


def test_demo_services_have_names_and_sane_fields(demo: Network) -> None:
    assert len(demo.services) >= 28
    for sid, service in demo.services.items():
        assert service.id == sid
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", sid)
        assert service.name_uk.strip() and service.name_en.strip()
        assert re.search(r"[А-Яа-яІіЇїЄєҐґ]", service.name_uk), sid
        assert service.sphere_uk and service.sphere_en
        assert re.fullmatch(r"[A-Z]", service.letter)
        assert service.category in SERVICE_CATEGORIES
        assert 0 < service.mean_service_min <= 30
        if service.online_url is not None:
            assert service.online_url.startswith("https://")
    categories = {s.category for s in demo.services.values()}
    assert categories == set(SERVICE_CATEGORIES)


def test_demo_offices_of_each_kind_with_one_special_desk_in_main(demo: Network) -> None:
    kinds = {o.kind for o in demo.offices.values()}
    assert kinds == set(OfficeKind)
    mains = [o for o in demo.offices.values() if o.kind is OfficeKind.MAIN]
    assert len(mains) == 1
    main = mains[0]
    assert 14 <= len(main.desks) <= 18
    assert [d.special for d in main.desks].count(True) == 1
    special_desk = next(d for d in main.desks if d.special)
    special_services = {s.id for s in demo.services.values() if s.category is Category.SPECIAL}
    assert special_services <= special_desk.services
    for office in demo.offices.values():
        assert office.timezone == "Europe/Kyiv"
        for desk in office.desks:
            assert desk.office == office.id
            if not desk.special:
                assert not (desk.services | desk.backup) & special_services, desk.id
            assert not desk.services & desk.backup
    remote = [o for o in demo.offices.values() if o.kind is OfficeKind.REMOTE]
    assert len(remote) == 1 and len(remote[0].desks) == 1
    assert remote[0].services < main.services


def test_demo_desk_ids_unique_and_every_service_served(demo: Network) -> None:
    ids = [d.id for o in demo.offices.values() for d in o.desks]
    assert len(ids) == len(set(ids))
    main = next(o for o in demo.offices.values() if o.kind is OfficeKind.MAIN)
    main_own = set().union(*(d.services for d in main.desks))
    assert set(demo.services) <= main_own
    desk = demo.desk("main-05")
    assert desk is not None and desk.number == "5" and desk.office == "main"


def test_demo_travel_between_every_pair(demo: Network) -> None:
    for a, b in itertools.combinations(demo.offices, 2):
        minutes = demo.travel(a, b)
        assert minutes is not None and minutes > 0
        assert demo.travel(b, a) == minutes
    assert demo.travel("main", "main") == 0.0


def test_demo_targets_policy_and_hours(demo: Network) -> None:
    assert demo.targets.target_min == 15 and demo.targets.limit_min == 20
    assert demo.policy.order == tuple(Category)
    assert demo.policy.rule == "limits"
    assert set(demo.policy.max_wait_min) == set(Category)
    assert all(0 < m <= demo.targets.limit_min for m in demo.policy.max_wait_min.values())
    main = demo.offices["main"]
    assert main.hours.is_open(0, 8 * 60)
    assert not main.hours.is_open(0, 20 * 60)
    assert not main.hours.is_open(6, 12 * 60)  # Sunday closed


# ------------------------------------------------------------------------------------------------ mistakes


def _copy_demo(target: Path) -> Path:
    for name in (SERVICES_FILE, NETWORK_FILE):
        shutil.copyfile(DEMO_DIR / name, target / name)
    return target


def _edit(directory: Path, file: str, old: str, new: str) -> None:
    path = directory / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"the demo no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# (file edited, old text, new text, fragments the message must contain: the file, the field path, the problem)
MISTAKES: list[tuple[str, str, str, tuple[str, ...]]] = [
    (
        SERVICES_FILE,
        'letter = "A"',
        'letter = "a1"',
        ("services.toml: service[0].letter", "letter must be one Latin capital letter", "'a1'"),
    ),
    (
        SERVICES_FILE,
        'letter = "A"',
        'letter = "Б"',
        ("services.toml: service[0].letter", "one Latin capital letter"),
    ),
    (
        SERVICES_FILE,
        "mean_service_min = 18",
        "mean_service_min = 0",
        ("services.toml: service[0].mean_service_min", "must be > 0"),
    ),
    (
        SERVICES_FILE,
        'category = "special"',
        'category = "urgent"',
        ("services.toml: service[0].category", "unknown category 'urgent'", "expected one of special, quick"),
    ),
    (
        SERVICES_FILE,
        'id = "passport-id-card-age-14"',
        'id = "passport-id-card"',
        ("services.toml: service[1].id", "duplicate service id 'passport-id-card'", "already service[0]"),
    ),
    (
        SERVICES_FILE,
        "mean_service_min = 18",
        "mean_servce_min = 18",
        ("services.toml: service[0].mean_servce_min", "unknown field 'mean_servce_min'", "mean_service_min"),
    ),
    (
        SERVICES_FILE,
        'intent = "submit"',
        'intent = "apply"',
        ("services.toml: service[0].intent", "unknown intent 'apply'", "submit, collect, consult"),
    ),
    (
        NETWORK_FILE,
        'skills = ["transport"]',
        'skills = ["transportt"]',
        ("network.toml: office[0].desk[12].skills[0]", "unknown skill group 'transportt'", "expected one of"),
    ),
    (
        NETWORK_FILE,
        'id = "main-04"',
        'id = "main-03"',
        ("network.toml: office[0].desk[3].id", "duplicate desk id 'main-03'", "already office[0].desk[2]"),
    ),
    (
        NETWORK_FILE,
        "quick = 15\n",
        "quick = 25\n",
        ("network.toml: policy.max_wait_min.quick", "above limit_min (20"),
    ),
    (
        NETWORK_FILE,
        'consult-land = ["land-consultation"]',
        'consult-land = ["administrator-consultation"]',
        ("network.toml: office", "no desk serves service 'land-consultation'", "services.toml: service[34]"),
    ),
    (
        NETWORK_FILE,
        'to = "khutory"',
        'to = "khutir"',
        ("network.toml: travel[2].to", "travel to an unknown office 'khutir'", "main, zamostia"),
    ),
    (
        NETWORK_FILE,
        'sat = "08:00-16:00"',
        'sat = "8-16"',
        ("network.toml: office[0].hours.sat", 'hours must be "HH:MM-HH:MM"', "'8-16'"),
    ),
    (
        NETWORK_FILE,
        'sat = "08:00-16:00"',
        'sat = "16:00-08:00"',
        ("network.toml: office[0].hours.sat", "must be before closing"),
    ),
    (
        NETWORK_FILE,
        'sat = "08:00-16:00"',
        'sat = "08:00-25:00"',
        ("network.toml: office[0].hours.sat", "not a time of day"),
    ),
    (
        NETWORK_FILE,
        'sat = "08:00-16:00"',
        'sun = "08:00-16:00"\nsatu = "08:00-16:00"',
        ("network.toml: office[0].hours.satu", "unknown day 'satu'", "mon, tue"),
    ),
    (
        NETWORK_FILE,
        'kind = "remote"',
        'kind = "village"',
        ("network.toml: office[3].kind", "unknown office kind 'village'", "main, subdivision, remote"),
    ),
    (
        NETWORK_FILE,
        'skills = ["passport-issuance", "issuance"]',
        'skills = ["passport-issuance", "passports"]',
        ("network.toml: office[0].desk[1].skills[1]", "special-category service", "special = true"),
    ),
    (
        NETWORK_FILE,
        'order = ["vulnerable", "special", ',
        'order = ["special", ',
        ("network.toml: policy.order", "missing: vulnerable"),
    ),
    (
        NETWORK_FILE,
        'rule = "limits"',
        'rule = "loudest"',
        ("network.toml: policy.rule", "unknown priority rule 'loudest'", "limits"),
    ),
    (
        NETWORK_FILE,
        'number = "5"',
        "number = 5",
        ("network.toml: office[0].desk[4].number", "expected a string", 'number = "5"'),
    ),
    (
        NETWORK_FILE,
        'number = "5"',
        'number = "4"',
        ("network.toml: office[0].desk[4].number", "duplicate desk number '4'", "office 'main'"),
    ),
    (
        NETWORK_FILE,
        'subsidies = ["housing-subsidy", "solid-fuel-subsidy"]',
        'subsidies = ["housing-subsidy", "fuel-subsidy"]',
        ("network.toml: skills.subsidies[1]", "unknown service 'fuel-subsidy'", "services.toml"),
    ),
    (
        NETWORK_FILE,
        'timezone = "Europe/Kyiv"',
        'timezone = "Europe/Vinnytsia"',
        ("network.toml: office[0].timezone", "unknown time zone 'Europe/Vinnytsia'"),
    ),
    (
        NETWORK_FILE,
        'from = "zamostia"\nto = "vyshenka"',
        'from = "vyshenka"\nto = "main"',
        ("network.toml: travel[3]", "given twice", "already travel[1]"),
    ),
    (
        NETWORK_FILE,
        "limit_min = 20",
        "limit_min = 10",
        ("network.toml: targets.limit_min", "must not be below target_min (15)"),
    ),
    (
        NETWORK_FILE,
        "special = true ",
        'special = "yes" ',
        ("network.toml: office[0].desk[0].special", "expected true or false"),
    ),
    (
        NETWORK_FILE,
        'id = "main-05"',
        'id = "Main 05"',
        ("network.toml: office[0].desk[4].id", "not a valid id"),
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "fragments"), MISTAKES, ids=[m[3][1] for m in MISTAKES])
def test_mistake_is_named(tmp_path: Path, file: str, old: str, new: str, fragments: tuple[str, ...]) -> None:
    _edit(_copy_demo(tmp_path), file, old, new)
    with pytest.raises(ConfigError) as info:
        load_network(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{file}: "), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize("file", [SERVICES_FILE, NETWORK_FILE])
def test_toml_syntax_error_names_file_and_line(tmp_path: Path, file: str) -> None:
    directory = _copy_demo(tmp_path)
    text = (directory / file).read_text(encoding="utf-8")
    old = '[[service]]\nid = "passport-id-card"\n' if file == SERVICES_FILE else "[targets]\n"
    line = text[: text.index(old)].count("\n") + 1
    _edit(directory, file, old, old.replace("]\n", "\n", 1))
    with pytest.raises(ConfigError) as info:
        load_network(directory)
    message = str(info.value)
    assert message.startswith(f"{file}: TOML syntax error"), message
    assert f"line {line}" in message, message


def test_missing_file_and_directory(tmp_path: Path) -> None:
    shutil.copyfile(DEMO_DIR / NETWORK_FILE, tmp_path / NETWORK_FILE)
    with pytest.raises(ConfigError, match=r"^services\.toml: file not found"):
        load_network(tmp_path)
    with pytest.raises(ConfigError, match="no such directory"):
        load_network(tmp_path / "nowhere")


def test_not_utf8(tmp_path: Path) -> None:
    directory = _copy_demo(tmp_path)
    (directory / SERVICES_FILE).write_bytes("name = 'Паспорти'\n".encode("cp1251"))
    with pytest.raises(ConfigError, match=r"^services\.toml: line 1: not UTF-8"):
        load_network(directory)


def test_backup_excludes_own_services(tmp_path: Path) -> None:
    directory = _copy_demo(tmp_path)
    _edit(directory, NETWORK_FILE, 'skills = ["transport"]', 'skills = ["transport", "quick"]\nbackup = ["quick"]')
    desk = load_network(directory).desk("main-13")
    assert desk is not None
    assert "no-criminal-record" in desk.services
    assert desk.backup == frozenset()


# ------------------------------------------------------------------------------------------------ garbage


def _toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a TOML basic string (bad escapes make a TOML syntax error)


_scalars = st.one_of(
    st.text(max_size=12).map(_toml_string),
    st.sampled_from(['""', '" "', '"A"', '"zz"', '"Europe/Kyiv"', '"08:00-20:00"', '"25:99-00:00"', '"special"']),
    st.integers(min_value=-(10**400), max_value=10**400).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda x: repr(x).replace("e+", "e")),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.sampled_from(["1979-05-27", "07:32:00", "1979-05-27T07:32:00Z"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.dictionaries(st.sampled_from(["a", "b", "mon", "id"]), inner, max_size=3).map(
            lambda d: "{" + ", ".join(f"{k} = {v}" for k, v in d.items()) + "}"
        ),
    ),
    max_leaves=6,
)

# (file, key): the value of the first line "key = ..." of that file is replaced
_FIELDS: list[tuple[str, str]] = [
    (SERVICES_FILE, "id"),
    (SERVICES_FILE, "letter"),
    (SERVICES_FILE, "mean_service_min"),
    (SERVICES_FILE, "category"),
    (SERVICES_FILE, "intent"),
    (SERVICES_FILE, "online_url"),
    (SERVICES_FILE, "name_uk"),
    (NETWORK_FILE, "name_uk"),
    (NETWORK_FILE, "limit_min"),
    (NETWORK_FILE, "order"),
    (NETWORK_FILE, "max_calls"),
    (NETWORK_FILE, "quick"),
    (NETWORK_FILE, "passports"),
    (NETWORK_FILE, "kind"),
    (NETWORK_FILE, "timezone"),
    (NETWORK_FILE, "mon"),
    (NETWORK_FILE, "number"),
    (NETWORK_FILE, "skills"),
    (NETWORK_FILE, "backup"),
    (NETWORK_FILE, "services"),
    (NETWORK_FILE, "special"),
    (NETWORK_FILE, "to"),
    (NETWORK_FILE, "minutes"),
]
_DEMO_TEXT = {name: (DEMO_DIR / name).read_text(encoding="utf-8") for name in (SERVICES_FILE, NETWORK_FILE)}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(_FIELDS), value=_values)
def test_garbage_values_give_config_error(field: tuple[str, str], value: str) -> None:
    file, key = field
    pattern = re.compile(rf"^{re.escape(key)} = .*$", re.MULTILINE)
    assert pattern.search(_DEMO_TEXT[file]), (file, key)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for name, text in _DEMO_TEXT.items():
            if name == file:
                text = pattern.sub(lambda _m: f"{key} = {value}", text, count=1)
            (directory / name).write_text(text, encoding="utf-8")
        try:
            network = load_network(directory)
        except ConfigError as exc:
            message = str(exc)
            # a bad value may surface in the other file (a renamed service id no longer found by network.toml)
            assert message.startswith((f"{SERVICES_FILE}: ", f"{NETWORK_FILE}: ")), message
            assert len(message.split(": ", 2)) == 3, message
        else:  # the garbage happened to be a valid value
            assert isinstance(network, Network)


def test_appointment_settings_are_read_and_checked(tmp_path: Path) -> None:
    import shutil

    from cherga.engine.loader import load_network as load

    demo = Path(__file__).parent.parent / "cherga" / "config" / "demo"
    policy = load().policy
    assert (policy.appointment_share, policy.booked_window_min, policy.booking_grace_min) == (0.25, 10.0, 15.0)
    shutil.copy(demo / "services.toml", tmp_path / "services.toml")
    text = (demo / "network.toml").read_text(encoding="utf-8")
    (tmp_path / "network.toml").write_text(text.replace("appointment_share = 0.25", "appointment_share = 1.5"),
                                           encoding="utf-8")
    with pytest.raises(ConfigError, match=r"network.toml.*policy.appointment_share"):
        load(tmp_path)
