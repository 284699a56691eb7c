"""Any node: its file, network, applicants (of an identifier) and reach, and audited lookups
of raw identifiers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.http.deps import Desk, Investigator
from api.http.errors import problem_responses
from api.http.routes.common import READ_ONE, WRITE, Depth, Limit, network_view
from api.http.schemas.labels import LabelView
from api.http.schemas.network import Network
from api.http.schemas.nodes import (
    IdentifierApplicant,
    LookupRequest,
    LookupResult,
    NodeReach,
    NodeView,
    ReachIdentifier,
)
from api.service.reach import MAX_APPLICANTS, MAX_REACH_HOPS
from graph.vocabulary import applicant_node

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
    "/nodes/{node_id}/applicants",
    tags=["investigation"],
    operation_id="getNodeApplicants",
    summary="The applicants who used an identifier, most recent use first",
    responses=problem_responses(*READ_ONE),
)
def node_applicants(
    node_id: str,
    desk: Desk,
    _: Investigator,
    limit: Annotated[int, Query(ge=1, le=MAX_APPLICANTS, description="At most this many applicants")] = 100,
) -> list[IdentifierApplicant]:
    """422 for an applicant or application node (they are not identifiers); a hub lists its
    latest users, read from its own uses."""
    return [
        IdentifierApplicant(
            applicant_id=applicant_node(u.applicant_key),
            display=u.display,
            applications=u.applications,
            first_at=u.first_ts,
            last_at=u.last_ts,
            label=LabelView.of(label),
        )
        for u, label in desk.identifier_users(node_id, limit)
    ]


@router.get(
    "/nodes/{node_id}/reach",
    tags=["investigation"],
    operation_id="getNodeReach",
    summary="How many confirmed-fraud applicants each linked identifier reaches",
    responses=problem_responses(*READ_ONE),
)
def node_reach(
    node_id: str,
    desk: Desk,
    _: Investigator,
    hops: Annotated[int, Query(ge=1, le=MAX_REACH_HOPS, description="Links between people to walk")] = 2,
) -> NodeReach:
    """For an applicant, each of its identifiers; for an identifier, itself. Hubs and
    cleared or allow-listed nodes are never walked through; 422 for an application."""
    found = desk.reach(node_id, hops)
    return NodeReach(
        root=found.root,
        hops=found.hops,
        truncated=found.truncated,
        identifiers=[
            ReachIdentifier(
                node_id=i.node_id,
                kind=i.kind,
                display=i.display,
                applicants=i.applicants,
                confirmed_fraud=i.confirmed_fraud,
                nearest=i.nearest,
                hub=i.hub,
            )
            for i in found.identifiers
        ],
    )


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
