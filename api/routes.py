"""Versioned JSON endpoints under /v1. Each handler validates, calls one desk
operation and shapes the answer; errors are mapped in ``api/errors.py``."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from prometheus_client import Counter, Histogram
from pydantic import ValidationError

from api.deps import Admin, Desk, Investigator, Scorer, authorise
from api.errors import problem_responses
from api.schemas import (
    AlertStatus,
    AlertUpdate,
    AlertUpdated,
    AlertView,
    ApplicantApplication,
    ApplicantView,
    ApplicationView,
    AuditEventView,
    DecisionView,
    IdentifierView,
    LabelRequest,
    LabelResult,
    LabelStatus,
    LabelView,
    LookupRequest,
    LookupResult,
    Network,
    NetworkEdge,
    NetworkNode,
    NodeView,
    RemoveLabelRequest,
    RescoreResult,
    RingDetail,
    RingIdentifier,
    RingMember,
    RingRunRequest,
    RingRunSummary,
    RingSummary,
    ScoreResponse,
    StoreStats,
    WhoAmI,
)
from api.service.base import applicant_key
from api.service.desk import FraudDesk
from api.service.investigation import ApplicationFile
from api.settings import Settings
from graph.errors import StoreUnavailable
from graph.normalise import Identifier
from graph.records import ApplicationRecord
from graph.store import RingRecord, Subgraph
from graph.vocabulary import applicant_node

router = APIRouter(prefix="/v1")

SCORE_SECONDS = Histogram(
    "ringsight_score_seconds",
    "Time to score one application",
    ["stored"],
    buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
DECISIONS = Counter("ringsight_decisions_total", "Scored applications by band", ["band"])
OUTAGES = Counter("ringsight_store_outage_total", "Scoring calls answered by the outage policy")

EXAMPLE = {
    "application_id": "APP-000123",
    "submitted_at": "2026-11-20T10:31:00Z",
    "applicant": {
        "national_id": "110101199003077777",
        "name": "Li Wei",
        "date_of_birth": "1990-03-07",
        "account_created_at": "2026-11-20T10:02:00Z",
    },
    "device": {"fingerprint": "dfp-9f2c1a", "os": "android", "ip": "203.0.113.7"},
    "phone": "+86 138 0013 8000",
    "email": "li.wei@example.com",
    "employer": {"name": "Example Trading Co., Ltd."},
    "amount": 5000,
    "product": "cash_loan",
    "channel": "app",
    "behaviour": {"form_fill_seconds": 41, "field_edits": 2},
}


def _assess(desk: FraudDesk, settings: Settings, record: ApplicationRecord, persist: bool, actor: str) -> ScoreResponse:
    started = time.perf_counter()
    try:
        done = desk.assess(record, persist=persist, actor=actor)
    except StoreUnavailable:
        if settings.store_outage_policy != "fail_open":
            raise
        OUTAGES.inc()
        return ScoreResponse(
            application_id=record.application_id,
            applicant_id="",
            score=None,
            band="unscored",
            action="review",
            reasons=[],
            model_version=desk.scorer.model.version,
            stored=False,
            degraded=True,
        )
    SCORE_SECONDS.labels(stored=str(persist).lower()).observe(time.perf_counter() - started)
    DECISIONS.labels(band=done.result.band).inc()
    return ScoreResponse.of(done.result, stored=done.stored, replayed=done.replayed)


async def _scored(request: Request, persist: bool) -> ScoreResponse:
    """The scoring flow's request path, kept short because it is the one at the lender's peak.

    It takes the bare request instead of FastAPI dependencies and a body parameter: the
    framework's dependency and body machinery cost about a millisecond per request, more than
    the score itself on the embedded store. The body is validated straight from JSON by
    pydantic (``model_validate_json``), with every failing field reported like any other 422,
    and the key is checked by the same function as every other route. Scoring runs on the
    event loop when the store answers from memory (pure CPU: a thread would add a hop and GIL
    hand-offs), in the thread pool when it waits on a server (Neo4j: others run meanwhile).
    """
    settings: Settings = request.app.state.settings
    desk: FraudDesk = request.app.state.desk
    body = await request.body()  # first: the size limit applies before authentication
    actor = authorise(settings, request.headers.get("x-api-key"), "scorer")
    try:
        record = ApplicationRecord.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from exc
    if desk.store.waits_on_network:
        return await run_in_threadpool(_assess, desk, settings, record, persist, actor)
    return _assess(desk, settings, record, persist, actor)


def _json(body: ScoreResponse) -> Response:
    # Already validated by construction: skip FastAPI's second pass over the response model.
    return Response(body.model_dump_json(), media_type="application/json")


# The scoring routes read their body themselves (see _scored); this documents it.
RECORD_BODY: dict[str, Any] = {
    "security": [{"ApiKey": []}],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ApplicationRecord"},
                "examples": {"application": {"value": EXAMPLE}},
            }
        },
    },
}


@router.post(
    "/applications",
    response_model=ScoreResponse,
    tags=["scoring"],
    operation_id="submitApplication",
    summary="Store an application and score it",
    responses=problem_responses(401, 409, 413, 422, 503),
    openapi_extra=RECORD_BODY,
)
async def submit_application(request: Request) -> Response:
    response = await _scored(request, persist=True)
    worker = getattr(request.app.state, "monitoring", None)
    if response.stored and worker is not None:
        # Existing applicants this one links to are re-scored by the monitoring worker.
        worker.submit(response.application_id)
    return _json(response)


@router.post(
    "/score",
    response_model=ScoreResponse,
    tags=["scoring"],
    operation_id="scoreApplication",
    summary="Score without storing (dry run)",
    responses=problem_responses(401, 413, 422, 503),
    openapi_extra=RECORD_BODY,
)
async def dry_run(request: Request) -> Response:
    return _json(await _scored(request, persist=False))


def _identifiers(identifiers: tuple[Identifier, ...]) -> list[IdentifierView]:
    return [IdentifierView(node_id=i.node_id, kind=i.kind, display=i.display) for i in identifiers]


def _decisions(file: ApplicationFile) -> list[DecisionView]:
    return [DecisionView.of(d) for d in file.decisions]


# Investigator routes may answer 401 (no or unknown key), 403 (a scorer's key) and 503 (store down).
READ = (401, 403, 503)
READ_ONE = (401, 403, 404, 422, 503)


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
        identifiers=_identifiers(app.identifiers),
        amount=app.amount,
        product=app.product,
        channel=app.channel,
        decisions=_decisions(file),
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
        for view in _identifiers(f.application.identifiers):
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
                decisions=_decisions(f),
            )
            for f in file.applications
        ],
    )


def _network(graph: Subgraph, node_id: str, depth: int) -> Network:
    return Network(
        root=node_id,
        depth=depth,
        truncated=graph.truncated,
        nodes=[NetworkNode.of(n) for n in graph.nodes],
        edges=[NetworkEdge.of(e) for e in graph.edges],
    )


Depth = Annotated[int, Query(ge=1, le=6, description="Hops from the root")]
Limit = Annotated[int, Query(ge=1, le=2000, description="At most this many nodes")]


@router.get(
    "/applicants/{applicant_id}/network",
    tags=["investigation"],
    operation_id="getApplicantNetwork",
    summary="Nodes and edges around an applicant for a graph view",
    responses=problem_responses(*READ_ONE),
)
def applicant_network(applicant_id: str, desk: Desk, _: Investigator, depth: Depth = 2, limit: Limit = 300) -> Network:
    node_id = applicant_node(applicant_key(applicant_id))
    return _network(desk.network(node_id, depth, limit), node_id, depth)


@router.get(
    "/nodes/{node_id}/network",
    tags=["investigation"],
    operation_id="getNodeNetwork",
    summary="Nodes and edges around any node",
    responses=problem_responses(*READ_ONE),
)
def node_network(node_id: str, desk: Desk, _: Investigator, depth: Depth = 2, limit: Limit = 300) -> Network:
    return _network(desk.network(node_id, depth, limit), node_id, depth)


@router.get(
    "/nodes/{node_id}",
    tags=["investigation"],
    operation_id="getNode",
    summary="One node: display, usage and label",
    responses=problem_responses(*READ_ONE),
)
def node(node_id: str, desk: Desk, _: Investigator) -> NodeView:
    file = desk.node_file(node_id)
    view = NodeView(node_id=file.node_id, kind=file.kind, display=file.display, label=LabelView.of(file.label))
    if file.kind not in ("applicant", "application"):
        usage = file.usage
        view.applicants = usage.applicants if usage else 0
        view.applications = usage.applications if usage else 0
        view.applications_30d = len(usage.recent) if usage else 0
        view.hub = file.hub
    return view


WRITE = (401, 403, 404, 413, 422, 503)


@router.post(
    "/lookup",
    tags=["investigation"],
    operation_id="lookupIdentifier",
    summary="Find the node of a raw identifier or national id (audited)",
    responses=problem_responses(*WRITE),
)
def lookup(body: LookupRequest, desk: Desk, actor: Investigator) -> LookupResult:
    file = desk.lookup(body.kind, body.value, actor)
    return LookupResult(
        node_id=file.node_id,
        kind=body.kind,
        display=file.display,
        applicants=file.usage.applicants if file.usage else None,
        applications=file.usage.applications if file.usage else None,
        label=LabelView.of(file.label),
    )


@router.post(
    "/labels",
    tags=["investigation"],
    operation_id="setLabel",
    summary="Mark confirmed fraud, clear (appeal upheld) or allow-list",
    responses=problem_responses(*WRITE),
)
def set_label(body: LabelRequest, desk: Desk, actor: Investigator) -> LabelResult:
    alerts = desk.label(body.node_id, body.status, actor, body.reason)
    return LabelResult(node_id=body.node_id, status=body.status, alerts=[AlertView.of(a) for a in alerts])


@router.post(
    "/labels/{node_id}/remove",
    tags=["investigation"],
    operation_id="removeLabel",
    summary="Withdraw a label",
    responses=problem_responses(*WRITE),
)
def remove_label(node_id: str, body: RemoveLabelRequest, desk: Desk, actor: Investigator) -> LabelResult:
    desk.remove_label(node_id, actor, body.reason)
    return LabelResult(node_id=node_id, status=None)


@router.get(
    "/labels",
    tags=["investigation"],
    operation_id="listLabels",
    summary="Current labels, newest first",
    responses=problem_responses(401, 403, 422, 503),
)
def labels(desk: Desk, _: Investigator, status: LabelStatus | None = None) -> list[LabelView]:
    return [view for label in desk.labels_by(status) if (view := LabelView.of(label)) is not None]


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


@router.get(
    "/alerts",
    tags=["monitoring"],
    operation_id="listAlerts",
    summary="Monitoring alerts, newest first",
    responses=problem_responses(401, 403, 422, 503),
)
def alerts(
    desk: Desk, _: Investigator, status: AlertStatus | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[AlertView]:
    return [AlertView.of(a, display) for a, display in desk.alerts_by(status, limit)]


@router.post(
    "/alerts/{alert_id}",
    tags=["monitoring"],
    operation_id="updateAlert",
    summary="Acknowledge, escalate or close an alert (audited)",
    responses=problem_responses(*WRITE),
)
def update_alert(alert_id: str, body: AlertUpdate, desk: Desk, actor: Investigator) -> AlertUpdated:
    desk.handle_alert(alert_id, body.status, body.reason, actor)
    return AlertUpdated(alert_id=alert_id, status=body.status)


def _ring(r: RingRecord) -> RingSummary:
    return RingSummary(
        ring_id=r.ring_id, run_id=r.run_id, size=len(r.members), score=r.score, features=r.features, lineage=r.lineage
    )


@router.get(
    "/rings",
    tags=["rings"],
    operation_id="listRings",
    summary="Rings of the latest batch run, highest score first",
    responses=problem_responses(401, 403, 422, 503),
)
def rings(
    desk: Desk,
    _: Investigator,
    min_score: Annotated[float, Query(ge=0.0, le=1.0)] = 0.0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[RingSummary]:
    return [_ring(r) for r in desk.rings_by(min_score, limit)]


@router.get(
    "/rings/{ring_id}",
    tags=["rings"],
    operation_id="getRing",
    summary="One ring with its members and linking identifiers",
    responses=problem_responses(*READ_ONE),
)
def ring(ring_id: str, desk: Desk, _: Investigator) -> RingDetail:
    file = desk.ring_file(ring_id)
    nodes = [applicant_node(m) for m in file.ring.members]
    return RingDetail(
        **_ring(file.ring).model_dump(),
        members=[
            RingMember(
                node_id=n, display=file.display.get(n, ""), status=file.labels[n].status if n in file.labels else None
            )
            for n in nodes
        ],
        identifiers=[RingIdentifier(node_id=n, display=file.display.get(n, "")) for n in file.ring.identifiers],
    )


@router.get(
    "/audit",
    tags=["admin"],
    operation_id="listAuditEvents",
    summary="The append-only audit log, newest first",
    responses=problem_responses(401, 403, 422, 503),
)
def audit(
    desk: Desk, _: Admin, subject: str | None = None, limit: Annotated[int, Query(ge=1, le=5000)] = 100
) -> list[AuditEventView]:
    return [AuditEventView.of(e) for e in desk.audit_log(subject, limit)]


@router.get(
    "/whoami",
    tags=["admin"],
    operation_id="whoAmI",
    summary="The role of the calling API key and how the audit log names it",
    responses=problem_responses(401),
)
async def whoami(actor: Scorer) -> WhoAmI:
    return WhoAmI(actor=actor, role=actor.split(":", 1)[0])


@router.get(
    "/stats",
    tags=["admin"],
    operation_id="getStats",
    summary="Counts of what the store holds",
    responses=problem_responses(*READ),
)
def stats(desk: Desk, _: Investigator) -> StoreStats:
    return StoreStats(
        store=desk.store.url.split("@")[-1], counts=desk.store_counts(), model_version=desk.scorer.model.version
    )


@router.post(
    "/rings/runs",
    tags=["rings"],
    operation_id="runRingDetection",
    summary="Run batch ring detection now and write the rings",
    responses=problem_responses(401, 403, 409, 413, 422, 503),
)
def ring_run(body: RingRunRequest, desk: Desk, actor: Admin) -> RingRunSummary:
    """Finds, scores and writes rings over the whole graph; answers with the run summary
    (counts, timings, lineage events). An unchanged re-run writes nothing; 409 while a run is going."""
    return RingRunSummary.model_validate(desk.run_rings(body.max_ring_size, actor).summary())
