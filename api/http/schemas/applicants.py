"""An applicant's file and an application's: identifiers, applications, decisions, re-scores."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.http.schemas.alerts import AlertView
from api.http.schemas.labels import LabelView
from api.http.schemas.scoring import DecisionView


class IdentifierView(BaseModel):
    node_id: str = Field(description="kind:key (the key is a keyed hash)")
    kind: str
    display: str = Field(description="Masked form for people, e.g. +86*******8000")


class ApplicationView(BaseModel):
    application_id: str
    applicant_id: str
    submitted_at: datetime
    identifiers: list[IdentifierView]
    amount: float | None
    product: str | None
    channel: str | None
    decisions: list[DecisionView] = Field(description="Every decision on it, oldest first")


class ApplicantApplication(BaseModel):
    application_id: str
    submitted_at: datetime
    amount: float | None
    product: str | None
    decisions: list[DecisionView]


class ApplicantView(BaseModel):
    applicant_id: str
    display: str = Field(description="Masked national id")
    identifiers: list[IdentifierView]
    label: LabelView | None
    ring: str | None = Field(description="Ring id of the latest batch run, or joined online since (RING-/PROV-...)")
    applications: list[ApplicantApplication]


class RescoreResult(BaseModel):
    applicant_id: str
    decision: DecisionView
    alerts: list[AlertView]
