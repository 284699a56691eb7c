"""The embedded store's outcomes (see :mod:`graph.store.outcomes`): an append-only SQLite
table, created on first use (``CREATE TABLE IF NOT EXISTS``, so older files gain it).

A mixin of :class:`graph.store.embedded.store.EmbeddedStore`: it uses the store's
connection and lock.
"""

from __future__ import annotations

import sqlite3
import threading

from graph.store.embedded.database import transaction
from graph.store.outcomes import Outcome

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS outcomes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, application_id TEXT NOT NULL, outcome TEXT NOT NULL,
        known_at REAL NOT NULL, recorded_at REAL NOT NULL, by TEXT NOT NULL, reason TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS outcomes_by_application ON outcomes(application_id)",
    "CREATE INDEX IF NOT EXISTS outcomes_by_known ON outcomes(known_at)",
    """CREATE TRIGGER IF NOT EXISTS outcomes_append_only_update BEFORE UPDATE ON outcomes
        BEGIN SELECT RAISE(ABORT, 'outcomes are append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS outcomes_append_only_delete BEFORE DELETE ON outcomes
        BEGIN SELECT RAISE(ABORT, 'outcomes are append-only'); END""",
)
_FIELDS = "application_id, outcome, known_at, recorded_at, by, reason"


class OutcomeRows:
    _db: sqlite3.Connection
    _lock: threading.RLock
    _outcomes_ready: bool = False

    def _outcome_table(self) -> None:
        if self._outcomes_ready:
            return
        with transaction(self._db, "outcomes schema"):
            for statement in _SCHEMA:
                self._db.execute(statement)
        self._outcomes_ready = True

    def record_outcome(self, outcome: Outcome) -> None:
        o = outcome
        with self._lock:
            self._outcome_table()
            with transaction(self._db, "record_outcome"):
                self._db.execute(
                    f"INSERT INTO outcomes ({_FIELDS}) VALUES (?, ?, ?, ?, ?, ?)",
                    (o.application_id, o.outcome, o.known_at, o.recorded_at, o.by, o.reason),
                )

    def outcomes(self, known_by: float | None = None, application_id: str | None = None) -> list[Outcome]:
        where: list[str] = []
        params: list[object] = []
        if known_by is not None:
            where.append("known_at <= ?")
            params.append(known_by)
        if application_id is not None:
            where.append("application_id = ?")
            params.append(application_id)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._lock:
            self._outcome_table()
            rows = self._db.execute(
                f"SELECT {_FIELDS} FROM outcomes{clause} ORDER BY known_at, application_id, recorded_at, seq",
                params,
            ).fetchall()
        return [Outcome(r[0], r[1], float(r[2]), float(r[3]), r[4], r[5]) for r in rows]
