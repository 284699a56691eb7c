"""Investigator labels: confirm fraud, clear (an appeal upheld) or allow-list. The label,
its audit event and the re-scoring of whom it reaches are one write: the re-scoring is
queued in the label's own transaction and done by the monitoring worker
(:mod:`api.service.monitoring_worker`), never on the request's thread."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from api.service.alerts import Alerting, label_trigger
from api.service.monitoring import Monitoring
from graph.errors import InvalidInput, NotFound
from graph.store import Alert, Label
from graph.store.records import AuditEntry
from graph.store.work_queue import MONITOR, RELABEL, FollowUp
from graph.vocabulary import LABEL_STATUSES, node_kind

Rescore = Literal["queued", "done", "off"]
REMOVED = "removed"
"""The status of a label change that withdrew the label (its trigger: ``label:removed:<node>``)."""


@dataclass(frozen=True)
class LabelChange:
    rescore: Rescore
    """``queued``: the monitoring worker re-scores whom the change reaches (the service);
    ``done``: it ran in the call (tools, replays) and ``alerts`` are what it raised;
    ``off``: monitoring is switched off (``RINGSIGHT_MONITORING=false``)."""
    alerts: list[Alert] = field(default_factory=list)


class Labelling(Monitoring, Alerting):
    """Labels change what monitoring sees, so labelling is built on it; clearing or
    removing a label withdraws the cause of the alerts it raised."""

    def label(self, node_id: str, status: str, actor: str, reason: str, quiet: bool = False) -> LabelChange:
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
        hush = [node_id.partition(":")[2]] if quiet and node_kind(node_id) == "applicant" else []
        audit = AuditEntry(
            at, actor, f"label:{status}", node_id, {"reason": reason, "previous": previous.status if previous else None}
        )
        self.store.set_label(Label(node_id, status, actor, at, reason), audit, self._follow_up(node_id, status, hush))
        if previous is not None and previous.status != status:
            self.withdraw_cause(node_id, actor, f"label {previous.status} replaced by {status}: {reason}")
        return self._rescored(node_id, status, hush)

    def remove_label(self, node_id: str, actor: str, reason: str) -> LabelChange:
        previous = self.store.labels([node_id]).get(node_id)
        if previous is None:
            raise NotFound("label", node_id)
        if not reason.strip():
            raise InvalidInput("reason", "a reason is required")
        audit = AuditEntry(self.now(), actor, "label:removed", node_id, {"reason": reason, "previous": previous.status})
        self.store.remove_label(node_id, audit, self._follow_up(node_id, REMOVED, []))
        self.withdraw_cause(node_id, actor, f"label {previous.status} removed: {reason}")
        return self._rescored(node_id, REMOVED, [])

    def follow_ups(self) -> dict[str, Callable[[str], list[Alert]]]:
        """What the monitoring worker runs for each kind of queued work."""
        return {MONITOR: self.on_new_application, RELABEL: self.on_relabel}

    def on_relabel(self, subject: str) -> list[Alert]:
        """The queued re-scoring of a label change (``subject`` from :meth:`_follow_up`).
        Skipped when the label has changed again since: that change queued its own."""
        work = json.loads(subject)
        node_id, status = work["node"], work["status"]
        current = self.store.labels([node_id]).get(node_id)
        if (current.status if current is not None else REMOVED) != status:
            return []
        return self._monitor_change(node_id, status, work["quiet"])

    def _follow_up(self, node_id: str, status: str, quiet: list[str]) -> FollowUp | None:
        """The queue item of a label change (``status``: the new label, or ``removed``)."""
        if self.monitoring != "queued":
            return None
        return FollowUp(RELABEL, json.dumps({"node": node_id, "status": status, "quiet": quiet}), self.now())

    def _rescored(self, node_id: str, status: str, quiet: list[str]) -> LabelChange:
        if self.monitoring == "inline":
            return LabelChange("done", self._monitor_change(node_id, status, quiet))
        if self.monitoring == "queued":
            self.work_queued()
            return LabelChange("queued")
        return LabelChange("off")

    def _monitor_change(self, node_id: str, status: str, quiet: list[str]) -> list[Alert]:
        """Re-score whom the change reaches; their alerts name it by :func:`label_trigger`
        (what :meth:`~api.service.alerts.Alerting.withdraw_cause` resolves)."""
        return self.monitor(self.affected_by([node_id]), trigger=label_trigger(status, node_id), quiet=frozenset(quiet))

    def _require_node(self, node_id: str) -> None:
        kind, _, key = node_id.partition(":")
        if kind == "applicant":
            if not self.store.applicants_exist([key]):
                raise NotFound("applicant", node_id)
        elif kind == "application":
            raise InvalidInput("node_id", "label the applicant or an identifier, not an application")
        elif not self.store.node_display([node_id]):
            raise NotFound("node", node_id)
