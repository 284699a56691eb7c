"""Loan outcomes: recording what became of an application, and showing it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, get_args

from pydantic import AwareDatetime, BaseModel, Field

from api.http.schemas.alerts import AlertView
from api.http.schemas.labels import RESCORE_DESCRIPTION, Rescore
from graph.store.outcomes import OUTCOMES, Outcome

OutcomeKind = Literal["repaid", "first_payment_default", "charged_off", "fraud_confirmed", "chargeback"]
assert set(get_args(OutcomeKind)) == set(OUTCOMES), "the API's outcomes are the store's"


class OutcomeRequest(BaseModel):
    application_id: str = Field(min_length=1, max_length=200)
    outcome: OutcomeKind
    known_at: AwareDatetime = Field(description="When the lender learned it (ISO 8601 with a zone)")
    reason: str = Field("", max_length=2000)


class OutcomeView(BaseModel):
    application_id: str
    outcome: str
    known_at: datetime
    recorded_at: datetime
    by: str
    reason: str

    @classmethod
    def of(cls, o: Outcome) -> OutcomeView:
        return cls(
            application_id=o.application_id,
            outcome=o.outcome,
            known_at=datetime.fromtimestamp(o.known_at, UTC),
            recorded_at=datetime.fromtimestamp(o.recorded_at, UTC),
            by=o.by,
            reason=o.reason,
        )


class OutcomeResult(BaseModel):
    outcome: OutcomeView
    counts_as_fraud: bool = Field(description="Whether the deployment counts this outcome as fraud")
    labelled: bool = Field(description="Whether the applicant was labelled confirmed fraud by it")
    rescore: Rescore | None = Field(description="When it labelled: " + RESCORE_DESCRIPTION)
    alerts: list[AlertView] = Field(description="Alerts raised in the call (rescore `done`)")
