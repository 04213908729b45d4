"""An office's demand: arrivals per hour and weekday, the service mix, service times, and the visitors' habits.

A :class:`Profile` is what the model needs to make visitors. :func:`default_profile` builds one for any office of a
network from :mod:`cherga.sim.defaults`; :func:`cherga.sim.calibrate.calibrate` fits one to an office's journal.
Either is saved and loaded as JSON (:func:`save_profile`, :func:`load_profile`; ``--profile FILE`` on the command
line), so a planner can read and edit it.

The arrival rate of service ``s`` in clock hour ``h`` of weekday ``w`` is
``hourly[w][h] × mix[s] × seasonal multiplier of s in month``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cherga.engine.model import Category, Network, Office
from cherga.errors import ConfigError
from cherga.sim import defaults

WEEKDAYS = defaults.WEEKDAYS
DISTRIBUTIONS = ("lognormal", "exponential")
ALERT_DURATIONS = ("lognormal", "exponential", "empirical")


@dataclass(frozen=True, slots=True)
class ServiceTime:
    """Minutes at the desk: lognormal with this mean and coefficient of variation (or exponential: cv = 1)."""

    mean_min: float
    cv: float = defaults.SERVICE_CV


def lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    """``(mu, sigma)`` of the normal under a lognormal of this mean and coefficient of variation:
    ``sigma² = ln(1 + cv²)``, ``mu = ln(mean) − sigma²/2``."""
    s2 = math.log1p(cv * cv)
    return math.log(mean) - s2 / 2.0, math.sqrt(s2)


@dataclass(frozen=True, slots=True)
class Alerts:
    """Air-raid alerts at the office: a Poisson process over the whole clock day (night included: an alert on at
    opening time delays the start), ``per_hour`` alerts an hour, each lasting a duration drawn from ``duration``:
    lognormal with ``mean_min`` and ``sd_min``, exponential with ``mean_min``, or ``empirical``, drawn from
    ``empirical_min``. Service resumes ``resume_after_min`` after the all-clear, ``resume_after_opening_min`` when
    the alert was on at opening time. A visitor who comes while service is stopped comes back when it resumes with
    probability ``return_share``, else leaves (see :mod:`cherga.sim.alerts`)."""

    per_hour: float
    mean_min: float = 60.0
    sd_min: float = 60.0
    duration: str = "lognormal"
    empirical_min: tuple[float, ...] = ()
    resume_after_min: float = 10.0
    resume_after_opening_min: float = 30.0
    return_share: float = defaults.ALERT_RETURN_SHARE
    source: str = "given"

    @property
    def per_day(self) -> float:
        return self.per_hour * 24.0


@dataclass(frozen=True, slots=True)
class Profile:
    office: str
    # weekday name -> 24 arrivals per hour (all services together, before seasonal multipliers)
    hourly: Mapping[str, tuple[float, ...]]
    # service id -> share of visitors (sums to 1)
    mix: Mapping[str, float]
    service_time: Mapping[str, ServiceTime]
    distribution: str = "lognormal"
    # category or service id -> 12 monthly multipliers (January first); a service's own entry wins
    seasonal: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    month: int | None = defaults.DEFAULT_MONTH
    vulnerable_share: float = defaults.VULNERABLE_SHARE
    # mean of the exponential patience; None: nobody leaves
    patience_mean_min: float | None = defaults.PATIENCE_MEAN_MIN
    no_show_share: float = defaults.NO_SHOW_SHARE
    recall_interval_min: float = defaults.RECALL_INTERVAL_MIN
    second_service_share: float = defaults.SECOND_SERVICE_SHARE
    # service id -> weight, for the second service of a visit
    second_services: Mapping[str, float] = field(default_factory=dict)
    booked_share: float = defaults.BOOKED_SHARE
    booked_early_min: tuple[float, float] = defaults.BOOKED_EARLY_MIN
    # share of visitors who, shown a faster office at the kiosk (waiting there plus the road), go there; only a
    # network run (:func:`cherga.sim.runner.run_network`) can send them anywhere
    redirect_share: float = 0.0
    source: str = "default"
    # air-raid alerts; None: none (the default, and a day exactly as before alerts were modelled)
    alerts: Alerts | None = None

    def multiplier(self, service: str, category: str) -> float:
        if self.month is None:
            return 1.0
        row = self.seasonal.get(service) or self.seasonal.get(category)
        return 1.0 if row is None else row[self.month - 1]

    def rates(self, network: Network, weekday: int) -> dict[str, tuple[float, ...]]:
        """Arrivals per hour of each service in each clock hour (24 values) of ``weekday`` (0 = Monday)."""
        base = self.hourly.get(WEEKDAYS[weekday], (0.0,) * 24)
        out: dict[str, tuple[float, ...]] = {}
        for sid, share in self.mix.items():
            if share <= 0.0:
                continue
            m = share * self.multiplier(sid, network.services[sid].category.value)
            out[sid] = tuple(r * m for r in base)
        return out

    def with_changes(self, **changes: Any) -> Profile:
        return replace(self, **changes)


# ------------------------------------------------------------------------------------------------ defaults


def office_mix(network: Network, office: Office) -> dict[str, float]:
    """The default share of each service the office offers (own or backup), summing to 1."""
    offered = sorted(office.services)
    weights: dict[str, float] = {}
    by_cat: dict[str, list[str]] = {}
    for sid in offered:
        if sid in defaults.SERVICE_MIX:
            weights[sid] = defaults.SERVICE_MIX[sid]
        else:
            by_cat.setdefault(network.services[sid].category.value, []).append(sid)
    for cat, sids in by_cat.items():
        for sid in sids:
            weights[sid] = defaults.CATEGORY_MIX.get(cat, 1.0) / len(sids)
    total = sum(weights.values())
    return {sid: w / total for sid, w in weights.items()} if total > 0 else {}


def open_minutes(office: Office, weekday: int) -> tuple[int, int] | None:
    return office.hours.by_weekday.get(weekday)


def hour_overlap(span: tuple[int, int], hour: int) -> float:
    """Share of clock hour ``hour`` inside the opening ``span`` (minutes after midnight)."""
    lo, hi = max(span[0], hour * 60), min(span[1], hour * 60 + 60)
    return max(0, hi - lo) / 60.0


def default_profile(network: Network, office_id: str, *, month: int | None = defaults.DEFAULT_MONTH) -> Profile:
    """The default demand of ``office_id``: its desks' share of the usual flow, shaped by the usual day."""
    if office_id not in network.offices:
        raise ConfigError(f"unknown office {office_id!r}; known: {', '.join(network.offices)}")
    office = network.offices[office_id]
    desks = len(office.desks)
    hourly: dict[str, tuple[float, ...]] = {}
    for wd, name in enumerate(WEEKDAYS):
        span = open_minutes(office, wd)
        rates = [0.0] * 24
        if span is not None:
            shape = defaults.HOURLY_SHAPE[name]
            weights = [shape.get(h, 0.0) * hour_overlap(span, h) for h in range(24)]
            open_hours = (span[1] - span[0]) / 60.0
            total_w = sum(weights)
            if total_w <= 0.0:  # opening hours outside the usual shape: spread evenly
                weights = [hour_overlap(span, h) for h in range(24)]
                total_w = sum(weights)
            day_total = (
                defaults.VISITORS_PER_DESK_HOUR[name] * defaults.VOLUME_BY_KIND.get(office.kind.value, 1.0)
                * desks * open_hours
            )
            # rates per hour: a partly open hour gets its weight's share of the day in its open minutes
            rates = [
                day_total * w / total_w / hour_overlap(span, h) if w > 0 else 0.0 for h, w in enumerate(weights)
            ]
        hourly[name] = tuple(rates)
    mix = office_mix(network, office)
    times = {sid: ServiceTime(network.services[sid].mean_service_min) for sid in mix}
    second = {
        sid: share for sid, share in mix.items() if network.services[sid].category is Category.ISSUANCE
    }
    return Profile(
        office=office_id, hourly=hourly, mix=mix, service_time=times, seasonal=dict(defaults.SEASONAL),
        month=month, second_services=second, second_service_share=defaults.SECOND_SERVICE_SHARE if second else 0.0,
    )


def constant_profile(
    network: Network, office_id: str, arrivals_per_hour: float, *, distribution: str = "exponential",
) -> Profile:
    """The same flow every open hour, services in the default mix, nobody leaving, no extras: Erlang C's world."""
    office = network.offices[office_id]
    mix = office_mix(network, office)
    hourly = {
        name: tuple(arrivals_per_hour if (sp := open_minutes(office, wd)) and hour_overlap(sp, h) > 0 else 0.0
                    for h in range(24))
        for wd, name in enumerate(WEEKDAYS)
    }
    times = {sid: ServiceTime(network.services[sid].mean_service_min, 1.0) for sid in mix}
    return Profile(
        office=office_id, hourly=hourly, mix=mix, service_time=times, distribution=distribution, seasonal={},
        month=None, vulnerable_share=0.0, patience_mean_min=None, no_show_share=0.0, second_service_share=0.0,
        booked_share=0.0, source="constant",
    )


# ------------------------------------------------------------------------------------------------ JSON


def profile_to_dict(p: Profile) -> dict[str, Any]:
    return {
        "office": p.office,
        "source": p.source,
        "month": p.month,
        "hourly": {wd: [round(x, 4) for x in p.hourly.get(wd, (0.0,) * 24)] for wd in WEEKDAYS},
        "mix": {k: round(v, 6) for k, v in sorted(p.mix.items())},
        "distribution": p.distribution,
        "service_time": {
            k: {"mean_min": round(v.mean_min, 4), "cv": round(v.cv, 4)} for k, v in sorted(p.service_time.items())
        },
        "seasonal": {k: list(v) for k, v in p.seasonal.items()},
        "vulnerable_share": p.vulnerable_share,
        "patience_mean_min": p.patience_mean_min,
        "no_show_share": p.no_show_share,
        "recall_interval_min": p.recall_interval_min,
        "second_service_share": p.second_service_share,
        "second_services": {k: round(v, 6) for k, v in sorted(p.second_services.items())},
        "booked_share": p.booked_share,
        "booked_early_min": list(p.booked_early_min),
        "redirect_share": p.redirect_share,
        **({} if p.alerts is None else {"alerts": alerts_to_dict(p.alerts)}),
    }


def alerts_to_dict(a: Alerts) -> dict[str, Any]:
    return {
        "per_day": round(a.per_day, 6), "duration": a.duration, "mean_min": round(a.mean_min, 4),
        "sd_min": round(a.sd_min, 4), **({"empirical_min": list(a.empirical_min)} if a.empirical_min else {}),
        "resume_after_min": a.resume_after_min, "resume_after_opening_min": a.resume_after_opening_min,
        "return_share": a.return_share, "source": a.source,
    }


def alerts_from_dict(data: object, where: str = "alerts") -> Alerts | None:
    """Read a profile's ``alerts``; None for none (or ``per_day`` 0). Errors name the field."""
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected an object with per_day, duration, mean_min, sd_min, ...")
    known = {"per_day", "duration", "mean_min", "sd_min", "empirical_min", "resume_after_min",
             "resume_after_opening_min", "return_share", "source"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r}; expected some of {', '.join(sorted(known))}")
    if "per_day" not in data:
        raise ConfigError(f"{where}: missing field 'per_day' (alerts per day, 0 for none)")
    per_day = _num(f"{where}.per_day", data["per_day"], 0.0, 240.0)
    dist = str(data.get("duration", "lognormal"))
    if dist not in ALERT_DURATIONS:
        raise ConfigError(f"{where}.duration: {dist!r}; expected one of {', '.join(ALERT_DURATIONS)}")
    emp_raw = data.get("empirical_min", [])
    if not isinstance(emp_raw, list):
        raise ConfigError(f"{where}.empirical_min: expected a list of minutes")
    emp = tuple(_num(f"{where}.empirical_min[{i}]", x, 0.1, 2880.0) for i, x in enumerate(emp_raw))
    if dist == "empirical" and not emp:
        raise ConfigError(f"{where}.empirical_min: an empirical duration needs at least one alert's minutes")
    mean_default = sum(emp) / len(emp) if emp else None
    if "mean_min" not in data and mean_default is None:
        raise ConfigError(f"{where}: missing field 'mean_min' (mean minutes of an alert)")
    mean = _num(f"{where}.mean_min", data.get("mean_min", mean_default), 0.1, 2880.0)
    sd = _num(f"{where}.sd_min", data.get("sd_min", mean), 0.0, 10 * 2880.0)
    if per_day == 0:
        return None
    return Alerts(
        per_hour=per_day / 24.0, mean_min=mean, sd_min=sd, duration=dist, empirical_min=emp,
        resume_after_min=_num(f"{where}.resume_after_min", data.get("resume_after_min", 10.0), 0.0, 240.0),
        resume_after_opening_min=_num(f"{where}.resume_after_opening_min",
                                      data.get("resume_after_opening_min", 30.0), 0.0, 240.0),
        return_share=_num(f"{where}.return_share", data.get("return_share", defaults.ALERT_RETURN_SHARE), 0.0, 1.0),
        source=str(data.get("source", "file")),
    )


def _num(where: str, value: object, low: float = 0.0, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    v = float(value)
    if not low <= v <= high:
        raise ConfigError(f"{where}: must lie between {low:g} and {high:g}, got {v:g}")
    return v


def profile_from_dict(data: Mapping[str, Any], network: Network, where: str = "profile") -> Profile:
    """Read a profile, checking every field against the network; errors name the field."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a JSON object")
    try:
        office = str(data["office"])
        if office not in network.offices:
            raise ConfigError(f"{where}: office: unknown office {office!r}; known: {', '.join(network.offices)}")
        hourly: dict[str, tuple[float, ...]] = {}
        for wd, row in dict(data["hourly"]).items():
            if wd not in WEEKDAYS:
                raise ConfigError(f"{where}: hourly.{wd}: unknown weekday; expected one of {', '.join(WEEKDAYS)}")
            if not isinstance(row, list) or len(row) != 24:
                raise ConfigError(f"{where}: hourly.{wd}: expected 24 arrivals per hour, one per clock hour")
            hourly[wd] = tuple(_num(f"{where}: hourly.{wd}[{h}]", x) for h, x in enumerate(row))
        offered = network.offices[office].services
        mix: dict[str, float] = {}
        for sid, share in dict(data["mix"]).items():
            if sid not in offered:
                raise ConfigError(f"{where}: mix.{sid}: the office {office!r} does not offer this service")
            mix[sid] = _num(f"{where}: mix.{sid}", share, 0.0, 1.0)
        total = sum(mix.values())
        if total <= 0:
            raise ConfigError(f"{where}: mix: no service has a share above 0")
        mix = {k: v / total for k, v in mix.items()}
        dist = str(data.get("distribution", "lognormal"))
        if dist not in DISTRIBUTIONS:
            raise ConfigError(f"{where}: distribution: {dist!r}; expected one of {', '.join(DISTRIBUTIONS)}")
        times: dict[str, ServiceTime] = {}
        raw_times = dict(data.get("service_time", {}))
        for sid in mix:
            st = raw_times.get(sid)
            if st is None:
                times[sid] = ServiceTime(network.services[sid].mean_service_min)
            else:
                times[sid] = ServiceTime(
                    _num(f"{where}: service_time.{sid}.mean_min", st["mean_min"], 0.01, 480.0),
                    _num(f"{where}: service_time.{sid}.cv", st.get("cv", defaults.SERVICE_CV), 0.0, 10.0),
                )
        seasonal: dict[str, tuple[float, ...]] = {}
        for key, row in dict(data.get("seasonal", {})).items():
            if not isinstance(row, list) or len(row) != 12:
                raise ConfigError(f"{where}: seasonal.{key}: expected 12 monthly multipliers")
            seasonal[key] = tuple(_num(f"{where}: seasonal.{key}[{i}]", x) for i, x in enumerate(row))
        month_raw = data.get("month")
        month = None if month_raw is None else int(_num(f"{where}: month", month_raw, 1, 12))
        patience_raw = data.get("patience_mean_min")
        patience = None if patience_raw is None else _num(f"{where}: patience_mean_min", patience_raw, 0.01)
        second: dict[str, float] = {}
        for sid, w in dict(data.get("second_services", {})).items():
            if sid not in offered:
                raise ConfigError(f"{where}: second_services.{sid}: the office does not offer this service")
            second[sid] = _num(f"{where}: second_services.{sid}", w)
        early = data.get("booked_early_min", list(defaults.BOOKED_EARLY_MIN))
        if not isinstance(early, list) or len(early) != 2:
            raise ConfigError(f"{where}: booked_early_min: expected [low, high] minutes")
        lo, hi = (_num(f"{where}: booked_early_min", x, 0.0, 240.0) for x in early)
        return Profile(
            office=office, hourly=hourly, mix=mix, service_time=times, distribution=dist, seasonal=seasonal,
            month=month,
            vulnerable_share=_num(f"{where}: vulnerable_share", data.get("vulnerable_share", 0.0), 0.0, 1.0),
            patience_mean_min=patience,
            no_show_share=_num(f"{where}: no_show_share", data.get("no_show_share", 0.0), 0.0, 1.0),
            recall_interval_min=_num(
                f"{where}: recall_interval_min", data.get("recall_interval_min", defaults.RECALL_INTERVAL_MIN),
                0.0, 60.0,
            ),
            second_service_share=_num(
                f"{where}: second_service_share", data.get("second_service_share", 0.0), 0.0, 1.0
            ) if second else 0.0,
            second_services=second,
            booked_share=_num(f"{where}: booked_share", data.get("booked_share", 0.0), 0.0, 1.0),
            booked_early_min=(min(lo, hi), max(lo, hi)),
            redirect_share=_num(f"{where}: redirect_share", data.get("redirect_share", 0.0), 0.0, 1.0),
            source=str(data.get("source", "file")),
            alerts=alerts_from_dict(data.get("alerts"), f"{where}: alerts"),
        )
    except KeyError as exc:
        raise ConfigError(f"{where}: missing field {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: malformed profile: {exc}") from None


def save_profile(p: Profile, path: str | Path) -> None:
    Path(path).write_text(json.dumps(profile_to_dict(p), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def load_profile(path: str | Path, network: Network) -> Profile:
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such profile file; make one with `cherga sim calibrate`") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{file}: not a readable JSON profile: {exc}") from None
    return profile_from_dict(data, network, str(file))


def resolve_profile(network: Network, office: str, path: str | Path | None, month: int | None = None) -> Profile:
    """The profile a command runs with: the file given (for that office), else the office's default."""
    if path is None:
        return default_profile(network, office, month=defaults.DEFAULT_MONTH if month is None else month)
    p = load_profile(path, network)
    if p.office != office:
        raise ConfigError(f"{path}: the profile is for office {p.office!r}, not {office!r}")
    return p if month is None else replace(p, month=month)
