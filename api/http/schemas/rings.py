"""Rings of the batch runs, their members and identifiers, and a run's summary."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.http.schemas.common import LabelStatus


class RingRunRequest(BaseModel):
    max_ring_size: int = Field(60, ge=3, le=10000, description="Split larger components with Louvain")


class RingSummary(BaseModel):
    ring_id: str
    run_id: str
    size: int
    score: float
    features: dict[str, Any]
    lineage: dict[str, Any]


class RingMember(BaseModel):
    node_id: str
    display: str
    status: LabelStatus | None


class RingIdentifier(BaseModel):
    node_id: str
    display: str


class RingDetail(RingSummary):
    members: list[RingMember]
    identifiers: list[RingIdentifier]


class RingRunSummary(BaseModel):
    run_id: str
    at: str = Field(description="ISO time of the run")
    written: bool
    unchanged: bool = Field(description="The rings found are exactly the active ones, so nothing was written")
    rings: int
    critical: int
    ring_members: int
    retired: list[str]
    events: dict[str, int]
    counts: dict[str, int]
    timings: dict[str, float]
    params: dict[str, Any]
