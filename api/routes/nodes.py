"""Any node: its file and network, and audited lookups of raw identifiers."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Desk, Investigator
from api.errors import problem_responses
from api.routes.common import READ_ONE, WRITE, Depth, Limit, network_view
from api.schemas import (
    LabelView,
    LookupRequest,
    LookupResult,
    Network,
    NodeView,
)

router = APIRouter()


@router.get(
    "/nodes/{node_id}/network",
    tags=["investigation"],
    operation_id="getNodeNetwork",
    summary="Nodes and edges around any node",
    responses=problem_responses(*READ_ONE),
)
def node_network(node_id: str, desk: Desk, _: Investigator, depth: Depth = 2, limit: Limit = 300) -> Network:
    return network_view(desk.network(node_id, depth, limit), node_id, depth)


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
