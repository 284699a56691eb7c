"""Assessment: score an application before approval, and when it is stored, write it
with its decision and audit event in one transaction (re-sends replay the first decision)."""

from __future__ import annotations

from dataclasses import dataclass

from api.service.base import DeskBase
from detectors.score import ScoreResult
from detectors.signals import Signal
from graph.normalise import NormalisedApplication
from graph.records import ApplicationRecord
from graph.store import AuditEntry, Decision


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


class Assessing(DeskBase):
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
            app, decision_of(result, at, "application"), audit, monitor=self.queue_monitoring
        )
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
