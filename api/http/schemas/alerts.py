"""Monitoring alerts, how an investigator moves them, and how much re-scoring is still queued."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from api.http.schemas.common import SOME_TEXT, AlertStatus, NamedEnum
from graph.store import Alert

AlertMove = Annotated[
    Literal["acknowledged", "resolved"],
    NamedEnum("AlertMove", "Where an investigator moves an alert by hand (a case takes it in_case)"),
]


class AlertUpdate(BaseModel):
    status: AlertMove
    reason: str = Field(min_length=3, max_length=2000, pattern=SOME_TEXT)


class AlertView(BaseModel):
    alert_id: str
    applicant_id: str
    applicant_key: str
    applicant_display: str = Field(description="Masked national id (empty when not looked up)")
    tier: str = Field(description="watch, investigate or freeze_recommended")
    at: float
    trigger: str
    score: float
    previous_score: float | None
    status: AlertStatus
    detail: dict[str, Any]
    updated_at: float | None = Field(None, description="When it last moved")
    updated_by: str = Field("", description="Who moved it last")
    note: str = Field("", description="Why it moved last")
    case_id: str | None = Field(None, description="The case that took it on")

    @classmethod
    def of(cls, a: Alert, display: str = "") -> AlertView:
        return cls(
            alert_id=a.alert_id,
            applicant_id=f"applicant:{a.applicant_key}",
            applicant_key=a.applicant_key,
            applicant_display=display,
            tier=a.tier,
            at=a.at,
            trigger=a.trigger,
            score=a.score,
            previous_score=a.previous_score,
            status=a.status,
            detail=a.detail,
            updated_at=a.updated_at,
            updated_by=a.updated_by,
            note=a.note,
            case_id=a.case_id,
        )


class MonitoringQueue(BaseModel):
    pending: int = Field(
        ge=0,
        description="Re-scoring work queued by stored applications and label changes and not done yet "
        "(0: every alert those writes cause has been raised)",
    )


class AlertUpdated(BaseModel):
    alert_id: str
    status: AlertStatus
