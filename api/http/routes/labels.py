"""Investigator labels: set, withdraw and list."""

from __future__ import annotations

from fastapi import APIRouter

from api.http.deps import Desk, Investigator
from api.http.errors import problem_responses
from api.http.routes.common import WRITE
from api.http.schemas.alerts import AlertView
from api.http.schemas.common import LabelStatus
from api.http.schemas.labels import LabelRequest, LabelResult, LabelView, RemoveLabelRequest

router = APIRouter()


@router.post(
    "/labels",
    tags=["investigation"],
    operation_id="setLabel",
    summary="Mark confirmed fraud, clear (appeal upheld) or allow-list",
    responses=problem_responses(*WRITE),
)
def set_label(body: LabelRequest, desk: Desk, actor: Investigator) -> LabelResult:
    done = desk.label(body.node_id, body.status, actor, body.reason)
    return LabelResult(
        node_id=body.node_id, status=body.status, rescore=done.rescore, alerts=[AlertView.of(a) for a in done.alerts]
    )


@router.post(
    "/labels/{node_id}/remove",
    tags=["investigation"],
    operation_id="removeLabel",
    summary="Withdraw a label",
    responses=problem_responses(*WRITE),
)
def remove_label(node_id: str, body: RemoveLabelRequest, desk: Desk, actor: Investigator) -> LabelResult:
    done = desk.remove_label(node_id, actor, body.reason)
    return LabelResult(
        node_id=node_id, status=None, rescore=done.rescore, alerts=[AlertView.of(a) for a in done.alerts]
    )


@router.get(
    "/labels",
    tags=["investigation"],
    operation_id="listLabels",
    summary="Current labels, newest first",
    responses=problem_responses(401, 403, 422, 503),
)
def labels(desk: Desk, _: Investigator, status: LabelStatus | None = None) -> list[LabelView]:
    return [view for label in desk.labels_by(status) if (view := LabelView.of(label)) is not None]
