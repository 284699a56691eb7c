"""The batch seam: whole-graph work for ring runs.

Links, connected components over specific identifiers, look-alike pairs,
communities inside large components, and the rings a run writes. Neo4j runs
the algorithms in GDS; the embedded store runs them in process
(:mod:`graph.store.in_process`). Both give the same answers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

from graph.store.records import LinkedComponent, LookAlike, RingRecord


class GraphBatch(ABC):
    @abstractmethod
    def links(self) -> Iterator[tuple[str, str, float, float]]:
        """Every (applicant_key, identifier node id, first_ts, last_ts) link."""

    @abstractmethod
    def linked_components(
        self, kinds: Sequence[str], max_identifier_applicants: int, min_size: int, exclude: Sequence[str] = ()
    ) -> list[LinkedComponent]:
        """Connected components of applicants linked through *specific* identifiers.

        An identifier links applicants when it is of one of ``kinds``, is used by
        2..``max_identifier_applicants`` distinct applicants and is not in
        ``exclude`` (allow-listed or cleared). Components smaller than
        ``min_size`` are dropped. Members and identifiers are sorted; components
        are sorted by their first member.
        """

    @abstractmethod
    def look_alikes(
        self,
        kinds: Sequence[str],
        max_identifier_applicants: int,
        min_similarity: float,
        min_shared: int = 2,
        exclude: Sequence[str] = (),
    ) -> list[LookAlike]:
        """Pairs of applicants whose sets of specific identifiers (as for
        :meth:`linked_components`) have a Jaccard similarity of at least
        ``min_similarity`` and share at least ``min_shared``; most similar first, then keys."""

    @abstractmethod
    def split_communities(
        self, component: LinkedComponent, max_identifier_applicants: int, seed: int = 42
    ) -> list[LinkedComponent]:
        """Louvain communities inside one (large) component, over the applicant
        projection weighted by how many specific identifiers two applicants share."""

    @abstractmethod
    def write_rings(self, run_id: str, at: float, rings: Sequence[RingRecord]) -> None:
        """Replace the current rings with this run's, atomically."""

    @abstractmethod
    def rings(self) -> list[RingRecord]: ...

    @abstractmethod
    def ring_of(self, applicant_key: str) -> RingRecord | None: ...
