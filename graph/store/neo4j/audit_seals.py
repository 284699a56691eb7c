"""The Neo4j store's audit seals (see :mod:`graph.store.audit_seals`): ``(:AuditSeal {n})``
nodes, unique by ``n``.

Audit sequence numbers are time-based (microseconds and random bits, see
:func:`graph.store.neo4j.rows.new_seq`) and taken before a transaction commits, so an
event may commit after a later-numbered one. A transaction lives at most its timeout
(plus the deadline's margin), so events numbered more than :data:`SETTLE_SECONDS` ago are
settled: no commit can still land among them.

A mixin of :class:`graph.store.neo4j.store.Neo4jStore`.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, TypeVar

import neo4j
from neo4j.exceptions import ConstraintError

from graph.errors import Conflict, StoreUnavailable
from graph.store.neo4j.outage import refused_by_constraint
from graph.store.neo4j.queries import AUDIT_FIELDS
from graph.store.records import AuditEvent, AuditSeal

T = TypeVar("T")
SETTLE_SECONDS = 120.0

Q_AUDIT_AFTER = f"""
MATCH (e:AuditEvent) WHERE e.seq > $after AND e.seq <= $upto
RETURN {AUDIT_FIELDS} ORDER BY e.seq LIMIT $limit
"""
Q_SEALS = (
    "MATCH (s:AuditSeal) RETURN s.n AS n, s.upto AS upto, s.count AS count, s.chain AS chain, s.mac AS mac, "
    "s.at AS at ORDER BY s.n"
)
Q_ADD_SEAL = "CREATE (:AuditSeal {n: $n, upto: $upto, count: $count, chain: $chain, mac: $mac, at: $at})"


class AuditSealNodes:
    if TYPE_CHECKING:  # provided by Neo4jStore

        def _fetch(self, what: str, query: str, **params: Any) -> list[neo4j.Record]: ...

        def _change(self, what: str, query: str, **params: Any) -> list[neo4j.Record]: ...

    def audit_after(self, after: int, upto: int, limit: int) -> list[AuditEvent]:
        records = self._fetch("audit_after", Q_AUDIT_AFTER, after=after, upto=upto, limit=limit)
        return [
            AuditEvent(r["seq"], r["at"], r["actor"], r["action"], r["subject"], json.loads(r["detail"]))
            for r in records
        ]

    def audit_settled(self) -> int:
        return int((time.time() - SETTLE_SECONDS) * 1_000_000) << 12

    def audit_seals(self) -> list[AuditSeal]:
        return [
            AuditSeal(r["n"], r["upto"], r["count"], r["chain"], r["mac"], r["at"])
            for r in self._fetch("audit_seals", Q_SEALS)
        ]

    def add_audit_seal(self, seal: AuditSeal) -> None:
        s = seal
        try:
            self._change(
                "add_audit_seal", Q_ADD_SEAL, n=s.n, upto=s.upto, count=s.count, chain=s.chain, mac=s.mac, at=s.at
            )
        except (ConstraintError, StoreUnavailable) as exc:
            if refused_by_constraint(exc):
                raise Conflict(f"audit seal {s.n} exists") from exc
            raise
