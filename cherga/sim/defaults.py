"""The default demand of a ЦНАП, as data: who comes when, for what, and how long it takes.

Used when an office has no calibrated profile of its own (``cherga sim calibrate`` makes one from its journal).
The figures are a planner's sensible defaults, not any centre's statistics:

* arrivals per local hour follow the usual shape of a centre's day: a build-up after opening, the peak late in
  the morning (10:00-12:00), a dip at lunchtime when visitors have their own lunch, a second, lower peak after
  lunch (14:00-16:00) and a tail into the evening hours kept for people who work;
* Monday is the busiest day (the weekend's backlog), Friday and Saturday the quietest;
* the volume scales with the office: visitors per desk per opening hour, so a four-desk branch gets a quarter of
  the centre's hourly flow;
* the service mix gives every service of the demo catalogue a share of visitors; services of other catalogues
  fall back to their category's share, split evenly;
* seasonal multipliers raise the seasonal category (housing and solid-fuel subsidies) in the heating season,
  October to March, and children's summer rest in spring.
"""

from __future__ import annotations

from typing import Final

WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Relative arrivals by local hour of the day (a weight per clock hour; hours absent weigh nothing). Only the
# shape matters: an office's rates are these weights rescaled over its own opening hours.
_WORKDAY: Final = {
    7: 0.4, 8: 0.75, 9: 1.0, 10: 1.3, 11: 1.35, 12: 1.05, 13: 0.85, 14: 1.15, 15: 1.1, 16: 0.9, 17: 0.7,
    18: 0.55, 19: 0.35,
}
HOURLY_SHAPE: Final[dict[str, dict[int, float]]] = {
    # Monday: people come early, straight after the weekend
    "mon": {**_WORKDAY, 8: 0.95, 9: 1.2, 10: 1.4, 11: 1.35},
    "tue": dict(_WORKDAY),
    "wed": dict(_WORKDAY),
    "thu": dict(_WORKDAY),
    # Friday: the afternoon thins out
    "fri": {**_WORKDAY, 15: 0.9, 16: 0.7, 17: 0.5, 18: 0.35, 19: 0.2},
    # Saturday: a morning day
    "sat": {8: 0.8, 9: 1.2, 10: 1.4, 11: 1.3, 12: 1.0, 13: 0.8, 14: 0.6, 15: 0.45, 16: 0.3},
    "sun": {9: 0.8, 10: 1.2, 11: 1.2, 12: 1.0, 13: 0.8, 14: 0.6},
}

# Visitors per desk per hour the office is open, by weekday (a desk serves about 5.5 visitors an hour at the
# catalogue's mean of some 11 minutes, so these keep an office's desks 40-50 % busy on average and well above
# that at the peaks: a desk that is the only one for its services must not be busier, or its visitors wait).
VISITORS_PER_DESK_HOUR: Final[dict[str, float]] = {
    "mon": 2.5, "tue": 2.15, "wed": 2.05, "thu": 2.1, "fri": 1.95, "sat": 1.8, "sun": 1.6,
}
# A branch's desks each cover more services than the centre's, so fewer of them share a queue: they see less of
# the flow per desk.
VOLUME_BY_KIND: Final[dict[str, float]] = {"main": 1.0, "subdivision": 0.7, "remote": 0.6}

# Share of visitors by service of the demo catalogue (percent; renormalised over the services an office offers).
SERVICE_MIX: Final[dict[str, float]] = {
    # passports, at the specially equipped workplace
    "passport-id-card": 0.4, "passport-id-card-age-14": 0.15, "passport-id-card-replacement": 0.15,
    "passport-foreign": 0.4,
    # issuance
    "passport-issuance": 5.0, "results-issuance": 8.0, "driving-licence-issuance": 0.5,
    # place of residence
    "residence-registration": 6.0, "residence-deregistration": 3.0, "community-register-extract": 4.0,
    "residence-certificate": 5.0,
    # other certificates and extracts
    "no-criminal-record": 4.0, "business-register-extract": 1.5, "land-cadastre-extract": 2.0,
    "land-valuation-extract": 1.5, "property-register-extract": 2.0,
    # business
    "sole-trader-registration": 3.0, "sole-trader-termination": 2.0, "legal-entity-registration": 1.0,
    # land and real estate
    "land-plot-registration": 2.0, "property-rights-registration": 3.0,
    # seasonal: subsidies and children's summer rest (before the seasonal multipliers)
    "housing-subsidy": 1.8, "solid-fuel-subsidy": 0.6, "children-summer-rest": 0.5,
    # social
    "low-income-assistance": 1.5, "idp-certificate": 1.5, "veteran-status": 1.0,
    # civil status
    "birth-registration": 1.2, "childbirth-assistance": 1.2, "death-registration": 0.8,
    # transport
    "driving-licence-exchange": 0.6, "vehicle-registration": 0.6,
    # consultations
    "pension-fund-consultation": 1.0, "subsidy-consultation": 0.8, "land-consultation": 0.6,
    "administrator-consultation": 1.6,
}

# Fallback for services outside the demo catalogue: share by category (percent), split evenly among the
# category's services that the office offers.
CATEGORY_MIX: Final[dict[str, float]] = {
    "special": 1.6, "quick": 20.0, "seasonal": 4.0, "acceptance": 32.0, "issuance": 14.0, "consultation": 5.0,
}

# Monthly multipliers (January..December) of arrivals, by category or by service id (a service's own entry wins).
SEASONAL: Final[dict[str, tuple[float, ...]]] = {
    # heating season: subsidy applications peak as it opens
    "seasonal": (1.4, 1.2, 1.1, 0.9, 0.6, 0.5, 0.5, 0.6, 0.9, 2.2, 2.0, 1.6),
    # children's summer rest: applications in spring
    "children-summer-rest": (0.3, 0.5, 1.5, 2.5, 2.5, 1.2, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3),
    # subsidy consultations follow the subsidies, more gently
    "subsidy-consultation": (1.2, 1.1, 1.0, 0.9, 0.7, 0.6, 0.6, 0.7, 0.9, 1.6, 1.5, 1.3),
}

# Coefficient of variation of service times (lognormal with the service's mean).
SERVICE_CV: Final = 0.7
# Share of tickets with the "vulnerable" flag (disability, small children).
VULNERABLE_SHARE: Final = 0.06
# Mean patience in minutes (exponential): a visitor not called by then leaves and the ticket is cancelled.
PATIENCE_MEAN_MIN: Final = 90.0
# Share of called visitors who do not come to the desk (recalled, then a no-show).
NO_SHOW_SHARE: Final = 0.03
# Minutes a desk waits for a called visitor before it recalls.
RECALL_INTERVAL_MIN: Final = 1.0
# Share of visitors who also collect a result (an issuance service) on the same ticket.
SECOND_SERVICE_SHARE: Final = 0.05
# Share of visitors with a booked slot (they arrive a few minutes early and are called at the slot).
BOOKED_SHARE: Final = 0.04
# How early booked visitors arrive before the slot, minutes (uniform between the two).
BOOKED_EARLY_MIN: Final = (2.0, 10.0)
# The month the default planning is for (November: the heating season's subsidy rush).
DEFAULT_MONTH: Final = 11
# air-raid alerts: the share of visitors who, turned away by a kiosk under an alert, come back when service resumes
# (the rest go home); a planner's assumption, to be replaced by a centre's own count
ALERT_RETURN_SHARE: Final = 0.7
# mean and standard deviation of an alert's minutes when `--alerts RATE:MEAN` gives no SD: cv = 1
ALERT_CV: Final = 1.0
