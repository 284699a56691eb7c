"""Cases: opening one, its steps through the review layers, its summary and its file."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.http.schemas.common import SOME_TEXT, CaseLayer, CaseStatus, NamedEnum
from graph.store.records import Case, CaseStep

CaseAction = Annotated[
    Literal["assign", "recommend", "decide", "escalate", "appeal", "close"],
    NamedEnum("CaseAction", "A step on a case"),
]


class CaseOpen(BaseModel):
    # Either names what the case is about (the service answers 422 on ``subject`` otherwise).
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["subject"], "properties": {"subject": {"type": "string"}}},
                {"required": ["alert_id"], "properties": {"alert_id": {"type": "string"}}},
            ]
        }
    )

    subject: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="applicant:<key>, an identifier node id, application:<id> (its latest decision) or a ring id; "
        "may be left out with alert_id (the alert's applicant)",
    )
    reason: str = Field(min_length=3, max_length=2000, pattern=SOME_TEXT)
    alert_id: str | None = Field(None, min_length=1, max_length=100, description="Open the case from this alert")


class CaseStepRequest(BaseModel):
    action: CaseAction
    outcome: str | None = Field(
        None,
        max_length=200,
        description="recommend/decide: watch, limit_reduce, freeze, close, clear or confirmed_fraud; deciding an "
        "appeal: upheld or rejected; assign: the assignee's actor name (default: the caller)",
    )
    reason: str = Field(min_length=3, max_length=2000, pattern=SOME_TEXT)
    limit_share: float | None = Field(None, gt=0, le=1, description="limit_reduce: the share of the limit to cut")
    evidence: str | None = Field(None, max_length=4000, description="appeal: the customer's new evidence")


class CaseStepView(BaseModel):
    seq: int
    at: float
    actor: str
    action: str
    outcome: str | None
    reason: str
    status: CaseStatus
    layer: CaseLayer
    detail: dict[str, Any]

    @classmethod
    def of(cls, s: CaseStep) -> CaseStepView:
        return cls(
            seq=s.seq,
            at=s.at,
            actor=s.actor,
            action=s.action,
            outcome=s.outcome,
            reason=s.reason,
            status=s.status,
            layer=s.layer,
            detail=s.detail,
        )


class CaseSummary(BaseModel):
    case_id: str
    subject: str
    subject_kind: Literal["applicant", "identifier", "ring"]
    subject_display: str = Field(description="Masked display of the subject (the ring id for a ring)")
    source: Literal["alert", "decision", "ring", "manual"]
    opened_at: float
    opened_by: str
    reason: str
    status: CaseStatus
    layer: CaseLayer
    owner: str | None
    outcome: str | None
    updated_at: float
    version: int = Field(description="Number of steps so far")
    alert_id: str | None
    tier: str | None = Field(None, description="The tier of the alert it was opened from")

    @classmethod
    def fields_of(cls, c: Case, kind: str, display: str) -> dict[str, Any]:
        alert = c.evidence.get("alert") or {}
        return {
            "case_id": c.case_id,
            "subject": c.subject,
            "subject_kind": kind,
            "subject_display": display,
            "source": c.source,
            "opened_at": c.opened_at,
            "opened_by": c.opened_by,
            "reason": c.reason,
            "status": c.status,
            "layer": c.layer,
            "owner": c.owner,
            "outcome": c.outcome,
            "updated_at": c.updated_at,
            "version": c.version,
            "alert_id": c.alert_id,
            "tier": alert.get("tier"),
        }


class CaseView(CaseSummary):
    evidence: dict[str, Any] = Field(description="Frozen when the case was opened")
    timeline: list[CaseStepView]
    actions: list[CaseAction] = Field(description="The steps the calling key may take now")
    outcomes: list[str] = Field(description="The outcomes the calling key's layer may decide now")
