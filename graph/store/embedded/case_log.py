"""The embedded case log and rings: decisions, labels, alerts, the append-only audit
log, store-wide settings and the rings of batch runs, as SQLite rows.

A mixin of :class:`graph.store.embedded.store.EmbeddedStore`: it uses the store's
connection and lock. Labels are also held in a dict (there are few, and every
scoring snapshot reads them).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

from graph.errors import NotFound
from graph.store.embedded.database import insert_audit, transaction
from graph.store.embedded.work_queue import queue_work
from graph.store.records import Alert, AuditEntry, AuditEvent, Decision, Label, RingRecord
from graph.store.work_queue import FollowUp


class CaseLogRows:
    """The :class:`graph.store.case_log.CaseLog` seam and the ring rows of
    :class:`graph.store.batch.GraphBatch`, over the store's SQLite connection."""

    _db: sqlite3.Connection
    _lock: threading.RLock
    _labels: dict[str, Label]

    def _read_labels(self) -> None:
        self._labels = {
            node_id: Label(node_id, status, by, at, reason)
            for node_id, status, by, at, reason in self._db.execute("SELECT * FROM labels")
        }

    # -- labels ---------------------------------------------------------------------------------
    def set_label(self, label: Label, audit: AuditEntry | None = None, follow_up: FollowUp | None = None) -> None:
        with self._lock, transaction(self._db, "set_label"):
            self._db.execute(
                "INSERT OR REPLACE INTO labels VALUES (?, ?, ?, ?, ?)",
                (label.node_id, label.status, label.by, label.at, label.reason),
            )
            self._with_consequences(audit, follow_up)
            self._labels[label.node_id] = label

    def remove_label(self, node_id: str, audit: AuditEntry | None = None, follow_up: FollowUp | None = None) -> None:
        with self._lock, transaction(self._db, "remove_label"):
            self._db.execute("DELETE FROM labels WHERE node_id = ?", (node_id,))
            self._with_consequences(audit, follow_up)
            self._labels.pop(node_id, None)

    def _with_consequences(self, audit: AuditEntry | None, follow_up: FollowUp | None) -> None:
        """A label's audit event and follow-up work, inside its transaction."""
        if audit is not None:
            insert_audit(self._db, audit)
        if follow_up is not None:
            queue_work(self._db, follow_up.kind, follow_up.subject, follow_up.at)

    def labels(self, node_ids: Sequence[str] | None = None) -> dict[str, Label]:
        with self._lock:
            if node_ids is None:
                return dict(self._labels)
            return {n: self._labels[n] for n in node_ids if n in self._labels}

    # -- decisions --------------------------------------------------------------------------------
    def record_decision(self, decision: Decision) -> None:
        with self._lock:
            self._insert_decision(decision)

    def _insert_decision(self, decision: Decision) -> None:
        d = decision
        self._db.execute(
            "INSERT INTO decisions (application_id, at, score, band, action, reasons, model_version, trigger) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (d.application_id, d.at, d.score, d.band, d.action, json.dumps(d.reasons), d.model_version, d.trigger),
        )

    def decisions(self, application_id: str) -> list[Decision]:
        with self._lock:
            rows = self._db.execute(
                "SELECT application_id, at, score, band, action, reasons, model_version, trigger "
                "FROM decisions WHERE application_id = ? ORDER BY id",
                (application_id,),
            ).fetchall()
        return [Decision(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows]

    # -- alerts -----------------------------------------------------------------------------------
    _ALERT_COLUMNS = (
        "alert_id, applicant_key, tier, at, trigger, score, previous_score, status, detail, "
        "updated_at, updated_by, note, case_id"
    )

    @staticmethod
    def _alert(r: tuple[Any, ...]) -> Alert:
        return Alert(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8]), r[9], r[10], r[11], r[12])

    def add_alert(self, alert: Alert) -> bool:
        a = alert
        with self._lock:
            # The partial unique index (one unresolved alert per applicant and tier) and the
            # primary key both make this a no-op for a duplicate.
            cur = self._db.execute(
                f"INSERT OR IGNORE INTO alerts ({self._ALERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    a.alert_id,
                    a.applicant_key,
                    a.tier,
                    a.at,
                    a.trigger,
                    a.score,
                    a.previous_score,
                    a.status,
                    json.dumps(a.detail, sort_keys=True),
                    a.updated_at,
                    a.updated_by,
                    a.note,
                    a.case_id,
                ),
            )
        return cur.rowcount == 1

    def alert(self, alert_id: str) -> Alert | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {self._ALERT_COLUMNS} FROM alerts WHERE alert_id = ?", (alert_id,)
            ).fetchone()
        return None if row is None else self._alert(row)

    def alerts(self, status: str | None = None, limit: int = 100, applicant_key: str | None = None) -> list[Alert]:
        where: list[str] = []
        params: list[Any] = []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if applicant_key is not None:
            where.append("applicant_key = ?")
            params.append(applicant_key)
        sql = f"SELECT {self._ALERT_COLUMNS} FROM alerts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY at DESC, alert_id LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*params, limit)).fetchall()
        return [self._alert(r) for r in rows]

    def set_alert_status(
        self, alert_id: str, status: str, by: str, at: float, note: str, case_id: str | None = None
    ) -> Alert:
        with self._lock:
            cur = self._db.execute(
                "UPDATE alerts SET status = ?, updated_at = ?, updated_by = ?, note = ?, "
                "case_id = coalesce(?, case_id) WHERE alert_id = ?",
                (status, at, by, note, case_id, alert_id),
            )
            if cur.rowcount == 0:
                raise NotFound("alert", alert_id)
            found = self.alert(alert_id)
        assert found is not None
        return found

    def resolve_alerts(self, triggers: Sequence[str], by: str, at: float, note: str) -> list[Alert]:
        if not triggers:
            return []
        marks = ", ".join("?" * len(triggers))
        with self._lock, transaction(self._db, "resolve alerts"):
            ids = [
                r[0]
                for r in self._db.execute(
                    f"SELECT alert_id FROM alerts WHERE status != 'resolved' AND trigger IN ({marks})",
                    tuple(triggers),
                )
            ]
            self._db.executemany(
                "UPDATE alerts SET status = 'resolved', updated_at = ?, updated_by = ?, note = ? WHERE alert_id = ?",
                [(at, by, note, i) for i in ids],
            )
            found = [self.alert(i) for i in ids]
        return [a for a in found if a is not None]

    # -- audit ------------------------------------------------------------------------------------
    def append_audit(self, at: float, actor: str, action: str, subject: str, detail: dict[str, Any]) -> int:
        with self._lock:
            return self._insert_audit(at, actor, action, subject, detail)

    def _insert_audit(self, at: float, actor: str, action: str, subject: str, detail: dict[str, Any]) -> int:
        return insert_audit(self._db, AuditEntry(at, actor, action, subject, detail))

    def audit(self, subject: str | None = None, limit: int = 100) -> list[AuditEvent]:
        sql = "SELECT seq, at, actor, action, subject, detail FROM audit"
        params: tuple[Any, ...] = ()
        if subject is not None:
            sql += " WHERE subject = ?"
            params = (subject,)
        sql += " ORDER BY seq DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*params, limit)).fetchall()
        return [AuditEvent(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    # -- settings ---------------------------------------------------------------------------------
    def setting(self, name: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def put_setting(self, name: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (name, value))

    # -- rings ------------------------------------------------------------------------------------
    def write_rings(self, run_id: str, at: float, rings: Sequence[RingRecord]) -> None:
        with self._lock, transaction(self._db, "ring write"):
            self._db.execute("UPDATE rings SET active = 0 WHERE active = 1")
            self._db.executemany(
                "INSERT OR REPLACE INTO rings VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?)",
                [
                    (
                        r.ring_id,
                        r.run_id,
                        at,
                        r.score,
                        json.dumps(r.features, sort_keys=True),
                        json.dumps(list(r.identifiers)),
                        json.dumps(r.lineage, sort_keys=True),
                        json.dumps(list(r.members)),
                    )
                    for r in rings
                ],
            )

    @staticmethod
    def _ring(row: tuple[Any, ...]) -> RingRecord:
        ring_id, run_id, _at, _active, score, features, idents, lineage, members = row
        return RingRecord(
            ring_id,
            run_id,
            tuple(json.loads(members)),
            score,
            json.loads(features),
            tuple(json.loads(idents)),
            json.loads(lineage),
        )

    def rings(self) -> list[RingRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM rings WHERE active = 1 ORDER BY ring_id").fetchall()
        return [self._ring(r) for r in rows]

    def ring_of(self, applicant_key: str) -> RingRecord | None:
        needle = json.dumps(applicant_key)
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM rings WHERE active = 1 AND instr(members, ?) > 0 ORDER BY ring_id",
                (needle,),
            ).fetchall()
        return self._ring(rows[0]) if rows else None

    def active_rings(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM rings WHERE active = 1").fetchone()[0])
