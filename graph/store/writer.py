"""The writer seam: applications into the graph.

Every write is one transaction: it happens whole or not at all, and a failed
write leaves nothing behind that a later write could commit by accident.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from graph.normalise import NormalisedApplication
from graph.store.records import AuditEntry, Decision, Recorded


class GraphWriter(ABC):
    @abstractmethod
    def upsert(self, applications: Sequence[NormalisedApplication]) -> int:
        """Store a batch idempotently; return how many were new.

        Re-sending an application id with the same applicant replaces nothing
        and creates no duplicate; the same id for a different applicant raises
        :class:`graph.errors.Conflict` and writes nothing of the batch.
        """

    @abstractmethod
    def record_assessment(
        self, app: NormalisedApplication, decision: Decision, audit: AuditEntry, monitor: bool = False
    ) -> Recorded:
        """Store one scored application with its decision and audit event in one
        transaction. The check for an already stored id is inside it: of concurrent
        sends of one id exactly one is stored; the others write nothing and get the
        first send's decision. The same id for another applicant raises Conflict.
        ``monitor``: queue the monitoring of the stored application in the same
        transaction (a ``monitor`` item of :mod:`graph.store.work_queue`)."""
