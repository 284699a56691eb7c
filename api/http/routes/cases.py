"""Cases: open one (from an alert, a decision, a ring or by hand), the queue, one case
with its timeline, and the steps of layered review and appeal."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.http.deps import Desk, Investigator
from api.http.errors import problem_responses
from api.http.routes.common import READ_ONE, WRITE
from api.http.schemas.cases import CaseOpen, CaseStepRequest, CaseStepView, CaseSummary, CaseView
from api.http.schemas.common import CaseLayer, CaseStatus
from api.service.cases import subject_kind
from api.service.desk import FraudDesk
from graph.store.records import Case

router = APIRouter(tags=["cases"])


def _view(desk: FraudDesk, case: Case, actor: str) -> CaseView:
    display = desk.subject_displays([case])[case.subject]
    return CaseView(
        **CaseSummary.fields_of(case, subject_kind(case.subject), display),
        evidence=case.evidence,
        timeline=[CaseStepView.of(s) for s in case.steps],
        actions=desk.actions_for(case, actor),
        outcomes=desk.outcomes_for(case, actor),
    )


@router.post(
    "/cases",
    status_code=201,
    operation_id="openCase",
    summary="Open a case on an applicant, identifier, decision or ring, or from an alert (audited)",
    responses=problem_responses(*WRITE, 409),
)
def open_case(body: CaseOpen, desk: Desk, actor: Investigator, response: Response) -> CaseView:
    case = desk.open_case(body.subject, body.reason, actor, body.alert_id)
    response.headers["Location"] = f"/v1/cases/{case.case_id}"
    return _view(desk, case, actor)


@router.get(
    "/cases",
    operation_id="listCases",
    summary="The case queue, most recently updated first (owner= empty: unassigned)",
    responses=problem_responses(401, 403, 422, 503),
)
def cases(
    desk: Desk,
    _: Investigator,
    status: CaseStatus | None = None,
    layer: CaseLayer | None = None,
    owner: Annotated[str | None, Query(max_length=100, description="An actor; empty: unassigned")] = None,
    subject: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[CaseSummary]:
    found = desk.cases_by(status, layer, owner, subject, limit)
    display = desk.subject_displays(found)
    return [CaseSummary(**CaseSummary.fields_of(c, subject_kind(c.subject), display[c.subject])) for c in found]


@router.get(
    "/cases/{case_id}",
    operation_id="getCase",
    summary="One case: frozen evidence, timeline, and what the calling key may do",
    responses=problem_responses(*READ_ONE),
)
def case(case_id: str, desk: Desk, actor: Investigator) -> CaseView:
    return _view(desk, desk.case_file(case_id), actor)


@router.post(
    "/cases/{case_id}/steps",
    operation_id="stepCase",
    summary="Assign, recommend, decide, escalate, appeal or close (audited; four eyes)",
    responses=problem_responses(*WRITE, 409),
)
def step(case_id: str, body: CaseStepRequest, desk: Desk, actor: Investigator) -> CaseView:
    case = desk.step(case_id, body.action, body.outcome, body.reason, actor, body.limit_share, body.evidence)
    return _view(desk, case, actor)
