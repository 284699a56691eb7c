"""The Neo4j store's outcomes (see :mod:`graph.store.outcomes`): ``(:Outcome)`` nodes with
the application's id as a property (an outcome may arrive for an application the graph
holds under another process's write; it is a fact about the loan, not a graph edge).

A mixin of :class:`graph.store.neo4j.store.Neo4jStore`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import neo4j

from graph.store.neo4j.rows import new_seq
from graph.store.outcomes import Outcome

Q_RECORD = (
    "CREATE (:Outcome {seq: $seq, application_id: $application_id, outcome: $outcome, known_at: $known_at, "
    "recorded_at: $recorded_at, by: $by, reason: $reason})"
)
Q_OUTCOMES = """
MATCH (o:Outcome)
WHERE ($known_by IS NULL OR o.known_at <= $known_by)
  AND ($application_id IS NULL OR o.application_id = $application_id)
RETURN o.application_id AS application_id, o.outcome AS outcome, o.known_at AS known_at,
       o.recorded_at AS recorded_at, o.by AS by, o.reason AS reason
ORDER BY o.known_at, o.application_id, o.recorded_at, o.seq
"""


class OutcomeNodes:
    if TYPE_CHECKING:  # provided by Neo4jStore

        def _fetch(self, what: str, query: str, **params: Any) -> list[neo4j.Record]: ...

        def _change(self, what: str, query: str, **params: Any) -> list[neo4j.Record]: ...

    def record_outcome(self, outcome: Outcome) -> None:
        o = outcome
        self._change(
            "record_outcome",
            Q_RECORD,
            seq=new_seq(),
            application_id=o.application_id,
            outcome=o.outcome,
            known_at=o.known_at,
            recorded_at=o.recorded_at,
            by=o.by,
            reason=o.reason,
        )

    def outcomes(self, known_by: float | None = None, application_id: str | None = None) -> list[Outcome]:
        records = self._fetch("outcomes", Q_OUTCOMES, known_by=known_by, application_id=application_id)
        return [
            Outcome(
                r["application_id"], r["outcome"], float(r["known_at"]), float(r["recorded_at"]), r["by"], r["reason"]
            )
            for r in records
        ]
