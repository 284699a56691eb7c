"""The audit log, the caller's identity and what the store holds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.http.deps import Admin, Desk, Investigator, Scorer
from api.http.errors import problem_responses
from api.http.routes.common import READ
from api.http.schemas.admin import AuditEventView, StoreStats, WhoAmI

router = APIRouter()


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
