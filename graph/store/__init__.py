"""The store seams, their records and the factory.

``graph.store`` re-exports the contracts and records; backends live in
:mod:`graph.store.embedded` and :mod:`graph.store.neo4j` and are reached only
through :func:`open_store`.
"""

from graph.store.batch import GraphBatch
from graph.store.case_log import CaseLog
from graph.store.contract import GraphStore
from graph.store.factory import PII_KEY_SETTING, bind_pii_key, open_store
from graph.store.reader import GraphReader
from graph.store.records import (
    Alert,
    AuditEntry,
    AuditEvent,
    Decision,
    DecisionCount,
    GraphEdge,
    GraphNode,
    IdentifierUsage,
    IdentifierUser,
    Label,
    LinkedComponent,
    LookAlike,
    Recorded,
    RingRecord,
    ScoringSnapshot,
    Subgraph,
    WorkCount,
    components_of,
    ranked_look_alikes,
)
from graph.store.writer import GraphWriter

__all__ = [
    "PII_KEY_SETTING",
    "Alert",
    "AuditEntry",
    "AuditEvent",
    "CaseLog",
    "Decision",
    "DecisionCount",
    "GraphBatch",
    "GraphEdge",
    "GraphNode",
    "GraphReader",
    "GraphStore",
    "GraphWriter",
    "IdentifierUsage",
    "IdentifierUser",
    "Label",
    "LinkedComponent",
    "LookAlike",
    "Recorded",
    "RingRecord",
    "ScoringSnapshot",
    "Subgraph",
    "WorkCount",
    "bind_pii_key",
    "components_of",
    "open_store",
    "ranked_look_alikes",
]
