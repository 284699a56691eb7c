"""The Neo4j store's work queue and locks (see :mod:`graph.store.work_queue`):
``(:Work {seq, kind, subject, at, holder, until, attempts})`` and ``(:Lock {name, holder,
until})`` nodes, shared by every API process on the database.

Claims and locks take each node's write lock first (a throwaway ``SET``) and only then read
who holds it, so of two processes racing for one item or lock exactly one wins: the
second reads the first's committed claim once the lock is its own.

A mixin of :class:`graph.store.neo4j.store.Neo4jStore`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import neo4j

from graph.store.neo4j.rows import new_seq
from graph.store.work_queue import FollowUp, WorkItem

Q_ENQUEUE = "CREATE (:Work {seq: $seq, kind: $kind, subject: $subject, at: $at, attempts: 0})"


def queue_in(tx: neo4j.ManagedTransaction, work: FollowUp) -> None:
    """Queue one item inside the caller's transaction (the write that causes it)."""
    tx.run(Q_ENQUEUE, seq=new_seq(), kind=work.kind, subject=work.subject, at=work.at).consume()


Q_CLAIM = """
MATCH (w:Work) WHERE w.holder IS NULL OR w.until < $now
WITH w ORDER BY w.seq LIMIT $limit
SET w.claiming = true
WITH w WHERE w.holder IS NULL OR w.until < $now
SET w.holder = $worker, w.until = $now + $lease, w.attempts = w.attempts + 1
REMOVE w.claiming
RETURN w.seq AS seq, w.kind AS kind, w.subject AS subject, w.at AS at, w.attempts AS attempts
"""

Q_FINISH = "UNWIND $seqs AS s MATCH (w:Work {seq: s}) WHERE w.holder = $worker DELETE w"

Q_PENDING = "MATCH (w:Work) RETURN count(w) AS n"

Q_ACQUIRE = """
MERGE (l:Lock {name: $name})
SET l.taking = true
WITH l WHERE l.holder IS NULL OR l.holder = $holder OR l.until < $now
SET l.holder = $holder, l.until = $now + $lease
REMOVE l.taking
RETURN l.holder AS holder
"""

Q_RELEASE = "MATCH (l:Lock {name: $name}) WHERE l.holder = $holder REMOVE l.holder, l.until"


class WorkNodes:
    if TYPE_CHECKING:  # provided by Neo4jStore

        def _fetch(self, what: str, query: str, **params: Any) -> list[neo4j.Record]: ...

        def _change(self, what: str, query: str, **params: Any) -> list[neo4j.Record]: ...

    def enqueue(self, kind: str, subject: str, at: float) -> None:
        self._change("enqueue", Q_ENQUEUE, seq=new_seq(), kind=kind, subject=subject, at=at)

    def claim(self, worker: str, now: float, lease: float, limit: int) -> list[WorkItem]:
        records = self._change("claim", Q_CLAIM, worker=worker, now=now, lease=lease, limit=limit)
        return sorted(
            (WorkItem(r["seq"], r["kind"], r["subject"], r["at"], r["attempts"]) for r in records), key=lambda w: w.seq
        )

    def finish(self, worker: str, seqs: list[int]) -> None:
        if seqs:
            self._change("finish", Q_FINISH, worker=worker, seqs=seqs)

    def pending_work(self) -> int:
        return int(self._fetch("pending_work", Q_PENDING)[0]["n"])

    def acquire_lock(self, name: str, holder: str, now: float, lease: float) -> bool:
        return bool(self._change("acquire_lock", Q_ACQUIRE, name=name, holder=holder, now=now, lease=lease))

    def release_lock(self, name: str, holder: str) -> None:
        self._change("release_lock", Q_RELEASE, name=name, holder=holder)
