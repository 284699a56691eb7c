"""The scoring flow: store-and-score and dry-run scoring, the routes at the lender's peak."""

from __future__ import annotations

import time
from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from prometheus_client import Counter, Histogram
from pydantic import ValidationError

from api.http.deps import authorise
from api.http.errors import problem_responses
from api.http.schemas.scoring import ScoreResponse
from api.service.desk import FraudDesk
from api.settings import Settings
from graph.errors import StoreUnavailable
from graph.records import ApplicationRecord

router = APIRouter()


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


def _outage(desk: FraudDesk, settings: Settings, record: ApplicationRecord, exc: StoreUnavailable) -> ScoreResponse:
    """The outage policy's answer: fail closed (503) or open (unscored, sent to review)."""
    if settings.store_outage_policy != "fail_open":
        raise exc
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


def _assess(desk: FraudDesk, settings: Settings, record: ApplicationRecord, persist: bool, actor: str) -> ScoreResponse:
    started = time.perf_counter()
    try:
        done = desk.assess(record, persist=persist, actor=actor)
    except StoreUnavailable as exc:
        return _outage(desk, settings, record, exc)
    SCORE_SECONDS.labels(stored=str(persist).lower()).observe(time.perf_counter() - started)
    DECISIONS.labels(band=done.result.band).inc()
    full = actor.split(":", 1)[0] != "scorer"  # a scorer sees counts, not other people's node ids
    ring = done.ring.as_dict() if done.ring is not None else None
    return ScoreResponse.of(done.result, stored=done.stored, replayed=done.replayed, full=full, ring=ring)


SCORE_MARGIN = 1.0
"""Seconds a score on a networked store may take beyond RINGSIGHT_NEO4J_TIMEOUT_SECONDS
before the outage policy answers instead (each store call has its own deadline too)."""


async def _bounded(
    desk: FraudDesk, settings: Settings, record: ApplicationRecord, persist: bool, actor: str
) -> ScoreResponse:
    """``_assess`` on a worker thread, answered by the outage policy at the request's
    deadline even if the store hangs: the thread is abandoned (a write it completes later
    is kept, and a client's retry of the same application id replays its decision)."""
    budget = settings.neo4j_timeout_seconds + SCORE_MARGIN
    try:
        with anyio.fail_after(budget):
            return await anyio.to_thread.run_sync(
                _assess, desk, settings, record, persist, actor, abandon_on_cancel=True
            )
    except TimeoutError:
        return _outage(desk, settings, record, StoreUnavailable(f"the store did not answer within {budget:.1f} s"))


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
        return await _bounded(desk, settings, record, persist, actor)
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
    return _json(await _scored(request, persist=True))


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
