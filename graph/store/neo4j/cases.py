"""The Neo4j store's alerts and cases: the alert lifecycle (one unresolved alert per
applicant and tier, held by a uniqueness constraint) and cases with their append-only
steps, each written with its audit event in one transaction.

A mixin of :class:`graph.store.neo4j.store.Neo4jStore`: it uses the store's managed
read and write transactions (bounded, retried, failures raised as
:class:`~graph.errors.StoreUnavailable`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import neo4j
from neo4j.exceptions import ConstraintError

from graph.errors import Conflict, NotFound, StoreUnavailable
from graph.store.neo4j import queries as q
from graph.store.neo4j.outage import refused_by_constraint
from graph.store.neo4j.rows import audit_params, new_seq, to_json
from graph.store.records import Alert, AuditEntry, Case, CaseStep

T = TypeVar("T")


def _alert(r: neo4j.Record) -> Alert:
    return Alert(
        r["alert_id"],
        r["applicant_key"],
        r["tier"],
        r["at"],
        r["trigger"],
        r["score"],
        r["previous_score"],
        r["status"],
        json.loads(r["detail"]),
        r["updated_at"],
        r["updated_by"],
        r["note"],
        r["case_id"],
    )


def _case(r: neo4j.Record, steps: tuple[CaseStep, ...] = ()) -> Case:
    return Case(
        r["case_id"],
        r["subject"],
        r["source"],
        r["opened_at"],
        r["opened_by"],
        r["reason"],
        json.loads(r["evidence"]),
        r["status"],
        r["layer"],
        r["owner"],
        r["outcome"],
        r["updated_at"],
        r["version"],
        r["alert_id"],
        steps,
    )


def _step_params(s: CaseStep) -> dict[str, Any]:
    return {
        "seq": s.seq,
        "at": s.at,
        "actor": s.actor,
        "action": s.action,
        "outcome": s.outcome,
        "reason": s.reason,
        "status": s.status,
        "layer": s.layer,
        "detail": to_json(s.detail),
    }


def _case_params(c: Case) -> dict[str, Any]:
    return {
        "case_id": c.case_id,
        "subject": c.subject,
        "source": c.source,
        "opened_at": c.opened_at,
        "opened_by": c.opened_by,
        "reason": c.reason,
        "evidence": to_json(c.evidence),
        "status": c.status,
        "layer": c.layer,
        "owner": c.owner,
        "outcome": c.outcome,
        "updated_at": c.updated_at,
        "version": c.version,
        "alert_id": c.alert_id,
    }


class CaseNodes:
    """The alerts and cases part of :class:`graph.store.case_log.CaseLog` on Neo4j."""

    if TYPE_CHECKING:  # provided by Neo4jStore

        def _write(
            self, what: str, work: Callable[[neo4j.ManagedTransaction], T], timeout: float | None = None
        ) -> T: ...

        def _fetch(self, what: str, query: str, **params: Any) -> list[neo4j.Record]: ...

        def _change(self, what: str, query: str, **params: Any) -> list[neo4j.Record]: ...

    # -- alerts -----------------------------------------------------------------------------------
    def add_alert(self, alert: Alert) -> bool:
        a = alert
        records = self._change(
            "add_alert",
            q.Q_ADD_ALERT,
            open_key=f"{a.applicant_key}|{a.tier}",
            alert_id=a.alert_id,
            applicant_key=a.applicant_key,
            tier=a.tier,
            at=a.at,
            trigger=a.trigger,
            score=a.score,
            previous_score=a.previous_score,
            status=a.status,
            detail=to_json(a.detail),
        )
        return bool(records and records[0]["created"])

    def alert(self, alert_id: str) -> Alert | None:
        records = self._fetch("alert", q.Q_ALERT, alert_id=alert_id)
        return _alert(records[0]) if records else None

    def alerts(self, status: str | None = None, limit: int = 100, applicant_key: str | None = None) -> list[Alert]:
        records = self._fetch("alerts", q.Q_ALERTS, status=status, applicant_key=applicant_key, limit=max(0, limit))
        return [_alert(r) for r in records]

    def set_alert_status(
        self, alert_id: str, status: str, by: str, at: float, note: str, case_id: str | None = None
    ) -> Alert:
        records = self._change(
            "set_alert_status",
            q.Q_SET_ALERT_STATUS,
            alert_id=alert_id,
            status=status,
            by=by,
            at=at,
            note=note,
            case_id=case_id,
        )
        if not records:
            raise NotFound("alert", alert_id)
        return _alert(records[0])

    def resolve_alerts(self, triggers: Sequence[str], by: str, at: float, note: str) -> list[Alert]:
        if not triggers:
            return []
        records = self._change("resolve_alerts", q.Q_RESOLVE_ALERTS, triggers=list(triggers), by=by, at=at, note=note)
        return [_alert(r) for r in records]

    # -- cases ------------------------------------------------------------------------------------
    def _write_case(self, what: str, work: Callable[[neo4j.ManagedTransaction], None], refused: str) -> None:
        try:
            self._write(what, work)
        except (ConstraintError, StoreUnavailable) as exc:
            if refused_by_constraint(exc):
                raise Conflict(refused) from exc
            raise

    def open_case(self, case: Case, audit: AuditEntry) -> None:
        params = _case_params(case)
        steps = [_step_params(s) for s in case.steps]

        def work(tx: neo4j.ManagedTransaction) -> None:
            tx.run(q.Q_OPEN_CASE, case=params, steps=steps).consume()
            tx.run(q.Q_APPEND_AUDIT, seq=new_seq(), **audit_params(audit)).consume()

        self._write_case("open_case", work, f"case {case.case_id!r} exists")

    def add_case_step(self, case: Case, audit: AuditEntry) -> None:
        params = _case_params(case)
        step = _step_params(case.steps[-1])
        changed = f"case {case.case_id!r} changed meanwhile: read it again and retry"

        def work(tx: neo4j.ManagedTransaction) -> None:
            record = tx.run(q.Q_CASE_STEP, case=params, step=step).single()
            if record is None or record["n"] != 1:
                raise Conflict(changed)
            tx.run(q.Q_APPEND_AUDIT, seq=new_seq(), **audit_params(audit)).consume()

        self._write_case("add_case_step", work, changed)

    def case(self, case_id: str) -> Case | None:
        records = self._fetch("case", q.Q_CASE, case_id=case_id)
        if not records:
            return None
        r = records[0]
        steps = tuple(
            CaseStep(
                s["seq"],
                s["at"],
                s["actor"],
                s["action"],
                s["outcome"],
                s["reason"],
                s["status"],
                s["layer"],
                json.loads(s["detail"]),
            )
            for s in r["steps"]
        )
        return _case(r, steps)

    def cases(
        self,
        status: str | None = None,
        layer: str | None = None,
        owner: str | None = None,
        subject: str | None = None,
        limit: int = 100,
    ) -> list[Case]:
        records = self._fetch(
            "cases", q.Q_CASES, status=status, layer=layer, owner=owner, subject=subject, limit=max(0, limit)
        )
        return [_case(r) for r in records]
