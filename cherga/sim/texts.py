"""The planner's words for people: Ukrainian first, English with ``--lang en``. JSON output never uses them."""

from __future__ import annotations

from collections.abc import Sequence

from cherga.engine.model import Category, Network, Office
from cherga.sim.plan import SkillGroup

CATEGORY = {
    "uk": {
        "vulnerable": "першочергово", "special": "паспорти (особливе місце)", "quick": "довідки та витяги",
        "seasonal": "сезонні послуги", "acceptance": "прийом документів", "issuance": "видача документів",
        "consultation": "консультації",
    },
    "en": {
        "vulnerable": "priority visitors", "special": "passports (special desk)", "quick": "certificates and extracts",
        "seasonal": "seasonal services", "acceptance": "document acceptance", "issuance": "issuance of documents",
        "consultation": "consultations",
    },
}
OVERALL = {"uk": "усі відвідувачі", "en": "overall"}
# words after a number (cherga.lang.count)
ALERTS = ("тривога", "тривоги", "тривог", "alert", "alerts")
MINUTES = ("хвилина", "хвилини", "хвилин", "minute", "minutes")
WEEKDAY = {
    "uk": {"mon": "пн", "tue": "вт", "wed": "ср", "thu": "чт", "fri": "пт", "sat": "сб", "sun": "нд"},
    "en": {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat", "sun": "Sun"},
}

# English text -> Ukrainian; {name} is filled in after the lookup. English is the key so the code reads as before.
UK: dict[str, str] = {
    # progress bars
    "planning the week": "планую тиждень",
    "simulating": "моделюю",
    "simulating the network": "моделюю мережу",
    "comparing rules": "порівнюю правила",
    "simulating with forecasts": "моделюю з прогнозами",
    "simulating M/M/c": "моделюю M/M/c",
    "reading the journal": "читаю журнал",
    # mmc
    "M/M/{c}: λ = {lam}/h, S = {s} min, {visitors} counted over {reps} × {hours} h":
        "M/M/{c}: λ = {lam}/год, S = {s} хв, враховано {visitors} за {reps} × {hours} год",
    "simulated": "модель", "± 95 %": "± 95 %",
    "mean wait, min": "середнє очікування, хв", "P(wait > 0)": "P(очікування > 0)",
    "P(wait > 15 min)": "P(очікування > 15 хв)", "P(gives up)": "P(іде, не дочекавшись)",
    "Erlang A": "Ерланг A", "Erlang C": "Ерланг C",
    # staff
    "{office}: desks on duty per hour (Erlang C's count in brackets)":
        "{office}: вікон на зміні щогодини (у дужках — скільки просить Ерланг C)",
    "hour": "година", "desk-h": "вікно-год",
    "simulated: share of visitors called within 15 min / past 20 min, by hour of issue":
        "модель: частка викликаних за 15 хв / після 20 хв, за годиною видачі талона",
    "skill groups (desks open in this order)": "групи вікон за навичками (вікна відкриваються в цьому порядку)",
    "group": "група", "services": "послуг", "Erlang A: gave up at peak": "Ерланг A: пішли в пік",
    "short (hours)": "бракує (години)",
    "[bold]{n}[/] a week (Erlang C alone, capped at the desks there are: {ec}); {reps} per day, {s} s":
        "[bold]{n}[/] на тиждень (лише Ерланг C, не більше наявних вікон: {ec}); {reps} на день, {s} с",
    "plan: {plan}   chart: {chart}": "план: {plan}   графік: {chart}",
    "Not enough desks: Erlang C asks for {need}, the office has {have} ({groups}); for {hours} over {days} no "
    "plan can reach its count.":
        "Бракує вікон: Ерланг C просить {need}, а у відділенні {have} ({groups}): {hours} за {days} жоден план "
        "не досягне його кількості.",
    # run, compare, network
    "{office}: {days} × {reps} (rule: {rule}{plan})": "{office}: {days} × {reps} (правило: {rule}{plan})",
    ", plan ": ", план ",
    "; the network together, {share} may go elsewhere": "; уся мережа разом, {share} можуть піти деінде",
    "category": "категорія", "issued": "видано", "served": "обслуговано", "mean wait": "середнє очікування",
    "p90": "p90", "max": "макс.", "≤15 min": "≤15 хв", "≤20 min": "≤20 хв", "gave up": "пішли", "targets": "цілі",
    "desk utilisation: {u}; figures per replication, ±95 % intervals in --json":
        "завантаженість вікон: {u}; цифри на одне повторення, інтервали ±95 % — у --json",
    "visitors who went to another office (per replication; the road, then the wait there)":
        "відвідувачі, що пішли до іншого відділення (на повторення; дорога, тоді очікування там)",
    "route": "маршрут", "visitors": "відвідувачів", "a day": "за день", "road, min": "дорога, хв",
    "wait there, min": "очікування там, хв", "in all, min": "загалом, хв", "all": "усі",
    "the offices (tickets from elsewhere included; {overall}: every visitor once, where the visit ended)":
        "відділення (з талонами з інших; «{overall}» — кожен відвідувач один раз, там, де завершив візит)",
    "office": "відділення", "redirected": "переадресовано",
    "{office}: priority rules on the same visitors ({days} × {reps}) — mean wait, share within 15 min, past 20 min":
        "{office}: правила черговості на тих самих відвідувачах ({days} × {reps}) — середнє очікування, частка "
        "за 15 хв, після 20 хв",
    "min": "хв",
    # calibrate
    "{office}: {tickets}, {start} .. {end}": "{office}: {tickets}, {start} .. {end}",
    "service": "послуга", "samples": "вимірів", "mean, min": "середнє, хв", "CV": "CV", "fitted": "підібрано",
    "yes": "так", "catalogue": "з каталогу",
    "patience: {p} min mean; no-shows {ns}; profile written to {out}":
        "терпіння: у середньому {p} хв; неявки {ns}; профіль записано в {out}",
    # air-raid alerts
    "Air-raid alerts: {n} over {days} ({m} without service in opening hours, {pd} a day); {away} went home, "
    "{back} came back when service resumed (per replication)":
        "Повітряні тривоги: {n} за {days} ({m} без обслуговування в робочі години, {pd} на день); пішли додому "
        "{away}, повернулися, коли обслуговування відновилося, {back} (на одне повторення)",
    "waits raw and net of alerts (the time from an alert to the resumption left out)":
        "очікування загалом і без часу тривог (від тривоги до відновлення обслуговування)",
    "net": "без тривог", "targets net": "цілі без тривог",
    "planned for air-raid alerts: {n} a day, {m} min on average, service back {r} min after the all-clear; the "
    "targets met net of alerts":
        "план з урахуванням повітряних тривог: {n} на день, у середньому {m} хв, обслуговування відновлюється за "
        "{r} хв після відбою; цілі — без часу тривог",
    "air-raid alerts: {n} over {h} h: {pd} ± {se} a day, {m} min on average (SD {sd})":
        "повітряні тривоги: {n} за {h} год: {pd} ± {se} на день, у середньому {m} хв (СВ {sd})",
    "profile written to {out}": "профіль записано в {out}",
    # forecast
    "{office}: expected wait at issue against the wait that followed ({days} × {reps})":
        "{office}: очікування, обіцяне при видачі, проти справжнього ({days} × {reps})",
    "tickets": "талонів", "MAE, min": "MAE, хв", "bias, min": "зсув, хв", "RMSE, min": "RMSE, хв",
    "under air-raid alerts ({n} over the days): against the waits net of alerts, overall MAE {mae} min, bias {bias} "
    "min":
        "під повітряними тривогами ({n} за ці дні): проти очікування без часу тривог, загалом MAE {mae} хв, зсув "
        "{bias} хв",
    "what no forecast can beat, on {n} tickets: an oracle that knows the day up to the issue and every later "
    "arrival, but not how long the services still to come will take, errs by MAE {mae} min (RMSE {rmse}); the "
    "forecast on the same tickets: MAE {fmae} min (RMSE {frmse})":
        "чого не перевершить жоден прогноз, на {n} талонах: оракул, що знає день до видачі талона й кожен наступний "
        "прихід, але не знає, скільки триватимуть послуги попереду, помиляється на MAE {mae} хв (RMSE {rmse}); "
        "прогноз на тих самих талонах: MAE {fmae} хв (RMSE {frmse})",
}


def tr(lang: str, text: str, **values: object) -> str:
    """``text`` in ``lang`` with its {names} filled in."""
    out = UK.get(text, text) if lang == "uk" else text
    return out.format(**values) if values else out


def category_name(category: str, lang: str) -> str:
    return CATEGORY[lang].get(category, category)


def overall_name(lang: str) -> str:
    return OVERALL[lang]


def weekday_name(day: str, lang: str) -> str:
    return WEEKDAY[lang].get(day, day)


def office_name(office: Office, lang: str) -> str:
    return office.name_uk if lang == "uk" else office.name_en


def ranges(numbers: Sequence[str]) -> str:
    """Desk numbers as people write them: "1–4, 7"; numbers that are not integers stay as they are."""
    if not all(n.isdigit() for n in numbers):
        return ", ".join(numbers)
    values = sorted(int(n) for n in numbers)
    parts: list[str] = []
    start = prev = values[0]
    for v in [*values[1:], None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        parts.append(f"{start}" if start == prev else f"{start}–{prev}")
        if v is not None:
            start = prev = v
    return ", ".join(parts)


def group_name(group: SkillGroup, office: Office, network: Network, lang: str) -> str:
    """A skill group by what people see: its desks and the categories it serves ("вікна 1–4: довідки та витяги")."""
    numbers = [office.desks[k].number for k in group.desks]
    word = ("вікно" if len(numbers) == 1 else "вікна") if lang == "uk" else ("desk" if len(numbers) == 1 else "desks")
    cats = [c.value for c in Category if any(network.services[s].category is c for s in group.services
                                             if s in network.services)]
    named = [category_name(c, lang) for c in cats[:2]]
    more = f" +{len(cats) - 2}" if len(cats) > 2 else ""
    return f"{word} {ranges(numbers)}: {', '.join(named)}{more}" if named else f"{word} {ranges(numbers)}"
