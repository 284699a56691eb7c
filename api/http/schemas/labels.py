"""Investigator labels on applicants and identifiers: setting, withdrawing, showing them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.http.schemas.alerts import AlertView
from api.http.schemas.common import SOME_TEXT, LabelStatus
from graph.store import Label
from graph.vocabulary import IDENTIFIER_KINDS

_LABELLED_NODE = rf"^(applicant|{'|'.join(IDENTIFIER_KINDS)}):[A-Za-z0-9._:\-]+$"


class LabelRequest(BaseModel):
    node_id: str = Field(pattern=_LABELLED_NODE, description="applicant:... or an identifier node id")
    status: LabelStatus
    reason: str = Field(min_length=3, max_length=2000, pattern=SOME_TEXT)


class RemoveLabelRequest(BaseModel):
    reason: str = Field(min_length=3, max_length=2000, pattern=SOME_TEXT)


class LabelView(BaseModel):
    node_id: str
    status: LabelStatus
    by: str = Field(description="The actor who set it")
    at: float
    reason: str

    @classmethod
    def of(cls, label: Label | None) -> LabelView | None:
        if label is None:
            return None
        return cls(node_id=label.node_id, status=label.status, by=label.by, at=label.at, reason=label.reason)


Rescore = Literal["queued", "done", "off"]

RESCORE_DESCRIPTION = (
    "How whom the change reaches is re-scored: `queued` (the service; written with the change, "
    "done by the monitoring worker: the alerts it raises appear in GET /v1/alerts with trigger "
    "`label:<status>:<node_id>`), `done` (ran in the call; `alerts` are what it raised) or "
    "`off` (RINGSIGHT_MONITORING=false)"
)


class LabelResult(BaseModel):
    node_id: str
    status: LabelStatus | None = Field(description="The label now (null once withdrawn)")
    rescore: Rescore = Field(description=RESCORE_DESCRIPTION)
    alerts: list[AlertView] = Field(default_factory=list, description="Alerts raised in the call (rescore `done`)")
