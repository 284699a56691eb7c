"""The investigator console's overview: decisions, alerts, cases and ring runs, counted."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from api.http.schemas.common import Action, AlertStatus, Band, CaseLayer, CaseStatus, NamedEnum

AgeBand = Annotated[
    Literal["<1d", "1-7d", "7-30d", ">30d"],
    NamedEnum("AgeBand", "How long ago an open alert was raised or an open case was opened"),
]


class DayDecisions(BaseModel):
    day: str = Field(description="UTC day, YYYY-MM-DD")
    band: Band
    action: Action
    count: int


class ChannelDecisions(BaseModel):
    channel: str | None = Field(description="null: the application gave none")
    band: Band
    count: int


class ProductDecisions(BaseModel):
    product: str | None = Field(description="null: the application gave none")
    band: Band
    count: int


class DecisionOverview(BaseModel):
    by_day: list[DayDecisions]
    by_channel: list[ChannelDecisions]
    by_product: list[ProductDecisions]


class AlertTierStatus(BaseModel):
    tier: str
    status: AlertStatus
    count: int


class AlertAge(BaseModel):
    age: AgeBand
    tier: str
    count: int


class AlertOverview(BaseModel):
    by_tier_status: list[AlertTierStatus] = Field(description="Alerts raised since `since`, by their status now")
    open_by_age: list[AlertAge] = Field(description="Every unresolved alert, by how long ago it was raised")


class CaseStatusLayer(BaseModel):
    status: CaseStatus
    layer: CaseLayer
    count: int


class CaseAge(BaseModel):
    age: AgeBand
    layer: CaseLayer
    count: int


class CaseOverview(BaseModel):
    by_status_layer: list[CaseStatusLayer] = Field(description="Cases opened since `since`, by their state now")
    open_by_age: list[CaseAge] = Field(description="Every case not closed, by how long ago it was opened")


class RingRunCountView(BaseModel):
    run_id: str
    at: float = Field(description="Epoch seconds of the run")
    rings: int = Field(description="Rings the run found")
    critical: int = Field(description="Of them, critical")


class RingOverview(BaseModel):
    runs: list[RingRunCountView] = Field(description="The latest runs (from the audit log), newest first")
    active: int = Field(description="Rings of the latest written run")


class Overview(BaseModel):
    since: float = Field(description="Epoch seconds: the start (UTC midnight) of the first day counted")
    decisions: DecisionOverview = Field(description="The scoring flow's decisions since `since`")
    alerts: AlertOverview
    cases: CaseOverview
    rings: RingOverview
