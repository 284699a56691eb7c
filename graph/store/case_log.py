"""The case log seam: what people and the desk decided about the graph.

Decisions, investigator labels, alerts, the append-only audit log and
store-wide settings. Casework adds cases here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from graph.store.records import Alert, AuditEvent, Decision, Label


class CaseLog(ABC):
    @abstractmethod
    def record_decision(self, decision: Decision) -> None: ...

    @abstractmethod
    def decisions(self, application_id: str) -> list[Decision]:
        """Every decision on an application, oldest first."""

    @abstractmethod
    def set_label(self, label: Label) -> None: ...

    @abstractmethod
    def remove_label(self, node_id: str) -> None: ...

    @abstractmethod
    def labels(self, node_ids: Sequence[str] | None = None) -> dict[str, Label]:
        """Current labels, of the given nodes or of every labelled node."""

    @abstractmethod
    def add_alert(self, alert: Alert) -> None: ...

    @abstractmethod
    def alerts(self, status: str | None = None, limit: int = 100) -> list[Alert]:
        """Newest first."""

    @abstractmethod
    def set_alert_status(self, alert_id: str, status: str) -> None: ...

    @abstractmethod
    def append_audit(self, at: float, actor: str, action: str, subject: str, detail: dict[str, Any]) -> int:
        """Append one event to the append-only audit log; return its sequence number."""

    @abstractmethod
    def audit(self, subject: str | None = None, limit: int = 100) -> list[AuditEvent]:
        """Newest first."""

    @abstractmethod
    def setting(self, name: str) -> str | None:
        """A store-wide setting, e.g. the fingerprint of the PII key its identifiers
        were hashed with (see :func:`graph.store.factory.bind_pii_key`)."""

    @abstractmethod
    def put_setting(self, name: str, value: str) -> None: ...
