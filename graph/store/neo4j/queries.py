"""Every Cypher statement of the Neo4j store's online work, and the schema.

All parameterised: labels and relationship types are spliced into query text
only from the fixed mappings of :mod:`graph.vocabulary`, never from input.
"""

from __future__ import annotations

from collections.abc import Sequence

from graph.normalise import NormalisedApplication, application_props
from graph.vocabulary import IDENTIFIER_KINDS, LABEL_OF_KIND, RELATIONSHIP_OF_KIND

UNIQUE: tuple[tuple[str, str], ...] = (
    ("Applicant", "key"),
    ("Application", "application_id"),
    *((label, "key") for label in LABEL_OF_KIND.values()),
    ("Ring", "ring_id"),
    ("Label", "node_id"),
    ("Alert", "alert_id"),
    ("Alert", "open_key"),
    ("Case", "case_id"),
    ("CaseStep", "step_id"),
    ("Decision", "seq"),
    ("AuditEvent", "seq"),
    ("AuditSeal", "n"),
    ("Work", "seq"),
    ("Lock", "name"),
    ("RingJoin", "applicant_key"),
    ("Setting", "name"),
)
INDEXED: tuple[tuple[str, str], ...] = (
    ("Decision", "application_id"),
    ("Decision", "at"),
    ("AuditEvent", "subject"),
    ("AuditEvent", "action"),
    ("Alert", "status"),
    ("Alert", "trigger"),
    ("Alert", "applicant_key"),
    ("Case", "status"),
    ("Case", "subject"),
    ("CaseStep", "case_id"),
    ("Ring", "active"),
)
SCHEMA: tuple[str, ...] = (
    *(
        f"CREATE CONSTRAINT ringsight_{label.lower()}_{prop} IF NOT EXISTS FOR (n:{label}) REQUIRE n.{prop} IS UNIQUE"
        for label, prop in UNIQUE
    ),
    *(
        f"CREATE INDEX ringsight_{label.lower()}_{prop} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})"
        for label, prop in INDEXED
    ),
)
"""Schema statements, run idempotently at start (names and labels are constants)."""

STATEMENT_ROWS = 5000
UPSERT_ATTEMPTS = 10
BATCH_TIMEOUT = 900.0  # seconds: whole-graph reads of batch runs


def each_kind(branch: str) -> str:
    """``UNION ALL`` of one copy of ``branch`` per identifier kind; ``{label}``,
    ``{rel}`` and ``{kind}`` are filled in from the fixed mappings."""
    return "\nUNION ALL\n".join(
        branch.format(label=LABEL_OF_KIND[k], rel=RELATIONSHIP_OF_KIND[k], kind=k) for k in IDENTIFIER_KINDS
    )


def identifier_lookup(param: str) -> str:
    """Subquery yielding ``i, kind`` for the keys in ``$<param>.<kind>``."""
    return each_kind(
        f"UNWIND coalesce(${param}.{{kind}}, []) AS k "
        "MATCH (i:{label} {{key: k}}) USING INDEX i:{label}(key) RETURN i, '{kind}' AS kind"
    )


def by_kind(node_ids: Sequence[str]) -> dict[str, list[str]]:
    """Identifier node ids grouped as ``{kind: [key, ...]}``; other ids are left out."""
    out: dict[str, list[str]] = {}
    for nid in node_ids:
        kind, _, key = nid.partition(":")
        if kind in LABEL_OF_KIND and key:
            out.setdefault(kind, []).append(key)
    return out


# -- queries ------------------------------------------------------------------------------------
Q_EXISTING = """
UNWIND $ids AS id
MATCH (app:Application {application_id: id}) USING INDEX app:Application(application_id)
RETURN app.application_id AS id, app.applicant_key AS applicant
"""

# Rows travel as positional lists (the driver packs parameters in Python; map keys
# repeated on every row cost as much as the values): [key, display] for nodes, and for
# applications the layout of ``create_row``.
Q_MERGE_IDENTIFIERS: dict[str, str] = {
    kind: f"UNWIND $nodes AS n MERGE (i:{label} {{key: n[0]}}) ON CREATE SET i.display = n[1]"
    for kind, label in LABEL_OF_KIND.items()
}

Q_MERGE_APPLICANTS = "UNWIND $nodes AS n MERGE (a:Applicant {key: n[0]}) SET a.display = n[1]"

SCALARS: tuple[str, ...] = tuple(application_props(NormalisedApplication("", 0.0, "", "", ())))
FIRST_SCALAR = 6
FIRST_LINK = FIRST_SCALAR + len(SCALARS)
APPLICATION_MAP = ", ".join(
    ["application_id: row[0]", "ts: row[1]", "applicant_key: row[2]", "applicant_display: row[3]"]
    + [f"{name}: row[{FIRST_SCALAR + i}]" for i, name in enumerate(SCALARS)]
)

# Nodes are merged first (deduplicated, one statement per label) so that this statement
# only matches and creates: no read/write conflicts, no eager buffering.
Q_CREATE = f"""
UNWIND $rows AS row
MATCH (a:Applicant {{key: row[2]}}) USING INDEX a:Applicant(key)
CREATE (a)-[:SUBMITTED {{ts: row[1]}}]->(app:Application)
SET app = {{{APPLICATION_MAP}}}, app.submitted_at = datetime({{epochSeconds: row[4], nanosecond: row[5]}})
WITH app, row
""" + "\n".join(
    f"CALL (app, row) {{ WITH row[{FIRST_LINK + n}] AS d WHERE d IS NOT NULL "
    f"MATCH (i:{label} {{key: d[0]}}) USING INDEX i:{label}(key) "
    f"CREATE (app)-[:{RELATIONSHIP_OF_KIND[kind]} {{ts: row[1], ord: d[1], applicant: row[2]}}]->(i) }}"
    for n, (kind, label) in enumerate(LABEL_OF_KIND.items())
)

APP_FIELDS = "app {.*} AS app, [(app)-[r]->(i) | [r.ord, type(r), i.key, i.display]] AS idents"

Q_APPLICATION = f"""
MATCH (app:Application {{application_id: $id}}) USING INDEX app:Application(application_id)
RETURN {APP_FIELDS}
"""

Q_APPLICANT_APPLICATIONS = f"""
MATCH (a:Applicant {{key: $key}})-[s:SUBMITTED]->(app:Application) USING INDEX a:Applicant(key)
WHERE $before IS NULL OR s.ts < $before
RETURN {APP_FIELDS}
ORDER BY app.ts, app.application_id
"""

Q_APPLICANTS_BELOW = """
MATCH (a:Applicant) USING INDEX a:Applicant(key) WHERE a.key < $bound
RETURN a.key AS key ORDER BY key
"""

Q_APPLICATIONS_OF = f"""
UNWIND $keys AS key
MATCH (a:Applicant {{key: key}})-[:SUBMITTED]->(app:Application) USING INDEX a:Applicant(key)
RETURN key, {APP_FIELDS}
ORDER BY key, app.ts, app.application_id
"""

Q_APPLICANT_IDENTIFIERS = """
UNWIND $keys AS key
MATCH (a:Applicant {key: key})-[s:SUBMITTED]->(:Application)-[r]->(i)
USING INDEX a:Applicant(key)
WHERE s.ts < $as_of
RETURN key, collect(DISTINCT [type(r), i.key]) AS used
"""

Q_USAGE = f"""
CALL () {{
{identifier_lookup("ids")}
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
USAGE_ROW = "[labels({n})[0], {n}.key, {n}.display, applications, first_ts, last_ts, {count}, {members}, recent]"
Q_SNAPSHOT = f"""
CALL () {{
  CALL () {{
{identifier_lookup("own")}
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
  RETURN collect({
    USAGE_ROW.format(n="i", count="size(people)", members="CASE WHEN size(people) <= $limit THEN people ELSE [] END")
}) AS usage
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
  RETURN collect({USAGE_ROW.format(n="j", count="size(people)", members="people")}) AS far
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

Q_APPLICANTS_EXIST = "UNWIND $keys AS k MATCH (a:Applicant {key: k}) USING INDEX a:Applicant(key) RETURN a.key AS key"

Q_DISPLAY = f"""
CALL () {{
  UNWIND $applicants AS k MATCH (a:Applicant {{key: k}}) USING INDEX a:Applicant(key)
  RETURN 'applicant:' + k AS id, a.display AS display
  UNION ALL
  UNWIND $applications AS k MATCH (app:Application {{application_id: k}})
  USING INDEX app:Application(application_id)
  RETURN 'application:' + k AS id, k AS display
  UNION ALL
  CALL () {{
{identifier_lookup("ids")}
  }}
  RETURN kind + ':' + i.key AS id, i.display AS display
}}
RETURN id, display
"""

Q_START = f"""
CALL () {{
  UNWIND $applicants AS k MATCH (a:Applicant {{key: k}}) USING INDEX a:Applicant(key)
  RETURN 'applicant:' + k AS id
  UNION ALL
  CALL () {{
{identifier_lookup("ids")}
  }}
  RETURN kind + ':' + i.key AS id
}}
RETURN id
"""

Q_APPLICATION_APPLICANT = """
MATCH (a:Applicant)-[:SUBMITTED]->(app:Application {application_id: $id})
USING INDEX app:Application(application_id)
RETURN a.key AS key
"""

Q_EXPAND_APPLICANTS = """
UNWIND $keys AS key
MATCH (a:Applicant {key: key})-[:SUBMITTED]->(:Application)-[r]->(i)
USING INDEX a:Applicant(key)
RETURN key, type(r) AS rel, i.key AS ident, min(r.ts) AS first_ts
"""

Q_EXPAND_IDENTIFIERS = f"""
CALL () {{
{identifier_lookup("ids")}
}}
CALL (i) {{
  MATCH (i)<-[r]-()
  WITH r.applicant AS who, min(r.ts) AS first_ts
  RETURN collect([who, first_ts]) AS users
}}
RETURN kind, i.key AS key, size(users) AS applicants,
       CASE WHEN size(users) <= $hub_limit OR kind + ':' + i.key IN $open THEN users ELSE [] END AS users
"""

Q_NODE_PROPS = f"""
CALL () {{
  UNWIND $applicants AS k MATCH (a:Applicant {{key: k}}) USING INDEX a:Applicant(key)
  RETURN 'applicant:' + k AS id, a.display AS display, COUNT {{ (a)-[:SUBMITTED]->() }} AS n
  UNION ALL
  CALL () {{
{identifier_lookup("ids")}
  }}
  CALL (i) {{ MATCH (i)<-[r]-() RETURN count(DISTINCT r.applicant) AS n }}
  RETURN kind + ':' + i.key AS id, i.display AS display, n
}}
OPTIONAL MATCH (l:Label {{node_id: id}}) USING INDEX l:Label(node_id)
RETURN id, display, n, l.status AS status
"""

Q_LINKS = f"""
CALL () {{
{each_kind("MATCH (i:{label}) RETURN i, '{kind}' AS kind")}
}}
CALL (i) {{
  MATCH (i)<-[r]-()
  RETURN r.applicant AS who, min(r.ts) AS first_ts, max(r.ts) AS last_ts
}}
RETURN who, kind + ':' + i.key AS id, first_ts, last_ts
"""

Q_STATS = (
    "CALL () { MATCH (n:Application) RETURN count(n) AS applications } "
    "CALL () { MATCH (n:Applicant) RETURN count(n) AS applicants } "
    + " ".join(f"CALL () {{ MATCH (n:{label}) RETURN count(n) AS {kind} }}" for kind, label in LABEL_OF_KIND.items())
    + " CALL () { MATCH (n:Label) RETURN count(n) AS labels } "
    "CALL () { MATCH (r:Ring {active: true}) RETURN count(r) AS rings } "
    "RETURN applications, applicants, " + ", ".join(IDENTIFIER_KINDS) + ", labels, rings"
)

Q_SET_LABEL = """
MERGE (l:Label {node_id: $node_id})
SET l.status = $status, l.by = $by, l.at = $at, l.reason = $reason
"""

Q_REMOVE_LABEL = "MATCH (l:Label {node_id: $node_id}) USING INDEX l:Label(node_id) DELETE l"

Q_LABELS = """
UNWIND $ids AS id MATCH (l:Label {node_id: id}) USING INDEX l:Label(node_id)
RETURN l.node_id AS node_id, l.status AS status, l.by AS by, l.at AS at, l.reason AS reason
"""

Q_ALL_LABELS = """
MATCH (l:Label)
RETURN l.node_id AS node_id, l.status AS status, l.by AS by, l.at AS at, l.reason AS reason
"""

Q_RETIRE_RINGS = "MATCH (old:Ring {active: true}) SET old.active = false"

Q_WRITE_RINGS = """
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

RING_FIELDS = (
    "r.ring_id AS ring_id, r.run_id AS run_id, r.members AS members, r.score AS score, "
    "r.features AS features, r.identifiers AS identifiers, r.lineage AS lineage"
)

Q_RINGS = f"MATCH (r:Ring {{active: true}}) RETURN {RING_FIELDS} ORDER BY r.ring_id"

Q_RING_OF = f"""
MATCH (a:Applicant {{key: $key}})-[:MEMBER_OF]->(r:Ring {{active: true}}) USING INDEX a:Applicant(key)
RETURN {RING_FIELDS} ORDER BY r.ring_id LIMIT 1
"""

Q_RECORD_DECISION = """
CREATE (:Decision {seq: $seq, application_id: $application_id, at: $at, score: $score, band: $band,
                   action: $action, reasons: $reasons, model_version: $model_version, trigger: $trigger})
"""

Q_DECISIONS = """
MATCH (d:Decision {application_id: $application_id}) USING INDEX d:Decision(application_id)
RETURN d.application_id AS application_id, d.at AS at, d.score AS score, d.band AS band, d.action AS action,
       d.reasons AS reasons, d.model_version AS model_version, d.trigger AS trigger
ORDER BY d.seq
"""

# An unresolved alert holds ``open_key`` (applicant|tier), which is unique: MERGE on it takes
# the constraint's lock, so of any number of writers raising the same alert one creates it
# and the others find it (``created`` tells which). Resolving removes the key.
Q_ADD_ALERT = """
OPTIONAL MATCH (known:Alert {alert_id: $alert_id})
WITH known WHERE known IS NULL
MERGE (a:Alert {open_key: $open_key})
ON CREATE SET a.alert_id = $alert_id, a.applicant_key = $applicant_key, a.tier = $tier, a.at = $at,
              a.trigger = $trigger, a.score = $score, a.previous_score = $previous_score,
              a.status = $status, a.detail = $detail, a.updated_at = null, a.updated_by = '', a.note = ''
RETURN a.alert_id = $alert_id AS created
"""

ALERT_FIELDS = (
    "a.alert_id AS alert_id, a.applicant_key AS applicant_key, a.tier AS tier, a.at AS at, "
    "a.trigger AS trigger, a.score AS score, a.previous_score AS previous_score, "
    "a.status AS status, a.detail AS detail, a.updated_at AS updated_at, "
    "coalesce(a.updated_by, '') AS updated_by, coalesce(a.note, '') AS note, a.case_id AS case_id"
)

Q_ALERT = f"MATCH (a:Alert {{alert_id: $alert_id}}) RETURN {ALERT_FIELDS}"

Q_ALERTS = f"""
MATCH (a:Alert) WHERE a.at IS NOT NULL
  AND ($status IS NULL OR a.status = $status) AND ($applicant_key IS NULL OR a.applicant_key = $applicant_key)
RETURN {ALERT_FIELDS} ORDER BY a.at DESC, a.alert_id LIMIT $limit
"""

Q_SET_ALERT_STATUS = f"""
MATCH (a:Alert {{alert_id: $alert_id}}) USING INDEX a:Alert(alert_id)
SET a.status = $status, a.updated_at = $at, a.updated_by = $by, a.note = $note,
    a.case_id = coalesce($case_id, a.case_id)
FOREACH (_ IN CASE WHEN $status = 'resolved' THEN [1] ELSE [] END | REMOVE a.open_key)
RETURN {ALERT_FIELDS}
"""

Q_RESOLVE_ALERTS = f"""
MATCH (a:Alert) WHERE a.trigger IN $triggers AND a.status <> 'resolved'
SET a.status = 'resolved', a.updated_at = $at, a.updated_by = $by, a.note = $note
REMOVE a.open_key
RETURN {ALERT_FIELDS} ORDER BY a.at DESC, a.alert_id
"""

# -- cases: one (:Case) with its state, (:CaseStep) nodes linked to it, append-only ---------------
Q_OPEN_CASE = """
CREATE (c:Case {case_id: $case.case_id, subject: $case.subject, source: $case.source,
                opened_at: $case.opened_at, opened_by: $case.opened_by, reason: $case.reason,
                evidence: $case.evidence, status: $case.status, layer: $case.layer, owner: $case.owner,
                outcome: $case.outcome, updated_at: $case.updated_at, version: $case.version,
                alert_id: $case.alert_id})
WITH c
UNWIND $steps AS s
CREATE (c)-[:HAS_STEP]->(:CaseStep {step_id: c.case_id + '#' + toString(s.seq), case_id: c.case_id,
                                    seq: s.seq, at: s.at, actor: s.actor, action: s.action, outcome: s.outcome,
                                    reason: s.reason, status: s.status, layer: s.layer, detail: s.detail})
"""

# The step's id (case#seq) is unique: of two writers stepping from the same version, the
# second is refused by the constraint even if both read the old version.
Q_CASE_STEP = """
MATCH (c:Case {case_id: $case.case_id}) WHERE c.version = $case.version - 1
SET c.status = $case.status, c.layer = $case.layer, c.owner = $case.owner, c.outcome = $case.outcome,
    c.updated_at = $case.updated_at, c.version = $case.version
CREATE (c)-[:HAS_STEP]->(:CaseStep {step_id: c.case_id + '#' + toString($step.seq), case_id: c.case_id,
                                    seq: $step.seq, at: $step.at, actor: $step.actor, action: $step.action,
                                    outcome: $step.outcome, reason: $step.reason, status: $step.status,
                                    layer: $step.layer, detail: $step.detail})
RETURN count(c) AS n
"""

CASE_FIELDS = (
    "c.case_id AS case_id, c.subject AS subject, c.source AS source, c.opened_at AS opened_at, "
    "c.opened_by AS opened_by, c.reason AS reason, c.evidence AS evidence, c.status AS status, "
    "c.layer AS layer, c.owner AS owner, c.outcome AS outcome, c.updated_at AS updated_at, "
    "c.version AS version, c.alert_id AS alert_id"
)

Q_CASE = f"""
MATCH (c:Case {{case_id: $case_id}})
OPTIONAL MATCH (c)-[:HAS_STEP]->(s:CaseStep)
WITH c, s ORDER BY s.seq
RETURN {CASE_FIELDS}, [x IN collect(s) | x {{.seq, .at, .actor, .action, .outcome, .reason, .status, .layer,
                                             .detail}}] AS steps
"""

Q_CASES = f"""
MATCH (c:Case)
WHERE ($status IS NULL OR c.status = $status) AND ($layer IS NULL OR c.layer = $layer)
  AND ($subject IS NULL OR c.subject = $subject)
  AND ($owner IS NULL OR ($owner = '' AND c.owner IS NULL) OR c.owner = $owner)
RETURN {CASE_FIELDS} ORDER BY c.updated_at DESC, c.case_id LIMIT $limit
"""

Q_APPEND_AUDIT = """
CREATE (:AuditEvent {seq: $seq, at: $at, actor: $actor, action: $action, subject: $subject, detail: $detail})
"""

AUDIT_FIELDS = (
    "e.seq AS seq, e.at AS at, e.actor AS actor, e.action AS action, e.subject AS subject, e.detail AS detail"
)

# The newest events first, read backwards along the seq index.
Q_AUDIT = f"MATCH (e:AuditEvent) WHERE e.seq > 0 RETURN {AUDIT_FIELDS} ORDER BY e.seq DESC LIMIT $limit"

Q_AUDIT_OF = f"""
MATCH (e:AuditEvent {{subject: $subject}}) USING INDEX e:AuditEvent(subject)
RETURN {AUDIT_FIELDS} ORDER BY e.seq DESC LIMIT $limit
"""


# -- investigator console reads ------------------------------------------------------------------
# Who used an identifier: its own uses only (the identifier found by its key's index), grouped by
# applicant; the latest ``$limit`` applicants are then looked up by key. One statement per kind
# (the label is spliced in from the fixed mapping).
Q_IDENTIFIER_APPLICANTS: dict[str, str] = {
    kind: f"""
MATCH (i:{label} {{key: $key}}) USING INDEX i:{label}(key)
MATCH (i)<-[r]-()
WITH r.applicant AS who, count(r) AS applications, min(r.ts) AS first_ts, max(r.ts) AS last_ts
ORDER BY last_ts DESC, who LIMIT $limit
MATCH (a:Applicant {{key: who}}) USING INDEX a:Applicant(key)
RETURN who, applications, first_ts, last_ts, a.display AS display
ORDER BY last_ts DESC, who
"""
    for kind, label in LABEL_OF_KIND.items()
}

# Decisions of a trigger since a time (a range seek on Decision.at), each joined to its
# application by id (the constraint's index), counted by UTC day number, band, action,
# channel and product in one aggregation.
Q_DECISION_SUMMARY = """
MATCH (d:Decision) WHERE d.at >= $since AND d.trigger = $trigger
OPTIONAL MATCH (app:Application {application_id: d.application_id})
RETURN toInteger(d.at / 86400.0) AS day, d.band AS band, d.action AS action,
       app.channel AS channel, app.product AS product, count(*) AS n
"""

Q_ALERT_SUMMARY = """
MATCH (a:Alert) WHERE a.at IS NOT NULL
RETURN a.tier AS grp, a.status AS status, size([c IN $cutoffs WHERE a.at <= c]) AS age,
       a.at >= $since AS recent, count(*) AS n
"""

Q_CASE_SUMMARY = """
MATCH (c:Case)
RETURN c.layer AS grp, c.status AS status, size([x IN $cutoffs WHERE c.opened_at <= x]) AS age,
       c.opened_at >= $since AS recent, count(*) AS n
"""

Q_AUDIT_BY_ACTION = f"""
MATCH (e:AuditEvent {{action: $action}}) USING INDEX e:AuditEvent(action)
RETURN {AUDIT_FIELDS} ORDER BY e.seq DESC LIMIT $limit
"""
