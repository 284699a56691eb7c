"""The risk managers' overview: decisions, alerts, cases and ring runs, counted in the store."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.http.deps import Desk, Investigator
from api.http.errors import problem_responses
from api.http.routes.common import READ
from api.http.schemas.overview import (
    AlertAge,
    AlertOverview,
    AlertTierStatus,
    CaseAge,
    CaseOverview,
    CaseStatusLayer,
    ChannelDecisions,
    DayDecisions,
    DecisionOverview,
    Overview,
    ProductDecisions,
    RingOverview,
    RingRunCountView,
)
from api.service.overview import MAX_OVERVIEW_DAYS

router = APIRouter()


@router.get(
    "/overview",
    tags=["investigation"],
    operation_id="getOverview",
    summary="Decisions, alerts, cases and ring runs at a glance",
    responses=problem_responses(*READ, 422),
)
def overview(
    desk: Desk,
    _: Investigator,
    days: Annotated[
        int, Query(ge=1, le=MAX_OVERVIEW_DAYS, description="UTC days counted back from today (included)")
    ] = 30,
) -> Overview:
    found = desk.overview(days)
    return Overview(
        since=found.since,
        decisions=DecisionOverview(
            by_day=[DayDecisions(day=d, band=b, action=a, count=n) for d, b, a, n in found.decisions_by_day],
            by_channel=[ChannelDecisions(channel=c, band=b, count=n) for c, b, n in found.decisions_by_channel],
            by_product=[ProductDecisions(product=p, band=b, count=n) for p, b, n in found.decisions_by_product],
        ),
        alerts=AlertOverview(
            by_tier_status=[AlertTierStatus(tier=t, status=s, count=n) for t, s, n in found.alerts_by_tier_status],
            open_by_age=[AlertAge(age=a, tier=t, count=n) for a, t, n in found.alerts_open_by_age],
        ),
        cases=CaseOverview(
            by_status_layer=[
                CaseStatusLayer(status=s, layer=lay, count=n) for s, lay, n in found.cases_by_status_layer
            ],
            open_by_age=[CaseAge(age=a, layer=lay, count=n) for a, lay, n in found.cases_open_by_age],
        ),
        rings=RingOverview(
            runs=[
                RingRunCountView(run_id=r.run_id, at=r.at, rings=r.rings, critical=r.critical) for r in found.ring_runs
            ],
            active=found.active_rings,
        ),
    )
