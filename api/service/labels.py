"""Investigator labels: confirm fraud, clear (an appeal upheld) or allow-list, each
audited and followed by monitoring of whom the change reaches."""

from __future__ import annotations

from api.service.alerts import Alerting
from api.service.monitoring import Monitoring
from graph.errors import InvalidInput, NotFound
from graph.store import Alert, Label
from graph.vocabulary import LABEL_STATUSES, node_kind


class Labelling(Monitoring, Alerting):
    """Labels change what monitoring sees, so labelling is built on it; clearing or
    removing a label withdraws the cause of the alerts it raised."""

    def label(self, node_id: str, status: str, actor: str, reason: str, quiet: bool = False) -> list[Alert]:
        """Mark a node confirmed fraud, cleared or allow-listed; re-score who it affects
        (``quiet``: without alerting the labelled applicant itself, when a case decided it)."""
        if status not in LABEL_STATUSES:
            raise InvalidInput("status", f"must be one of {', '.join(LABEL_STATUSES)}")
        if not reason.strip():
            raise InvalidInput("reason", "a reason is required for every label")
        if status == "allow_listed" and node_kind(node_id) == "applicant":
            raise InvalidInput("status", "only identifiers can be allow-listed")
        self._require_node(node_id)
        previous = self.store.labels([node_id]).get(node_id)
        at = self.now()
        self.store.set_label(Label(node_id, status, actor, at, reason))
        self.store.append_audit(
            at,
            actor,
            f"label:{status}",
            node_id,
            {"reason": reason, "previous": previous.status if previous else None},
        )
        if previous is not None and previous.status != status:
            self.withdraw_cause(node_id, actor, f"label {previous.status} replaced by {status}: {reason}")
        hush = frozenset({node_id.partition(":")[2]}) if quiet and node_kind(node_id) == "applicant" else frozenset()
        return self.monitor(self.affected_by([node_id]), trigger=f"label:{status}:{node_id}", quiet=hush)

    def remove_label(self, node_id: str, actor: str, reason: str) -> None:
        previous = self.store.labels([node_id]).get(node_id)
        if previous is None:
            raise NotFound("label", node_id)
        if not reason.strip():
            raise InvalidInput("reason", "a reason is required")
        self.store.remove_label(node_id)
        self.store.append_audit(
            self.now(), actor, "label:removed", node_id, {"reason": reason, "previous": previous.status}
        )
        self.withdraw_cause(node_id, actor, f"label {previous.status} removed: {reason}")
        self.monitor(self.affected_by([node_id]), trigger=f"label:removed:{node_id}")

    def _require_node(self, node_id: str) -> None:
        kind, _, key = node_id.partition(":")
        if kind == "applicant":
            if not self.store.applicants_exist([key]):
                raise NotFound("applicant", node_id)
        elif kind == "application":
            raise InvalidInput("node_id", "label the applicant or an identifier, not an application")
        elif not self.store.node_display([node_id]):
            raise NotFound("node", node_id)
