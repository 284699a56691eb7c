"""Loan outcomes: record what became of an application (and when it became known), list them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.http.deps import Desk, Investigator
from api.http.errors import problem_responses
from api.http.routes.common import READ, WRITE
from api.http.schemas.alerts import AlertView
from api.http.schemas.outcomes import OutcomeRequest, OutcomeResult, OutcomeView

router = APIRouter()


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
