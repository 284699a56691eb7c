"""Monitoring of existing applicants: when the graph around them changes (a label, a
new application joining their ring) they are re-scored with today's graph, and an
alert with a tier is raised when their band rises."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from api.service.assessment import champion_decisions, decision_of
from api.service.base import DeskBase, applicant_key
from detectors.rings.online import current as current_ring
from graph.errors import NotFound
from graph.store import Alert, Decision
from graph.vocabulary import applicant_node

ALERT_TIERS: dict[str, str] = {"medium": "watch", "high": "investigate", "critical": "freeze_recommended"}
"""Band reached by an existing applicant on re-scoring -> alert tier."""

_BAND_ORDER = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class Rescored:
    applicant_key: str
    decision: Decision
    """The new decision on the applicant's latest application."""
    alerts: list[Alert]


class Monitoring(DeskBase):
    def affected_by(self, node_ids: Sequence[str]) -> list[str]:
        """Existing applicants within two hops of the given nodes over specific identifiers
        (an employer or a carrier IP links everyone to everyone: re-scoring all who share one
        would cost hundreds of scores per stored application and change nothing)."""
        params = self.scorer.config.params
        limit = params.hub_limit
        now = self.now() + 1.0
        applicants: set[str] = set()
        idents: set[str] = set()
        for nid in node_ids:
            kind, _, key = nid.partition(":")
            if kind == "applicant":
                applicants.add(key)
            else:
                idents.add(nid)
        # The nodes named themselves always count (a labelled employer reaches its staff);
        # the identifiers of the applicants named count when they link people.
        for ids in self.store.applicant_identifiers(sorted(applicants), now).values():
            idents.update(n for n in ids if params.links_people(n.partition(":")[0]))
        for use in self.store.identifier_usage(sorted(idents), now, 0.0, limit).values():
            applicants.update(use.members)
        return sorted(applicants)

    def on_new_application(self, application_id: str) -> list[Alert]:
        """Re-score existing applicants who share a specific identifier with a newly
        stored application (a new member joining their ring)."""
        app = self.store.application(application_id)
        if app is None:
            return []
        linking = [i.node_id for i in app.identifiers if self.scorer.config.params.links_people(i.kind)]
        affected = [k for k in self.affected_by(linking) if k != app.applicant_key]
        return self.monitor(affected, trigger=f"joined:{application_id}") if affected else []

    def pending_monitoring(self) -> int:
        """Monitoring work queued in the store and not done yet (by any process)."""
        return self.store.pending_work()

    def rescore(self, applicant_id: str, actor: str) -> Rescored:
        """Re-evaluate one applicant with today's graph (appeals, reviews); audited."""
        key = applicant_key(applicant_id)
        if not self.store.applicants_exist([key]):
            raise NotFound("applicant", applicant_id)
        alerts = self.monitor([key], trigger=f"rescore:{actor}")
        latest = self.store.applicant_applications(key)[-1]
        self.store.append_audit(self.now(), actor, "rescore", applicant_node(key), {"alerts": len(alerts)})
        return Rescored(key, champion_decisions(self.store.decisions(latest.application_id))[-1], alerts)

    def monitor(
        self, applicant_keys: Sequence[str], trigger: str, cap: int = 200, quiet: frozenset[str] = frozenset()
    ) -> list[Alert]:
        """Re-score each applicant's latest application with today's graph; raise an alert
        when the band rises to medium or above (except for the applicants in ``quiet``: a
        case that has just decided on them needs no alert to say so)."""
        alerts: list[Alert] = []
        now = self.now()
        for key in list(applicant_keys)[:cap]:
            apps = self.store.applicant_applications(key)
            if not apps:
                continue
            latest = apps[-1]
            before = champion_decisions(self.store.decisions(latest.application_id))
            previous = before[-1] if before else None
            result = self.scorer.score(self.store, latest, as_of=now + 1.0)
            self.store.record_decision(decision_of(result, now, "monitoring"))
            old_rank = _BAND_ORDER.index(previous.band) if previous else 0
            new_rank = _BAND_ORDER.index(result.band)
            if new_rank > old_rank and result.band in ALERT_TIERS and key not in quiet:
                alert = Alert(
                    alert_id=f"AL-{uuid.uuid4().hex[:12]}",
                    applicant_key=key,
                    tier=ALERT_TIERS[result.band],
                    at=now,
                    trigger=trigger,
                    score=result.score,
                    previous_score=previous.score if previous else None,
                    detail={
                        "application_id": latest.application_id,
                        "band": result.band,
                        "previous_band": previous.band if previous else None,
                        "reasons": [r.code for r in result.reasons],
                        "ring_id": ring.ring_id if (ring := current_ring(self.store, key)) else None,
                    },
                )
                if not self.store.add_alert(alert):
                    continue  # the applicant has an unresolved alert of this tier already
                self.store.append_audit(
                    now,
                    "monitoring",
                    f"alert:{alert.tier}",
                    applicant_node(key),
                    {"alert_id": alert.alert_id, "trigger": trigger},
                )
                alerts.append(alert)
        return alerts
