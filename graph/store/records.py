"""The records the store seams carry: labels, identifier usage, the scoring
snapshot, network views, components, rings, decisions, alerts and audit events.

Times are epoch seconds (UTC). Node ids are ``kind:key`` strings (see
:mod:`graph.vocabulary`). Records are plain frozen dataclasses: every backend
builds the same ones, so answers compare with ``==`` in the parity tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from graph.normalise import NormalisedApplication


@dataclass(frozen=True, slots=True)
class Label:
    """The current investigator label of a node, with who, when and why."""

    node_id: str
    status: str
    by: str
    at: float
    reason: str


@dataclass(frozen=True, slots=True)
class IdentifierUsage:
    """How one identifier was used before ``as_of``.

    ``recent`` holds ``(ts, applicant_key)`` of applications within the
    requested window, sorted by (ts, applicant_key). ``members`` lists the distinct applicants
    when there are at most ``expand_limit`` of them and is empty otherwise: a
    hub is counted, never expanded.
    """

    node_id: str
    applicants: int
    applications: int
    first_ts: float
    last_ts: float
    recent: tuple[tuple[float, str], ...]
    members: tuple[str, ...]
    display: str = ""


@dataclass(frozen=True, slots=True)
class IdentifierUser:
    """One applicant who used an identifier: how many of its applications gave it, and
    when first and last (epoch seconds); ``display`` is the applicant's masked display."""

    applicant_key: str
    applications: int
    first_ts: float
    last_ts: float
    display: str


@dataclass(frozen=True, slots=True)
class GraphNode:
    id: str
    kind: str
    label: str
    props: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GraphEdge:
    source: str
    target: str
    type: str
    ts: float | None = None


@dataclass(slots=True)
class Subgraph:
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class LinkedComponent:
    """Applicants connected through specific identifiers, with those identifiers."""

    members: tuple[str, ...]
    identifiers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LookAlike:
    """Two applicants whose specific identifiers largely coincide (Jaccard similarity
    of their identifier sets): one person under two identities, or two people
    sharing one kit. ``first`` < ``second``; the counts are each one's degree."""

    first: str
    second: str
    similarity: float
    shared: int
    first_identifiers: int
    second_identifiers: int

    @classmethod
    def of(cls, first: str, second: str, shared: int, first_identifiers: int, second_identifiers: int) -> LookAlike:
        """The pair with its Jaccard similarity computed from the counts (one formula,
        so every backend gives the same double)."""
        union = first_identifiers + second_identifiers - shared
        return cls(first, second, shared / union, shared, first_identifiers, second_identifiers)


def ranked_look_alikes(pairs: Iterable[LookAlike]) -> list[LookAlike]:
    """Most similar first, then by keys."""
    return sorted(pairs, key=lambda p: (-p.similarity, p.first, p.second))


def components_of(
    members: dict[int, list[str]], identifiers: dict[int, list[str]], min_size: int
) -> list[LinkedComponent]:
    """Components from their members and linking identifiers by component number: those
    of at least ``min_size`` members, each sorted, ordered by first member."""
    out = [
        LinkedComponent(tuple(sorted(m)), tuple(sorted(identifiers.get(c, ()))))
        for c, m in members.items()
        if len(m) >= min_size
    ]
    return sorted(out, key=lambda comp: comp.members[0])


@dataclass(frozen=True, slots=True)
class RingRecord:
    """One ring written by a batch run."""

    ring_id: str
    run_id: str
    members: tuple[str, ...]
    score: float
    features: dict[str, Any]
    identifiers: tuple[str, ...] = ()
    lineage: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    application_id: str
    at: float
    score: float
    band: str
    action: str
    reasons: list[dict[str, Any]]
    model_version: str
    trigger: str = "application"


@dataclass(frozen=True, slots=True)
class Alert:
    """A monitoring alert. Its life is ``open -> acknowledged -> in_case -> resolved``
    (see :data:`graph.vocabulary.ALERT_STATUSES`); ``updated_*`` and ``note`` say who moved
    it last, when and why, ``case_id`` the case that took it on. An applicant has at most
    one unresolved alert per tier (the store refuses a second)."""

    alert_id: str
    applicant_key: str
    tier: str
    at: float
    trigger: str
    score: float
    previous_score: float | None
    status: str = "open"
    detail: dict[str, Any] = field(default_factory=dict)
    updated_at: float | None = None
    updated_by: str = ""
    note: str = ""
    case_id: str | None = None


@dataclass(frozen=True, slots=True)
class CaseStep:
    """One step of a case: who did what, when, with which outcome and why; ``status``
    and ``layer`` are the case's after the step. Steps are numbered from 1 (the opening)."""

    seq: int
    at: float
    actor: str
    action: str
    outcome: str | None
    reason: str
    status: str
    layer: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Case:
    """A case: a subject (an applicant, an identifier or a ring), the evidence frozen when
    it was opened, and its state after its latest step. ``version`` is the number of steps:
    a step is written only onto the version it was decided on, so two reviewers acting on
    one case at once cannot both succeed. Listings may leave ``steps`` empty."""

    case_id: str
    subject: str
    source: str
    opened_at: float
    opened_by: str
    reason: str
    evidence: dict[str, Any]
    status: str
    layer: str
    owner: str | None
    outcome: str | None
    updated_at: float
    version: int
    alert_id: str | None = None
    steps: tuple[CaseStep, ...] = ()


@dataclass(frozen=True, slots=True)
class DecisionCount:
    """How many decisions of one trigger were made on one UTC day (``YYYY-MM-DD``) with one
    band and action, on applications of one channel and product (None where not given)."""

    day: str
    band: str
    action: str
    channel: str | None
    product: str | None
    count: int


def _none_first(value: str | None) -> tuple[bool, str]:
    return value is not None, value or ""


def decision_count_order(c: DecisionCount) -> tuple[Any, ...]:
    """The order :meth:`graph.store.case_log.CaseLog.decision_summary` answers in (None first)."""
    return (c.day, c.band, c.action, _none_first(c.channel), _none_first(c.product))


def utc_day(day: int) -> str:
    """``YYYY-MM-DD`` of a UTC day number (whole days since 1970-01-01, what both backends
    compute from a time as ``at / 86400`` truncated).

    >>> utc_day(20412)
    '2025-11-20'
    """
    return (date(1970, 1, 1) + timedelta(days=day)).isoformat()


@dataclass(frozen=True, slots=True)
class WorkCount:
    """How many alerts (``group``: the tier) or cases (``group``: the layer) are in one status,
    of one age and raised or opened since the asked time (``recent``). ``age`` is how many of
    the asked cutoff times (newest first) the item is at or before: with cutoffs one, seven
    and thirty days ago, 0 is younger than a day and 3 older than thirty days."""

    group: str
    status: str
    age: int
    recent: bool
    count: int


def work_count_order(c: WorkCount) -> tuple[Any, ...]:
    """The order the alert and case summaries answer in."""
    return (c.group, c.status, c.age, c.recent)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    seq: int
    at: float
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditSeal:
    """Seal ``n`` of the audit log: ``count`` events with ``seq`` up to ``upto`` after the
    previous seal, ``chain`` the running SHA-256 over every event so far, ``mac`` a keyed
    hash of the seal and the previous seal's MAC (see :mod:`graph.store.audit_seals`)."""

    n: int
    upto: int
    count: int
    chain: str
    mac: str
    at: float


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An audit event before the log numbers it."""

    at: float
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Recorded:
    """What one write of an assessed application did: ``stored`` is True for exactly one
    of any number of (concurrent) sends of an application id; the others get the
    decision that send recorded as ``first``."""

    stored: bool
    first: Decision | None = None


@dataclass(frozen=True, slots=True)
class ScoringSnapshot:
    """Everything the detectors read about one application as of a time, in one read.

    Hops count nodes along applicant-identifier links: the applicant (0), the
    identifiers it uses (1), the other applicants of those (2), their identifiers
    (3) and the applicants of those (4). Hubs (identifiers with more than the hub
    limit of applicants before ``as_of``) are counted and never expanded.

    - ``identifiers``: hop 1, the application's own identifiers and those the
      applicant used before ``as_of``, sorted (an identifier nobody used yet is here too:
      a bad-actor list may have labelled it).
    - ``usage``: of each hop-1 identifier used before ``as_of``: counts, first and last
      use, ``recent`` uses within :data:`graph.vocabulary.USAGE_WINDOW`, members unless a hub.
    - ``neighbours``: hop 2, every member of a hop-1 identifier other than the applicant,
      with the identifiers it used before ``as_of`` (sorted).
    - ``far_usage``: hop 3, usage of the neighbours' identifiers that are not hop 1 and
      not hubs (hubs at hop 3 are left out: nothing is read through them).
    - ``labels``: the current labels of the applicant and every node of hops 1 to 4.
    - ``history``: the applicant's applications before ``as_of``, oldest first, without
      the application being scored.
    """

    applicant_key: str
    as_of: float
    identifiers: tuple[str, ...]
    usage: dict[str, IdentifierUsage]
    neighbours: dict[str, tuple[str, ...]]
    far_usage: dict[str, IdentifierUsage]
    labels: dict[str, Label]
    history: tuple[NormalisedApplication, ...]
