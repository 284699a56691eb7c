"""Loan outcomes: what became of an application, recorded with when it became known,
audited; one that counts as fraud (``fraud_outcomes``) labels the applicant confirmed
fraud through :meth:`~api.service.labels.Labelling.label`, so whom it links to is
re-scored and alerted as for an investigator's label."""

from __future__ import annotations

from dataclasses import dataclass

from api.service.labels import LabelChange, Labelling
from api.service.models import ModelChoice
from graph.errors import InvalidInput, NotFound
from graph.store.outcomes import OUTCOMES, Outcome
from graph.vocabulary import applicant_node

CLOCK_SKEW = 300.0


@dataclass(frozen=True)
class Recorded:
    outcome: Outcome
    counts_as_fraud: bool
    labelled: bool
    """Whether the applicant was labelled confirmed fraud by this outcome (False when it
    already was, or the outcome is not fraud)."""
    change: LabelChange | None = None
    """The label's change (its re-scoring) when it labelled."""


class OutcomeRecording(Labelling, ModelChoice):
    def record_outcome(
        self, application_id: str, outcome: str, known_at: float, actor: str, reason: str = ""
    ) -> Recorded:
        if outcome not in OUTCOMES:
            raise InvalidInput("outcome", f"must be one of {', '.join(OUTCOMES)}")
        app = self.store.application(application_id)
        if app is None:
            raise NotFound("application", application_id)
        now = self.now()
        if known_at > now + CLOCK_SKEW:
            raise InvalidInput("known_at", "an outcome cannot be known in the future")
        if known_at < app.ts:
            raise InvalidInput("known_at", "an outcome cannot be known before the application was submitted")
        recorded = Outcome(application_id, outcome, known_at, now, actor, reason.strip())
        self.store.record_outcome(recorded)
        fraud = outcome in self.fraud_outcomes
        self.store.append_audit(
            now,
            actor,
            f"outcome:{outcome}",
            app.node_id,
            {"known_at": known_at, "reason": recorded.reason, "counts_as_fraud": fraud},
        )
        if not fraud:
            return Recorded(recorded, False, False)
        subject = applicant_node(app.applicant_key)
        current = self.store.labels([subject]).get(subject)
        if current is not None and current.status == "confirmed_fraud":
            return Recorded(recorded, True, False)
        why = f"outcome {outcome} on application {application_id}" + (f": {recorded.reason}" if recorded.reason else "")
        return Recorded(recorded, True, True, self.label(subject, "confirmed_fraud", actor, why))

    def outcomes_of(self, application_id: str | None = None, limit: int = 1000) -> list[Outcome]:
        return self.store.outcomes(application_id=application_id)[-limit:]
