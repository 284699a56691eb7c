"""The Neo4j store's online ring joins (see :mod:`graph.store.online_rings`): one
``(:RingJoin {applicant_key, ring_id, via, at, provisional, lineage})`` node per joined
applicant, unique by applicant key (a constraint this mixin creates on first use), so a
membership read is an index seek on ``Applicant.key`` (batch rings, through
``MEMBER_OF``) and on ``RingJoin.applicant_key`` (joins), never a scan.

A mixin of :class:`graph.store.neo4j.store.Neo4jStore`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import neo4j

from graph.store.online_rings import OnlineRings, RingJoin, RingMembership

Q_JOIN_CONSTRAINT = (
    "CREATE CONSTRAINT ringsight_ringjoin_applicant_key IF NOT EXISTS "
    "FOR (j:RingJoin) REQUIRE j.applicant_key IS UNIQUE"
)

JOIN_FIELDS = (
    "j.applicant_key AS applicant_key, j.ring_id AS ring_id, j.via AS via, j.at AS at, "
    "j.provisional AS provisional, j.lineage AS lineage"
)

Q_JOIN = f"""
MERGE (j:RingJoin {{applicant_key: $key}})
ON CREATE SET j.ring_id = $ring_id, j.via = $via, j.at = $at, j.provisional = $provisional, j.lineage = $lineage
RETURN {JOIN_FIELDS}
"""

Q_MEMBERSHIPS = """
UNWIND $keys AS k
CALL (k) {
  OPTIONAL MATCH (a:Applicant {key: k})-[:MEMBER_OF]->(r:Ring {active: true})
  RETURN r ORDER BY r.ring_id LIMIT 1
}
OPTIONAL MATCH (j:RingJoin {applicant_key: k})
WITH k, r, j WHERE r IS NOT NULL OR j IS NOT NULL
RETURN k AS key, r.ring_id AS ring_id, r.lineage AS ring_lineage, j.ring_id AS joined,
       j.provisional AS provisional, j.lineage AS join_lineage
"""

Q_JOINS = f"MATCH (j:RingJoin) RETURN {JOIN_FIELDS} ORDER BY j.ring_id, j.applicant_key"

Q_SETTLE = """
UNWIND $joins AS s
MATCH (j:RingJoin {applicant_key: s.key}) WHERE j.ring_id = s.ring_id AND j.at = s.at
DELETE j
RETURN count(*) AS removed
"""


def _join(record: neo4j.Record) -> RingJoin:
    return RingJoin(
        record["applicant_key"],
        record["ring_id"],
        tuple(record["via"]),
        float(record["at"]),
        bool(record["provisional"]),
        json.loads(record["lineage"]),
    )


class OnlineRingNodes(OnlineRings):
    _join_schema: bool = False

    if TYPE_CHECKING:  # provided by Neo4jStore

        def _fetch(self, what: str, query: str, **params: Any) -> list[neo4j.Record]: ...

        def _change(self, what: str, query: str, **params: Any) -> list[neo4j.Record]: ...

    def _joins_schema(self) -> None:
        if not self._join_schema:
            self._change("ring join schema", Q_JOIN_CONSTRAINT)
            self._join_schema = True

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
        self._joins_schema()
        records = self._change(
            "join ring",
            Q_JOIN,
            key=applicant_key,
            ring_id=ring_id,
            via=sorted(via),
            at=at,
            provisional=provisional,
            lineage=json.dumps(lineage or {}, sort_keys=True),
        )
        return _join(records[0])

    def ring_memberships(self, applicant_keys: Sequence[str]) -> dict[str, RingMembership]:
        keys = sorted(set(applicant_keys))
        if not keys:
            return {}
        out: dict[str, RingMembership] = {}
        for r in self._fetch("ring memberships", Q_MEMBERSHIPS, keys=keys):
            key = r["key"]
            if r["ring_id"] is not None:
                out[key] = RingMembership(key, r["ring_id"], False, False, json.loads(r["ring_lineage"] or "{}"))
            else:
                out[key] = RingMembership(
                    key, r["joined"], True, bool(r["provisional"]), json.loads(r["join_lineage"] or "{}")
                )
        return out

    def ring_joins(self) -> list[RingJoin]:
        return [_join(r) for r in self._fetch("ring joins", Q_JOINS)]

    def settle_ring_joins(self, joins: Sequence[RingJoin]) -> int:
        if not joins:
            return 0
        rows = [{"key": j.applicant_key, "ring_id": j.ring_id, "at": j.at} for j in joins]
        records = self._change("settle ring joins", Q_SETTLE, joins=rows)
        return int(records[0]["removed"]) if records else 0
