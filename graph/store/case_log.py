"""The case log seam: what people and the desk decided about the graph.

Decisions, investigator labels, alerts and their life, cases and their steps,
the append-only audit log and store-wide settings.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from graph.store.records import Alert, AuditEntry, AuditEvent, Case, Decision, DecisionCount, Label, WorkCount
from graph.store.work_queue import FollowUp


class CaseLog(ABC):
    @abstractmethod
    def record_decision(self, decision: Decision) -> None: ...

    @abstractmethod
    def decisions(self, application_id: str) -> list[Decision]:
        """Every decision on an application, oldest first."""

    @abstractmethod
    def decision_summary(self, since: float, trigger: str = "application") -> list[DecisionCount]:
        """Decisions of ``trigger`` made at or after ``since``, counted in the database by UTC
        day, band, action and the channel and product of their application; sorted by
        day, band, action, channel, product (None first)."""

    @abstractmethod
    def set_label(self, label: Label, audit: AuditEntry | None = None, follow_up: FollowUp | None = None) -> None:
        """Set (or replace) the label of ``label.node_id``; with its audit event and the work
        it causes (the re-scoring of whom it reaches), when given, in the same transaction."""

    @abstractmethod
    def remove_label(self, node_id: str, audit: AuditEntry | None = None, follow_up: FollowUp | None = None) -> None:
        """Remove the label of ``node_id`` (nothing if it has none); with its audit event and
        follow-up work, when given, in the same transaction."""

    @abstractmethod
    def labels(self, node_ids: Sequence[str] | None = None) -> dict[str, Label]:
        """Current labels, of the given nodes or of every labelled node."""

    @abstractmethod
    def add_alert(self, alert: Alert) -> bool:
        """Store a new alert; False (nothing written) when the applicant already has an
        unresolved alert of the same tier. The check and the write are one atomic step in
        the database, so any number of processes raise one alert."""

    @abstractmethod
    def alert(self, alert_id: str) -> Alert | None: ...

    @abstractmethod
    def alerts(self, status: str | None = None, limit: int = 100, applicant_key: str | None = None) -> list[Alert]:
        """Newest first."""

    @abstractmethod
    def set_alert_status(
        self, alert_id: str, status: str, by: str, at: float, note: str, case_id: str | None = None
    ) -> Alert:
        """Move an alert to ``status`` (who, when, why; the case that took it on) and return it;
        :class:`~graph.errors.NotFound` if there is no such alert."""

    @abstractmethod
    def resolve_alerts(self, triggers: Sequence[str], by: str, at: float, note: str) -> list[Alert]:
        """Resolve every unresolved alert raised by one of ``triggers`` (its cause was
        withdrawn); return them as resolved."""

    @abstractmethod
    def alert_summary(self, since: float, cutoffs: Sequence[float]) -> list[WorkCount]:
        """Every alert counted in the database by tier, status, age (against ``cutoffs``,
        newest first, by the time it was raised) and whether raised at or after ``since``
        (see :class:`~graph.store.records.WorkCount`); sorted by its fields."""

    # -- cases --------------------------------------------------------------------------------------
    @abstractmethod
    def open_case(self, case: Case, audit: AuditEntry) -> None:
        """Store a new case with its opening step and the audit event of opening it, in one
        transaction; :class:`~graph.errors.Conflict` if the case id exists."""

    @abstractmethod
    def add_case_step(self, case: Case, audit: AuditEntry) -> None:
        """Write ``case``'s state and its last step (number ``case.version``) with its audit
        event, in one transaction, only if the stored case is at version ``case.version - 1``;
        :class:`~graph.errors.Conflict` otherwise (someone stepped first)."""

    @abstractmethod
    def case(self, case_id: str) -> Case | None:
        """A case with every step, oldest first."""

    @abstractmethod
    def cases(
        self,
        status: str | None = None,
        layer: str | None = None,
        owner: str | None = None,
        subject: str | None = None,
        limit: int = 100,
    ) -> list[Case]:
        """Cases matching every filter given (``owner=""``: unassigned), most recently
        updated first, without their steps."""

    @abstractmethod
    def case_summary(self, since: float, cutoffs: Sequence[float]) -> list[WorkCount]:
        """Every case counted in the database by layer, status, age (by the time it was
        opened) and whether opened at or after ``since``, as :meth:`alert_summary`."""

    @abstractmethod
    def append_audit(self, at: float, actor: str, action: str, subject: str, detail: dict[str, Any]) -> int:
        """Append one event to the append-only audit log; return its sequence number."""

    @abstractmethod
    def audit(self, subject: str | None = None, limit: int = 100) -> list[AuditEvent]:
        """Newest first."""

    @abstractmethod
    def audit_by_action(self, action: str, limit: int = 100) -> list[AuditEvent]:
        """Events of one action (e.g. ``rings:run``), newest first (an index lookup)."""

    @abstractmethod
    def setting(self, name: str) -> str | None:
        """A store-wide setting, e.g. the fingerprint of the PII key its identifiers
        were hashed with (see :func:`graph.store.factory.bind_pii_key`)."""

    @abstractmethod
    def put_setting(self, name: str, value: str) -> None: ...
