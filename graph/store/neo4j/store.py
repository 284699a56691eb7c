"""The Neo4j store: Neo4j 5 through the official driver, whole-graph work in GDS.

The graph (DESIGN §3)::

    (:Applicant {key, display})-[:SUBMITTED {ts}]->(:Application {application_id, ts,
        submitted_at, applicant_key, applicant_display, amount, product, ...})
    (:Application)-[:USED_DEVICE|GAVE_PHONE|... {ts, ord, applicant}]->(:Device|:Phone|... {key, display})
    (:Applicant)-[:MEMBER_OF {run_id}]->(:Ring {ring_id, run_id, active, ...})
    (:Label {node_id, status, by, at, reason})   one per labelled node, seen in the graph or not
    (:Decision {seq, ...}) (:Alert {alert_id, ...}) (:AuditEvent {seq, ...})   seq: time-ordered ids, no shared counter
    (:Setting {name, value})   store-wide settings (the PII key fingerprint)

An identifier link carries the application's time (``ts``), its position in the
application (``ord``, so an application reads back with its identifiers in the
order they were given) and the applicant's key, so usage reads never load the
application nodes. Labels live on their own nodes because bad-actor lists
label identifiers nobody has used yet; a bare identifier node would otherwise
count as a used one.

Every query is parameterised. Labels and relationship types are spliced into
query text only from the fixed mappings below, never from input. Every driver
failure (no connection, expired session, timeout, transient server error) is
raised as :class:`graph.errors.StoreUnavailable`; transient errors are retried
by the driver's managed transactions within the configured timeout.

Construction never fails because the server is down: the schema (uniqueness
constraints and indexes, all ``IF NOT EXISTS``) is created with a bounded
retry at start and again on first use after the server comes back.
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import neo4j
from neo4j.exceptions import ClientError, ConstraintError, DriverError, Neo4jError
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from graph.errors import Conflict, InvalidInput, NotFound, StoreUnavailable
from graph.normalise import NormalisedApplication, application_from_parts, application_props
from graph.store.contract import GraphStore
from graph.store.records import (
    Alert,
    AuditEntry,
    AuditEvent,
    Decision,
    GraphEdge,
    GraphNode,
    IdentifierUsage,
    Label,
    LinkedComponent,
    LookAlike,
    Recorded,
    RingRecord,
    ScoringSnapshot,
    Subgraph,
    components_of,
    ranked_look_alikes,
)
from graph.vocabulary import (
    HUB_LIMIT,
    IDENTIFIER_KINDS,
    KIND_OF_LABEL,
    KIND_OF_RELATIONSHIP,
    LABEL_OF_KIND,
    RELATIONSHIP_OF_KIND,
    USAGE_WINDOW,
    applicant_node,
    node_kind,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


_UNIQUE: tuple[tuple[str, str], ...] = (
    ("Applicant", "key"),
    ("Application", "application_id"),
    *((label, "key") for label in LABEL_OF_KIND.values()),
    ("Ring", "ring_id"),
    ("Label", "node_id"),
    ("Alert", "alert_id"),
    ("Decision", "seq"),
    ("AuditEvent", "seq"),
    ("Setting", "name"),
)
_INDEXED: tuple[tuple[str, str], ...] = (
    ("Decision", "application_id"),
    ("AuditEvent", "subject"),
    ("Alert", "status"),
    ("Ring", "active"),
)
SCHEMA: tuple[str, ...] = (
    *(
        f"CREATE CONSTRAINT ringsight_{label.lower()}_{prop} IF NOT EXISTS "
        f"FOR (n:{label}) REQUIRE n.{prop} IS UNIQUE"
        for label, prop in _UNIQUE
    ),
    *(
        f"CREATE INDEX ringsight_{label.lower()}_{prop} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})"
        for label, prop in _INDEXED
    ),
)
"""Schema statements, run idempotently at start (names and labels are constants)."""

_STATEMENT_ROWS = 5000
_UPSERT_ATTEMPTS = 10
BATCH_TIMEOUT = 900.0  # seconds: whole-graph reads of batch runs


def _each_kind(branch: str) -> str:
    """``UNION ALL`` of one copy of ``branch`` per identifier kind; ``{label}``,
    ``{rel}`` and ``{kind}`` are filled in from the fixed mappings."""
    return "\nUNION ALL\n".join(
        branch.format(label=LABEL_OF_KIND[k], rel=RELATIONSHIP_OF_KIND[k], kind=k) for k in IDENTIFIER_KINDS
    )


def _identifier_lookup(param: str) -> str:
    """Subquery yielding ``i, kind`` for the keys in ``$<param>.<kind>``."""
    return _each_kind(
        f"UNWIND coalesce(${param}.{{kind}}, []) AS k "
        "MATCH (i:{label} {{key: k}}) USING INDEX i:{label}(key) RETURN i, '{kind}' AS kind"
    )


def _by_kind(node_ids: Sequence[str]) -> dict[str, list[str]]:
    """Identifier node ids grouped as ``{kind: [key, ...]}``; other ids are left out."""
    out: dict[str, list[str]] = {}
    for nid in node_ids:
        kind, _, key = nid.partition(":")
        if kind in LABEL_OF_KIND and key:
            out.setdefault(kind, []).append(key)
    return out


# -- queries ------------------------------------------------------------------------------------
_Q_EXISTING = """
UNWIND $ids AS id
MATCH (app:Application {application_id: id}) USING INDEX app:Application(application_id)
RETURN app.application_id AS id, app.applicant_key AS applicant
"""

# Rows travel as positional lists (the driver packs parameters in Python; map keys
# repeated on every row cost as much as the values): [key, display] for nodes, and for
# applications the layout of ``_create_row``.
_Q_MERGE_IDENTIFIERS: dict[str, str] = {
    kind: f"UNWIND $nodes AS n MERGE (i:{label} {{key: n[0]}}) ON CREATE SET i.display = n[1]"
    for kind, label in LABEL_OF_KIND.items()
}

_Q_MERGE_APPLICANTS = "UNWIND $nodes AS n MERGE (a:Applicant {key: n[0]}) SET a.display = n[1]"

_SCALARS: tuple[str, ...] = tuple(application_props(NormalisedApplication("", 0.0, "", "", ())))
_FIRST_SCALAR = 6
_FIRST_LINK = _FIRST_SCALAR + len(_SCALARS)
_APPLICATION_MAP = ", ".join(
    ["application_id: row[0]", "ts: row[1]", "applicant_key: row[2]", "applicant_display: row[3]"]
    + [f"{name}: row[{_FIRST_SCALAR + i}]" for i, name in enumerate(_SCALARS)]
)

# Nodes are merged first (deduplicated, one statement per label) so that this statement
# only matches and creates: no read/write conflicts, no eager buffering.
_Q_CREATE = f"""
UNWIND $rows AS row
MATCH (a:Applicant {{key: row[2]}}) USING INDEX a:Applicant(key)
CREATE (a)-[:SUBMITTED {{ts: row[1]}}]->(app:Application)
SET app = {{{_APPLICATION_MAP}}}, app.submitted_at = datetime({{epochSeconds: row[4], nanosecond: row[5]}})
WITH app, row
""" + "\n".join(
    f"CALL (app, row) {{ WITH row[{_FIRST_LINK + n}] AS d WHERE d IS NOT NULL "
    f"MATCH (i:{label} {{key: d[0]}}) USING INDEX i:{label}(key) "
    f"CREATE (app)-[:{RELATIONSHIP_OF_KIND[kind]} {{ts: row[1], ord: d[1], applicant: row[2]}}]->(i) }}"
    for n, (kind, label) in enumerate(LABEL_OF_KIND.items())
)

_APP_FIELDS = "app {.*} AS app, [(app)-[r]->(i) | [r.ord, type(r), i.key, i.display]] AS idents"

_Q_APPLICATION = f"""
MATCH (app:Application {{application_id: $id}}) USING INDEX app:Application(application_id)
RETURN {_APP_FIELDS}
"""

_Q_APPLICANT_APPLICATIONS = f"""
MATCH (a:Applicant {{key: $key}})-[s:SUBMITTED]->(app:Application) USING INDEX a:Applicant(key)
WHERE $before IS NULL OR s.ts < $before
RETURN {_APP_FIELDS}
ORDER BY app.ts, app.application_id
"""

_Q_APPLICANTS_BELOW = """
MATCH (a:Applicant) USING INDEX a:Applicant(key) WHERE a.key < $bound
RETURN a.key AS key ORDER BY key
"""

_Q_APPLICATIONS_OF = f"""
UNWIND $keys AS key
MATCH (a:Applicant {{key: key}})-[:SUBMITTED]->(app:Application) USING INDEX a:Applicant(key)
RETURN key, {_APP_FIELDS}
ORDER BY key, app.ts, app.application_id
"""

_Q_APPLICANT_IDENTIFIERS = """
UNWIND $keys AS key
MATCH (a:Applicant {key: key})-[s:SUBMITTED]->(:Application)-[r]->(i)
USING INDEX a:Applicant(key)
WHERE s.ts < $as_of
RETURN key, collect(DISTINCT [type(r), i.key]) AS used
"""

_Q_USAGE = f"""
CALL {{
{_identifier_lookup("ids")}
}}
CALL (i) {{
  MATCH (i)<-[r]-()
  WHERE r.ts < $as_of
  RETURN count(r) AS applications, min(r.ts) AS first_ts, max(r.ts) AS last_ts,
         collect(DISTINCT r.applicant) AS people,
         collect(CASE WHEN r.ts >= $since THEN [r.ts, r.applicant] END) AS recent
}}
WITH kind, i, applications, first_ts, last_ts, people, recent
WHERE applications > 0
RETURN kind, i.key AS key, i.display AS display, applications, first_ts, last_ts, size(people) AS applicants,
       CASE WHEN size(people) <= $expand_limit THEN people ELSE [] END AS members, recent
"""

# One round trip for a score: hop-1 identifiers (the application's own that exist, and
# those the applicant used before), their usage, the hop-2 applicants with their
# identifiers, the usage of non-hub hop-3 identifiers (hubs are found with a LIMIT, never
# counted in full), every label on those nodes and the applicant's history. Each CALL
# aggregates, so it yields one row also when it finds nothing.
_USAGE_ROW = "[labels({n})[0], {n}.key, {n}.display, applications, first_ts, last_ts, {count}, {members}, recent]"
_Q_SNAPSHOT = f"""
CALL {{
  CALL {{
{_identifier_lookup("own")}
  }}
  RETURN i
  UNION
  MATCH (a:Applicant {{key: $key}})-[s:SUBMITTED]->(:Application)-[]->(i) USING INDEX a:Applicant(key)
  WHERE s.ts < $as_of
  RETURN i
}}
WITH collect(i) AS hop1
CALL (hop1) {{
  UNWIND hop1 AS i
  CALL (i) {{
    MATCH (i)<-[r]-() WHERE r.ts < $as_of
    RETURN count(r) AS applications, min(r.ts) AS first_ts, max(r.ts) AS last_ts,
           collect(DISTINCT r.applicant) AS people,
           collect(CASE WHEN r.ts >= $since THEN [r.ts, r.applicant] END) AS recent
  }}
  WITH i, applications, first_ts, last_ts, people, recent WHERE applications > 0
  RETURN collect({_USAGE_ROW.format(n="i", count="size(people)",
                                    members="CASE WHEN size(people) <= $limit THEN people ELSE [] END")}) AS usage
}}
WITH hop1, usage,
     [w IN reduce(acc = [], u IN usage | acc + u[7]) WHERE w <> $key] AS hop2
CALL (hop2) {{
  UNWIND hop2 AS who
  WITH DISTINCT who
  MATCH (b:Applicant {{key: who}})-[s:SUBMITTED]->(:Application)-[]->(j) USING INDEX b:Applicant(key)
  WHERE s.ts < $as_of
  WITH who, collect(DISTINCT [labels(j)[0], j.key]) AS used
  RETURN collect([who, used]) AS neighbours
}}
CALL (hop2, hop1) {{
  UNWIND hop2 AS who
  WITH DISTINCT who
  MATCH (b:Applicant {{key: who}})-[s:SUBMITTED]->(:Application)-[]->(j) USING INDEX b:Applicant(key)
  WHERE s.ts < $as_of AND NOT j IN hop1
  WITH DISTINCT j
  CALL (j) {{
    MATCH (j)<-[r]-() WHERE r.ts < $as_of
    WITH DISTINCT r.applicant AS who LIMIT $over
    RETURN collect(who) AS people
  }}
  WITH j, people WHERE size(people) <= $limit
  CALL (j) {{
    MATCH (j)<-[r]-() WHERE r.ts < $as_of
    RETURN count(r) AS applications, min(r.ts) AS first_ts, max(r.ts) AS last_ts,
           collect(CASE WHEN r.ts >= $since THEN [r.ts, r.applicant] END) AS recent
  }}
  RETURN collect({_USAGE_ROW.format(n="j", count="size(people)", members="people")}) AS far
}}
WITH hop1, usage, hop2, neighbours, far,
     ['applicant:' + $key] + $own_ids + [x IN hop1 | $kinds[labels(x)[0]] + ':' + x.key]
     + [w IN hop2 | 'applicant:' + w]
     + reduce(acc = [], n IN neighbours | acc + [u IN n[1] | $kinds[u[0]] + ':' + u[1]])
     + reduce(acc = [], f IN far | acc + [w IN f[7] | 'applicant:' + w]) AS nodes
CALL (nodes) {{
  UNWIND nodes AS id
  WITH DISTINCT id
  MATCH (l:Label {{node_id: id}}) USING INDEX l:Label(node_id)
  RETURN collect([l.node_id, l.status, l.by, l.at, l.reason]) AS labels
}}
CALL () {{
  MATCH (a:Applicant {{key: $key}})-[s:SUBMITTED]->(app:Application) USING INDEX a:Applicant(key)
  WHERE s.ts < $as_of AND app.application_id <> $application_id
  WITH app ORDER BY app.ts, app.application_id
  RETURN collect([app {{.*}}, [(app)-[r]->(i) | [r.ord, type(r), i.key, i.display]]]) AS history
}}
RETURN [x IN hop1 | [labels(x)[0], x.key]] AS hop1, usage, neighbours, far, labels, history
"""

_Q_APPLICANTS_EXIST = (
    "UNWIND $keys AS k MATCH (a:Applicant {key: k}) USING INDEX a:Applicant(key) RETURN a.key AS key"
)

_Q_DISPLAY = f"""
CALL {{
  UNWIND $applicants AS k MATCH (a:Applicant {{key: k}}) USING INDEX a:Applicant(key)
  RETURN 'applicant:' + k AS id, a.display AS display
  UNION ALL
  UNWIND $applications AS k MATCH (app:Application {{application_id: k}})
  USING INDEX app:Application(application_id)
  RETURN 'application:' + k AS id, k AS display
  UNION ALL
  CALL {{
{_identifier_lookup("ids")}
  }}
  RETURN kind + ':' + i.key AS id, i.display AS display
}}
RETURN id, display
"""

_Q_START = f"""
CALL {{
  UNWIND $applicants AS k MATCH (a:Applicant {{key: k}}) USING INDEX a:Applicant(key)
  RETURN 'applicant:' + k AS id
  UNION ALL
  CALL {{
{_identifier_lookup("ids")}
  }}
  RETURN kind + ':' + i.key AS id
}}
RETURN id
"""

_Q_APPLICATION_APPLICANT = """
MATCH (a:Applicant)-[:SUBMITTED]->(app:Application {application_id: $id})
USING INDEX app:Application(application_id)
RETURN a.key AS key
"""

_Q_EXPAND_APPLICANTS = """
UNWIND $keys AS key
MATCH (a:Applicant {key: key})-[:SUBMITTED]->(:Application)-[r]->(i)
USING INDEX a:Applicant(key)
RETURN key, type(r) AS rel, i.key AS ident, min(r.ts) AS first_ts
"""

_Q_EXPAND_IDENTIFIERS = f"""
CALL {{
{_identifier_lookup("ids")}
}}
CALL (i) {{
  MATCH (i)<-[r]-()
  WITH r.applicant AS who, min(r.ts) AS first_ts
  RETURN collect([who, first_ts]) AS users
}}
RETURN kind, i.key AS key, size(users) AS applicants,
       CASE WHEN size(users) <= $hub_limit OR kind + ':' + i.key IN $open THEN users ELSE [] END AS users
"""

_Q_NODE_PROPS = f"""
CALL {{
  UNWIND $applicants AS k MATCH (a:Applicant {{key: k}}) USING INDEX a:Applicant(key)
  RETURN 'applicant:' + k AS id, a.display AS display, COUNT {{ (a)-[:SUBMITTED]->() }} AS n
  UNION ALL
  CALL {{
{_identifier_lookup("ids")}
  }}
  CALL (i) {{ MATCH (i)<-[r]-() RETURN count(DISTINCT r.applicant) AS n }}
  RETURN kind + ':' + i.key AS id, i.display AS display, n
}}
OPTIONAL MATCH (l:Label {{node_id: id}}) USING INDEX l:Label(node_id)
RETURN id, display, n, l.status AS status
"""

_Q_LINKS = f"""
CALL {{
{_each_kind("MATCH (i:{label}) RETURN i, '{kind}' AS kind")}
}}
CALL (i) {{
  MATCH (i)<-[r]-()
  RETURN r.applicant AS who, min(r.ts) AS first_ts, max(r.ts) AS last_ts
}}
RETURN who, kind + ':' + i.key AS id, first_ts, last_ts
"""

_Q_STATS = (
    "CALL { MATCH (n:Application) RETURN count(n) AS applications } "
    "CALL { MATCH (n:Applicant) RETURN count(n) AS applicants } "
    + " ".join(
        f"CALL {{ MATCH (n:{label}) RETURN count(n) AS {kind} }}" for kind, label in LABEL_OF_KIND.items()
    )
    + " CALL { MATCH (n:Label) RETURN count(n) AS labels } "
    "CALL { MATCH (r:Ring {active: true}) RETURN count(r) AS rings } "
    "RETURN applications, applicants, " + ", ".join(IDENTIFIER_KINDS) + ", labels, rings"
)

_Q_SET_LABEL = """
MERGE (l:Label {node_id: $node_id})
SET l.status = $status, l.by = $by, l.at = $at, l.reason = $reason
"""

_Q_LABELS = """
UNWIND $ids AS id MATCH (l:Label {node_id: id}) USING INDEX l:Label(node_id)
RETURN l.node_id AS node_id, l.status AS status, l.by AS by, l.at AS at, l.reason AS reason
"""

_Q_ALL_LABELS = """
MATCH (l:Label)
RETURN l.node_id AS node_id, l.status AS status, l.by AS by, l.at AS at, l.reason AS reason
"""

_Q_RETIRE_RINGS = "MATCH (old:Ring {active: true}) SET old.active = false"

_Q_WRITE_RINGS = """
UNWIND $rings AS ring
MERGE (r:Ring {ring_id: ring.ring_id})
SET r.run_id = ring.run_id, r.at = $at, r.active = true, r.score = ring.score, r.features = ring.features,
    r.identifiers = ring.identifiers, r.lineage = ring.lineage, r.members = ring.members
WITH r, ring
CALL (r) { MATCH (r)<-[m:MEMBER_OF]-() DELETE m }
CALL (r, ring) {
  UNWIND ring.members AS key
  MATCH (a:Applicant {key: key}) USING INDEX a:Applicant(key)
  CREATE (a)-[:MEMBER_OF {run_id: ring.run_id}]->(r)
}
RETURN count(r) AS written
"""

_RING_FIELDS = (
    "r.ring_id AS ring_id, r.run_id AS run_id, r.members AS members, r.score AS score, "
    "r.features AS features, r.identifiers AS identifiers, r.lineage AS lineage"
)

_Q_RINGS = f"MATCH (r:Ring {{active: true}}) RETURN {_RING_FIELDS} ORDER BY r.ring_id"

_Q_RING_OF = f"""
MATCH (a:Applicant {{key: $key}})-[:MEMBER_OF]->(r:Ring {{active: true}}) USING INDEX a:Applicant(key)
RETURN {_RING_FIELDS} ORDER BY r.ring_id LIMIT 1
"""

_Q_RECORD_DECISION = """
CREATE (:Decision {seq: $seq, application_id: $application_id, at: $at, score: $score, band: $band,
                   action: $action, reasons: $reasons, model_version: $model_version, trigger: $trigger})
"""

_Q_DECISIONS = """
MATCH (d:Decision {application_id: $application_id}) USING INDEX d:Decision(application_id)
RETURN d.application_id AS application_id, d.at AS at, d.score AS score, d.band AS band, d.action AS action,
       d.reasons AS reasons, d.model_version AS model_version, d.trigger AS trigger
ORDER BY d.seq
"""

_Q_ADD_ALERT = """
MERGE (a:Alert {alert_id: $alert_id})
ON CREATE SET a.applicant_key = $applicant_key, a.tier = $tier, a.at = $at, a.trigger = $trigger,
              a.score = $score, a.previous_score = $previous_score, a.status = $status, a.detail = $detail
"""

_ALERT_FIELDS = (
    "a.alert_id AS alert_id, a.applicant_key AS applicant_key, a.tier AS tier, a.at AS at, "
    "a.trigger AS trigger, a.score AS score, a.previous_score AS previous_score, "
    "a.status AS status, a.detail AS detail"
)

_Q_ALERTS = f"""
MATCH (a:Alert) WHERE a.at IS NOT NULL
RETURN {_ALERT_FIELDS} ORDER BY a.at DESC, a.alert_id LIMIT $limit
"""

_Q_ALERTS_WITH_STATUS = f"""
MATCH (a:Alert {{status: $status}}) USING INDEX a:Alert(status)
RETURN {_ALERT_FIELDS} ORDER BY a.at DESC, a.alert_id LIMIT $limit
"""

_Q_SET_ALERT_STATUS = (
    "MATCH (a:Alert {alert_id: $alert_id}) USING INDEX a:Alert(alert_id) "
    "SET a.status = $status RETURN count(a) AS n"
)

_Q_APPEND_AUDIT = """
CREATE (:AuditEvent {seq: $seq, at: $at, actor: $actor, action: $action, subject: $subject, detail: $detail})
"""

_AUDIT_FIELDS = (
    "e.seq AS seq, e.at AS at, e.actor AS actor, e.action AS action, e.subject AS subject, e.detail AS detail"
)

# The newest events first, read backwards along the seq index.
_Q_AUDIT = f"MATCH (e:AuditEvent) WHERE e.seq > 0 RETURN {_AUDIT_FIELDS} ORDER BY e.seq DESC LIMIT $limit"

_Q_AUDIT_OF = f"""
MATCH (e:AuditEvent {{subject: $subject}}) USING INDEX e:AuditEvent(subject)
RETURN {_AUDIT_FIELDS} ORDER BY e.seq DESC LIMIT $limit
"""

# -- GDS ----------------------------------------------------------------------------------------
_SPECIFIC_IDENTIFIERS = _each_kind(
    "UNWIND CASE WHEN '{kind}' IN $kinds THEN [1] ELSE [] END AS wanted "
    "MATCH (i:{label}) WHERE COUNT {{ (i)<-[:{rel}]-() }} >= 2 "
    "AND NOT i.key IN coalesce($exclude.{kind}, []) RETURN i"
)

_Q_PROJECT_LINKS = f"""
CALL {{
{_SPECIFIC_IDENTIFIERS}
}}
CALL (i) {{ MATCH (i)<-[r]-() RETURN collect(DISTINCT r.applicant) AS people }}
WITH i, people WHERE size(people) >= 2 AND size(people) <= $max_applicants
UNWIND people AS key
MATCH (a:Applicant {{key: key}}) USING INDEX a:Applicant(key)
RETURN gds.graph.project($graph_name, a, i, {{}}, {{undirectedRelationshipTypes: ['*']}})
"""

# The same selection, directed applicant -> identifier: node similarity compares the
# applicants by their identifier sets and degree counts each applicant's identifiers.
_Q_PROJECT_APPLICANT_LINKS = _Q_PROJECT_LINKS.replace("{undirectedRelationshipTypes: ['*']}", "{}")
assert _Q_PROJECT_APPLICANT_LINKS != _Q_PROJECT_LINKS

_Q_SIMILAR = """
CALL gds.nodeSimilarity.stream($graph_name, {similarityCutoff: $min_similarity, degreeCutoff: $min_shared,
                                             topK: $top_k, concurrency: 1})
YIELD node1, node2, similarity
WITH node1, node2, similarity WHERE node1 < node2
RETURN gds.util.asNode(node1).key AS first_node, gds.util.asNode(node2).key AS second_node, similarity
"""

_Q_DEGREE = """
CALL gds.degree.stream($graph_name) YIELD nodeId, score
WITH gds.util.asNode(nodeId) AS n, score WHERE n:Applicant AND score > 0
RETURN n.key AS key, toInteger(score) AS degree
"""

_Q_WCC = """
CALL gds.wcc.stream($graph_name) YIELD nodeId, componentId
WITH componentId, gds.util.asNode(nodeId) AS n
RETURN componentId AS component, [l IN labels(n) WHERE l <> 'Applicant'][0] AS label, n.key AS key
"""

_Q_PROJECT_SHARED = f"""
CALL {{
{_identifier_lookup("ids")}
}}
CALL (i) {{
  MATCH (i)<-[r]-() WHERE r.applicant IN $members
  RETURN collect(DISTINCT r.applicant) AS people
}}
WITH people WHERE size(people) >= 2 AND size(people) <= $max_applicants
UNWIND people AS x
UNWIND people AS y
WITH x, y WHERE x < y
WITH x, y, count(*) AS shared
MATCH (a:Applicant {{key: x}}), (b:Applicant {{key: y}})
USING INDEX a:Applicant(key) USING INDEX b:Applicant(key)
RETURN gds.graph.project($graph_name, a, b, {{relationshipProperties: {{weight: toFloat(shared)}}}},
                         {{undirectedRelationshipTypes: ['*']}})
"""

_Q_LOUVAIN = """
CALL gds.louvain.stream($graph_name, {relationshipWeightProperty: 'weight', concurrency: 1})
YIELD nodeId, communityId
RETURN communityId AS community, gds.util.asNode(nodeId).key AS key
"""

_Q_SHARED_USERS = f"""
CALL {{
{_identifier_lookup("ids")}
}}
MATCH (i)<-[r]-() WHERE r.applicant IN $members
RETURN kind + ':' + i.key AS id, collect(DISTINCT r.applicant) AS people
"""


def _is_unavailable(exc: BaseException) -> bool:
    """Whether a driver error means "the store cannot answer now" (rather than a bug)."""
    if isinstance(exc, DriverError):
        return True
    if isinstance(exc, Neo4jError):
        if isinstance(exc, ClientError):
            code = exc.code or ""
            # Statement, procedure and schema errors are bugs or conflicts, not outages;
            # timeouts, security, unknown database and pool exhaustion are outages.
            return not code.startswith(
                ("Neo.ClientError.Statement", "Neo.ClientError.Procedure", "Neo.ClientError.Schema")
            )
        return True
    return type(exc).__name__ in ("UnableToConnectError", "GdsNotFound")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def epoch_parts(ts: float) -> tuple[int, int]:
    """Whole seconds and nanoseconds of an epoch time, to the microsecond (as ``datetime``)."""
    sec = math.floor(ts)
    micro = round((ts - sec) * 1_000_000)
    if micro >= 1_000_000:
        sec, micro = sec + 1, 0
    return int(sec), micro * 1000


_LINK_SLOT: dict[str, int] = {kind: _FIRST_LINK + n for n, kind in enumerate(LABEL_OF_KIND)}


def _create_row(app: NormalisedApplication) -> list[Any]:
    """``[id, ts, applicant key, applicant display, seconds, nanoseconds, *scalars,
    *one [key, position] or null per identifier kind]``."""
    sec, ns = epoch_parts(app.ts)
    row: list[Any] = [app.application_id, app.ts, app.applicant_key, app.applicant_display, sec, ns]
    row += application_props(app).values()
    row += [None] * len(LABEL_OF_KIND)
    for position, ident in enumerate(app.identifiers):
        slot = _LINK_SLOT.get(ident.kind)
        if slot is None:
            raise InvalidInput("identifiers", f"unknown identifier kind {ident.kind!r}")
        if row[slot] is not None:
            raise InvalidInput("identifiers", f"more than one {ident.kind} in one application")
        row[slot] = [ident.key, position]
    return row


def _application(app: dict[str, Any], idents: list[list[Any]]) -> NormalisedApplication:
    ordered = sorted(idents, key=lambda x: x[0])
    return application_from_parts(
        app["application_id"],
        app["ts"],
        app["applicant_key"],
        app.get("applicant_display", ""),
        [(KIND_OF_RELATIONSHIP[rel], key, display) for _, rel, key, display in ordered],
        app,
    )


def _ring(record: neo4j.Record) -> RingRecord:
    return RingRecord(
        record["ring_id"],
        record["run_id"],
        tuple(record["members"]),
        record["score"],
        json.loads(record["features"]),
        tuple(record["identifiers"]),
        json.loads(record["lineage"]),
    )


def _usage_rows(rows: list[list[Any]]) -> dict[str, IdentifierUsage]:
    """Usage records from ``_USAGE_ROW`` lists."""
    out: dict[str, IdentifierUsage] = {}
    for label, key, display, applications, first_ts, last_ts, applicants, members, recent in rows:
        nid = f"{KIND_OF_LABEL[label]}:{key}"
        out[nid] = IdentifierUsage(
            node_id=nid, applicants=applicants, applications=applications, first_ts=first_ts, last_ts=last_ts,
            recent=tuple(sorted((ts, who) for ts, who in recent)), members=tuple(sorted(members)), display=display,
        )
    return out


def new_seq() -> int:
    """A sequence number for a decision or audit event: microseconds since the epoch and
    12 random bits. Time-ordered and unique without a shared counter node, so writers
    never queue on one lock (a rare clash is refused by the constraint and retried)."""
    return (time.time_ns() // 1000) << 12 | random.getrandbits(12)


def _decision_params(d: Decision) -> dict[str, Any]:
    return {"application_id": d.application_id, "at": d.at, "score": d.score, "band": d.band,
            "action": d.action, "reasons": json.dumps(d.reasons), "model_version": d.model_version,
            "trigger": d.trigger}


def _audit_params(e: AuditEntry) -> dict[str, Any]:
    return {"at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject, "detail": _json(e.detail)}


def _decisions(tx: neo4j.ManagedTransaction, application_id: str) -> list[Decision]:
    return [
        Decision(r["application_id"], r["at"], r["score"], r["band"], r["action"], json.loads(r["reasons"]),
                 r["model_version"], r["trigger"])
        for r in tx.run(_Q_DECISIONS, application_id=application_id)
    ]


class _Outage:
    """Context manager turning driver errors into :class:`StoreUnavailable`."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is not None and _is_unavailable(exc):
            raise StoreUnavailable(f"neo4j: {self.what} failed: {exc}") from exc


class Neo4jStore(GraphStore):
    """The store contract on Neo4j 5 (+ GDS for whole-graph work). See the module docstring.

    ``timeout`` (seconds) bounds connecting, waiting for a pooled connection, each
    transaction on the server and the driver's retries of transient errors.
    """

    waits_on_network = True

    def __init__(
        self,
        url: str,
        user: str = "neo4j",
        password: str = "",
        database: str = "neo4j",
        pool_size: int = 50,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self._database = database
        self._timeout = float(timeout)
        self._auth = (user, password) if password else None
        self._routing = url.lower().startswith("neo4j")
        try:
            self._driver = neo4j.GraphDatabase.driver(
                url,
                auth=self._auth,
                max_connection_pool_size=pool_size,
                connection_timeout=self._timeout,
                connection_acquisition_timeout=self._timeout,
                max_transaction_retry_time=self._timeout,
                liveness_check_timeout=30.0,
                notifications_min_severity="OFF",
                user_agent="ringsight",
            )
        except (ValueError, neo4j.exceptions.ConfigurationError) as exc:
            raise InvalidInput("graph_url", f"cannot use {url!r} for Neo4j: {exc}") from exc
        self._schema_lock = threading.Lock()
        self._schema_ready = False
        self._gds: Any = None
        self._gds_lock = threading.Lock()
        try:
            for attempt in Retrying(
                stop=stop_after_delay(2 * self._timeout),
                wait=wait_exponential(multiplier=0.2, max=2.0),
                retry=retry_if_exception_type(StoreUnavailable),
                reraise=True,
            ):
                with attempt:
                    self._ensure_schema()
        except StoreUnavailable as exc:
            log.warning("Neo4j is not answering at %s yet (%s); will retry on use", url, exc)

    # -- plumbing ---------------------------------------------------------------------------------
    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            with _Outage("creating the schema"), self._driver.session(database=self._database) as session:
                for statement in SCHEMA:
                    try:
                        session.run(statement).consume()
                    except ClientError as exc:
                        # Another process created the same rule at the same moment.
                        if not (exc.code or "").endswith("AlreadyExists"):
                            raise
                try:
                    wait = int(self._timeout * 6) + 1
                    session.run("CALL db.awaitIndexes($seconds)", seconds=wait).consume()
                except ClientError as exc:
                    # Populating indexes over an existing large graph may take longer; the
                    # store works meanwhile (more slowly), so this is not a reason to refuse.
                    log.warning("Neo4j indexes are still populating: %s", exc)
            self._schema_ready = True

    def _session(self, mode: str) -> neo4j.Session:
        # Through a router (neo4j://) reads may go to another cluster member than the write
        # before them: share bookmarks so every session reads its own writes. A direct
        # bolt:// connection has one server and nothing to chain.
        if self._routing:
            return self._driver.session(
                database=self._database,
                default_access_mode=mode,
                bookmark_manager=self._driver.execute_query_bookmark_manager,
            )
        return self._driver.session(database=self._database, default_access_mode=mode)

    def _read(
        self, what: str, work: Callable[[neo4j.ManagedTransaction], T], timeout: float | None = None
    ) -> T:
        self._ensure_schema()
        with _Outage(what), self._session(neo4j.READ_ACCESS) as session:
            return session.execute_read(neo4j.unit_of_work(timeout=timeout or self._timeout)(work))

    def _write(
        self, what: str, work: Callable[[neo4j.ManagedTransaction], T], timeout: float | None = None
    ) -> T:
        self._ensure_schema()
        with _Outage(what), self._session(neo4j.WRITE_ACCESS) as session:
            return session.execute_write(neo4j.unit_of_work(timeout=timeout or self._timeout)(work))

    def _fetch(self, what: str, query: str, **params: Any) -> list[neo4j.Record]:
        """One read query in a managed (retried) transaction."""
        return self._read(what, lambda tx: list(tx.run(query, params)))

    def _change(self, what: str, query: str, **params: Any) -> list[neo4j.Record]:
        """One write query in a managed (retried) transaction."""
        return self._write(what, lambda tx: list(tx.run(query, params)))

    # -- writes -----------------------------------------------------------------------------------
    def upsert(self, applications: Sequence[NormalisedApplication]) -> int:
        if not applications:
            return 0
        batch: dict[str, NormalisedApplication] = {}
        for app in applications:
            known = batch.get(app.application_id)
            if known is None:
                batch[app.application_id] = app
            elif known.applicant_key != app.applicant_key:
                raise Conflict(f"application {app.application_id!r} is already stored for another applicant")
        rows = {app_id: _create_row(app) for app_id, app in batch.items()}

        def work(tx: neo4j.ManagedTransaction) -> int:
            return len(self._create_applications(tx, batch, rows))

        # A concurrent writer may create one of these applications between our check and our
        # CREATE; the uniqueness constraint refuses ours and a fresh attempt sees theirs. Each
        # refusal means another writer committed, so a few attempts settle any realistic overlap.
        return self._write_settled("upsert", work, self._timeout + 0.002 * len(rows))

    def _write_settled(self, what: str, work: Callable[[neo4j.ManagedTransaction], T], timeout: float) -> T:
        """A write retried when a concurrent writer's commit made a uniqueness constraint refuse
        it (each refusal means another writer committed, so a few attempts settle any
        realistic overlap; the next attempt sees what they wrote)."""
        for attempt in range(_UPSERT_ATTEMPTS):
            try:
                return self._write(what, work, timeout)
            except ConstraintError as exc:
                if attempt == _UPSERT_ATTEMPTS - 1:
                    raise StoreUnavailable(f"neo4j: {what} kept colliding with concurrent writers: {exc}") from exc
                time.sleep(random.uniform(0.0, 0.02 * 2**attempt))
        raise AssertionError("unreachable")

    @staticmethod
    def _create_applications(
        tx: neo4j.ManagedTransaction, batch: dict[str, NormalisedApplication], rows: dict[str, list[Any]]
    ) -> list[str]:
        """Create the applications of ``batch`` not stored yet (inside the caller's
        transaction); return their ids. Conflict when an id is stored for another applicant."""
        ids = list(batch)
        stored: dict[str, str] = {}
        for start in range(0, len(ids), _STATEMENT_ROWS):
            for rec in tx.run(_Q_EXISTING, ids=ids[start : start + _STATEMENT_ROWS]):
                stored[rec["id"]] = rec["applicant"]
        for app_id, applicant in stored.items():
            if batch[app_id].applicant_key != applicant:
                raise Conflict(f"application {app_id!r} is already stored for another applicant")
        fresh = [a for a in ids if a not in stored]
        for start in range(0, len(fresh), _STATEMENT_ROWS):
            chunk = [batch[a] for a in fresh[start : start + _STATEMENT_ROWS]]
            # Sorted keys: concurrent writers lock shared nodes in the same order.
            for kind, query in _Q_MERGE_IDENTIFIERS.items():
                nodes = {i.key: i.display for a in chunk for i in a.identifiers if i.kind == kind}
                if nodes:
                    tx.run(query, nodes=sorted(nodes.items())).consume()
            people = {a.applicant_key: a.applicant_display for a in chunk}
            tx.run(_Q_MERGE_APPLICANTS, nodes=sorted(people.items())).consume()
            tx.run(_Q_CREATE, rows=[rows[a.application_id] for a in chunk]).consume()
        return fresh

    def record_assessment(self, app: NormalisedApplication, decision: Decision, audit: AuditEntry) -> Recorded:
        batch = {app.application_id: app}
        rows = {app.application_id: _create_row(app)}

        def work(tx: neo4j.ManagedTransaction) -> Recorded:
            if not self._create_applications(tx, batch, rows):
                first = [d for d in _decisions(tx, app.application_id) if d.trigger == decision.trigger]
                return Recorded(False, first[0] if first else None)
            tx.run(_Q_RECORD_DECISION, seq=new_seq(), **_decision_params(decision)).consume()
            tx.run(_Q_APPEND_AUDIT, seq=new_seq(), **_audit_params(audit)).consume()
            return Recorded(True)

        return self._write_settled("record_assessment", work, self._timeout)

    # -- point reads ------------------------------------------------------------------------------
    def application(self, application_id: str) -> NormalisedApplication | None:
        records = self._fetch("application", _Q_APPLICATION, id=application_id)
        return _application(records[0]["app"], records[0]["idents"]) if records else None

    def applicant_applications(
        self, applicant_key: str, before: float | None = None
    ) -> list[NormalisedApplication]:
        records = self._fetch(
            "applicant_applications", _Q_APPLICANT_APPLICATIONS, key=applicant_key, before=before
        )
        return [_application(r["app"], r["idents"]) for r in records]

    def applicants_below(self, bound: str) -> list[str]:
        records = self._fetch("applicants_below", _Q_APPLICANTS_BELOW, bound=bound)
        return [r["key"] for r in records]

    def applications_of(self, applicant_keys: Sequence[str]) -> dict[str, list[NormalisedApplication]]:
        out: dict[str, list[NormalisedApplication]] = {}
        keys = sorted(set(applicant_keys))
        for start in range(0, len(keys), _STATEMENT_ROWS):
            chunk = keys[start : start + _STATEMENT_ROWS]
            for r in self._fetch("applications_of", _Q_APPLICATIONS_OF, keys=chunk):
                out.setdefault(r["key"], []).append(_application(r["app"], r["idents"]))
        return out

    def applicant_identifiers(
        self, applicant_keys: Sequence[str], as_of: float
    ) -> dict[str, tuple[str, ...]]:
        if not applicant_keys:
            return {}
        records = self._fetch(
            "applicant_identifiers",
            _Q_APPLICANT_IDENTIFIERS,
            keys=list(dict.fromkeys(applicant_keys)),
            as_of=as_of,
        )
        found = {
            r["key"]: tuple(sorted({f"{KIND_OF_RELATIONSHIP[rel]}:{key}" for rel, key in r["used"]}))
            for r in records
        }
        return {k: found[k] for k in applicant_keys if found.get(k)}

    def identifier_usage(
        self, node_ids: Sequence[str], as_of: float, window: float, expand_limit: int
    ) -> dict[str, IdentifierUsage]:
        ids = _by_kind(node_ids)
        if not ids:
            return {}
        records = self._fetch(
            "identifier_usage",
            _Q_USAGE,
            ids=ids,
            as_of=as_of,
            since=as_of - window,
            expand_limit=expand_limit,
        )
        found: dict[str, IdentifierUsage] = {}
        for r in records:
            nid = f"{r['kind']}:{r['key']}"
            found[nid] = IdentifierUsage(
                node_id=nid,
                applicants=r["applicants"],
                applications=r["applications"],
                first_ts=r["first_ts"],
                last_ts=r["last_ts"],
                recent=tuple(sorted((ts, who) for ts, who in r["recent"])),
                members=tuple(sorted(r["members"])),
                display=r["display"],
            )
        return {nid: found[nid] for nid in dict.fromkeys(node_ids) if nid in found}

    def snapshot(self, app: NormalisedApplication, as_of: float, hub_limit: int) -> ScoringSnapshot:
        """One query (``_Q_SNAPSHOT``); the same answer as :func:`graph.store.snapshot.assemble`."""
        own = sorted({i.node_id for i in app.identifiers})
        record = self._fetch(
            "snapshot", _Q_SNAPSHOT, key=app.applicant_key, own=_by_kind(own), own_ids=own, as_of=as_of,
            since=as_of - USAGE_WINDOW, limit=hub_limit, over=hub_limit + 1, application_id=app.application_id,
            kinds=KIND_OF_LABEL,
        )[0]
        identifiers = tuple(sorted(set(own).union(f"{KIND_OF_LABEL[lab]}:{key}" for lab, key in record["hop1"])))
        usage = _usage_rows(record["usage"])
        neighbours = {
            who: tuple(sorted(f"{KIND_OF_LABEL[lab]}:{key}" for lab, key in used))
            for who, used in record["neighbours"]
        }
        labels = {r[0]: Label(*r) for r in record["labels"]}
        return ScoringSnapshot(
            applicant_key=app.applicant_key,
            as_of=as_of,
            identifiers=identifiers,
            usage={n: usage[n] for n in identifiers if n in usage},
            neighbours=dict(sorted(neighbours.items())),
            far_usage=dict(sorted(_usage_rows(record["far"]).items())),
            labels=dict(sorted(labels.items())),
            history=tuple(_application(a, idents) for a, idents in record["history"]),
        )

    def applicants_exist(self, applicant_keys: Sequence[str]) -> set[str]:
        if not applicant_keys:
            return set()
        records = self._fetch("applicants_exist", _Q_APPLICANTS_EXIST, keys=list(set(applicant_keys)))
        return {r["key"] for r in records}

    @staticmethod
    def _node_params(node_ids: Sequence[str]) -> dict[str, Any]:
        applicants, applications = [], []
        for nid in node_ids:
            kind, _, key = nid.partition(":")
            if kind == "applicant":
                applicants.append(key)
            elif kind == "application":
                applications.append(key)
        return {"applicants": applicants, "applications": applications, "ids": _by_kind(node_ids)}

    def node_display(self, node_ids: Sequence[str]) -> dict[str, str]:
        if not node_ids:
            return {}
        records = self._fetch("node_display", _Q_DISPLAY, **self._node_params(list(dict.fromkeys(node_ids))))
        found = {r["id"]: r["display"] for r in records}
        return {nid: found[nid] for nid in node_ids if nid in found}

    def neighbourhood(self, node_id: str, depth: int, limit: int) -> Subgraph:
        """Breadth-first over applicant-identifier links, one query per level plus one for the
        nodes: the same walk as the embedded store (hubs past the start are not expanded)."""
        kind, _, key = node_id.partition(":")
        start: list[str] = []
        if kind == "application":
            found = self._fetch("neighbourhood", _Q_APPLICATION_APPLICANT, id=key)
            start = [applicant_node(found[0]["key"])] if found else []
        elif kind == "applicant" or kind in LABEL_OF_KIND:
            start = [r["id"] for r in self._fetch("neighbourhood", _Q_START, **self._node_params([node_id]))]
        seen: dict[str, int] = {n: 0 for n in start}
        edges: set[tuple[str, str, float]] = set()
        queue = deque(start)
        truncated = False
        adjacency: dict[str, list[tuple[str, float]]] = {}
        hubs: set[str] = set()
        while queue:
            current = queue.popleft()
            hops = seen[current]
            if hops >= depth:
                continue
            if current not in adjacency:
                level = [current, *(n for n in queue if seen[n] < depth and n not in adjacency)]
                self._expand(level, {n for n in level if seen[n] == 0}, adjacency, hubs)
            if current.startswith("applicant:"):
                neighbours = adjacency[current]
                pairs = [(current, n, t) for n, t in neighbours]
            else:
                if current in hubs and hops > 0:
                    continue
                neighbours = adjacency[current]
                pairs = [(n, current, t) for n, t in neighbours]
            for (nid, _), pair in zip(neighbours, pairs, strict=True):
                if nid not in seen:
                    if len(seen) >= limit:
                        truncated = True
                        continue
                    seen[nid] = hops + 1
                    queue.append(nid)
                edges.add(pair)
        nodes = self._graph_nodes(sorted(seen))
        graph_edges = [
            GraphEdge(s, t, RELATIONSHIP_OF_KIND[node_kind(t)], ts)
            for s, t, ts in sorted(edges)
            if s in seen and t in seen
        ]
        return Subgraph(nodes, graph_edges, truncated)

    def _expand(
        self,
        level: list[str],
        starts: set[str],
        adjacency: dict[str, list[tuple[str, float]]],
        hubs: set[str],
    ) -> None:
        """Fetch the sorted neighbours of one BFS level (applicants and identifiers)."""
        applicants = [n.partition(":")[2] for n in level if n.startswith("applicant:")]
        identifiers = [n for n in level if not n.startswith("applicant:")]

        def work(tx: neo4j.ManagedTransaction) -> None:
            if applicants:
                spans: dict[str, dict[str, float]] = {applicant_node(k): {} for k in applicants}
                for r in tx.run(_Q_EXPAND_APPLICANTS, keys=applicants):
                    spans[applicant_node(r["key"])][f"{KIND_OF_RELATIONSHIP[r['rel']]}:{r['ident']}"] = r[
                        "first_ts"
                    ]
                for nid, used in spans.items():
                    adjacency[nid] = sorted(used.items())
            if identifiers:
                for r in tx.run(
                    _Q_EXPAND_IDENTIFIERS,
                    ids=_by_kind(identifiers),
                    hub_limit=HUB_LIMIT,
                    open=sorted(starts),
                ):
                    nid = f"{r['kind']}:{r['key']}"
                    if r["applicants"] > HUB_LIMIT:
                        hubs.add(nid)
                    adjacency[nid] = sorted((applicant_node(who), ts) for who, ts in r["users"])
                for nid in identifiers:
                    adjacency.setdefault(nid, [])

        self._read("neighbourhood", work)

    def _graph_nodes(self, node_ids: list[str]) -> list[GraphNode]:
        if not node_ids:
            return []
        records = self._fetch("neighbourhood", _Q_NODE_PROPS, **self._node_params(node_ids))
        found = {r["id"]: r for r in records}
        nodes = []
        for nid in node_ids:
            r = found.get(nid)
            kind = node_kind(nid)
            props: dict[str, Any] = {"status": r["status"] if r else None}
            props["applications" if kind == "applicant" else "applicants"] = r["n"] if r else 0
            nodes.append(GraphNode(nid, kind, (r["display"] or "") if r else "", props))
        return nodes

    # -- labels -----------------------------------------------------------------------------------
    def set_label(self, label: Label) -> None:
        self._change(
            "set_label",
            _Q_SET_LABEL,
            node_id=label.node_id,
            status=label.status,
            by=label.by,
            at=label.at,
            reason=label.reason,
        )

    def remove_label(self, node_id: str) -> None:
        self._change(
            "remove_label",
            "MATCH (l:Label {node_id: $node_id}) USING INDEX l:Label(node_id) DELETE l",
            node_id=node_id,
        )

    def labels(self, node_ids: Sequence[str] | None = None) -> dict[str, Label]:
        if node_ids is None:
            records = self._fetch("labels", _Q_ALL_LABELS)
        elif not node_ids:
            return {}
        else:
            records = self._fetch("labels", _Q_LABELS, ids=list(dict.fromkeys(node_ids)))
        found = {
            r["node_id"]: Label(r["node_id"], r["status"], r["by"], r["at"], r["reason"]) for r in records
        }
        if node_ids is None:
            return found
        return {n: found[n] for n in node_ids if n in found}

    # -- whole graph ------------------------------------------------------------------------------
    def links(self) -> Iterator[tuple[str, str, float, float]]:
        def work(tx: neo4j.ManagedTransaction) -> list[tuple[str, str, float, float]]:
            return [(r[0], r[1], r[2], r[3]) for r in tx.run(_Q_LINKS)]

        # A whole-graph read for batch work: bounded by the batch timeout, not the online one.
        every = self._read("links", work, max(self._timeout, BATCH_TIMEOUT))
        yield from every

    def stats(self) -> dict[str, int]:
        record = self._fetch("stats", _Q_STATS)[0]
        counts = {"applications": record["applications"], "applicants": record["applicants"]}
        counts.update((kind, record[kind]) for kind in IDENTIFIER_KINDS if record[kind])
        counts["labels"] = record["labels"]
        counts["rings"] = record["rings"]
        return counts

    def _graph_data_science(self) -> Any:
        """The GDS client on this store's driver, created on first use (bounded connectivity
        retries, Bolt only: the Arrow endpoint is optional and not assumed)."""
        with self._gds_lock:
            if self._gds is None:
                self._gds = self._connect_gds()
        return self._gds

    def _connect_gds(self) -> Any:
        from graphdatascience import GraphDataScience
        from graphdatascience.query_runner.neo4j_query_runner import Neo4jQueryRunner

        class BoundedQueryRunner(Neo4jQueryRunner):
            # The client waits up to ten minutes for a lost server before each query;
            # a store answers or reports itself unavailable within its timeout.
            def _verify_connectivity(self, database: str | None, retry_config: Any) -> None:
                bounded = Neo4jQueryRunner.ConnectivityRetriesConfig(max_retries=3, wait_time=1)
                super()._verify_connectivity(database, bounded)

        self.ping()
        with _Outage("connecting GDS"):
            runner = BoundedQueryRunner(self._driver, "bolt", database=self._database, show_progress=False)
            return GraphDataScience(runner, arrow=False, show_progress=False)

    def _project(self, gds: Any, query: str, graph_name: str, **params: Any) -> bool:
        """Run a Cypher-aggregation projection; False when it selected nothing."""
        result = gds.run_cypher(query, {"graph_name": graph_name, **params})
        if result.empty or result.iloc[0, 0] is None:
            return False
        return int(result.iloc[0, 0]["nodeCount"]) > 0

    @staticmethod
    def _drop(gds: Any, graph_name: str) -> None:
        try:
            gds.graph.drop(graph_name, failIfMissing=False)
        except Exception as exc:  # never mask the error that brought us here
            log.warning("could not drop GDS graph %s: %s", graph_name, exc)

    @contextmanager
    def _projection(self, what: str, query: str, **params: Any) -> Iterator[tuple[Any, str] | None]:
        """``(gds, graph name)`` of a Cypher-aggregation projection for the block, or None
        when it selected nothing; the projection is dropped afterwards, also on errors."""
        graph_name = f"ringsight-{what.replace('_', '-')}-{uuid.uuid4().hex}"
        with _Outage(what):
            gds = self._graph_data_science()
            try:
                yield (gds, graph_name) if self._project(gds, query, graph_name, **params) else None
            finally:
                self._drop(gds, graph_name)

    @staticmethod
    def _link_selection(kinds: Sequence[str], max_applicants: int, exclude: Sequence[str]) -> dict[str, Any]:
        """Parameters of the specific-identifier projections (same rules as the default)."""
        return {"kinds": [k for k in kinds if k in LABEL_OF_KIND], "exclude": _by_kind(exclude),
                "max_applicants": max_applicants}

    def linked_components(
        self, kinds: Sequence[str], max_identifier_applicants: int, min_size: int, exclude: Sequence[str] = ()
    ) -> list[LinkedComponent]:
        """GDS WCC over the applicant-identifier projection of specific identifiers
        (same rules and same result as the default implementation)."""
        selection = self._link_selection(kinds, max_identifier_applicants, exclude)
        with self._projection("linked_components", _Q_PROJECT_LINKS, **selection) as projected:
            if projected is None:
                return []
            gds, graph_name = projected
            rows = gds.run_cypher(_Q_WCC, {"graph_name": graph_name})
        members: dict[int, list[str]] = {}
        shared: dict[int, list[str]] = {}
        for component, label, key in rows.itertuples(index=False):
            if label is None:
                members.setdefault(int(component), []).append(key)
            else:
                shared.setdefault(int(component), []).append(f"{KIND_OF_LABEL[label]}:{key}")
        return components_of(members, shared, min_size)

    def look_alikes(
        self,
        kinds: Sequence[str],
        max_identifier_applicants: int,
        min_similarity: float,
        min_shared: int = 2,
        exclude: Sequence[str] = (),
    ) -> list[LookAlike]:
        """GDS node similarity (Jaccard) and degree over the applicant -> specific
        identifier projection (same rules and same result as the default)."""
        selection = self._link_selection(kinds, max_identifier_applicants, exclude)
        with self._projection("look_alikes", _Q_PROJECT_APPLICANT_LINKS, **selection) as projected:
            if projected is None:
                return []
            gds, graph_name = projected
            # An applicant can resemble at most everyone it shares an identifier with.
            top_k = max(1, max_identifier_applicants * len(LABEL_OF_KIND))
            pairs = gds.run_cypher(
                _Q_SIMILAR,
                {"graph_name": graph_name, "min_similarity": float(min_similarity),
                 "min_shared": int(min_shared), "top_k": top_k},
            )
            counted = gds.run_cypher(_Q_DEGREE, {"graph_name": graph_name})
            degree = {str(key): int(n) for key, n in counted.itertuples(index=False)}
        out = []
        for first, second, similarity in pairs.itertuples(index=False):
            a, b = sorted((str(first), str(second)))
            da, db = degree[a], degree[b]
            # Jaccard = shared / (da + db - shared), so the shared count follows from it.
            both = round(similarity * (da + db) / (1 + similarity))
            if both >= min_shared:
                out.append(LookAlike.of(a, b, both, da, db))
        return ranked_look_alikes(out)

    def split_communities(
        self, component: LinkedComponent, max_identifier_applicants: int, seed: int = 42
    ) -> list[LinkedComponent]:
        """GDS Louvain over the component's applicant projection, weighted by how many
        specific identifiers two applicants share. GDS Louvain takes no random seed; it runs
        single-threaded so that a run is repeatable (``seed`` is accepted for the contract)."""
        members = sorted(set(component.members))
        ids = _by_kind(component.identifiers)
        rows = None
        with self._projection(
            "split_communities", _Q_PROJECT_SHARED, ids=ids, members=members, max_applicants=max_identifier_applicants
        ) as projected:
            if projected is not None:
                gds, graph_name = projected
                rows = gds.run_cypher(_Q_LOUVAIN, {"graph_name": graph_name})
        with _Outage("split_communities"):
            found = self._graph_data_science().run_cypher(_Q_SHARED_USERS, {"ids": ids, "members": members})
        users = {r["id"]: set(r["people"]) for r in found.to_dict("records")}
        groups: dict[int, set[str]] = {}
        if rows is not None:
            for community, key in rows.itertuples(index=False):
                groups.setdefault(int(community), set()).add(key)
        placed = set().union(*groups.values()) if groups else set()
        communities = list(groups.values()) + [{m} for m in members if m not in placed]
        out = []
        for community in communities:
            own = tuple(sorted(n for n, people in users.items() if len(people & community) >= 2))
            out.append(LinkedComponent(tuple(sorted(community)), own))
        return sorted(out, key=lambda comp: comp.members[0])

    # -- rings, decisions, alerts, audit ----------------------------------------------------------
    def write_rings(self, run_id: str, at: float, rings: Sequence[RingRecord]) -> None:
        payload = [
            {
                "ring_id": r.ring_id,
                "run_id": r.run_id,
                "score": r.score,
                "features": _json(r.features),
                "identifiers": list(r.identifiers),
                "lineage": _json(r.lineage),
                "members": list(r.members),
            }
            for r in rings
        ]

        def work(tx: neo4j.ManagedTransaction) -> None:
            tx.run(_Q_RETIRE_RINGS).consume()
            for start in range(0, len(payload), 500):
                tx.run(_Q_WRITE_RINGS, rings=payload[start : start + 500], at=at).consume()

        self._write("write_rings", work, self._timeout + 0.01 * sum(len(r.members) for r in rings))

    def rings(self) -> list[RingRecord]:
        return [_ring(r) for r in self._fetch("rings", _Q_RINGS)]

    def ring_of(self, applicant_key: str) -> RingRecord | None:
        records = self._fetch("ring_of", _Q_RING_OF, key=applicant_key)
        return _ring(records[0]) if records else None

    def record_decision(self, decision: Decision) -> None:
        params = _decision_params(decision)
        self._write_settled(
            "record_decision", lambda tx: tx.run(_Q_RECORD_DECISION, seq=new_seq(), **params).consume(),
            self._timeout,
        )

    def decisions(self, application_id: str) -> list[Decision]:
        return self._read("decisions", lambda tx: _decisions(tx, application_id))

    def add_alert(self, alert: Alert) -> None:
        a = alert
        self._change(
            "add_alert",
            _Q_ADD_ALERT,
            alert_id=a.alert_id,
            applicant_key=a.applicant_key,
            tier=a.tier,
            at=a.at,
            trigger=a.trigger,
            score=a.score,
            previous_score=a.previous_score,
            status=a.status,
            detail=_json(a.detail),
        )

    def alerts(self, status: str | None = None, limit: int = 100) -> list[Alert]:
        return [
            Alert(
                r["alert_id"],
                r["applicant_key"],
                r["tier"],
                r["at"],
                r["trigger"],
                r["score"],
                r["previous_score"],
                r["status"],
                json.loads(r["detail"]),
            )
            for r in (
                self._fetch("alerts", _Q_ALERTS, limit=max(0, limit))
                if status is None
                else self._fetch("alerts", _Q_ALERTS_WITH_STATUS, status=status, limit=max(0, limit))
            )
        ]

    def set_alert_status(self, alert_id: str, status: str) -> None:
        records = self._change("set_alert_status", _Q_SET_ALERT_STATUS, alert_id=alert_id, status=status)
        if not records or records[0]["n"] == 0:
            raise NotFound("alert", alert_id)

    def append_audit(self, at: float, actor: str, action: str, subject: str, detail: dict[str, Any]) -> int:
        params = _audit_params(AuditEntry(at, actor, action, subject, detail))

        def work(tx: neo4j.ManagedTransaction) -> int:
            seq = new_seq()
            tx.run(_Q_APPEND_AUDIT, seq=seq, **params).consume()
            return seq

        return self._write_settled("append_audit", work, self._timeout)

    def audit(self, subject: str | None = None, limit: int = 100) -> list[AuditEvent]:
        return [
            AuditEvent(r["seq"], r["at"], r["actor"], r["action"], r["subject"], json.loads(r["detail"]))
            for r in (
                self._fetch("audit", _Q_AUDIT, limit=max(0, limit))
                if subject is None
                else self._fetch("audit", _Q_AUDIT_OF, subject=subject, limit=max(0, limit))
            )
        ]

    # -- lifecycle --------------------------------------------------------------------------------
    def setting(self, name: str) -> str | None:
        records = self._fetch("setting", "MATCH (s:Setting {name: $name}) RETURN s.value AS value", name=name)
        return None if not records else str(records[0]["value"])

    def put_setting(self, name: str, value: str) -> None:
        self._change("put_setting", "MERGE (s:Setting {name: $name}) SET s.value = $value", name=name, value=value)

    def ping(self) -> None:
        # Auto-commit and no retries: readiness must answer within the timeout. One second
        # try covers a pooled connection that died with a restarted server.
        for attempt in (1, 2):
            try:
                with _Outage("ping"), self._driver.session(database=self._database) as session:
                    session.run(neo4j.Query("RETURN 1", timeout=self._timeout)).consume()
                break
            except StoreUnavailable:
                if attempt == 2:
                    raise
        self._ensure_schema()

    def close(self) -> None:
        if self._gds is not None:
            try:
                self._gds.close()
            except Exception as exc:  # closing must not fail the caller
                log.debug("closing the GDS client: %s", exc)
            self._gds = None
        self._driver.close()
