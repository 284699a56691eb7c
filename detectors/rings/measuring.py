"""Measuring one part: features, strengths, the ring confidence, the ring score and summary.

The confidence weights and the strengths are described in :mod:`detectors.rings`;
the score (expected loss) in :mod:`detectors.rings.scoring`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations
from typing import Any

from detectors.rings.params import END_OF_TIME, Progress, RingParams
from detectors.rings.scoring import exposure, ring_priority, ring_summary
from graph.normalise import NormalisedApplication
from graph.store import GraphStore, Label, LinkedComponent
from graph.vocabulary import DAY, applicant_node, node_kind


@dataclass(frozen=True)
class RingCandidate:
    """One measured component (or Louvain part): who, through what, how sure we are
    that it is a ring (``confidence``) and how much it puts at stake (``score``)."""

    members: tuple[str, ...]
    identifiers: tuple[str, ...]
    links: dict[str, tuple[str, ...]]
    """Identifier node id -> the members who used it."""
    features: dict[str, Any]
    score: float
    scripted: bool
    confidence: float

    def reported(self, params: RingParams) -> bool:
        return len(self.members) >= params.min_members and self.confidence >= params.threshold and not self.scripted


@dataclass(frozen=True)
class Population:
    """Population reference values a ring is compared with."""

    mean_amount: float | None
    sampled: int


def _round(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


def _core_span(times: list[float], share: float) -> float:
    """Shortest window (seconds) holding ``share`` of the times (at least two)."""
    if len(times) < 2:
        return 0.0
    ordered = sorted(times)
    k = max(2, math.floor(share * len(ordered) + 0.5))
    return min(ordered[i + k - 1] - ordered[i] for i in range(len(ordered) - k + 1))


def _compression(span: float, core: float, days: float) -> float:
    """Mean of ``exp(-span / days)`` over the whole span and over the core span."""
    return 0.5 * (math.exp(-span / DAY / days) + math.exp(-core / DAY / days))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0


def ring_log_odds(strengths: dict[str, float], weights: dict[str, float]) -> float:
    """``z`` of the ring confidence from named strengths (see the module docstring)."""
    return weights["bias"] + sum(weights[name] * value for name, value in strengths.items())


def ring_confidence(strengths: dict[str, float], weights: dict[str, float]) -> float:
    """The ring confidence in [0, 1] from named strengths (see the module docstring)."""
    return _sigmoid(ring_log_odds(strengths, weights))


def measure(
    members: Sequence[str],
    links: dict[str, tuple[str, ...]],
    applications: dict[str, list[NormalisedApplication]],
    labels: dict[str, Label],
    population: Population,
    params: RingParams,
) -> RingCandidate:
    """Features, strengths, confidence, score and summary of one part.

    ``links`` maps each linking identifier to the part's members who used it;
    ``applications`` holds every member's applications, oldest first;
    ``labels`` the current labels (only members' and identifiers' are read).
    """
    size = len(members)
    pairs: set[tuple[str, str]] = set()
    for users in links.values():
        pairs.update(combinations(sorted(users), 2))
    possible = size * (size - 1) // 2
    kinds = sorted({node_kind(n) for n in links})

    firsts: list[float] = []
    young = known_age = scripted = hurried = with_fill = pasted = 0
    edits: list[int] = []
    amounts: list[float | None] = []
    n_apps = 0
    for key in members:
        apps = applications.get(key, [])
        if not apps:
            continue
        n_apps += len(apps)
        first = apps[0]
        firsts.append(first.ts)
        created = next((a.account_created_ts for a in apps if a.account_created_ts is not None), None)
        if created is not None:
            known_age += 1
            young += (first.ts - created) < params.young_account_days * DAY
        for app in apps:
            amounts.append(float(app.amount) if app.amount is not None else None)
            if app.form_fill_seconds is not None:
                with_fill += 1
                scripted += app.form_fill_seconds < params.scripted_fill_seconds
                hurried += app.form_fill_seconds < params.hurried_fill_seconds
            if app.paste_events is not None:
                pasted += app.paste_events >= 2
            if app.field_edits is not None:
                edits.append(app.field_edits)

    confirmed = sorted(m for m in members if _status(labels, applicant_node(m)) == "confirmed_fraud")
    cleared = sum(1 for m in members if _status(labels, applicant_node(m)) == "cleared")
    flagged_ids = sum(1 for n in links if _status(labels, n) == "confirmed_fraud")
    span = (max(firsts) - min(firsts)) if firsts else 0.0
    core = _core_span(firsts, params.core_share)
    young_share = young / known_age if known_age else 0.0
    fraud_share = len(confirmed) / size if size else 0.0
    known_amounts = [a for a in amounts if a is not None]
    mean_amount = sum(known_amounts) / len(known_amounts) if known_amounts else None
    ratio = mean_amount / population.mean_amount if mean_amount is not None and population.mean_amount else None
    scripted_share = scripted / with_fill if with_fill else 0.0
    hurried_share = hurried / with_fill if with_fill else 0.0

    strengths = {
        "compression": _compression(span, core, params.compression_days) if len(firsts) >= 2 else 0.0,
        "young_accounts": young_share,
        "hurried_forms": hurried_share,
        "few_edits": math.exp(-sum(edits) / len(edits) / 1.5) if edits else 0.0,
        "shared_kinds": min(len(kinds) - 1, 2) / 2 if kinds else 0.0,
        "fraud_evidence": min(1.0, 3.0 * fraud_share + 0.5 * flagged_ids),
        "size": min(1.0, max(0, size - 2) / 8),
    }
    log_odds = ring_log_odds(strengths, params.weights)
    confidence = _round(_sigmoid(log_odds), 6)
    stake = exposure(amounts, population.mean_amount or mean_amount or 1.0)
    score = _round(ring_priority(confidence, stake.loans, params.loss_scale), 6)
    by_kind: dict[str, int] = {}
    for nid in links:
        by_kind[node_kind(nid)] = by_kind.get(node_kind(nid), 0) + 1
    is_scripted = len(kinds) == 1 and scripted_share >= params.scripted_share
    features: dict[str, Any] = {
        "size": size,
        "identifiers": len(links),
        "linked_pairs": len(pairs),
        "density": _round(len(pairs) / possible if possible else 0.0),
        "kinds": kinds,
        "kind_count": len(kinds),
        "identifier_kinds": dict(sorted(by_kind.items())),
        "applications": n_apps,
        "first_application": _iso(min(firsts)) if firsts else None,
        "last_first_application": _iso(max(firsts)) if firsts else None,
        "span_days": _round(span / DAY),
        "core_span_days": _round(core / DAY),
        "young_account_share": _round(young_share),
        "confirmed_fraud": len(confirmed),
        "confirmed_fraud_share": _round(fraud_share),
        "confirmed_fraud_identifiers": flagged_ids,
        "cleared_members": cleared,
        "mean_amount": _round(mean_amount, 2) if mean_amount is not None else None,
        "amount_ratio": _round(ratio) if ratio is not None else None,
        "scripted_share": _round(scripted_share),
        "hurried_share": _round(hurried_share),
        "young_accounts": young,
        "account_age_known": known_age,
        "hurried_applications": hurried,
        "telemetry_applications": with_fill,
        "pasted_applications": pasted,
        "mean_field_edits": _round(sum(edits) / len(edits)) if edits else None,
        "strengths": {k: _round(v) for k, v in strengths.items()},
        "log_odds": _round(log_odds, 3),
        "confidence": confidence,
        "exposure": _round(stake.total, 2),
        "exposure_loans": _round(stake.loans),
        "amounts_unknown": stake.unknown,
        "expected_loss": _round(confidence * stake.total, 2),
    }
    features["summary"] = ring_summary(
        features,
        score,
        young_account_days=params.young_account_days,
        hurried_fill_seconds=params.hurried_fill_seconds,
        loss_scale=params.loss_scale,
    )
    if is_scripted:
        features["pattern"] = "scripted_burst"
    return RingCandidate(
        tuple(members), tuple(sorted(links)), dict(sorted(links.items())), features, score, is_scripted, confidence
    )


def _status(labels: dict[str, Label], node_id: str) -> str | None:
    label = labels.get(node_id)
    return label.status if label else None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _tick(progress: Progress | None, step: str, done: int, total: int) -> None:
    if progress is not None:
        progress(step, done, total)


def population_reference(store: GraphStore, sample: int) -> Population:
    """Mean application amount over a deterministic sample of about ``sample`` applicants.

    Applicant keys are keyed hashes (hex), so the keys below a bound are a
    uniform sample that every run and every backend draws identically
    (``store.applicants_below``: an index range seek on Neo4j).
    """
    if sample <= 0:
        return Population(None, 0)
    total = store.stats().get("applicants", 0)
    if total == 0:
        return Population(None, 0)
    share = sample / total
    bound = format(math.ceil(share * 16**6), "06x") if share < 1 else "g"  # "g" sorts after every hex key
    keys = store.applicants_below(bound)
    amounts = [a.amount for apps in store.applications_of(keys).values() for a in apps if a.amount is not None]
    return Population(sum(amounts) / len(amounts) if amounts else None, len(keys))


def _measure_all(
    store: GraphStore,
    parts: Sequence[LinkedComponent],
    labels: dict[str, Label],
    population: Population,
    params: RingParams,
    limit: int,
    progress: Progress | None,
) -> list[RingCandidate]:
    total = len(parts)
    out: list[RingCandidate] = []
    batch: list[LinkedComponent] = []
    size = 0
    for done, part in enumerate(parts, 1):
        batch.append(part)
        size += len(part.identifiers)
        if size >= 5000 or done == total:
            out.extend(_measure_batch(store, batch, labels, population, params, limit))
            _tick(progress, "measuring", done, total)
            batch, size = [], 0
    return out


def _measure_batch(
    store: GraphStore,
    parts: Sequence[LinkedComponent],
    labels: dict[str, Label],
    population: Population,
    params: RingParams,
    limit: int,
) -> list[RingCandidate]:
    idents = sorted({n for p in parts for n in p.identifiers})
    usage = store.identifier_usage(idents, END_OF_TIME, 0.0, limit)
    applications = store.applications_of(sorted({m for p in parts for m in p.members}))
    out = []
    for part in parts:
        inside = set(part.members)
        links: dict[str, tuple[str, ...]] = {}
        for nid in part.identifiers:
            use = usage.get(nid)
            users = tuple(m for m in use.members if m in inside) if use else ()
            if len(users) >= 2:
                links[nid] = users
        apps = {m: applications.get(m, []) for m in part.members}
        out.append(measure(part.members, links, apps, labels, population, params))
    return out
