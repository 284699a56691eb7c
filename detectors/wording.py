"""How reason sentences say numbers, durations, identifiers and links, in one place.

Every detector words its sentences with these, so that a count is pluralised
the same way everywhere, a duration is given in a unit a reader takes in at a
glance, and a path to a confirmed fraudster is told in links between people
(one shared identifier each), never in raw node hops.

>>> count(1, "application"), count(3, "identity", "identities")
('1 application', '3 identities')
>>> duration(41), duration(120), duration(5400), duration(3 * 86400)
('41 seconds', '2 minutes', '1.5 hours', '3 days')
>>> identifier("device", "dfp-****")
'device dfp-****'
>>> through([("device", "dfp-****"), ("phone", "+86*******8000")])
'through device dfp-****, then phone +86*******8000'
>>> percent(0.9996, 1), percent(2 / 3)
('over 99.9%', '67%')
"""

from __future__ import annotations

import math
from collections.abc import Sequence

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0

KIND_WORDS: dict[str, str] = {
    "device": "device",
    "phone": "phone",
    "email": "e-mail address",
    "employer": "employer",
    "address": "address",
    "ip": "IP address",
    "bank_account": "bank account",
}
"""How an identifier kind is named in a sentence."""


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and the noun, pluralised: "1 application", "0 applications"."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def number(x: float) -> str:
    """A measure as people write it: one decimal below ten (none if it is whole), whole above."""
    if abs(x) < 9.95 and round(x, 1) != round(x):
        return f"{x:.1f}"
    return f"{x:.0f}"


def duration(seconds: float) -> str:
    """A span of time in seconds below a minute, minutes below an hour, hours below
    two days, then days. The unit is chosen on the rounded figure, so 59.7 seconds is
    "1 minute", never "60 seconds"."""
    if seconds < 0 or math.isnan(seconds):
        raise ValueError(f"a duration is not negative: {seconds}")
    if float(number(seconds)) < 60:
        return _unit(seconds, "second")
    if float(number(seconds / MINUTE)) < 60:
        return _unit(seconds / MINUTE, "minute")
    if float(number(seconds / HOUR)) < 48:
        return _unit(seconds / HOUR, "hour")
    return _unit(seconds / DAY, "day")


def _unit(x: float, unit: str) -> str:
    shown = number(x)
    return f"{shown} {unit}" + ("" if shown == "1" else "s")


def kind_word(kind: str) -> str:
    return KIND_WORDS.get(kind, kind.replace("_", " "))


def identifier(kind: str, display: str = "") -> str:
    """An identifier named by its kind and its masked display: "device dfp-****"."""
    return f"{kind_word(kind)} {display}" if display else kind_word(kind)


def through(steps: Sequence[tuple[str, str]]) -> str:
    """The shared identifiers along a path between applicants, as ``(kind, display)``:
    each is one link from one person to the next."""
    return "through " + ", then ".join(identifier(kind, display) for kind, display in steps)


def listing(words: Sequence[str], last: str = "and") -> str:
    """ "a", "a and b", "a, b and c" (or with ``last="or"``)."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {last} {words[-1]}"


def percent(share: float, decimals: int = 0) -> str:
    """A share as a percentage that never rounds up to 100% nor down to 0%."""
    step = 10.0**-decimals
    shown = round(share * 100, decimals)
    if shown >= 100 and share < 1:
        return f"over {100 - step:.{decimals}f}%"
    if shown <= 0 < share:
        return f"under {step:.{decimals}f}%"
    return f"{shown:.{decimals}f}%"


def is_are(n: int) -> str:
    return "is" if n == 1 else "are"
