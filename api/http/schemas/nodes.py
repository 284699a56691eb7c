"""Applicants and identifiers by node id: a node's facts, a raw value looked up, who used
an identifier and how far confirmed fraud is from it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from api.http.schemas.common import NamedEnum
from api.http.schemas.labels import LabelView

LookupKind = Annotated[
    Literal["national_id", "device", "phone", "email", "employer", "address", "ip", "bank_account"],
    NamedEnum("LookupKind", "What a raw value to look up is"),
]


class LookupRequest(BaseModel):
    kind: LookupKind
    value: str = Field(min_length=1, max_length=512)


class NodeView(BaseModel):
    node_id: str
    kind: str
    display: str
    applicants: int | None = Field(None, description="Identifiers only: applicants who used it")
    applications: int | None = Field(None, description="Identifiers only: applications that gave it")
    applications_30d: int | None = Field(None, description="Identifiers only: applications in the last 30 days")
    hub: bool | None = Field(None, description="Identifiers only: used by more applicants than the hub limit")
    label: LabelView | None


class LookupResult(BaseModel):
    node_id: str
    kind: LookupKind
    display: str
    applicants: int | None
    applications: int | None
    label: LabelView | None


class IdentifierApplicant(BaseModel):
    applicant_id: str = Field(description="applicant:<key>")
    display: str = Field(description="Masked national id")
    applications: int = Field(description="Applications of this applicant that gave the identifier")
    first_at: float = Field(description="Epoch seconds of the applicant's first use of the identifier")
    last_at: float = Field(description="Epoch seconds of its latest use")
    label: LabelView | None


class ReachIdentifier(BaseModel):
    node_id: str
    kind: str
    display: str
    applicants: int = Field(description="Applicants who used the identifier")
    confirmed_fraud: int = Field(description="Distinct confirmed-fraud applicants it reaches within the hops")
    nearest: int | None = Field(description="Links to the nearest of them (1: one of its own users); null if none")
    hub: bool = Field(description="Used by more applicants than the hub limit: counted, never walked through")


class NodeReach(BaseModel):
    root: str
    hops: int
    identifiers: list[ReachIdentifier] = Field(description="Most confirmed fraud first")
    truncated: bool = Field(False, description="The walk stopped before the last hop: too many applicants to expand")
