"""Loan outcomes: record what became of an application (and when it became known), list them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from api.http.deps import Desk, Investigator
from api.http.errors import problem_responses
from api.http.routes.common import READ, WRITE
from api.http.schemas import RESCORE_DESCRIPTION, AlertView, Rescore
from graph.store.outcomes import OUTCOMES, Outcome

router = APIRouter()

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


@router.post(
    "/outcomes",
    tags=["investigation"],
    operation_id="recordOutcome",
    summary="Record a loan outcome; one that counts as fraud labels the applicant confirmed fraud",
    status_code=201,
    responses=problem_responses(*WRITE),
)
def record_outcome(body: OutcomeRequest, desk: Desk, actor: Investigator) -> OutcomeResult:
    done = desk.record_outcome(body.application_id, body.outcome, body.known_at.timestamp(), actor, body.reason)
    return OutcomeResult(
        outcome=OutcomeView.of(done.outcome),
        counts_as_fraud=done.counts_as_fraud,
        labelled=done.labelled,
        rescore=done.change.rescore if done.change else None,
        alerts=[AlertView.of(a) for a in done.change.alerts] if done.change else [],
    )


@router.get(
    "/outcomes",
    tags=["investigation"],
    operation_id="listOutcomes",
    summary="Recorded outcomes (of one application when given), oldest known first",
    responses=problem_responses(*READ, 422),
)
def outcomes(
    desk: Desk,
    _: Investigator,
    application_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> list[OutcomeView]:
    return [OutcomeView.of(o) for o in desk.outcomes_of(application_id, limit)]
