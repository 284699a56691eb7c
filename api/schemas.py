"""Response and request bodies of the HTTP API (the application record itself is
:class:`graph.records.ApplicationRecord`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from detectors.score import ScoreResult


class Reason(BaseModel):
    code: str = Field(description="Signal code, e.g. shared_identifier or bot_form_fill")
    detector: str
    sentence: str = Field(description="Why, in words an applicant's reviewer can read")
    strength: float
    contribution: float = Field(description="Contribution to the log-odds of fraud")
    value: float
    evidence: dict[str, Any] = Field(description="Node ids, paths, counts and windows to open")


class ScoreResponse(BaseModel):
    application_id: str
    applicant_id: str = Field(description="Node id of the applicant (keyed hash, never the national id)")
    score: float | None = Field(description="Calibrated probability of fraud in [0, 1]")
    band: Literal["low", "medium", "high", "critical", "unscored"]
    action: Literal["approve", "step_up", "review", "decline"]
    reasons: list[Reason]
    model_version: str
    stored: bool = Field(description="Whether this call stored the application")
    replayed: bool = Field(False, description="A re-sent application: the first decision is returned")
    degraded: bool = Field(False, description="The store was unavailable and the outage policy answered")

    @classmethod
    def of(cls, result: ScoreResult, stored: bool, replayed: bool = False) -> ScoreResponse:
        return cls(
            application_id=result.application_id,
            applicant_id=f"applicant:{result.applicant_key}",
            score=round(result.score, 6),
            band=result.band,
            action=result.action,
            reasons=[Reason(**r) for r in result.reason_dicts()],
            model_version=result.model_version,
            stored=stored,
            replayed=replayed,
        )


class LabelRequest(BaseModel):
    node_id: str = Field(pattern=r"^[a-z_]+:[A-Za-z0-9._:\-]+$", description="applicant:... or an identifier node id")
    status: Literal["confirmed_fraud", "cleared", "allow_listed"]
    reason: str = Field(min_length=3, max_length=2000)


class RemoveLabelRequest(BaseModel):
    reason: str = Field(min_length=3, max_length=2000)


class LookupRequest(BaseModel):
    kind: Literal["national_id", "device", "phone", "email", "employer", "address", "ip", "bank_account"]
    value: str = Field(min_length=1, max_length=512)


class AlertUpdate(BaseModel):
    status: Literal["open", "acknowledged", "escalated", "closed"]
    reason: str = Field(min_length=3, max_length=2000)


class RingRunRequest(BaseModel):
    max_ring_size: int = Field(60, ge=3, le=10000, description="Split larger components with Louvain")
