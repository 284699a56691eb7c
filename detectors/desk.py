"""The fraud desk: the domain operations the API and the CLI call.

Scoring an application (persisted or dry run), investigator labels with their
audit trail, appeals, and monitoring of existing applicants when the graph
around them changes. One function per operation; the HTTP layer only
validates and maps errors.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from detectors.score import Scorer, ScoreResult
from detectors.signals import Signal
from graph.errors import InvalidInput, NotFound
from graph.normalise import NormalisedApplication, Normaliser
from graph.records import ApplicationRecord
from graph.store import Alert, AuditEntry, Decision, GraphStore, Label
from graph.vocabulary import LABEL_STATUSES, applicant_node, node_kind

ALERT_TIERS: dict[str, str] = {"medium": "watch", "high": "investigate", "critical": "freeze_recommended"}
"""Band reached by an existing applicant on re-scoring -> alert tier."""

_BAND_ORDER = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class Assessment:
    result: ScoreResult
    stored: bool
    replayed: bool = False


def decision_of(result: ScoreResult, at: float, trigger: str) -> Decision:
    return Decision(
        application_id=result.application_id,
        at=at,
        score=result.score,
        band=result.band,
        action=result.action,
        reasons=result.reason_dicts(),
        model_version=result.model_version,
        trigger=trigger,
    )


class FraudDesk:
    def __init__(
        self, store: GraphStore, normaliser: Normaliser, scorer: Scorer, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.normaliser = normaliser
        self.scorer = scorer
        self._clock = clock

    def now(self) -> float:
        return float(self._clock())

    # -- scoring ------------------------------------------------------------------------
    def normalise(self, record: ApplicationRecord) -> NormalisedApplication:
        return self.normaliser.application(record)

    def assess(self, record: ApplicationRecord, *, persist: bool, actor: str) -> Assessment:
        """Score one application; when ``persist``, store it, record the decision and audit it.

        Re-sending a stored application returns its first decision and writes nothing.
        """
        app = self.normalise(record)
        result = self.scorer.score(self.store, app)
        if not persist:
            return Assessment(result, stored=False)
        at = self.now()
        audit = AuditEntry(
            at, actor, "score", app.node_id,
            {"score": round(result.score, 6), "band": result.band, "action": result.action,
             "model": result.model_version, "reasons": [r.code for r in result.reasons]},
        )
        # One write: the application, its decision and its audit event, with the check for
        # an id already stored inside the same transaction (concurrent re-sends store once).
        done = self.store.record_assessment(app, decision_of(result, at, "application"), audit)
        if done.stored:
            return Assessment(result, stored=True)
        if done.first is None:
            # Stored by a bulk load, never scored online: nothing to replay, score as of now.
            return Assessment(result, stored=False)
        return Assessment(self._replay(app, done.first), stored=False, replayed=True)

    @staticmethod
    def _replay(app: NormalisedApplication, decision: Decision) -> ScoreResult:
        """The first decision as it was given: its score, band, action and reasons."""
        reasons = [
            Signal(r["code"], r["detector"], r["value"], r["strength"], r["contribution"], r["sentence"],
                   r["evidence"])
            for r in decision.reasons
        ]
        return ScoreResult(
            application_id=app.application_id,
            applicant_key=app.applicant_key,
            score=decision.score,
            band=decision.band,
            action=decision.action,
            reasons=reasons,
            signals=reasons,
            model_version=decision.model_version,
            as_of=app.ts,
        )

    # -- labels, appeals ----------------------------------------------------------------
    def label(self, node_id: str, status: str, actor: str, reason: str) -> list[Alert]:
        """Mark a node confirmed fraud, cleared or allow-listed; re-score who it affects."""
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
            at, actor, f"label:{status}", node_id,
            {"reason": reason, "previous": previous.status if previous else None},
        )
        return self.monitor(self.affected_by([node_id]), trigger=f"label:{status}:{node_id}")

    def remove_label(self, node_id: str, actor: str, reason: str) -> None:
        previous = self.store.labels([node_id]).get(node_id)
        if previous is None:
            raise NotFound("label", node_id)
        if not reason.strip():
            raise InvalidInput("reason", "a reason is required")
        self.store.remove_label(node_id)
        self.store.append_audit(self.now(), actor, "label:removed", node_id,
                                {"reason": reason, "previous": previous.status})

    def _require_node(self, node_id: str) -> None:
        kind, _, key = node_id.partition(":")
        if kind == "applicant":
            if not self.store.applicants_exist([key]):
                raise NotFound("applicant", node_id)
        elif kind == "application":
            raise InvalidInput("node_id", "label the applicant or an identifier, not an application")
        elif not self.store.node_display([node_id]):
            raise NotFound("node", node_id)

    # -- monitoring ----------------------------------------------------------------------
    def affected_by(self, node_ids: Sequence[str]) -> list[str]:
        """Existing applicants within two hops of the given nodes over specific identifiers."""
        limit = self.scorer.config.params.hub_limit
        now = self.now() + 1.0
        applicants: set[str] = set()
        idents: set[str] = set()
        for nid in node_ids:
            kind, _, key = nid.partition(":")
            if kind == "applicant":
                applicants.add(key)
            else:
                idents.add(nid)
        for ids in self.store.applicant_identifiers(sorted(applicants), now).values():
            idents.update(ids)
        for use in self.store.identifier_usage(sorted(idents), now, 0.0, limit).values():
            applicants.update(use.members)
        return sorted(applicants)

    def on_new_application(self, application_id: str) -> list[Alert]:
        """Re-score existing applicants who share a specific identifier with a newly
        stored application (a new member joining their ring)."""
        app = self.store.application(application_id)
        if app is None:
            return []
        affected = [k for k in self.affected_by([i.node_id for i in app.identifiers]) if k != app.applicant_key]
        return self.monitor(affected, trigger=f"joined:{application_id}") if affected else []

    def monitor(self, applicant_keys: Sequence[str], trigger: str, cap: int = 200) -> list[Alert]:
        """Re-score each applicant's latest application with today's graph; raise an alert
        when the band rises to medium or above."""
        alerts: list[Alert] = []
        now = self.now()
        for key in list(applicant_keys)[:cap]:
            apps = self.store.applicant_applications(key)
            if not apps:
                continue
            latest = apps[-1]
            before = self.store.decisions(latest.application_id)
            previous = before[-1] if before else None
            result = self.scorer.score(self.store, latest, as_of=now + 1.0)
            self.store.record_decision(decision_of(result, now, "monitoring"))
            old_rank = _BAND_ORDER.index(previous.band) if previous else 0
            new_rank = _BAND_ORDER.index(result.band)
            if new_rank > old_rank and result.band in ALERT_TIERS:
                alert = Alert(
                    alert_id=f"AL-{uuid.uuid4().hex[:12]}",
                    applicant_key=key,
                    tier=ALERT_TIERS[result.band],
                    at=now,
                    trigger=trigger,
                    score=result.score,
                    previous_score=previous.score if previous else None,
                    detail={"application_id": latest.application_id, "band": result.band,
                            "previous_band": previous.band if previous else None,
                            "reasons": [r.code for r in result.reasons]},
                )
                self.store.add_alert(alert)
                self.store.append_audit(now, "monitoring", f"alert:{alert.tier}", applicant_node(key),
                                        {"alert_id": alert.alert_id, "trigger": trigger})
                alerts.append(alert)
        return alerts
