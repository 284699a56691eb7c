"""What a reported ring puts at stake, the score that ranks rings, and why, in one sentence.

A ring's *confidence* (the logistic of its strengths, :func:`detectors.rings.measuring.measure`)
says how sure we are that a group is coordinated. It decides whether the group
is reported, but it is close to 1 for almost every reported ring (on a generated
50k population 175 of 182 rounded to 1.0), so it cannot tell an investigator
which ring to open first. What separates true rings is what they put at stake::

    exposure       = sum of the members' application amounts   (an unknown amount
                     counts as one average loan)
    expected_loss  = confidence x exposure
    score          = expected_loss / (expected_loss + loss_scale x average loan)

The average loan is the population mean amount of the run (the ring's own mean
when the population has none, and 1 when no amount is known at all, so exposure
counts applications). The score is a monotone map of the expected loss onto
[0, 1): 0.5 means an expected loss of ``loss_scale`` average loans, 0.75 three
times that. It spreads where confidence saturates, and it never reaches 1.

>>> exposure([5000.0, None, 7000.0], 6000.0)
Exposure(total=18000.0, unknown=1, loans=3.0)
>>> round(ring_priority(0.9, 20.0, 20.0), 3)
0.474
>>> span_text(2 * 3600.0)
'2.0 hours'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graph.vocabulary import DAY

HOUR = 3600.0

KIND_NOUNS: dict[str, tuple[str, str]] = {
    "device": ("device", "devices"),
    "phone": ("phone", "phones"),
    "email": ("e-mail address", "e-mail addresses"),
    "bank_account": ("bank account", "bank accounts"),
    "address": ("address", "addresses"),
    "ip": ("IP address", "IP addresses"),
    "employer": ("employer", "employers"),
}


@dataclass(frozen=True)
class Exposure:
    """The amount a ring's members applied for, and the same in average loans."""

    total: float
    unknown: int
    """Applications without an amount (each counted as one average loan)."""
    loans: float


def exposure(amounts: Sequence[float | None], unit: float) -> Exposure:
    """Sum of ``amounts``, an unknown amount counted as ``unit`` (the average loan)."""
    unit = unit if unit > 0 else 1.0
    unknown = sum(1 for a in amounts if a is None)
    total = sum(float(a) for a in amounts if a is not None) + unknown * unit
    return Exposure(total, unknown, total / unit)


def ring_priority(confidence: float, exposure_loans: float, loss_scale: float) -> float:
    """The ring score: expected loss (in average loans) mapped onto [0, 1)."""
    loss = max(0.0, confidence) * max(0.0, exposure_loans)
    return loss / (loss + loss_scale) if loss > 0 else 0.0


def loss_at(score: float, loss_scale: float) -> float:
    """The expected loss, in average loans, at which the ring score is ``score``."""
    return loss_scale * score / (1.0 - score) if score < 1 else float("inf")


def span_text(seconds: float) -> str:
    """A duration in the unit a person would use: minutes below an hour, hours below two days."""
    if seconds < HOUR:
        minutes = seconds / 60.0
        return f"{minutes:.0f} minute{'' if round(minutes) == 1 else 's'}"
    if seconds < 2 * DAY:
        return f"{seconds / HOUR:.1f} hours"
    return f"{seconds / DAY:.1f} days"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _amount(value: float) -> str:
    return f"{value:,.0f}"


def identifiers_text(by_kind: Mapping[str, int]) -> str:
    """``{"phone": 1, "device": 2}`` -> "2 devices and 1 phone" (most numerous first)."""
    ordered = sorted(((n, kind) for kind, n in by_kind.items() if n), key=lambda nk: (-nk[0], nk[1]))
    parts = [_count(n, *KIND_NOUNS.get(kind, (kind, kind + "s"))) for n, kind in ordered]
    if not parts:
        return "no identifier"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def ring_summary(
    features: Mapping[str, Any],
    score: float,
    *,
    young_account_days: float,
    hurried_fill_seconds: float,
    loss_scale: float,
) -> str:
    """Why a ring scored as it did, in plain words and counts only (no identifier
    value, no name): the expected loss behind the score (what the members applied
    for, at what confidence), then the evidence that the group is a ring (size,
    confirmed-fraud share, how fast the members applied, what they share) and
    the behaviour that made it look coordinated. Unknown values are said to be
    unknown, never counted as zero.

    ``features`` are a ring's features as :func:`detectors.rings.measuring.measure` writes them.
    """
    size = int(features["size"])
    apps = int(features.get("applications", 0))
    total = float(features.get("exposure", 0.0))
    loans = float(features.get("exposure_loans", 0.0))
    unknown = int(features.get("amounts_unknown", 0))
    confidence = float(features.get("confidence", 0.0))
    loss = float(features.get("expected_loss", 0.0))
    confidence_text = "above 0.999" if confidence >= 0.9995 else f"of {confidence:.3f}"
    applications = _count(apps, "application", "applications")
    people = _count(size, "applicant", "applicants")
    if apps and unknown == apps:
        applied = f"{people} made {applications} of unknown amount (each counted as an average loan)"
    else:
        applied = f"{people} applied for {_amount(total)} in {applications}"
        if unknown:
            applied += f" ({unknown} of unknown amount, each counted as an average loan)"
    stake = (
        f"Score {score:.3f} from an expected loss of {_amount(loss)}, {confidence * loans:.1f} average loans "
        f"(the score is 0.5 at {loss_scale:g}): {applied}, at a ring confidence {confidence_text}."
    )

    confirmed = int(features.get("confirmed_fraud", 0))
    if confirmed:
        share = 100.0 * float(features.get("confirmed_fraud_share", confirmed / size))
        fraud = f"{confirmed} of the {size} {'is' if confirmed == 1 else 'are'} confirmed fraud ({share:.0f}%)"
    else:
        fraud = "None of them is confirmed fraud yet"
    fraud = fraud[0].upper() + fraud[1:]
    span = float(features.get("span_days", 0.0)) * DAY
    core = float(features.get("core_span_days", 0.0)) * DAY
    timing = f"they first applied within {span_text(span)} of each other"
    if size >= 4 and core < 0.5 * span:
        timing += f" (most of them within {span_text(core)})"
    shared = identifiers_text(features.get("identifier_kinds", {}))
    flagged = int(features.get("confirmed_fraud_identifiers", 0))
    if flagged:
        shared += f" ({flagged} already confirmed fraud)"
    evidence = f"{fraud}; {timing} and share {shared}."

    known_age = int(features.get("account_age_known", 0))
    if known_age:
        accounts = (
            f"{int(features.get('young_accounts', 0))} of {known_age} accounts were opened less than "
            f"{young_account_days:g} days before the first application"
        )
    else:
        accounts = "account ages are unknown"
    timed = int(features.get("telemetry_applications", 0))
    if timed:
        forms = (
            f"{int(features.get('hurried_applications', 0))} of {timed} forms were filled in under "
            f"{hurried_fill_seconds:g} s"
        )
    else:
        forms = "form-filling times are unknown"
    edits = features.get("mean_field_edits")
    edit_text = (
        f"{float(edits):.1f} field edits per form on average" if edits is not None else "field edits are unknown"
    )
    return f"{stake} {evidence} Behaviour: {accounts}; {forms}; {edit_text}."
