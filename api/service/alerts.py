"""The alert lifecycle: ``open -> acknowledged -> in_case -> resolved``, each move with who
and why and audited. A case takes an alert ``in_case``; withdrawing the cause of an alert
(the label that raised it is cleared or removed) resolves it with that reason."""

from __future__ import annotations

from api.service.base import DeskBase
from graph.errors import Conflict, InvalidInput, NotFound
from graph.store import Alert
from graph.vocabulary import ALERT_STATUSES, LABEL_STATUSES, applicant_node

_NEXT: dict[str, tuple[str, ...]] = {
    "open": ("acknowledged", "in_case", "resolved"),
    "acknowledged": ("in_case", "resolved"),
    "in_case": ("resolved",),
    "resolved": (),
}
"""Where an alert may move from each status (an alert never goes back)."""


def label_trigger(status: str, node_id: str) -> str:
    """The trigger of the alerts a label change on ``node_id`` raised (``status``: the new
    label, or ``removed``)."""
    return f"label:{status}:{node_id}"


def label_triggers(node_id: str) -> list[str]:
    """The triggers of the alerts a label on ``node_id`` raised (see ``Labelling.label``)."""
    return [label_trigger(status, node_id) for status in LABEL_STATUSES]


class Alerting(DeskBase):
    def alerts_by(self, status: str | None, limit: int) -> list[tuple[Alert, str]]:
        """Alerts (newest first) with each applicant's masked display."""
        found = self.store.alerts(status, limit)
        display = self.store.node_display([applicant_node(a.applicant_key) for a in found])
        return [(a, display.get(applicant_node(a.applicant_key), "")) for a in found]

    def alert_file(self, alert_id: str) -> tuple[Alert, str]:
        alert = self.store.alert(alert_id)
        if alert is None:
            raise NotFound("alert", alert_id)
        node = applicant_node(alert.applicant_key)
        return alert, self.store.node_display([node]).get(node, "")

    def handle_alert(self, alert_id: str, status: str, reason: str, actor: str, case_id: str | None = None) -> Alert:
        """Move an alert on in its life (``in_case`` only with the case that takes it)."""
        if status not in ALERT_STATUSES or status == "open":
            raise InvalidInput("status", f"an alert moves to one of {', '.join(ALERT_STATUSES[1:])}")
        if status == "in_case" and case_id is None:
            raise InvalidInput("status", "an alert goes in_case by opening a case from it (POST /v1/cases)")
        if not reason.strip():
            raise InvalidInput("reason", "a reason is required")
        alert = self.store.alert(alert_id)
        if alert is None:
            raise NotFound("alert", alert_id)
        if status not in _NEXT[alert.status]:
            raise Conflict(f"alert {alert_id} is {alert.status}; it cannot become {status}")
        moved = self.store.set_alert_status(alert_id, status, actor, self.now(), reason, case_id)
        detail = {"reason": reason, "previous": alert.status, **({"case_id": case_id} if case_id else {})}
        self.store.append_audit(self.now(), actor, f"alert:{status}", alert_id, detail)
        return moved

    def withdraw_cause(self, node_id: str, actor: str, reason: str) -> list[Alert]:
        """Resolve the unresolved alerts a label on ``node_id`` raised; audited one by one."""
        note = f"cause withdrawn: {reason}"
        resolved = self.store.resolve_alerts(label_triggers(node_id), actor, self.now(), note)
        for alert in resolved:
            self.store.append_audit(
                self.now(), actor, "alert:resolved", alert.alert_id, {"reason": note, "cause": node_id}
            )
        return resolved
