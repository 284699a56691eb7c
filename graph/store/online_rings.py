"""The online-rings seam: applicants who joined a ring between batch runs.

A batch run (:func:`detectors.rings.detect_rings`) writes the rings; between runs the
scoring flow records *joins* here: an applicant linked over specific identifiers to a
member of an active ring joins that ring, and a new dense group with no ring gets a
provisional ring (``PROV-...``). The next run settles every join it read
(:meth:`OnlineRings.settle_ring_joins`). Deciding who joins what is
:mod:`detectors.rings.online`'s work; the seam only stores and reads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RingJoin:
    """One applicant's online join: the ring, the identifiers that linked it (``via``, node
    ids), when, and whether the ring is provisional (no batch run has found it yet)."""

    applicant_key: str
    ring_id: str
    via: tuple[str, ...]
    at: float
    provisional: bool = False
    lineage: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RingMembership:
    """An applicant's current ring: from the active batch run (``joined`` false) or an
    online join (``joined`` true, ``provisional`` when the ring is one)."""

    applicant_key: str
    ring_id: str
    joined: bool
    provisional: bool
    lineage: dict[str, Any] = field(default_factory=dict)


class OnlineRings(ABC):
    @abstractmethod
    def join_ring(
        self,
        ring_id: str,
        applicant_key: str,
        via: Sequence[str],
        at: float,
        *,
        provisional: bool = False,
        lineage: dict[str, Any] | None = None,
    ) -> RingJoin:
        """Record that an applicant joined a ring; an applicant joins at most one ring between
        runs, so a second call returns the first join unchanged."""

    @abstractmethod
    def ring_memberships(self, applicant_keys: Sequence[str]) -> dict[str, RingMembership]:
        """The current ring of each applicant that has one (an active batch ring first, then an
        online join), in one indexed read by applicant key; applicants without a ring are absent."""

    @abstractmethod
    def ring_joins(self) -> list[RingJoin]:
        """Every unsettled join, by (ring id, applicant key): what the next batch run reconciles."""

    @abstractmethod
    def settle_ring_joins(self, joins: Sequence[RingJoin]) -> int:
        """Remove these joins (a batch run has decided on their applicants); returns how many
        were removed. A join recorded after the run read them stays."""
