"""The embedded store's cases: one row per case (its state after the latest step) and
its append-only steps, written with their audit event in one SQLite transaction.

A mixin of :class:`graph.store.embedded.store.EmbeddedStore`: it uses the store's
connection and lock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any

from graph.errors import Conflict
from graph.store.embedded.database import insert_audit, transaction
from graph.store.records import AuditEntry, Case, CaseStep

_CASE_COLUMNS = (
    "case_id, subject, source, opened_at, opened_by, reason, evidence, status, layer, owner, outcome, "
    "updated_at, version, alert_id"
)
_STEP_COLUMNS = "seq, at, actor, action, outcome, reason, status, layer, detail"


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, default=str)


class CaseRows:
    """The cases part of :class:`graph.store.case_log.CaseLog`."""

    _db: sqlite3.Connection
    _lock: threading.RLock

    def _insert_step(self, case_id: str, step: CaseStep) -> None:
        s = step
        self._db.execute(
            f"INSERT INTO case_steps (case_id, {_STEP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (case_id, s.seq, s.at, s.actor, s.action, s.outcome, s.reason, s.status, s.layer, _dumps(s.detail)),
        )

    def _audit(self, audit: AuditEntry) -> None:
        insert_audit(self._db, audit)

    def open_case(self, case: Case, audit: AuditEntry) -> None:
        c = case
        with self._lock, transaction(self._db, "open case"):
            try:
                self._db.execute(
                    f"INSERT INTO cases ({_CASE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        c.case_id,
                        c.subject,
                        c.source,
                        c.opened_at,
                        c.opened_by,
                        c.reason,
                        _dumps(c.evidence),
                        c.status,
                        c.layer,
                        c.owner,
                        c.outcome,
                        c.updated_at,
                        c.version,
                        c.alert_id,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"case {c.case_id!r} exists") from exc
            for step in c.steps:
                self._insert_step(c.case_id, step)
            self._audit(audit)

    def add_case_step(self, case: Case, audit: AuditEntry) -> None:
        c = case
        with self._lock, transaction(self._db, "case step"):
            cur = self._db.execute(
                "UPDATE cases SET status = ?, layer = ?, owner = ?, outcome = ?, updated_at = ?, version = ? "
                "WHERE case_id = ? AND version = ?",
                (c.status, c.layer, c.owner, c.outcome, c.updated_at, c.version, c.case_id, c.version - 1),
            )
            if cur.rowcount != 1:
                raise Conflict(f"case {c.case_id!r} changed meanwhile: read it again and retry")
            self._insert_step(c.case_id, c.steps[-1])
            self._audit(audit)

    @staticmethod
    def _case(row: tuple[Any, ...], steps: tuple[CaseStep, ...] = ()) -> Case:
        (case_id, subject, source, opened_at, opened_by, reason, evidence, status, layer, owner, outcome) = row[:11]
        updated_at, version, alert_id = row[11:]
        return Case(
            case_id,
            subject,
            source,
            opened_at,
            opened_by,
            reason,
            json.loads(evidence),
            status,
            layer,
            owner,
            outcome,
            updated_at,
            version,
            alert_id,
            steps,
        )

    def case(self, case_id: str) -> Case | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_CASE_COLUMNS} FROM cases WHERE case_id = ?", (case_id,)).fetchone()
            if row is None:
                return None
            steps = self._db.execute(
                f"SELECT {_STEP_COLUMNS} FROM case_steps WHERE case_id = ? ORDER BY seq", (case_id,)
            ).fetchall()
        return self._case(
            row, tuple(CaseStep(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], json.loads(s[8])) for s in steps)
        )

    def cases(
        self,
        status: str | None = None,
        layer: str | None = None,
        owner: str | None = None,
        subject: str | None = None,
        limit: int = 100,
    ) -> list[Case]:
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("status", status), ("layer", layer), ("subject", subject)):
            if value is not None:
                where.append(f"{column} = ?")  # column names from the fixed tuple above
                params.append(value)
        if owner == "":
            where.append("owner IS NULL")
        elif owner is not None:
            where.append("owner = ?")
            params.append(owner)
        sql = f"SELECT {_CASE_COLUMNS} FROM cases"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY updated_at DESC, case_id LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*params, max(0, limit))).fetchall()
        return [self._case(r) for r in rows]
