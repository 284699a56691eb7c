"""What a detector returns, and the per-application reading context it shares.

A detector observes raw measures (``Observation``: a code, a value where
higher means more abnormal, evidence an investigator can open, and a
sentence); the scorer turns values into strengths against population
baselines and weighs them into a score (``Signal``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graph.normalise import NormalisedApplication
from graph.store import GraphStore, IdentifierUsage, Label

DAY = 86400.0
HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Observation:
    """A raw measure from one detector. ``value``: higher is more abnormal."""

    code: str
    value: float
    sentence: str
    evidence: dict[str, Any] = field(default_factory=dict)


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


@dataclass(frozen=True, slots=True)
class DetectorParams:
    """Graph-reading parameters shared by the detectors (from the config file)."""

    expand_limit: int = 30
    hub_limit: int = 30
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


class ScoringContext:
    """One application being scored as of a time, with the store reads it needs
    cached so that detectors do not repeat them."""

    def __init__(
        self,
        store: GraphStore,
        app: NormalisedApplication,
        params: DetectorParams,
        as_of: float | None = None,
    ) -> None:
        self.store = store
        self.app = app
        self.params = params
        self.as_of = app.ts if as_of is None else as_of
        self._usage: dict[str, IdentifierUsage] | None = None
        self._history: list[NormalisedApplication] | None = None
        self._labels: dict[str, Label] = {}
        self._identifiers: tuple[str, ...] | None = None

    @property
    def subject(self) -> str:
        return self.app.applicant_key

    def identifiers(self) -> tuple[str, ...]:
        """This application's identifiers and those the applicant used before."""
        if self._identifiers is None:
            own = {i.node_id for i in self.app.identifiers}
            earlier = self.store.applicant_identifiers([self.subject], self.as_of).get(self.subject, ())
            self._identifiers = tuple(sorted(own.union(earlier)))
        return self._identifiers

    def usage(self) -> dict[str, IdentifierUsage]:
        """Usage (within 30 days for the recent list) of :meth:`identifiers`."""
        if self._usage is None:
            self._usage = self.store.identifier_usage(
                self.identifiers(), self.as_of, 30 * DAY, self.params.expand_limit
            )
        return self._usage

    def history(self) -> list[NormalisedApplication]:
        """The applicant's earlier applications, oldest first."""
        if self._history is None:
            self._history = [
                a
                for a in self.store.applicant_applications(self.subject, before=self.as_of)
                if a.application_id != self.app.application_id
            ]
        return self._history

    def labels(self, node_ids: list[str] | tuple[str, ...]) -> dict[str, Label]:
        missing = [n for n in node_ids if n not in self._labels]
        if missing:
            found = self.store.labels(missing)
            self._labels.update(found)
        return {n: self._labels[n] for n in node_ids if n in self._labels}

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
