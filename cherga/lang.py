"""Words that follow a number, in Ukrainian and English: one small helper for every command-line text.

Ukrainian has three plural forms after a number: "1 день", "2 дні", "5 днів", and again "21 день", "22 дні",
"11 днів" (11–14 always take the third). English has two. A fraction takes the genitive singular, which for the
words used here is the second form ("2,5 години").
"""

from __future__ import annotations


def plural_uk(n: float, one: str, few: str, many: str) -> str:
    """The Ukrainian form for ``n``: ``one`` (1, 21, 101), ``few`` (2–4, 22–24) or ``many`` (0, 5–20, 25–30…)."""
    if n != int(n):
        return few
    k = abs(int(n))
    if k % 10 == 1 and k % 100 != 11:
        return one
    if 2 <= k % 10 <= 4 and not 12 <= k % 100 <= 14:
        return few
    return many


def plural(n: float, lang: str, forms: tuple[str, str, str, str, str]) -> str:
    """``forms`` = (uk one, uk few, uk many, en one, en many); the word for ``n`` in ``lang``."""
    if lang == "uk":
        return plural_uk(n, forms[0], forms[1], forms[2])
    return forms[3] if n == 1 else forms[4]


def count(n: float, lang: str, forms: tuple[str, str, str, str, str]) -> str:
    """``n`` and its word: ``count(5, "uk", DAYS)`` is "5 днів"; integers plain, fractions with one decimal."""
    text = f"{int(n)}" if n == int(n) else f"{n:.1f}"
    return f"{text} {plural(n, lang, forms)}"


DAYS = ("день", "дні", "днів", "day", "days")
HOURS = ("година", "години", "годин", "hour", "hours")
DESKS = ("вікно", "вікна", "вікон", "desk", "desks")
DESK_HOURS = ("вікно-година", "вікно-години", "вікно-годин", "desk-hour", "desk-hours")
REPLICATIONS = ("повторення", "повторення", "повторень", "replication", "replications")
VISITORS = ("відвідувач", "відвідувачі", "відвідувачів", "visitor", "visitors")
TICKETS = ("талон", "талони", "талонів", "ticket", "tickets")
