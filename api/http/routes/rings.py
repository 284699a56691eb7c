"""Rings of batch runs, and running one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.http.deps import Admin, Desk, Investigator
from api.http.errors import problem_responses
from api.http.routes.common import READ_ONE
from api.http.schemas.rings import RingDetail, RingIdentifier, RingMember, RingRunRequest, RingRunSummary, RingSummary
from graph.store import RingRecord
from graph.vocabulary import applicant_node

router = APIRouter()


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
