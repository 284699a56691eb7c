"""What a detector returns, and the per-application reading context it shares.

A detector observes raw measures (``Observation``: a code, a value where
higher means more abnormal, evidence an investigator can open, and a
sentence); the scorer turns values into strengths against population
baselines and weighs them into a score (``Signal``).

An observation whose input was not sent (no form telemetry, no account
creation time, no device) is ``known=False``: it keeps the neutral value it
always had, so replays and baselines see the same numbers, but the scorer
gives it no strength, so it adds nothing to the score and is never a reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graph.normalise import NormalisedApplication
from graph.store.records import IdentifierUsage, Label, ScoringSnapshot
from graph.vocabulary import HUB_LIMIT


@dataclass(frozen=True, slots=True)
class Observation:
    """A raw measure from one detector. ``value``: higher is more abnormal;
    ``known``: False when the input the measure needs was not sent."""

    code: str
    value: float
    sentence: str
    evidence: dict[str, Any] = field(default_factory=dict)
    known: bool = True


@dataclass(frozen=True, slots=True)
class Signal:
    """An observation weighed: ``strength`` in [0, 1], ``contribution`` to the log-odds."""

    code: str
    detector: str
    value: float
    strength: float
    contribution: float
    sentence: str
    evidence: dict[str, Any]
    known: bool = True


@dataclass(frozen=True, slots=True)
class DetectorParams:
    """Graph-reading parameters shared by the detectors (from the config file)."""

    hub_limit: int = HUB_LIMIT
    max_hops: int = 4
    ring_cap: int = 200
    kind_weight: dict[str, float] = field(
        default_factory=lambda: {
            "device": 1.0,
            "phone": 1.0,
            "bank_account": 1.0,
            "email": 0.9,
            "address": 0.6,
            "ip": 0.4,
            "employer": 0.05,
        }
    )
    specificity_scale: float = 8.0
    ring_min_specificity: float = 0.45
    recency_days: float = 30.0
    recency_days_by_kind: dict[str, float] = field(default_factory=lambda: {"bank_account": 365.0})
    terminal_channels: tuple[str, ...] = ("store",)
    """Channels whose device and IP belong to the lender (a store kiosk serves every
    customer): sharing them links nobody."""
    household_max: int = 4
    household_weight: float = 0.25
    """How much an identifier only the applicant's household shares counts in the shared weight."""
    """An address with at most this many applicants, this one included, is a household
    when its residents share with the applicant one phone or device and nothing else."""

    def links_people(self, kind: str) -> bool:
        """Whether sharing an identifier of this kind is specific enough to link two people
        into a ring (devices, phones, e-mails, bank accounts, addresses; not IPs or employers)."""
        return self.kind_weight.get(kind, 0.5) >= self.ring_min_specificity

    def __post_init__(self) -> None:
        if not 1 <= self.max_hops <= 4:
            # A scoring snapshot reaches four hops (applicant -> identifier -> applicant ->
            # identifier -> applicant); a longer walk would silently stop there.
            raise ValueError(f"max_hops must be 1 to 4, not {self.max_hops}")
        if self.hub_limit < 1:
            raise ValueError("hub_limit must be at least 1")
        if self.household_max < 1:
            raise ValueError("household_max must be at least 1 (1: no household is recognised)")
        object.__setattr__(self, "terminal_channels", tuple(self.terminal_channels))


class ScoringContext:
    """One application being scored as of a time, over the store's snapshot of its
    neighbourhood (one read): detectors compute from it and read nothing else."""

    def __init__(self, snapshot: ScoringSnapshot, app: NormalisedApplication, params: DetectorParams) -> None:
        self.snapshot = snapshot
        self.app = app
        self.params = params
        self.as_of = snapshot.as_of
        self.at = min(app.ts, snapshot.as_of)
        """When the application's own behaviour is measured: its submission. The graph (who
        is linked, labels, rings) is as of ``as_of``; a re-score with today's graph
        (monitoring, ``as_of`` now) still measures velocity and the like around the
        application, so a household member applying months later is no burst."""

    @property
    def subject(self) -> str:
        return self.app.applicant_key

    def identifiers(self) -> tuple[str, ...]:
        """This application's identifiers and those the applicant used before (hop 1)."""
        return self.snapshot.identifiers

    def usage(self) -> dict[str, IdentifierUsage]:
        """Usage of :meth:`identifiers` (uses within 30 days listed in ``recent``)."""
        return self.snapshot.usage

    def neighbours(self, applicant_keys: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """Identifiers used by hop-2 applicants (members of hop-1 identifiers)."""
        known = self.snapshot.neighbours
        return {k: known[k] for k in applicant_keys if known.get(k)}

    def far_usage(self, node_ids: Iterable[str]) -> dict[str, IdentifierUsage]:
        """Usage of hop-3 identifiers that are not hubs."""
        known = self.snapshot.far_usage
        return {n: known[n] for n in node_ids if n in known}

    def history(self) -> list[NormalisedApplication]:
        """The applicant's applications before this one (before :attr:`at`), oldest first."""
        return [a for a in self.snapshot.history if a.ts < self.at]

    def display(self, node_id: str) -> str:
        """The masked display of an identifier seen in the snapshot ("" if none is known)."""
        use = self.snapshot.usage.get(node_id) or self.snapshot.far_usage.get(node_id)
        if use is not None and use.display:
            return use.display
        return next((i.display for i in self.app.identifiers if i.node_id == node_id), "")

    def labels(self, node_ids: Iterable[str]) -> dict[str, Label]:
        known = self.snapshot.labels
        return {n: known[n] for n in node_ids if n in known}

    def terminals(self) -> set[str]:
        """The application's device and IP when it was made through one of the lender's
        terminal channels (``terminal_channels``): a store kiosk's, which serve every
        customer, so sharing them links nobody."""
        if not self.app.channel or self.app.channel not in self.params.terminal_channels:
            return set()
        return {i.node_id for i in self.app.identifiers if i.kind in ("device", "ip")}

    def specificity(self, node_id: str, applicants: int) -> float:
        """How telling it is that ``applicants`` people share this identifier."""
        kind = node_id.split(":", 1)[0]
        weight = self.params.kind_weight.get(kind, 0.5)
        return weight / (1.0 + max(0, applicants - 2) / self.params.specificity_scale)

    def recency_days(self, node_id: str) -> float:
        """How fast shared use of this kind of identifier ages (a shared bank account
        stays telling for a year; a shared phone or device for about a month)."""
        kind = node_id.split(":", 1)[0]
        return self.params.recency_days_by_kind.get(kind, self.params.recency_days)
