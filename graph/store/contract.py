"""A whole store: the seams, its URL and its lifecycle.

Two backends implement it, each in its own package: the embedded store
(:mod:`graph.store.embedded`; ``sqlite:///path`` or ``memory://``) and Neo4j
(:mod:`graph.store.neo4j`; ``neo4j://``, ``bolt://``, ``neo4j+s://``). Callers
type against the narrowest seam they use (the scorer against
:class:`~graph.store.reader.GraphReader`, ring runs against
:class:`~graph.store.batch.GraphBatch`), and only
:func:`graph.store.factory.open_store` names a backend.
"""

from __future__ import annotations

from abc import abstractmethod

from graph.store.audit_seals import AuditSeals
from graph.store.batch import GraphBatch
from graph.store.case_log import CaseLog
from graph.store.outcomes import Outcomes
from graph.store.reader import GraphReader
from graph.store.work_queue import WorkQueue
from graph.store.writer import GraphWriter


class GraphStore(GraphReader, GraphWriter, CaseLog, AuditSeals, WorkQueue, GraphBatch, Outcomes):
    """Every seam of one backend."""

    url: str
    waits_on_network: bool = False
    """True when calls wait on a server (callers may overlap them on threads); False when
    they are answered from this process's memory (pure CPU)."""

    @abstractmethod
    def ping(self) -> None:
        """Raise :class:`graph.errors.StoreUnavailable` if the store cannot answer."""

    @abstractmethod
    def close(self) -> None: ...

    def problems(self) -> list[str]:
        """What is wrong with the stored data though the store serves (readiness reports it)."""
        return []

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
