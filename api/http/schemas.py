"""Response and request bodies of the HTTP API (the application record itself is
:class:`graph.records.ApplicationRecord`). Every route answers one of these
models, so generated clients get named types; errors are :class:`Problem`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from api.http.disclosure import for_scorer
from api.settings import Role
from detectors.score import ScoreResult
from graph.records import ApplicationRecord
from graph.store import Alert, AuditEvent, Decision, GraphEdge, GraphNode, Label
from graph.store.records import Case, CaseStep
from graph.vocabulary import IDENTIFIER_KINDS
from graph.vocabulary import AlertStatus as _AlertStatus
from graph.vocabulary import CaseLayer as _CaseLayer
from graph.vocabulary import CaseStatus as _CaseStatus
from graph.vocabulary import LabelStatus as _LabelStatus


class _Enum:
    """Marks a Literal as the named enum ``name`` of the schema (validation stays the
    Literal's), so a generated client has one enum per vocabulary, not one per field."""

    def __init__(self, name: str, description: str) -> None:
        self.name = name
        self.description = description

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        schema = handler(source)
        return cast(CoreSchema, {**schema, "ref": f"ringsight.{self.name}"})

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        definition = handler.resolve_ref_schema(json_schema)
        definition.update(title=self.name, description=self.description)
        return json_schema


Band = Annotated[Literal["low", "medium", "high", "critical"], _Enum("Band", "Risk band of a score")]
Action = Annotated[Literal["approve", "step_up", "review", "decline"], _Enum("Action", "Recommended action")]
AlertStatus = Annotated[
    _AlertStatus,
    _Enum("AlertStatus", "An alert's life: open -> acknowledged -> in_case -> resolved (every alert starts open)"),
]
AlertMove = Annotated[
    Literal["acknowledged", "resolved"],
    _Enum("AlertMove", "Where an investigator moves an alert by hand (a case takes it in_case)"),
]
CaseStatus = Annotated[
    _CaseStatus,
    _Enum("CaseStatus", "open -> recommended -> decided (-> appealed -> decided or closed) -> closed"),
]
CaseLayer = Annotated[_CaseLayer, _Enum("CaseLayer", "The review layer a case waits at")]
CaseAction = Annotated[
    Literal["assign", "recommend", "decide", "escalate", "appeal", "close"],
    _Enum("CaseAction", "A step on a case"),
]
LabelStatus = Annotated[
    _LabelStatus,
    _Enum("LabelStatus", "An investigator label: confirmed fraud, cleared (appeal upheld) or allow-listed"),
]
LookupKind = Annotated[
    Literal["national_id", "device", "phone", "email", "employer", "address", "ip", "bank_account"],
    _Enum("LookupKind", "What a raw value to look up is"),
]


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path of the failing body field, or the name of the failing parameter")
    message: str


class Problem(BaseModel):
    """An error as RFC 9457 problem details, served as ``application/problem+json``."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem")
    title: str
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="What went wrong, for a person")
    field: str | None = Field(None, description="The first failing field or parameter (422)")
    errors: list[FieldProblem] | None = Field(None, description="Every failing field or parameter (422)")
    rule: str | None = Field(None, description="The desk rule that forbids the step (403), e.g. four_eyes")


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


_LABELLED_NODE = rf"^(applicant|{'|'.join(IDENTIFIER_KINDS)}):[A-Za-z0-9._:\-]+$"
_SOME_TEXT = r"\S"
"""More than white space (a reason someone can read)."""


class LabelRequest(BaseModel):
    node_id: str = Field(pattern=_LABELLED_NODE, description="applicant:... or an identifier node id")
    status: LabelStatus
    reason: str = Field(min_length=3, max_length=2000, pattern=_SOME_TEXT)


class RemoveLabelRequest(BaseModel):
    reason: str = Field(min_length=3, max_length=2000, pattern=_SOME_TEXT)


class LookupRequest(BaseModel):
    kind: LookupKind
    value: str = Field(min_length=1, max_length=512)


class AlertUpdate(BaseModel):
    status: AlertMove
    reason: str = Field(min_length=3, max_length=2000, pattern=_SOME_TEXT)


class RingRunRequest(BaseModel):
    max_ring_size: int = Field(60, ge=3, le=10000, description="Split larger components with Louvain")


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    model_version: str
    problems: list[str] = Field(
        default_factory=list,
        description="What is wrong with the stored data though the store serves, e.g. duplicate nodes that block a "
        "uniqueness rule (named)",
    )


class IdentifierView(BaseModel):
    node_id: str = Field(description="kind:key (the key is a keyed hash)")
    kind: str
    display: str = Field(description="Masked form for people, e.g. +86*******8000")


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


class NetworkNode(BaseModel):
    id: str
    kind: str
    label: str
    props: dict[str, Any]

    @classmethod
    def of(cls, n: GraphNode) -> NetworkNode:
        return cls(id=n.id, kind=n.kind, label=n.label, props=n.props)


class NetworkEdge(BaseModel):
    source: str
    target: str
    type: str = Field(description="Relationship type, e.g. USED_DEVICE")
    ts: float | None

    @classmethod
    def of(cls, e: GraphEdge) -> NetworkEdge:
        return cls(source=e.source, target=e.target, type=e.type, ts=e.ts)


class Network(BaseModel):
    root: str
    depth: int
    truncated: bool = Field(description="The node limit was reached; more lies beyond")
    nodes: list[NetworkNode]
    edges: list[NetworkEdge]


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


class RescoreResult(BaseModel):
    applicant_id: str
    decision: DecisionView
    alerts: list[AlertView]


class MonitoringQueue(BaseModel):
    pending: int = Field(
        ge=0,
        description="Re-scoring work queued by stored applications and label changes and not done yet "
        "(0: every alert those writes cause has been raised)",
    )


class AlertUpdated(BaseModel):
    alert_id: str
    status: AlertStatus


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
    reason: str = Field(min_length=3, max_length=2000, pattern=_SOME_TEXT)
    alert_id: str | None = Field(None, min_length=1, max_length=100, description="Open the case from this alert")


class CaseStepRequest(BaseModel):
    action: CaseAction
    outcome: str | None = Field(
        None,
        max_length=200,
        description="recommend/decide: watch, limit_reduce, freeze, close, clear or confirmed_fraud; deciding an "
        "appeal: upheld or rejected; assign: the assignee's actor name (default: the caller)",
    )
    reason: str = Field(min_length=3, max_length=2000, pattern=_SOME_TEXT)
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


class AuditEventView(BaseModel):
    seq: int
    at: float
    actor: str = Field(description="role:key-id (a keyed hash of the API key, never key material) or a process")
    action: str
    subject: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, e: AuditEvent) -> AuditEventView:
        return cls(seq=e.seq, at=e.at, actor=e.actor, action=e.action, subject=e.subject, detail=e.detail)


class WhoAmI(BaseModel):
    actor: str = Field(description="role:key-id, as the audit log names this caller")
    role: Role


class StoreStats(BaseModel):
    store: str
    counts: dict[str, int]
    model_version: str


def openapi_components() -> dict[str, dict[str, Any]]:
    """Schemas the routes refer to by name without a model of their own: the Problem of
    every error response (``api.http.errors.problem_responses``) and the application record the
    scoring routes read themselves (``api.http.routes.RECORD_BODY``)."""
    out: dict[str, dict[str, Any]] = {}
    for model in (Problem, ApplicationRecord):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


# -- investigator console reads: who used an identifier, reach, the overview ---------------------
AgeBand = Annotated[
    Literal["<1d", "1-7d", "7-30d", ">30d"],
    _Enum("AgeBand", "How long ago an open alert was raised or an open case was opened"),
]


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
