"""The reader seam: what scoring and investigation read from the graph.

Reads that take ``as_of`` see only applications submitted strictly before it,
so an application is scored with exactly what came before it (no look-ahead).
Scoring makes one call, :meth:`GraphReader.snapshot`; on Neo4j that is one
Cypher query, on the embedded store index lookups.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from graph.normalise import NormalisedApplication
from graph.store.records import IdentifierUsage, IdentifierUser, ScoringSnapshot, Subgraph


class GraphReader(ABC):
    @abstractmethod
    def snapshot(self, app: NormalisedApplication, as_of: float, hub_limit: int) -> ScoringSnapshot:
        """Everything the detectors need about ``app`` as of ``as_of`` (see
        :class:`graph.store.records.ScoringSnapshot`); the same answer as
        :func:`graph.store.snapshot.assemble` over this reader's point reads."""

    @abstractmethod
    def application(self, application_id: str) -> NormalisedApplication | None: ...

    @abstractmethod
    def applicant_applications(self, applicant_key: str, before: float | None = None) -> list[NormalisedApplication]:
        """The applicant's applications (strictly before ``before``), oldest first."""

    @abstractmethod
    def applications_of(self, applicant_keys: Sequence[str]) -> dict[str, list[NormalisedApplication]]:
        """Every application of each applicant, oldest first (one query on Neo4j).
        Applicants without applications are absent."""

    @abstractmethod
    def applicants_below(self, bound: str) -> list[str]:
        """Applicant keys that sort below ``bound``, sorted. Keys are uniform keyed hashes,
        so this is a deterministic sample of the population, the same on every backend."""

    @abstractmethod
    def applicant_identifiers(self, applicant_keys: Sequence[str], as_of: float) -> dict[str, tuple[str, ...]]:
        """Identifier node ids each applicant used before ``as_of`` (sorted); applicants
        with none are absent."""

    @abstractmethod
    def identifier_usage(
        self, node_ids: Sequence[str], as_of: float, window: float, hub_limit: int
    ) -> dict[str, IdentifierUsage]:
        """Usage of each identifier before ``as_of``; unknown or unused ids are absent.
        ``recent`` lists uses in ``[as_of - window, as_of)``; ``members`` is empty for hubs."""

    @abstractmethod
    def identifier_applicants(self, node_id: str, limit: int) -> list[IdentifierUser]:
        """The applicants who used an identifier (at any time), most recent use first, then
        by key; at most ``limit``. Read from the identifier's own uses (an index lookup, also
        for a hub), never a scan. Empty for an unknown node or one that is not an identifier."""

    @abstractmethod
    def applicants_exist(self, applicant_keys: Sequence[str]) -> set[str]: ...

    @abstractmethod
    def node_display(self, node_ids: Sequence[str]) -> dict[str, str]:
        """Masked display text of identifier, applicant and application nodes that exist."""

    @abstractmethod
    def neighbourhood(self, node_id: str, depth: int, limit: int) -> Subgraph:
        """Nodes and edges within ``depth`` applicant-identifier hops of a node
        (applications are folded into the links; hubs are not expanded past the start)."""

    @abstractmethod
    def stats(self) -> dict[str, int]:
        """Counts of applications, applicants, identifiers by kind, labels and active rings."""
