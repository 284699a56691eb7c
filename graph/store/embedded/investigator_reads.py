"""The embedded store's reads for the investigator console: who used an identifier (from
the index) and the overview's counts (SQLite ``GROUP BY`` over the case log).

A mixin of :class:`graph.store.embedded.store.EmbeddedStore`: it uses the store's
connection, lock and index.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

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
    from graph.store.embedded.index import GraphIndex


def _older(column: str, cutoffs: Sequence[float]) -> str:
    """SQL counting the cutoffs a time is at or before (one ``?`` per cutoff; the column
    name is a constant of the caller)."""
    return " + ".join([f"({column} <= ?)"] * len(cutoffs)) or "0"


class InvestigatorRows:
    """:meth:`~graph.store.reader.GraphReader.identifier_applicants` and the summaries of
    :class:`~graph.store.case_log.CaseLog` over the store's index and SQLite connection."""

    _db: sqlite3.Connection
    _lock: threading.RLock

    if TYPE_CHECKING:  # provided by EmbeddedStore

        def _ready(self) -> GraphIndex: ...

        @staticmethod
        def _ident(index: GraphIndex, node_id: str) -> int: ...

        def _keys_of(self, index: GraphIndex, people: Sequence[int]) -> list[str]: ...

    def identifier_applicants(self, node_id: str, limit: int) -> list[IdentifierUser]:
        if limit <= 0:
            return []
        with self._lock:
            index = self._ready()
            ident = self._ident(index, node_id)
            if ident < 0:
                return []
            ts, who = index.uses_of(ident)
            if not len(ts):
                return []
            # Uses are in time order: an applicant's first occurrence is its first use, its
            # first occurrence read backwards its last.
            people, first_at, counts = np.unique(who, return_index=True, return_counts=True)
            _, last_back = np.unique(who[::-1], return_index=True)
            first, last = ts[first_at], ts[len(who) - 1 - last_back]
            keep = np.arange(len(people))
            if len(people) > limit:
                bound = np.partition(last, len(last) - limit)[len(last) - limit]
                keep = np.flatnonzero(last >= bound)  # the latest ``limit`` and any tied with them
            chosen = people[keep].tolist()
            keys = self._keys_of(index, chosen)
            display = index.applicants.display
            users = [
                IdentifierUser(key, n, f, t, display(person))
                for key, person, n, f, t in zip(
                    keys,
                    chosen,
                    counts[keep].tolist(),
                    first[keep].tolist(),
                    last[keep].tolist(),
                    strict=True,
                )
            ]
        users.sort(key=lambda u: (-u.last_ts, u.applicant_key))
        return users[:limit]

    def decision_summary(self, since: float, trigger: str = "application") -> list[DecisionCount]:
        with self._lock:
            rows = self._db.execute(
                "SELECT CAST(d.at / 86400.0 AS INTEGER) AS day, d.band, d.action, a.channel, a.product, count(*) "
                "FROM decisions d LEFT JOIN applications a ON a.application_id = d.application_id "
                "WHERE d.trigger = ? AND d.at >= ? GROUP BY day, d.band, d.action, a.channel, a.product",
                (trigger, since),
            ).fetchall()
        found = [DecisionCount(utc_day(day), band, action, ch, prod, n) for day, band, action, ch, prod, n in rows]
        return sorted(found, key=decision_count_order)

    def _work_summary(self, table: str, group: str, at: str, since: float, cutoffs: Sequence[float]) -> list[WorkCount]:
        # Table and column names are the constants of the two callers below.
        with self._lock:
            rows = self._db.execute(
                f"SELECT {group}, status, {_older(at, cutoffs)} AS age, {at} >= ? AS recent, count(*) "
                f"FROM {table} GROUP BY {group}, status, age, recent",
                (*cutoffs, since),
            ).fetchall()
        return sorted(
            (WorkCount(g, s, int(age), bool(recent), n) for g, s, age, recent, n in rows), key=work_count_order
        )

    def alert_summary(self, since: float, cutoffs: Sequence[float]) -> list[WorkCount]:
        return self._work_summary("alerts", "tier", "at", since, cutoffs)

    def case_summary(self, since: float, cutoffs: Sequence[float]) -> list[WorkCount]:
        return self._work_summary("cases", "layer", "opened_at", since, cutoffs)

    def audit_by_action(self, action: str, limit: int = 100) -> list[AuditEvent]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, at, actor, action, subject, detail FROM audit WHERE action = ? ORDER BY seq DESC LIMIT ?",
                (action, max(0, limit)),
            ).fetchall()
        return [AuditEvent(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]
