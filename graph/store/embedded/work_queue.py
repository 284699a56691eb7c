"""The embedded store's work queue and locks (see :mod:`graph.store.work_queue`), as
SQLite rows. One process owns an embedded store (it holds the file's lock), so claims
never race here; the rows are what lets queued work outlive a crash or a restart.

A mixin of :class:`graph.store.embedded.store.EmbeddedStore`.
"""

from __future__ import annotations

import sqlite3
import threading

from graph.store.embedded.database import transaction
from graph.store.work_queue import WorkItem


def queue_work(db: sqlite3.Connection, kind: str, subject: str, at: float) -> None:
    """Queue one item inside the caller's transaction."""
    db.execute("INSERT INTO work (kind, subject, at) VALUES (?, ?, ?)", (kind, subject, at))


class WorkRows:
    _db: sqlite3.Connection
    _lock: threading.RLock

    def enqueue(self, kind: str, subject: str, at: float) -> None:
        with self._lock:
            queue_work(self._db, kind, subject, at)

    def claim(self, worker: str, now: float, lease: float, limit: int) -> list[WorkItem]:
        with self._lock, transaction(self._db, "claim work"):
            rows = self._db.execute(
                "SELECT seq, kind, subject, at, attempts FROM work WHERE holder IS NULL OR until < ? "
                "ORDER BY seq LIMIT ?",
                (now, limit),
            ).fetchall()
            self._db.executemany(
                "UPDATE work SET holder = ?, until = ?, attempts = attempts + 1 WHERE seq = ?",
                [(worker, now + lease, r[0]) for r in rows],
            )
        return [WorkItem(r[0], r[1], r[2], r[3], r[4] + 1) for r in rows]

    def finish(self, worker: str, seqs: list[int]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM work WHERE seq = ? AND holder = ?", [(s, worker) for s in seqs])

    def pending_work(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM work").fetchone()[0])

    def acquire_lock(self, name: str, holder: str, now: float, lease: float) -> bool:
        with self._lock, transaction(self._db, "lock"):
            row = self._db.execute("SELECT holder, until FROM locks WHERE name = ?", (name,)).fetchone()
            if row is not None and row[0] != holder and row[1] >= now:
                return False
            self._db.execute("INSERT OR REPLACE INTO locks VALUES (?, ?, ?)", (name, holder, now + lease))
            return True

    def release_lock(self, name: str, holder: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM locks WHERE name = ? AND holder = ?", (name, holder))
