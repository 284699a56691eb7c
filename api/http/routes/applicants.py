"""Applications and applicants: their files, networks and re-evaluation."""

from __future__ import annotations

from fastapi import APIRouter

from api.http.deps import Desk, Investigator
from api.http.errors import problem_responses
from api.http.routes.common import READ_ONE, Depth, Limit, decision_views, identifier_views, network_view
from api.http.schemas.alerts import AlertView
from api.http.schemas.applicants import (
    ApplicantApplication,
    ApplicantView,
    ApplicationView,
    IdentifierView,
    RescoreResult,
)
from api.http.schemas.labels import LabelView
from api.http.schemas.network import Network
from api.http.schemas.scoring import DecisionView
from api.service.base import applicant_key
from graph.vocabulary import applicant_node

router = APIRouter()


@router.get(
    "/applications/{application_id}",
    tags=["investigation"],
    operation_id="getApplication",
    summary="An application with its decision history",
    responses=problem_responses(*READ_ONE),
)
def application(application_id: str, desk: Desk, _: Investigator) -> ApplicationView:
    file = desk.application_file(application_id)
    app = file.application
    return ApplicationView(
        application_id=app.application_id,
        applicant_id=applicant_node(app.applicant_key),
        submitted_at=app.submitted_at(),
        identifiers=identifier_views(app.identifiers),
        amount=app.amount,
        product=app.product,
        channel=app.channel,
        decisions=decision_views(file),
    )


@router.get(
    "/applicants/{applicant_id}",
    tags=["investigation"],
    operation_id="getApplicant",
    summary="An applicant: label, ring, identifiers, applications and decisions",
    responses=problem_responses(*READ_ONE),
)
def applicant(applicant_id: str, desk: Desk, _: Investigator) -> ApplicantView:
    file = desk.applicant_file(applicant_id)
    seen: dict[str, IdentifierView] = {}
    for f in file.applications:
        for view in identifier_views(f.application.identifiers):
            seen.setdefault(view.node_id, view)
    return ApplicantView(
        applicant_id=applicant_node(file.applicant_key),
        display=file.applications[-1].application.applicant_display,
        identifiers=list(seen.values()),
        label=LabelView.of(file.label),
        ring=file.ring_id,
        applications=[
            ApplicantApplication(
                application_id=f.application.application_id,
                submitted_at=f.application.submitted_at(),
                amount=f.application.amount,
                product=f.application.product,
                decisions=decision_views(f),
            )
            for f in file.applications
        ],
    )


@router.get(
    "/applicants/{applicant_id}/network",
    tags=["investigation"],
    operation_id="getApplicantNetwork",
    summary="Nodes and edges around an applicant for a graph view",
    responses=problem_responses(*READ_ONE),
)
def applicant_network(applicant_id: str, desk: Desk, _: Investigator, depth: Depth = 2, limit: Limit = 300) -> Network:
    node_id = applicant_node(applicant_key(applicant_id))
    return network_view(desk.network(node_id, depth, limit), node_id, depth)


@router.post(
    "/applicants/{applicant_id}/rescore",
    tags=["investigation"],
    operation_id="rescoreApplicant",
    summary="Re-evaluate an applicant with today's graph (appeals, reviews)",
    responses=problem_responses(*READ_ONE),
)
def rescore(applicant_id: str, desk: Desk, actor: Investigator) -> RescoreResult:
    done = desk.rescore(applicant_id, actor)
    return RescoreResult(
        applicant_id=applicant_node(done.applicant_key),
        decision=DecisionView.of(done.decision),
        alerts=[AlertView.of(a) for a in done.alerts],
    )
