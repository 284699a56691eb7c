"""The embedded store's audit seals (see :mod:`graph.store.audit_seals`), as SQLite rows
guarded by the same append-only triggers as the audit log.

A mixin of :class:`graph.store.embedded.store.EmbeddedStore`: it uses the store's
connection and lock. Sequence numbers are SQLite's, assigned in commit order under the
one writer's lock, so every stored event is settled.
"""

from __future__ import annotations

import json
import sqlite3
import threading

from graph.errors import Conflict
from graph.store.records import AuditEvent, AuditSeal


class AuditSealRows:
    _db: sqlite3.Connection
    _lock: threading.RLock

    def audit_after(self, after: int, upto: int, limit: int) -> list[AuditEvent]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, at, actor, action, subject, detail FROM audit WHERE seq > ? AND seq <= ? "
                "ORDER BY seq LIMIT ?",
                (after, upto, limit),
            ).fetchall()
        return [AuditEvent(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    def audit_settled(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()[0])

    def audit_seals(self) -> list[AuditSeal]:
        with self._lock:
            rows = self._db.execute("SELECT n, upto, count, chain, mac, at FROM audit_seals ORDER BY n").fetchall()
        return [AuditSeal(*r) for r in rows]

    def add_audit_seal(self, seal: AuditSeal) -> None:
        s = seal
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO audit_seals (n, upto, count, chain, mac, at) VALUES (?, ?, ?, ?, ?, ?)",
                    (s.n, s.upto, s.count, s.chain, s.mac, s.at),
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"audit seal {s.n} exists") from exc
