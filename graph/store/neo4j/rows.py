"""Rows between Python records and Neo4j: application rows for the create statement,
records read back, and the time-ordered sequence numbers of decisions and audit events."""

from __future__ import annotations

import json
import math
import random
import time
from typing import Any

import neo4j

from graph.errors import InvalidInput
from graph.normalise import NormalisedApplication, application_from_parts, application_props
from graph.store.neo4j.queries import FIRST_LINK, Q_DECISIONS
from graph.store.records import AuditEntry, Decision, IdentifierUsage, RingRecord
from graph.vocabulary import KIND_OF_LABEL, KIND_OF_RELATIONSHIP, LABEL_OF_KIND


def to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def epoch_parts(ts: float) -> tuple[int, int]:
    """Whole seconds and nanoseconds of an epoch time, to the microsecond (as ``datetime``)."""
    sec = math.floor(ts)
    micro = round((ts - sec) * 1_000_000)
    if micro >= 1_000_000:
        sec, micro = sec + 1, 0
    return int(sec), micro * 1000


LINK_SLOT: dict[str, int] = {kind: FIRST_LINK + n for n, kind in enumerate(LABEL_OF_KIND)}


def create_row(app: NormalisedApplication) -> list[Any]:
    """``[id, ts, applicant key, applicant display, seconds, nanoseconds, *scalars,
    *one [key, position] or null per identifier kind]``."""
    sec, ns = epoch_parts(app.ts)
    row: list[Any] = [app.application_id, app.ts, app.applicant_key, app.applicant_display, sec, ns]
    row += application_props(app).values()
    row += [None] * len(LABEL_OF_KIND)
    for position, ident in enumerate(app.identifiers):
        slot = LINK_SLOT.get(ident.kind)
        if slot is None:
            raise InvalidInput("identifiers", f"unknown identifier kind {ident.kind!r}")
        if row[slot] is not None:
            raise InvalidInput("identifiers", f"more than one {ident.kind} in one application")
        row[slot] = [ident.key, position]
    return row


def application_of(app: dict[str, Any], idents: list[list[Any]]) -> NormalisedApplication:
    ordered = sorted(idents, key=lambda x: x[0])
    return application_from_parts(
        app["application_id"],
        app["ts"],
        app["applicant_key"],
        app.get("applicant_display", ""),
        [(KIND_OF_RELATIONSHIP[rel], key, display) for _, rel, key, display in ordered],
        app,
    )


def ring_of_record(record: neo4j.Record) -> RingRecord:
    return RingRecord(
        record["ring_id"],
        record["run_id"],
        tuple(record["members"]),
        record["score"],
        json.loads(record["features"]),
        tuple(record["identifiers"]),
        json.loads(record["lineage"]),
    )


def usage_rows(rows: list[list[Any]]) -> dict[str, IdentifierUsage]:
    """Usage records from ``USAGE_ROW`` lists."""
    out: dict[str, IdentifierUsage] = {}
    for label, key, display, applications, first_ts, last_ts, applicants, members, recent in rows:
        nid = f"{KIND_OF_LABEL[label]}:{key}"
        out[nid] = IdentifierUsage(
            node_id=nid,
            applicants=applicants,
            applications=applications,
            first_ts=first_ts,
            last_ts=last_ts,
            recent=tuple(sorted((ts, who) for ts, who in recent)),
            members=tuple(sorted(members)),
            display=display,
        )
    return out


def new_seq() -> int:
    """A sequence number for a decision or audit event: microseconds since the epoch and
    12 random bits. Time-ordered and unique without a shared counter node, so writers
    never queue on one lock (a rare clash is refused by the constraint and retried)."""
    return (time.time_ns() // 1000) << 12 | random.getrandbits(12)


def decision_params(d: Decision) -> dict[str, Any]:
    return {
        "application_id": d.application_id,
        "at": d.at,
        "score": d.score,
        "band": d.band,
        "action": d.action,
        "reasons": json.dumps(d.reasons),
        "model_version": d.model_version,
        "trigger": d.trigger,
    }


def audit_params(e: AuditEntry) -> dict[str, Any]:
    return {"at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject, "detail": to_json(e.detail)}


def read_decisions(tx: neo4j.ManagedTransaction | neo4j.Transaction, application_id: str) -> list[Decision]:
    return [
        Decision(
            r["application_id"],
            r["at"],
            r["score"],
            r["band"],
            r["action"],
            json.loads(r["reasons"]),
            r["model_version"],
            r["trigger"],
        )
        for r in tx.run(Q_DECISIONS, application_id=application_id)
    ]
