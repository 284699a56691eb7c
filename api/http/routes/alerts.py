"""Monitoring alerts and their lifecycle."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.http.deps import Desk, Investigator
from api.http.errors import problem_responses
from api.http.routes.common import READ_ONE, WRITE
from api.http.schemas.alerts import AlertUpdate, AlertUpdated, AlertView, MonitoringQueue
from api.http.schemas.common import AlertStatus

router = APIRouter()


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


@router.get(
    "/monitoring",
    tags=["monitoring"],
    operation_id="getMonitoringQueue",
    summary="How much re-scoring work is queued (stored applications' and labels')",
    responses=problem_responses(401, 403, 503),
)
def monitoring_queue(desk: Desk, _: Investigator) -> MonitoringQueue:
    return MonitoringQueue(pending=desk.pending_monitoring())


@router.get(
    "/alerts/{alert_id}",
    tags=["monitoring"],
    operation_id="getAlert",
    summary="One alert with its lifecycle",
    responses=problem_responses(*READ_ONE),
)
def alert(alert_id: str, desk: Desk, _: Investigator) -> AlertView:
    found, display = desk.alert_file(alert_id)
    return AlertView.of(found, display)


@router.post(
    "/alerts/{alert_id}",
    tags=["monitoring"],
    operation_id="updateAlert",
    summary="Acknowledge or resolve an alert (audited; a case takes it in_case)",
    responses=problem_responses(*WRITE, 409),
)
def update_alert(alert_id: str, body: AlertUpdate, desk: Desk, actor: Investigator) -> AlertUpdated:
    moved = desk.handle_alert(alert_id, body.status, body.reason, actor)
    return AlertUpdated(alert_id=alert_id, status=moved.status)
