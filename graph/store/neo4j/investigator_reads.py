"""The Neo4j store's reads for the investigator console: who used an identifier (from the
identifier's own relationships) and the overview's counts (one Cypher aggregation each).

A mixin of :class:`graph.store.neo4j.store.Neo4jStore`: it uses the store's managed read
transactions (bounded, retried, failures raised as
:class:`~graph.errors.StoreUnavailable`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from graph.store.neo4j import queries as q
from graph.store.records import (
    AuditEvent,
    DecisionCount,
    IdentifierUser,
    WorkCount,
    decision_count_order,
    utc_day,
    work_count_order,
)

if TYPE_CHECKING:
    import neo4j


class InvestigatorNodes:
    """:meth:`~graph.store.reader.GraphReader.identifier_applicants` and the summaries of
    :class:`~graph.store.case_log.CaseLog` on Neo4j."""

    if TYPE_CHECKING:  # provided by Neo4jStore

        def _fetch(self, what: str, query: str, **params: Any) -> list[neo4j.Record]: ...

    def identifier_applicants(self, node_id: str, limit: int) -> list[IdentifierUser]:
        kind, _, key = node_id.partition(":")
        query = q.Q_IDENTIFIER_APPLICANTS.get(kind)
        if query is None or not key or limit <= 0:
            return []
        records = self._fetch("identifier_applicants", query, key=key, limit=limit)
        return [
            IdentifierUser(r["who"], r["applications"], r["first_ts"], r["last_ts"], r["display"] or "")
            for r in records
        ]

    def decision_summary(self, since: float, trigger: str = "application") -> list[DecisionCount]:
        records = self._fetch("decision_summary", q.Q_DECISION_SUMMARY, since=since, trigger=trigger)
        found = [
            DecisionCount(utc_day(r["day"]), r["band"], r["action"], r["channel"], r["product"], r["n"])
            for r in records
        ]
        return sorted(found, key=decision_count_order)

    def _work_summary(self, what: str, query: str, since: float, cutoffs: Sequence[float]) -> list[WorkCount]:
        records = self._fetch(what, query, since=since, cutoffs=list(cutoffs))
        found = [WorkCount(r["grp"], r["status"], r["age"], r["recent"], r["n"]) for r in records]
        return sorted(found, key=work_count_order)

    def alert_summary(self, since: float, cutoffs: Sequence[float]) -> list[WorkCount]:
        return self._work_summary("alert_summary", q.Q_ALERT_SUMMARY, since, cutoffs)

    def case_summary(self, since: float, cutoffs: Sequence[float]) -> list[WorkCount]:
        return self._work_summary("case_summary", q.Q_CASE_SUMMARY, since, cutoffs)

    def audit_by_action(self, action: str, limit: int = 100) -> list[AuditEvent]:
        records = self._fetch("audit_by_action", q.Q_AUDIT_BY_ACTION, action=action, limit=max(0, limit))
        return [
            AuditEvent(r["seq"], r["at"], r["actor"], r["action"], r["subject"], json.loads(r["detail"]))
            for r in records
        ]
