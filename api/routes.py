"""Versioned JSON endpoints under /v1. Each handler validates, calls one desk
operation and shapes the answer; errors are mapped in ``api/errors.py``."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from prometheus_client import Counter, Histogram

from api.deps import Admin, Desk, Investigator, Scorer, SettingsDep
from api.schemas import AlertUpdate, LabelRequest, LookupRequest, RemoveLabelRequest, RingRunRequest, ScoreResponse
from graph.errors import NotFound, StoreUnavailable
from graph.records import ApplicationRecord
from graph.store import RingRecord
from graph.vocabulary import applicant_node

router = APIRouter(prefix="/v1")

SCORE_SECONDS = Histogram("ringsight_score_seconds", "Time to score one application", ["stored"],
                          buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0))
DECISIONS = Counter("ringsight_decisions_total", "Scored applications by band", ["band"])
OUTAGES = Counter("ringsight_store_outage_total", "Scoring calls answered by the outage policy")

EXAMPLE = {
    "application_id": "APP-000123",
    "submitted_at": "2026-11-20T10:31:00Z",
    "applicant": {"national_id": "110101199003077777", "name": "Li Wei", "date_of_birth": "1990-03-07",
                  "account_created_at": "2026-11-20T10:02:00Z"},
    "device": {"fingerprint": "dfp-9f2c1a", "os": "android", "ip": "203.0.113.7"},
    "phone": "+86 138 0013 8000",
    "email": "li.wei@example.com",
    "employer": {"name": "Example Trading Co., Ltd."},
    "amount": 5000, "product": "cash_loan", "channel": "app",
    "behaviour": {"form_fill_seconds": 41, "field_edits": 2},
}

RecordBody = Annotated[ApplicationRecord, Body(examples=[EXAMPLE])]


def _assess(desk: Desk, settings: SettingsDep, record: ApplicationRecord, persist: bool, actor: str) -> ScoreResponse:
    started = time.perf_counter()
    try:
        done = desk.assess(record, persist=persist, actor=actor)
    except StoreUnavailable:
        if settings.store_outage_policy != "fail_open":
            raise
        OUTAGES.inc()
        return ScoreResponse(
            application_id=record.application_id, applicant_id="", score=None, band="unscored",
            action="review", reasons=[], model_version=desk.scorer.model.version, stored=False, degraded=True,
        )
    SCORE_SECONDS.labels(stored=str(persist).lower()).observe(time.perf_counter() - started)
    DECISIONS.labels(band=done.result.band).inc()
    return ScoreResponse.of(done.result, stored=done.stored, replayed=done.replayed)


async def _scored(
    desk: Desk, settings: SettingsDep, record: ApplicationRecord, persist: bool, actor: str
) -> ScoreResponse:
    """Score on the event loop when the store answers from memory (the embedded index: pure
    CPU, so a thread would only add a hop and GIL hand-offs to every request), in the
    thread pool when it waits on a server (Neo4j: other requests run meanwhile)."""
    if desk.store.waits_on_network:
        return await run_in_threadpool(_assess, desk, settings, record, persist, actor)
    return _assess(desk, settings, record, persist, actor)


def _json(body: ScoreResponse) -> Response:
    # Already validated by construction: skip FastAPI's second pass over the response model.
    return Response(body.model_dump_json(), media_type="application/json")


@router.post("/applications", response_model=ScoreResponse, tags=["scoring"],
             summary="Store an application and score it")
async def submit_application(
    record: RecordBody, desk: Desk, settings: SettingsDep, actor: Scorer, request: Request
) -> Response:
    response = await _scored(desk, settings, record, True, actor)
    worker = getattr(request.app.state, "monitoring", None)
    if response.stored and worker is not None:
        # Existing applicants this one links to are re-scored by the monitoring worker.
        worker.submit(record.application_id)
    return _json(response)


@router.post("/score", response_model=ScoreResponse, tags=["scoring"], summary="Score without storing (dry run)")
async def dry_run(record: RecordBody, desk: Desk, settings: SettingsDep, actor: Scorer) -> Response:
    return _json(await _scored(desk, settings, record, False, actor))


@router.get("/applications/{application_id}", tags=["investigation"])
def application(application_id: str, desk: Desk, _: Investigator) -> dict[str, Any]:
    app = desk.store.application(application_id)
    if app is None:
        raise NotFound("application", application_id)
    return {
        "application_id": app.application_id,
        "applicant_id": applicant_node(app.applicant_key),
        "submitted_at": app.submitted_at().isoformat(),
        "identifiers": [{"node_id": i.node_id, "kind": i.kind, "display": i.display} for i in app.identifiers],
        "amount": app.amount, "product": app.product, "channel": app.channel,
        "decisions": [asdict(d) for d in desk.store.decisions(application_id)],
    }


def _applicant_key(applicant_id: str) -> str:
    return applicant_id.removeprefix("applicant:")


@router.get("/applicants/{applicant_id}", tags=["investigation"])
def applicant(applicant_id: str, desk: Desk, _: Investigator) -> dict[str, Any]:
    key = _applicant_key(applicant_id)
    apps = desk.store.applicant_applications(key)
    if not apps:
        raise NotFound("applicant", applicant_id)
    node = applicant_node(key)
    label = desk.store.labels([node]).get(node)
    ring = desk.store.ring_of(key)
    seen: dict[str, dict[str, str]] = {}
    for a in apps:
        for i in a.identifiers:
            seen.setdefault(i.node_id, {"node_id": i.node_id, "kind": i.kind, "display": i.display})
    return {
        "applicant_id": node,
        "display": apps[-1].applicant_display,
        "identifiers": list(seen.values()),
        "label": asdict(label) if label else None,
        "ring": ring.ring_id if ring else None,
        "applications": [
            {"application_id": a.application_id, "submitted_at": a.submitted_at().isoformat(),
             "amount": a.amount, "product": a.product,
             "decisions": [asdict(d) for d in desk.store.decisions(a.application_id)]}
            for a in apps
        ],
    }


def _network(desk: Desk, node_id: str, depth: int, limit: int) -> dict[str, Any]:
    graph = desk.store.neighbourhood(node_id, depth, limit)
    if not graph.nodes:
        raise NotFound("node", node_id)
    return {"root": node_id, "depth": depth, "truncated": graph.truncated,
            "nodes": [asdict(n) for n in graph.nodes], "edges": [asdict(e) for e in graph.edges]}


@router.get("/applicants/{applicant_id}/network", tags=["investigation"],
            summary="Nodes and edges around an applicant for a graph view")
def applicant_network(
    applicant_id: str, desk: Desk, _: Investigator,
    depth: Annotated[int, Query(ge=1, le=6)] = 2, limit: Annotated[int, Query(ge=1, le=2000)] = 300,
) -> dict[str, Any]:
    return _network(desk, applicant_node(_applicant_key(applicant_id)), depth, limit)


@router.get("/nodes/{node_id}/network", tags=["investigation"], summary="Nodes and edges around any node")
def node_network(
    node_id: str, desk: Desk, _: Investigator,
    depth: Annotated[int, Query(ge=1, le=6)] = 2, limit: Annotated[int, Query(ge=1, le=2000)] = 300,
) -> dict[str, Any]:
    return _network(desk, node_id, depth, limit)


@router.get("/nodes/{node_id}", tags=["investigation"], summary="One node: display, usage and label")
def node(node_id: str, desk: Desk, _: Investigator) -> dict[str, Any]:
    display = desk.store.node_display([node_id]).get(node_id)
    if display is None:
        raise NotFound("node", node_id)
    kind = node_id.split(":", 1)[0]
    body: dict[str, Any] = {"node_id": node_id, "kind": kind, "display": display}
    if kind not in ("applicant", "application"):
        usage = desk.store.identifier_usage([node_id], desk.now() + 1, 30 * 86400.0, 0).get(node_id)
        body["applicants"] = usage.applicants if usage else 0
        body["applications"] = usage.applications if usage else 0
        body["applications_30d"] = len(usage.recent) if usage else 0
        body["hub"] = bool(usage and usage.applicants > desk.scorer.config.params.hub_limit)
    label = desk.store.labels([node_id]).get(node_id)
    body["label"] = asdict(label) if label else None
    return body


@router.post("/lookup", tags=["investigation"], summary="Find the node of a raw identifier or national id")
def lookup(body: LookupRequest, desk: Desk, actor: Investigator) -> dict[str, Any]:
    node = desk.normaliser.node_for(body.kind, body.value)
    desk.store.append_audit(desk.now(), actor, "lookup", node, {"kind": body.kind})
    display = desk.store.node_display([node]).get(node)
    if display is None:
        raise NotFound(body.kind, node)
    hub_limit = desk.scorer.config.params.hub_limit
    usage = desk.store.identifier_usage([node], desk.now() + 1, 30 * 86400.0, hub_limit).get(node)
    label = desk.store.labels([node]).get(node)
    return {"node_id": node, "kind": body.kind, "display": display,
            "applicants": usage.applicants if usage else None,
            "applications": usage.applications if usage else None,
            "label": asdict(label) if label else None}


@router.post("/labels", tags=["investigation"], summary="Mark confirmed fraud, clear (appeal upheld) or allow-list")
def set_label(body: LabelRequest, desk: Desk, actor: Investigator) -> dict[str, Any]:
    alerts = desk.label(body.node_id, body.status, actor, body.reason)
    return {"node_id": body.node_id, "status": body.status, "alerts": [asdict(a) for a in alerts]}


@router.post("/labels/{node_id}/remove", tags=["investigation"], summary="Withdraw a label")
def remove_label(node_id: str, body: RemoveLabelRequest, desk: Desk, actor: Investigator) -> dict[str, Any]:
    desk.remove_label(node_id, actor, body.reason)
    return {"node_id": node_id, "status": None}


@router.get("/labels", tags=["investigation"])
def labels(desk: Desk, _: Investigator) -> list[dict[str, Any]]:
    return [asdict(label) for label in sorted(desk.store.labels().values(), key=lambda lab: -lab.at)]


@router.post("/applicants/{applicant_id}/rescore", tags=["investigation"],
             summary="Re-evaluate an applicant with today's graph (appeals, reviews)")
def rescore(applicant_id: str, desk: Desk, actor: Investigator) -> dict[str, Any]:
    key = _applicant_key(applicant_id)
    if not desk.store.applicants_exist([key]):
        raise NotFound("applicant", applicant_id)
    alerts = desk.monitor([key], trigger=f"rescore:{actor}")
    latest = desk.store.applicant_applications(key)[-1]
    desk.store.append_audit(desk.now(), actor, "rescore", applicant_node(key), {"alerts": len(alerts)})
    return {"applicant_id": applicant_node(key), "decision": asdict(desk.store.decisions(latest.application_id)[-1]),
            "alerts": [asdict(a) for a in alerts]}


@router.get("/alerts", tags=["monitoring"])
def alerts(desk: Desk, _: Investigator, status: str | None = None,
           limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    found = desk.store.alerts(status, limit)
    display = desk.store.node_display([applicant_node(a.applicant_key) for a in found])
    return [{**asdict(a), "applicant_id": applicant_node(a.applicant_key),
             "applicant_display": display.get(applicant_node(a.applicant_key), "")} for a in found]


@router.post("/alerts/{alert_id}", tags=["monitoring"])
def update_alert(alert_id: str, body: AlertUpdate, desk: Desk, actor: Investigator) -> dict[str, Any]:
    desk.store.set_alert_status(alert_id, body.status)
    desk.store.append_audit(desk.now(), actor, f"alert:{body.status}", alert_id, {"reason": body.reason})
    return {"alert_id": alert_id, "status": body.status}


def _ring(r: RingRecord, desk: Desk, full: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"ring_id": r.ring_id, "run_id": r.run_id, "size": len(r.members),
                            "score": r.score, "features": r.features, "lineage": r.lineage}
    if full:
        nodes = [applicant_node(m) for m in r.members]
        display = desk.store.node_display(nodes + list(r.identifiers))
        labels = desk.store.labels(nodes)
        body["members"] = [{"node_id": n, "display": display.get(n, ""),
                            "status": labels[n].status if n in labels else None} for n in nodes]
        body["identifiers"] = [{"node_id": n, "display": display.get(n, "")} for n in r.identifiers]
    return body


@router.get("/rings", tags=["rings"])
def rings(desk: Desk, _: Investigator, min_score: float = 0.0,
          limit: Annotated[int, Query(ge=1, le=5000)] = 200) -> list[dict[str, Any]]:
    found = sorted((r for r in desk.store.rings() if r.score >= min_score), key=lambda r: (-r.score, r.ring_id))
    return [_ring(r, desk, full=False) for r in found[:limit]]


@router.get("/rings/{ring_id}", tags=["rings"])
def ring(ring_id: str, desk: Desk, _: Investigator) -> dict[str, Any]:
    for r in desk.store.rings():
        if r.ring_id == ring_id:
            return _ring(r, desk, full=True)
    raise NotFound("ring", ring_id)


@router.get("/audit", tags=["admin"])
def audit(desk: Desk, _: Admin, subject: str | None = None,
          limit: Annotated[int, Query(ge=1, le=5000)] = 100) -> list[dict[str, Any]]:
    return [asdict(e) for e in desk.store.audit(subject, limit)]


@router.get("/whoami", tags=["admin"], summary="The role of the calling API key")
def whoami(actor: Scorer) -> dict[str, str]:
    return {"actor": actor, "role": actor.split(":", 1)[0]}


@router.get("/stats", tags=["admin"])
def stats(desk: Desk, _: Investigator) -> dict[str, Any]:
    return {"store": desk.store.url.split("@")[-1], "counts": desk.store.stats(),
            "model_version": desk.scorer.model.version}


@router.post("/rings/runs", tags=["rings"], summary="Run batch ring detection now and write the rings")
def ring_run(body: RingRunRequest, desk: Desk, actor: Admin) -> dict[str, Any]:
    """Finds, scores and writes rings over the whole graph; answers with the run summary
    (counts, timings, lineage events). An unchanged re-run writes nothing; 409 while a run is going."""
    from detectors.rings import RingParams, detect_rings

    run = detect_rings(desk.store, RingParams(max_ring_size=body.max_ring_size), desk.scorer.config.params,
                       clock=desk.now)
    desk.store.append_audit(run.at, actor, "rings:run", run.run_id,
                            {"rings": len(run.rings), "written": run.written, "critical": len(run.critical)})
    return run.summary()
