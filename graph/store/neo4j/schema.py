"""The Neo4j store's schema, checked and healed.

The uniqueness constraints and indexes of :data:`queries.SCHEMA` are created at start and
checked again while the store runs (a server restarted onto an empty or restored database
has none of them). A constraint that cannot be created because the data already breaks it
(two ``Device`` nodes for one key, written while the constraint was missing) is a
:class:`SchemaConflict` naming the duplicates, not an outage. Duplicates of an identifier
or an applicant are one thing under two nodes, so they are merged (relationships moved to
one node, the others deleted, all in one transaction per label); duplicates of any other
node are only reported, for a person to resolve.

Labels and relationship types are spliced into Cypher only from the fixed mappings of
:mod:`graph.vocabulary` and the constant schema tables, never from input.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import neo4j
from neo4j.exceptions import ClientError, DatabaseError

from graph.errors import StoreUnavailable
from graph.store.neo4j import queries as q
from graph.vocabulary import LABEL_OF_KIND, RELATIONSHIP_OF_KIND

log = logging.getLogger(__name__)

NAMES: frozenset[str] = frozenset(
    [f"ringsight_{label.lower()}_{prop}" for label, prop in q.UNIQUE]
    + [f"ringsight_{label.lower()}_{prop}" for label, prop in q.INDEXED]
)
"""The names of every constraint and index the store needs."""

_REL_OF_LABEL: dict[str, str] = {LABEL_OF_KIND[k]: RELATIONSHIP_OF_KIND[k] for k in LABEL_OF_KIND}
MERGEABLE: frozenset[str] = frozenset({*_REL_OF_LABEL, "Applicant"})
"""Labels whose duplicates are one thing under two nodes (merged when found)."""


class SchemaConflict(StoreUnavailable):
    """A uniqueness constraint cannot be created: the data holds duplicates of its key."""

    def __init__(self, label: str, prop: str, duplicates: list[tuple[str, int]]) -> None:
        shown = ", ".join(f"{key!r} x{count}" for key, count in duplicates[:10])
        more = f" and {len(duplicates) - 10} more" if len(duplicates) > 10 else ""
        super().__init__(
            f"neo4j: the uniqueness rule on {label}.{prop} cannot be created: duplicate {label} nodes for "
            f"{shown}{more}; resolve them and the store will create the rule on its next check"
        )
        self.label = label
        self.prop = prop
        self.duplicates = duplicates


def missing(session: neo4j.Session, timeout: float) -> set[str]:
    """The constraints and indexes the store needs that the database lacks (one round trip)."""
    query = neo4j.Query("SHOW INDEXES YIELD name WHERE name STARTS WITH 'ringsight_' RETURN name", timeout=timeout)
    present = {record["name"] for record in session.run(query)}
    return set(NAMES) - present


def duplicates(session: neo4j.Session, label: str, prop: str, timeout: float) -> list[tuple[str, int]]:
    """Keys held by more than one ``label`` node, with their counts (the largest first)."""
    query = neo4j.Query(
        f"MATCH (n:{label}) WHERE n.{prop} IS NOT NULL WITH n.{prop} AS key, count(*) AS c WHERE c > 1 "
        "RETURN toString(key) AS key, c ORDER BY c DESC, key LIMIT 1000",
        timeout=timeout,
    )
    return [(record["key"], record["c"]) for record in session.run(query)]


def _merge_query(label: str) -> str:
    """Merge the duplicate nodes of one mergeable label onto the first of each key."""
    if label == "Applicant":
        moves = (
            "CALL (keep, dup) { MATCH (dup)-[r:SUBMITTED]->(a) CREATE (keep)-[m:SUBMITTED]->(a) "
            "SET m = properties(r) DELETE r } "
            "CALL (keep, dup) { MATCH (dup)-[r:MEMBER_OF]->(g) MERGE (keep)-[m:MEMBER_OF]->(g) "
            "SET m = properties(r) DELETE r } "
        )
    else:
        rel = _REL_OF_LABEL[label]
        moves = (
            f"CALL (keep, dup) {{ MATCH (a)-[r:{rel}]->(dup) CREATE (a)-[m:{rel}]->(keep) "
            "SET m = properties(r) DELETE r } "
        )
    return (
        f"MATCH (n:{label}) WITH n.key AS key, collect(n) AS nodes WHERE size(nodes) > 1 "
        "WITH head(nodes) AS keep, tail(nodes) AS extra UNWIND extra AS dup "
        f"{moves}"
        "DETACH DELETE dup RETURN count(*) AS merged"
    )


def merge_duplicates(session: neo4j.Session, label: str, timeout: float) -> int:
    """Merge the duplicate nodes of a mergeable label; return how many were removed."""
    text = _merge_query(label)
    record = session.execute_write(neo4j.unit_of_work(timeout=timeout)(lambda tx: tx.run(text).single()))
    return int(record["merged"]) if record else 0


@dataclass
class Healed:
    created: int = 0
    merged: int = 0
    conflicts: list[SchemaConflict] = field(default_factory=list)
    """Rules that could not be created, with the duplicates that block them."""


def ensure(session: neo4j.Session, timeout: float) -> Healed:
    """Create every missing constraint and index; merge duplicates that block a constraint
    of a mergeable label; report any other duplicates as a :class:`SchemaConflict` (the
    store keeps serving: refusing every request for a few duplicate nodes would turn a
    data problem into an outage)."""
    done = Healed()
    lacking = missing(session, timeout)
    for (label, prop), statement in zip(q.UNIQUE, q.SCHEMA, strict=False):
        if f"ringsight_{label.lower()}_{prop}" not in lacking:
            continue
        try:
            _run(session, statement)
        except (ClientError, DatabaseError) as exc:
            if not _is_data_conflict(exc):
                raise
            found = duplicates(session, label, prop, timeout)
            if label not in MERGEABLE or not found:
                done.conflicts.append(SchemaConflict(label, prop, found))
                continue
            merged = merge_duplicates(session, label, timeout)
            log.warning("merged %d duplicate %s nodes (%d keys) before creating their rule", merged, label, len(found))
            done.merged += merged
            _run(session, statement)
        done.created += 1
    for statement in q.SCHEMA[len(q.UNIQUE) :]:
        name = statement.split()[2]
        if name in lacking:
            _run(session, statement)
            done.created += 1
    return done


def _run(session: neo4j.Session, statement: str) -> None:
    try:
        session.run(statement).consume()
    except ClientError as exc:
        # Another process created the same rule at the same moment.
        if not (exc.code or "").endswith("AlreadyExists"):
            raise


def _is_data_conflict(exc: Exception) -> bool:
    code = getattr(exc, "code", "") or ""
    return "ConstraintCreationFailed" in code or "ConstraintValidationFailed" in code
