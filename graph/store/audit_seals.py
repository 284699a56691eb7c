"""The audit seals seam: tamper evidence for the append-only audit log.

The audit log is append-only on both backends, but a database's own users can still
change it (on Neo4j nothing stops a ``SET`` on an ``AuditEvent``). So the desk seals it:
each seal covers the events after the previous seal up to a settled sequence number,
holds a running SHA-256 chain over them and a keyed MAC (under the deployment's secret,
which the database never holds). Verification recomputes the chain from the first event:
any event changed, removed or slipped into a sealed range breaks it, and a seal rewritten
to match fails its MAC. See :mod:`api.service.audit_integrity`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from graph.store.records import AuditEvent, AuditSeal


class AuditSeals(ABC):
    @abstractmethod
    def audit_after(self, after: int, upto: int, limit: int) -> list[AuditEvent]:
        """Audit events with ``after < seq <= upto``, oldest first, at most ``limit``."""

    @abstractmethod
    def audit_settled(self) -> int:
        """The highest sequence number no event yet to commit can fall below (sealing
        up to it never misses a late commit)."""

    @abstractmethod
    def audit_seals(self) -> list[AuditSeal]:
        """Every seal, oldest first."""

    @abstractmethod
    def add_audit_seal(self, seal: AuditSeal) -> None:
        """Append a seal; :class:`~graph.errors.Conflict` if seal ``n`` exists (another
        process sealed first)."""
