"""Assessment: score an application before approval, and when it is stored, write it
with its decision and audit event in one transaction (re-sends replay the first decision)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from api.service.models import SHADOW, ModelChoice
from api.service.online_rings import ring_after_storing
from detectors.rings.online import OnlineRing
from detectors.score import Scorer, ScoreResult
from detectors.signals import Signal
from graph.errors import StoreUnavailable
from graph.normalise import NormalisedApplication
from graph.records import ApplicationRecord
from graph.store import AuditEntry, Decision

log = logging.getLogger("ringsight")


@dataclass(frozen=True)
class Assessment:
    result: ScoreResult
    stored: bool
    replayed: bool = False
    ring: OnlineRing | None = None
    """The applicant's ring after storing (online join, provisional ring or batch ring)."""


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


def champion_decisions(decisions: Sequence[Decision]) -> list[Decision]:
    """The decisions that were given (a challenger's ``shadow:<version>`` ones left out)."""
    return [d for d in decisions if not d.trigger.startswith(SHADOW)]


class Assessing(ModelChoice):
    def normalise(self, record: ApplicationRecord) -> NormalisedApplication:
        return self.normaliser.application(record)

    def assess(self, record: ApplicationRecord, *, persist: bool, actor: str) -> Assessment:
        """Score one application; when ``persist``, store it, record the decision and audit it.

        Re-sending a stored application returns its first decision and writes nothing.
        """
        app = self.normalise(record)
        self.refresh_models()
        scorer, shadow = self.scorer, self.shadow if persist else None
        # One read: the challenger weighs the champion's observations of the same snapshot,
        # and the online ring assignment takes whom the application links to from it.
        snapshot = scorer.read(self.store, app)
        observed = scorer.observe_snapshot(snapshot, app)
        result = scorer.result(app, scorer.weigh(observed), snapshot.as_of)
        if not persist:
            return Assessment(result, stored=False)
        at = self.now()
        audit = AuditEntry(
            at,
            actor,
            "score",
            app.node_id,
            {
                "score": round(result.score, 6),
                "band": result.band,
                "action": result.action,
                "model": result.model_version,
                "reasons": [r.code for r in result.reasons],
            },
        )
        # One write: the application, its decision and its audit event, with the check for
        # an id already stored inside the same transaction (concurrent re-sends store once).
        done = self.store.record_assessment(
            app, decision_of(result, at, "application"), audit, monitor=self.monitoring == "queued"
        )
        ring = ring_after_storing(self.store, app, self.scorer.config.params, at, stored=done.stored, snapshot=snapshot)
        if done.stored:
            if self.monitoring == "queued":
                self.work_queued()
            if shadow is not None:
                self._record_shadow(shadow, shadow.result(app, shadow.weigh(observed), snapshot.as_of), at)
            return Assessment(result, stored=True, ring=ring)
        if done.first is None:
            # Stored by a bulk load, never scored online: nothing to replay, score as of now.
            return Assessment(result, stored=False)
        return Assessment(self._replay(app, done.first), stored=False, replayed=True, ring=ring)

    def _record_shadow(self, shadow: Scorer, result: ScoreResult, at: float) -> None:
        """The challenger's decision, recorded beside the champion's (never answered)."""
        try:
            self.store.record_decision(decision_of(result, at, f"{SHADOW}{shadow.model.version}"))
        except StoreUnavailable as exc:
            log.warning("shadow decision of %s not recorded: %s", result.application_id, exc)

    @staticmethod
    def _replay(app: NormalisedApplication, decision: Decision) -> ScoreResult:
        """The first decision as it was given: its score, band, action and reasons."""
        reasons = [
            Signal(r["code"], r["detector"], r["value"], r["strength"], r["contribution"], r["sentence"], r["evidence"])
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
