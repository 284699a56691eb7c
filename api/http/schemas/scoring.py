"""What the scoring flow answers (a score, its reasons and the applicant's ring) and a
decision as stored, shown to investigators."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.http.disclosure import for_scorer
from api.http.schemas.common import Action, Band
from detectors.score import ScoreResult
from graph.store import Decision


class Reason(BaseModel):
    code: str = Field(description="Signal code, e.g. shared_identifier or bot_form_fill")
    detector: str
    sentence: str = Field(description="Why, in words an applicant's reviewer can read")
    strength: float
    contribution: float = Field(description="Contribution to the log-odds of fraud")
    value: float
    evidence: dict[str, Any] = Field(
        description="Node ids, paths, counts and windows to open. For a scorer key, counts only: other people's "
        "node ids, ring members and paths are for investigator keys (a list that named any is its length)"
    )


class RingInfo(BaseModel):
    ring_id: str = Field(description="RING-... (a batch run's ring) or PROV-... (a provisional ring formed online)")
    joined: bool = Field(description="The applicant joined the ring online; no batch run has placed it yet")
    provisional: bool = Field(
        description="The ring is provisional: the next batch run gives it a RING-... id or drops it"
    )
    lineage: dict[str, Any] = Field(
        description="The ring's history: event, previous ring ids and first run of a batch ring; "
        "from_provisional when a batch ring took over a provisional one"
    )


class ScoreResponse(BaseModel):
    application_id: str
    applicant_id: str = Field(description="Node id of the applicant (keyed hash, never the national id)")
    score: float | None = Field(description="Calibrated probability of fraud in [0, 1]")
    band: Literal["low", "medium", "high", "critical", "unscored"]
    action: Action
    reasons: list[Reason]
    model_version: str
    stored: bool = Field(description="Whether this call stored the application")
    replayed: bool = Field(False, description="A re-sent application: the first decision is returned")
    degraded: bool = Field(False, description="The store was unavailable and the outage policy answered")
    ring: RingInfo | None = Field(
        None, description="The applicant's ring after this application was stored (joined now, provisional or batch)"
    )

    @classmethod
    def of(
        cls,
        result: ScoreResult,
        stored: bool,
        replayed: bool = False,
        full: bool = True,
        ring: dict[str, Any] | None = None,
    ) -> ScoreResponse:
        """The response; ``full=False`` (a scorer key) shows evidence as counts only
        (:mod:`api.http.disclosure`)."""
        reasons = result.reason_dicts()
        if not full:
            own = {f"application:{result.application_id}", f"applicant:{result.applicant_key}"}
            reasons = [{**r, "evidence": for_scorer(r["evidence"], own)} for r in reasons]
        return cls(
            application_id=result.application_id,
            applicant_id=f"applicant:{result.applicant_key}",
            score=round(result.score, 6),
            band=result.band,
            action=result.action,
            reasons=[Reason(**r) for r in reasons],
            model_version=result.model_version,
            stored=stored,
            replayed=replayed,
            ring=RingInfo(**ring) if ring is not None else None,
        )


class DecisionView(BaseModel):
    application_id: str
    at: float = Field(description="Epoch seconds (UTC)")
    score: float
    band: Band
    action: Action
    reasons: list[Reason]
    model_version: str
    trigger: str = Field(description="application, monitoring, ... (what made this decision)")

    @classmethod
    def of(cls, d: Decision) -> DecisionView:
        return cls(
            application_id=d.application_id,
            at=d.at,
            score=d.score,
            band=d.band,
            action=d.action,
            reasons=[Reason(**r) for r in d.reasons],
            model_version=d.model_version,
            trigger=d.trigger,
        )
