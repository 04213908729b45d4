"""What the engine knows about: categories, services, desks, offices and the network.

These are the configuration's shape (loaded from TOML by :mod:`cherga.engine.loader`) and stay
immutable while the engine runs; a ticket's changing state lives in :mod:`cherga.engine.state`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from cherga.engine import geo


class Category(enum.StrEnum):
    """The standard's categories (section II.I), in its default order.

    ``VULNERABLE`` is not a kind of service but a flag on any ticket; the policy ranks it like a category.
    """

    VULNERABLE = "vulnerable"
    SPECIAL = "special"
    QUICK = "quick"
    SEASONAL = "seasonal"
    ACCEPTANCE = "acceptance"
    ISSUANCE = "issuance"
    CONSULTATION = "consultation"


SERVICE_CATEGORIES: tuple[Category, ...] = tuple(c for c in Category if c is not Category.VULNERABLE)


class OfficeKind(enum.StrEnum):
    MAIN = "main"
    SUBDIVISION = "subdivision"
    REMOTE = "remote"


class Intent(enum.StrEnum):
    """What the visitor came for, as the kiosk asks it."""

    SUBMIT = "submit"
    COLLECT = "collect"
    CONSULT = "consult"


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    name_uk: str
    name_en: str
    category: Category
    letter: str
    mean_service_min: float
    sphere_uk: str = ""
    sphere_en: str = ""
    intent: Intent = Intent.SUBMIT
    online_url: str | None = None
    # cannot be provided while the national registries are unavailable (a power cut, a registry down)
    needs_registry: bool = False
    # no longer issued (the head retired it); tickets already waiting for it are still served
    retired: bool = False


@dataclass(frozen=True, slots=True)
class Desk:
    """A workplace. ``services`` are its own; ``backup`` it takes only when its own queues are empty."""

    id: str
    office: str
    number: str
    services: frozenset[str]
    backup: frozenset[str] = frozenset()
    special: bool = False

    def serves(self, service: str) -> bool:
        return service in self.services or service in self.backup


@dataclass(frozen=True, slots=True)
class Hours:
    """Opening hours per weekday (0 = Monday), local time, minutes after midnight; absent = closed."""

    by_weekday: Mapping[int, tuple[int, int]]

    def is_open(self, weekday: int, minute_of_day: int) -> bool:
        span = self.by_weekday.get(weekday)
        return span is not None and span[0] <= minute_of_day < span[1]


ALWAYS_OPEN = Hours({d: (0, 24 * 60) for d in range(7)})


@dataclass(frozen=True, slots=True)
class Office:
    id: str
    name_uk: str
    name_en: str
    kind: OfficeKind
    desks: tuple[Desk, ...]
    timezone: str = "Europe/Kyiv"
    hours: Hours = ALWAYS_OPEN
    address_uk: str = ""
    # wartime: the region whose air-raid alerts sound here, where visitors shelter, and the minutes after the
    # all-clear before service resumes (by day; when the alert was on at the office's opening time)
    region: str = ""
    shelter_address_uk: str = ""
    shelter_address_en: str = ""
    alert_resume_min: float = 10.0
    alert_resume_at_opening_min: float = 30.0
    # where it is (degrees, WGS 84), for travel minutes to the offices no ``[[travel]]`` entry gives; both or neither
    lat: float | None = None
    lon: float | None = None
    # the phone page and Web Push alert a visitor when this many tickets (or fewer) are ahead of theirs (#18.1)
    notify_ahead: int = 3
    # closed all day: holidays every year ("MM-DD") and one-off closures ("YYYY-MM-DD"), sorted
    holidays: tuple[str, ...] = ()
    closures: tuple[str, ...] = ()
    # how visitors rate: "three" (погано, добре, зразково) or "four" (the national monitoring's levels)
    rating_scale: str = "three"
    # "tell me when a slot frees" (#18.4): how long a freed slot is held for the visitor alerted, and the local
    # hour of the day before a booking when its reminder is sent
    slot_hold_min: float = 10.0
    reminder_hour: int = 18
    # joining from the phone (#18.3): whether the office takes remote tickets, in which local hours ("HH:MM-HH:MM";
    # "": its opening hours), how many an hour at most, how long one whose turn came keeps its place unchecked-in,
    # and the minutes to get here: remote joining is open only while the forecast wait is longer than that
    remote_join: bool = False
    remote_hours: str = ""
    remote_per_hour: int = 20
    remote_grace_min: float = 10.0
    remote_travel_min: float = 15.0

    def closed_on(self, date_iso: str) -> bool:
        """Closed all day on the local date ``date_iso`` (YYYY-MM-DD): a holiday or a one-off closure."""
        return date_iso in self.closures or date_iso[5:] in self.holidays

    @property
    def services(self) -> frozenset[str]:
        out: set[str] = set()
        for d in self.desks:
            out |= d.services | d.backup
        return frozenset(out)


@dataclass(frozen=True, slots=True)
class Targets:
    """The standard's goal: waits under ``target_min``, never past ``limit_min`` (15 and 20 minutes)."""

    target_min: float = 15.0
    limit_min: float = 20.0
    share_within_target: float = 0.9
    share_over_limit: float = 0.01


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """The head's policy: category order (first served first), wait limit per category, rule name."""

    order: tuple[Category, ...] = tuple(Category)
    max_wait_min: Mapping[Category, float] = field(default_factory=lambda: {c: 15.0 for c in Category})
    rule: str = "limits"
    # how many minutes before its limit a ticket is called ahead of rank
    margin_min: float = 3.0
    # calls of one ticket before a further recall marks it a no-show
    max_calls: int = 3
    # minutes during which a no-show can be brought back by the desk
    no_show_grace_min: float = 15.0
    # the "aging" rule: minutes of waiting that make up for one rank
    aging_min_per_rank: float = 5.0
    # appointments: share of the desks' time kept for booked visits, how long a booked visitor is "due"
    # (called ahead of walk-ins) from the slot's start, and how late they may check in and keep the slot
    appointment_share: float = 0.25
    booked_window_min: float = 10.0
    booking_grace_min: float = 15.0
    booking_days_ahead: int = 30


@dataclass(frozen=True, slots=True)
class Network:
    """The whole configuration: a city's offices, the service catalogue and the travel minutes between offices."""

    offices: Mapping[str, Office]
    services: Mapping[str, Service]
    travel_min: Mapping[tuple[str, str], float]
    targets: Targets = Targets()
    policy: PolicyConfig = PolicyConfig()
    name_uk: str = ""
    name_en: str = ""
    # the skill groups desks are given (name -> service ids), as configured
    skills: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # travel minutes from the offices' coordinates where no pair is listed: great-circle km × road_factor ÷ speed
    road_factor: float = geo.ROAD_FACTOR
    speed_kmh: float = geo.SPEED_KMH
    # the offices a kiosk weighs as alternatives (cherga.engine.neighbours): the ``nearest`` closest by road of
    # those within ``reach_min`` minutes, or named by a [[travel]] pair however far
    reach_min: float = 90.0
    nearest: int = 12

    def travel(self, a: str, b: str) -> float | None:
        """Minutes on the road from office ``a`` to ``b``: the pair listed in the configuration, else from the two
        offices' coordinates; ``None`` when neither is known."""
        if a == b:
            return 0.0
        t = self.travel_min.get((a, b))
        if t is None:
            t = self.travel_min.get((b, a))
        if t is None:
            oa, ob = self.offices.get(a), self.offices.get(b)
            if (oa is not None and ob is not None and oa.lat is not None and oa.lon is not None
                    and ob.lat is not None and ob.lon is not None):
                t = geo.road_min(oa.lat, oa.lon, ob.lat, ob.lon, self.road_factor, self.speed_kmh)
        return t

    def desk(self, desk_id: str) -> Desk | None:
        for office in self.offices.values():
            for d in office.desks:
                if d.id == desk_id:
                    return d
        return None
