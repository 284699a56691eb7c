"""The embedded store's online ring joins (see :mod:`graph.store.online_rings`), as SQLite
rows keyed by applicant, and the active batch rings' members as an in-memory map (built
once from the ring rows, rebuilt when a run writes rings), so a membership read is a
key lookup, never a scan of the ring rows.

A mixin of :class:`graph.store.embedded.store.EmbeddedStore`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from graph.store.embedded.database import transaction
from graph.store.online_rings import OnlineRings, RingJoin, RingMembership
from graph.store.records import RingRecord

_TABLE = """CREATE TABLE IF NOT EXISTS ring_joins (
    applicant_key TEXT PRIMARY KEY, ring_id TEXT NOT NULL, via TEXT NOT NULL, at REAL NOT NULL,
    provisional INTEGER NOT NULL, lineage TEXT NOT NULL)"""


def _join(row: tuple[Any, ...]) -> RingJoin:
    key, ring_id, via, at, provisional, lineage = row
    return RingJoin(key, ring_id, tuple(json.loads(via)), at, bool(provisional), json.loads(lineage))


class OnlineRingRows(OnlineRings):
    _db: sqlite3.Connection
    _lock: threading.RLock
    _online_ready: bool = False
    _batch_members: dict[str, RingRecord] | None = None

    if TYPE_CHECKING:  # the ring rows' mixin answers (it comes later in the MRO)

        def rings(self) -> list[RingRecord]: ...

    def _joins_table(self) -> None:
        if not self._online_ready:
            self._db.execute(_TABLE)
            self._online_ready = True

    def _members(self) -> dict[str, RingRecord]:
        if self._batch_members is None:
            self._batch_members = {m: r for r in reversed(self.rings()) for m in r.members}
        return self._batch_members

    def write_rings(self, run_id: str, at: float, rings: Sequence[RingRecord]) -> None:
        with self._lock:
            super().write_rings(run_id, at, rings)  # type: ignore[misc]
            self._batch_members = None

    def join_ring(
        self,
        ring_id: str,
        applicant_key: str,
        via: Sequence[str],
        at: float,
        *,
        provisional: bool = False,
        lineage: dict[str, Any] | None = None,
    ) -> RingJoin:
        with self._lock:
            self._joins_table()
            with transaction(self._db, "ring join"):
                self._db.execute(
                    "INSERT OR IGNORE INTO ring_joins VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        applicant_key,
                        ring_id,
                        json.dumps(sorted(via)),
                        at,
                        int(provisional),
                        json.dumps(lineage or {}, sort_keys=True),
                    ),
                )
                row = self._db.execute("SELECT * FROM ring_joins WHERE applicant_key = ?", (applicant_key,)).fetchone()
        return _join(row)

    def ring_memberships(self, applicant_keys: Sequence[str]) -> dict[str, RingMembership]:
        keys = sorted(set(applicant_keys))
        out: dict[str, RingMembership] = {}
        with self._lock:
            members = self._members()
            for key in keys:
                ring = members.get(key)
                if ring is not None:
                    out[key] = RingMembership(key, ring.ring_id, False, False, dict(ring.lineage))
            rest = [k for k in keys if k not in out]
            if not rest:
                return out
            self._joins_table()
            marks = ",".join("?" * len(rest))
            rows = self._db.execute(f"SELECT * FROM ring_joins WHERE applicant_key IN ({marks})", rest).fetchall()
        for row in rows:
            join = _join(row)
            out[join.applicant_key] = RingMembership(
                join.applicant_key, join.ring_id, True, join.provisional, join.lineage
            )
        return out

    def ring_joins(self) -> list[RingJoin]:
        with self._lock:
            self._joins_table()
            rows = self._db.execute("SELECT * FROM ring_joins ORDER BY ring_id, applicant_key").fetchall()
        return [_join(r) for r in rows]

    def settle_ring_joins(self, joins: Sequence[RingJoin]) -> int:
        with self._lock:
            self._joins_table()
            with transaction(self._db, "settle ring joins"):
                removed = 0
                for j in joins:
                    cur = self._db.execute(
                        "DELETE FROM ring_joins WHERE applicant_key = ? AND ring_id = ? AND at = ?",
                        (j.applicant_key, j.ring_id, j.at),
                    )
                    removed += cur.rowcount
        return removed
