"""The Neo4j store: Neo4j 5 through the official driver, whole-graph work in GDS.

The graph (DESIGN §3)::

    (:Applicant {key, display})-[:SUBMITTED {ts}]->(:Application {application_id, ts,
        submitted_at, applicant_key, applicant_display, amount, product, ...})
    (:Application)-[:USED_DEVICE|GAVE_PHONE|... {ts, ord, applicant}]->(:Device|:Phone|... {key, display})
    (:Applicant)-[:MEMBER_OF {run_id}]->(:Ring {ring_id, run_id, active, ...})
    (:Label {node_id, status, by, at, reason})   one per labelled node, seen in the graph or not
    (:Decision {seq}) (:Alert {alert_id, open_key while unresolved}) (:AuditEvent {seq})
    (:Case {case_id, ...})-[:HAS_STEP]->(:CaseStep {step_id: case_id#seq, ...})
    seq: time-ordered ids, no shared counter
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
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import neo4j
from neo4j.exceptions import ClientError, ConstraintError
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from graph.errors import Conflict, InvalidInput, StoreUnavailable
from graph.normalise import Identifier, NormalisedApplication
from graph.store.contract import GraphStore
from graph.store.neo4j import deadline, schema
from graph.store.neo4j import queries as q
from graph.store.neo4j.audit_seals import AuditSealNodes
from graph.store.neo4j.cases import CaseNodes
from graph.store.neo4j.gds import GdsWork
from graph.store.neo4j.investigator_reads import InvestigatorNodes
from graph.store.neo4j.online_rings import OnlineRingNodes
from graph.store.neo4j.outage import Outage, refused_by_constraint
from graph.store.neo4j.outcomes import OutcomeNodes
from graph.store.neo4j.rows import (
    application_of,
    audit_params,
    create_row,
    decision_params,
    new_seq,
    read_decisions,
    ring_of_record,
    to_json,
    usage_rows,
)
from graph.store.neo4j.work_queue import WorkNodes, queue_in
from graph.store.records import (
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
)
from graph.store.work_queue import MONITOR, FollowUp
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

READY_SECONDS = 0.8
"""Readiness answers within this, whatever the server does."""
SCHEMA_CHECK_SECONDS = 10.0
"""How often readiness checks that the schema is still there."""
CONFLICT_CHECK_SECONDS = 60.0
"""How often a rule blocked by duplicates is tried again (finding them scans the label)."""


class Neo4jStore(OnlineRingNodes, CaseNodes, AuditSealNodes, WorkNodes, InvestigatorNodes, OutcomeNodes, GraphStore):
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
        self._pool_size = pool_size
        try:
            self._driver = self._new_driver()
        except (ValueError, neo4j.exceptions.ConfigurationError) as exc:
            raise InvalidInput("graph_url", f"cannot use {url!r} for Neo4j: {exc}") from exc
        self._schema_lock = threading.RLock()
        self._schema_ready = False
        self._schema_checked = 0.0
        self._schema_problem: str | None = None
        self._preparing: threading.Thread | None = None
        self._settings: dict[str, str] = {}
        self._conflicts: dict[str, str] = {}
        self._conflicts_checked = 0.0
        self._deadlines = deadline.Deadlines(pool_size)
        self._gds = GdsWork(self._driver, self._database, self.ping)
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
    def _new_driver(self) -> neo4j.Driver:
        return neo4j.GraphDatabase.driver(
            self.url,
            auth=self._auth,
            max_connection_pool_size=self._pool_size,
            connection_timeout=self._timeout,
            connection_acquisition_timeout=self._timeout,
            max_transaction_retry_time=self._timeout,
            liveness_check_timeout=30.0,
            notifications_min_severity="OFF",
            user_agent="ringsight",
        )

    def _renew_driver(self) -> None:
        """A fresh driver after the server stopped answering: the old pool's connections
        died with the server (or hang with it), and each would cost a request a failed
        try and the driver's back-off before the server that comes back is reached."""
        old, self._driver = self._driver, self._new_driver()
        self._gds.use_driver(self._driver)
        threading.Thread(target=old.close, name="neo4j-old-driver", daemon=True).start()

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            with Outage("creating the schema"), self._driver.session(database=self._database) as session:
                healed = schema.ensure(session, max(60.0, self._timeout))
                if healed.created:
                    log.info("created %d Neo4j constraints and indexes", healed.created)
                self._conflicts = {f"ringsight_{c.label.lower()}_{c.prop}": str(c) for c in healed.conflicts}
                for problem in self._conflicts.values():
                    log.error("%s", problem)
                try:
                    wait = int(self._timeout * 6) + 1
                    session.run("CALL db.awaitIndexes($seconds)", seconds=wait).consume()
                except ClientError as exc:
                    # Populating indexes over an existing large graph may take longer; the
                    # store works meanwhile (more slowly), so this is not a reason to refuse.
                    log.warning("Neo4j indexes are still populating: %s", exc)
                self._restore_settings(session)
                self._plan_scoring(session)
            self._schema_ready = True
            self._schema_checked = self._conflicts_checked = time.monotonic()

    def _restore_settings(self, session: neo4j.Session) -> None:
        """Write back the settings this process bound (the PII key's fingerprint) when the
        database lost them (restarted empty); a database holding other values keeps them."""
        for name, value in list(self._settings.items()):
            session.run(
                "MERGE (s:Setting {name: $name}) ON CREATE SET s.value = $value", name=name, value=value
            ).consume()

    def _check_schema(self, session: neo4j.Session) -> None:
        """Every ``SCHEMA_CHECK_SECONDS``: is the schema still there? A server restarted onto
        an empty or restored database lacks it; the next preparation recreates it. Rules the
        data blocks (duplicates) are tried again every ``CONFLICT_CHECK_SECONDS`` on a thread
        of their own, while the store keeps serving."""
        if not self._schema_ready or time.monotonic() - self._schema_checked < SCHEMA_CHECK_SECONDS:
            return
        lacking = schema.missing(session, READY_SECONDS) - set(self._conflicts)
        self._schema_checked = time.monotonic()
        if lacking:
            log.warning("Neo4j lacks %d ringsight constraints or indexes (restarted empty?); recreating", len(lacking))
            self._schema_ready = False
        elif self._conflicts and time.monotonic() - self._conflicts_checked > CONFLICT_CHECK_SECONDS:
            self._conflicts_checked = time.monotonic()
            threading.Thread(target=self._retry_conflicts, name="neo4j-schema-conflicts", daemon=True).start()

    def _retry_conflicts(self) -> None:
        """Try the rules the data blocked again (their duplicates may be resolved or, for
        identifiers and applicants, mergeable now); the store serves meanwhile."""
        try:
            with Outage("checking the schema"), self._driver.session(database=self._database) as session:
                healed = schema.ensure(session, max(60.0, self._timeout))
        except Exception as exc:  # the next round tries again
            log.warning("Neo4j schema re-check failed: %s", exc)
            return
        self._conflicts = {f"ringsight_{c.label.lower()}_{c.prop}": str(c) for c in healed.conflicts}

    def _prepare_in_background(self) -> None:
        """Create the schema and plan the scoring flow on a thread of its own (readiness
        answers at once meanwhile; requests wait for it only within their deadline)."""
        with self._schema_lock:
            if self._preparing is not None and self._preparing.is_alive():
                return

            def prepare() -> None:
                try:
                    self._ensure_schema()
                except Exception as exc:  # reported by readiness until it succeeds
                    self._schema_problem = str(exc)
                    log.warning("Neo4j schema preparation failed: %s", exc)
                else:
                    self._schema_problem = None

            self._preparing = threading.Thread(target=prepare, name="neo4j-schema", daemon=True)
            self._preparing.start()

    def _plan_scoring(self, session: neo4j.Session) -> None:
        """Have the server plan the scoring flow's statements now, before the first request
        depends on them: the snapshot query and the writes of a stored application each take
        up to a second to plan (several on a cold, busy server), which a score must not pay
        inside its deadline. The writes run on a made-up application in a transaction that
        is rolled back, so their plans are cached (per query text) and nothing is written."""
        probe = NormalisedApplication(
            "ringsight-plan-probe",
            0.0,
            "0" * 24,
            "",
            tuple(Identifier(kind, "0" * 24, "") for kind in IDENTIFIER_KINDS),
        )
        decision = Decision(probe.application_id, 0.0, 0.0, "low", "approve", [], "plan")
        audit = AuditEntry(0.0, "ringsight", "plan", probe.node_id, {})
        # A few rounds: the first plans, the next ones run the freshly compiled code while the
        # JVM warms it up. A failure leaves the schema "not ready", so readiness stays 503 and
        # the next ping tries again.
        for _ in range(3):
            session.run(
                neo4j.Query(q.Q_SNAPSHOT, timeout=max(60.0, self._timeout)),
                self._snapshot_params(probe, 0.0, HUB_LIMIT),
            ).consume()
            with session.begin_transaction(timeout=max(60.0, self._timeout)) as tx:
                batch = {probe.application_id: probe}
                self._create_applications(tx, batch, {probe.application_id: create_row(probe)})
                tx.run(q.Q_RECORD_DECISION, seq=0, **decision_params(decision)).consume()
                tx.run(q.Q_APPEND_AUDIT, seq=0, **audit_params(audit)).consume()
                read_decisions(tx, probe.application_id)
                tx.rollback()

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

    def _bounded(self, what: str, work: Callable[[], T], timeout: float | None = None) -> T:
        """``work()`` within its deadline: its timeout plus a margin (see :mod:`.deadline`)."""
        return self._deadlines.run(what, work, (timeout or self._timeout) + deadline.MARGIN)

    def _read(self, what: str, work: Callable[[neo4j.ManagedTransaction], T], timeout: float | None = None) -> T:
        def call() -> T:
            self._ensure_schema()
            with Outage(what), self._session(neo4j.READ_ACCESS) as session:
                return session.execute_read(neo4j.unit_of_work(timeout=timeout or self._timeout)(work))

        return self._bounded(what, call, timeout)

    def _write(self, what: str, work: Callable[[neo4j.ManagedTransaction], T], timeout: float | None = None) -> T:
        def call() -> T:
            self._ensure_schema()
            with Outage(what), self._session(neo4j.WRITE_ACCESS) as session:
                return session.execute_write(neo4j.unit_of_work(timeout=timeout or self._timeout)(work))

        return self._bounded(what, call, timeout)

    def _fetch(self, what: str, query: str, **params: Any) -> list[neo4j.Record]:
        """One read query in a managed (retried) transaction."""
        return self._read(what, lambda tx: list(tx.run(query, params)))

    def _fetch_once(self, what: str, query: str, **params: Any) -> list[neo4j.Record]:
        """One read query as an auto-commit transaction: a single round trip (a managed
        transaction adds BEGIN and COMMIT). Tried a second time when the first attempt met
        a connection that died with a restarted server or a transient error."""

        def call() -> list[neo4j.Record]:
            self._ensure_schema()
            for attempt in (1, 2):
                try:
                    with Outage(what), self._session(neo4j.READ_ACCESS) as session:
                        return list(session.run(neo4j.Query(query, timeout=self._timeout), params))
                except StoreUnavailable:
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

        return self._bounded(what, call)

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
        rows = {app_id: create_row(app) for app_id, app in batch.items()}

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
        for attempt in range(q.UPSERT_ATTEMPTS):
            try:
                return self._write(what, work, timeout)
            except (ConstraintError, StoreUnavailable) as exc:
                if not refused_by_constraint(exc):
                    raise
                if attempt == q.UPSERT_ATTEMPTS - 1:
                    raise StoreUnavailable(f"neo4j: {what} kept colliding with concurrent writers: {exc}") from exc
                time.sleep(random.uniform(0.0, 0.02 * 2**attempt))
        raise AssertionError("unreachable")

    @staticmethod
    def _create_applications(
        tx: neo4j.ManagedTransaction | neo4j.Transaction,
        batch: dict[str, NormalisedApplication],
        rows: dict[str, list[Any]],
    ) -> list[str]:
        """Create the applications of ``batch`` not stored yet (inside the caller's
        transaction); return their ids. Conflict when an id is stored for another applicant."""
        ids = list(batch)
        stored: dict[str, str] = {}
        for start in range(0, len(ids), q.STATEMENT_ROWS):
            for rec in tx.run(q.Q_EXISTING, ids=ids[start : start + q.STATEMENT_ROWS]):
                stored[rec["id"]] = rec["applicant"]
        for app_id, applicant in stored.items():
            if batch[app_id].applicant_key != applicant:
                raise Conflict(f"application {app_id!r} is already stored for another applicant")
        fresh = [a for a in ids if a not in stored]
        for start in range(0, len(fresh), q.STATEMENT_ROWS):
            chunk = [batch[a] for a in fresh[start : start + q.STATEMENT_ROWS]]
            # Sorted keys: concurrent writers lock shared nodes in the same order.
            for kind, query in q.Q_MERGE_IDENTIFIERS.items():
                nodes = {i.key: i.display for a in chunk for i in a.identifiers if i.kind == kind}
                if nodes:
                    tx.run(query, nodes=sorted(nodes.items())).consume()
            people = {a.applicant_key: a.applicant_display for a in chunk}
            tx.run(q.Q_MERGE_APPLICANTS, nodes=sorted(people.items())).consume()
            tx.run(q.Q_CREATE, rows=[rows[a.application_id] for a in chunk]).consume()
        return fresh

    def record_assessment(
        self, app: NormalisedApplication, decision: Decision, audit: AuditEntry, monitor: bool = False
    ) -> Recorded:
        batch = {app.application_id: app}
        rows = {app.application_id: create_row(app)}

        def work(tx: neo4j.ManagedTransaction) -> Recorded:
            if not self._create_applications(tx, batch, rows):
                first = [d for d in read_decisions(tx, app.application_id) if d.trigger == decision.trigger]
                return Recorded(False, first[0] if first else None)
            tx.run(q.Q_RECORD_DECISION, seq=new_seq(), **decision_params(decision)).consume()
            tx.run(q.Q_APPEND_AUDIT, seq=new_seq(), **audit_params(audit)).consume()
            if monitor:
                queue_in(tx, FollowUp(MONITOR, app.application_id, decision.at))
            return Recorded(True)

        return self._write_settled("record_assessment", work, self._timeout)

    # -- point reads ------------------------------------------------------------------------------
    def application(self, application_id: str) -> NormalisedApplication | None:
        records = self._fetch("application", q.Q_APPLICATION, id=application_id)
        return application_of(records[0]["app"], records[0]["idents"]) if records else None

    def applicant_applications(self, applicant_key: str, before: float | None = None) -> list[NormalisedApplication]:
        records = self._fetch("applicant_applications", q.Q_APPLICANT_APPLICATIONS, key=applicant_key, before=before)
        return [application_of(r["app"], r["idents"]) for r in records]

    def applicants_below(self, bound: str) -> list[str]:
        records = self._fetch("applicants_below", q.Q_APPLICANTS_BELOW, bound=bound)
        return [r["key"] for r in records]

    def applications_of(self, applicant_keys: Sequence[str]) -> dict[str, list[NormalisedApplication]]:
        out: dict[str, list[NormalisedApplication]] = {}
        keys = sorted(set(applicant_keys))
        for start in range(0, len(keys), q.STATEMENT_ROWS):
            chunk = keys[start : start + q.STATEMENT_ROWS]
            for r in self._fetch("applications_of", q.Q_APPLICATIONS_OF, keys=chunk):
                out.setdefault(r["key"], []).append(application_of(r["app"], r["idents"]))
        return out

    def applicant_identifiers(self, applicant_keys: Sequence[str], as_of: float) -> dict[str, tuple[str, ...]]:
        if not applicant_keys:
            return {}
        records = self._fetch(
            "applicant_identifiers",
            q.Q_APPLICANT_IDENTIFIERS,
            keys=list(dict.fromkeys(applicant_keys)),
            as_of=as_of,
        )
        found = {
            r["key"]: tuple(sorted({f"{KIND_OF_RELATIONSHIP[rel]}:{key}" for rel, key in r["used"]})) for r in records
        }
        return {k: found[k] for k in applicant_keys if found.get(k)}

    def identifier_usage(
        self, node_ids: Sequence[str], as_of: float, window: float, expand_limit: int
    ) -> dict[str, IdentifierUsage]:
        ids = q.by_kind(node_ids)
        if not ids:
            return {}
        records = self._fetch(
            "identifier_usage",
            q.Q_USAGE,
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
        """One query (``q.Q_SNAPSHOT``); the same answer as :func:`graph.store.snapshot.assemble`."""
        own = sorted({i.node_id for i in app.identifiers})
        record = self._fetch_once("snapshot", q.Q_SNAPSHOT, **self._snapshot_params(app, as_of, hub_limit))[0]
        identifiers = tuple(sorted(set(own).union(f"{KIND_OF_LABEL[lab]}:{key}" for lab, key in record["hop1"])))
        usage = usage_rows(record["usage"])
        neighbours = {
            who: tuple(sorted(f"{KIND_OF_LABEL[lab]}:{key}" for lab, key in used)) for who, used in record["neighbours"]
        }
        labels = {r[0]: Label(*r) for r in record["labels"]}
        return ScoringSnapshot(
            applicant_key=app.applicant_key,
            as_of=as_of,
            identifiers=identifiers,
            usage={n: usage[n] for n in identifiers if n in usage},
            neighbours=dict(sorted(neighbours.items())),
            far_usage=dict(sorted(usage_rows(record["far"]).items())),
            labels=dict(sorted(labels.items())),
            history=tuple(application_of(a, idents) for a, idents in record["history"]),
        )

    @staticmethod
    def _snapshot_params(app: NormalisedApplication, as_of: float, hub_limit: int) -> dict[str, Any]:
        own = sorted({i.node_id for i in app.identifiers})
        return {
            "key": app.applicant_key,
            "own": q.by_kind(own),
            "own_ids": own,
            "as_of": as_of,
            "since": as_of - USAGE_WINDOW,
            "limit": hub_limit,
            "over": hub_limit + 1,
            "application_id": app.application_id,
            "kinds": KIND_OF_LABEL,
        }

    def applicants_exist(self, applicant_keys: Sequence[str]) -> set[str]:
        if not applicant_keys:
            return set()
        records = self._fetch("applicants_exist", q.Q_APPLICANTS_EXIST, keys=list(set(applicant_keys)))
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
        return {"applicants": applicants, "applications": applications, "ids": q.by_kind(node_ids)}

    def node_display(self, node_ids: Sequence[str]) -> dict[str, str]:
        if not node_ids:
            return {}
        records = self._fetch("node_display", q.Q_DISPLAY, **self._node_params(list(dict.fromkeys(node_ids))))
        found = {r["id"]: r["display"] for r in records}
        return {nid: found[nid] for nid in node_ids if nid in found}

    def neighbourhood(self, node_id: str, depth: int, limit: int) -> Subgraph:
        """Breadth-first over applicant-identifier links, one query per level plus one for the
        nodes: the same walk as the embedded store (hubs past the start are not expanded)."""
        kind, _, key = node_id.partition(":")
        start: list[str] = []
        if kind == "application":
            found = self._fetch("neighbourhood", q.Q_APPLICATION_APPLICANT, id=key)
            start = [applicant_node(found[0]["key"])] if found else []
        elif kind == "applicant" or kind in LABEL_OF_KIND:
            start = [r["id"] for r in self._fetch("neighbourhood", q.Q_START, **self._node_params([node_id]))]
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
                for r in tx.run(q.Q_EXPAND_APPLICANTS, keys=applicants):
                    spans[applicant_node(r["key"])][f"{KIND_OF_RELATIONSHIP[r['rel']]}:{r['ident']}"] = r["first_ts"]
                for nid, used in spans.items():
                    adjacency[nid] = sorted(used.items())
            if identifiers:
                for r in tx.run(
                    q.Q_EXPAND_IDENTIFIERS,
                    ids=q.by_kind(identifiers),
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
        records = self._fetch("neighbourhood", q.Q_NODE_PROPS, **self._node_params(node_ids))
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
    def set_label(self, label: Label, audit: AuditEntry | None = None, follow_up: FollowUp | None = None) -> None:
        def work(tx: neo4j.ManagedTransaction) -> None:
            tx.run(
                q.Q_SET_LABEL,
                node_id=label.node_id,
                status=label.status,
                by=label.by,
                at=label.at,
                reason=label.reason,
            ).consume()
            _consequences(tx, audit, follow_up)

        self._write_settled("set_label", work, self._timeout)

    def remove_label(self, node_id: str, audit: AuditEntry | None = None, follow_up: FollowUp | None = None) -> None:
        def work(tx: neo4j.ManagedTransaction) -> None:
            tx.run(q.Q_REMOVE_LABEL, node_id=node_id).consume()
            _consequences(tx, audit, follow_up)

        self._write_settled("remove_label", work, self._timeout)

    def labels(self, node_ids: Sequence[str] | None = None) -> dict[str, Label]:
        if node_ids is None:
            records = self._fetch("labels", q.Q_ALL_LABELS)
        elif not node_ids:
            return {}
        else:
            records = self._fetch("labels", q.Q_LABELS, ids=list(dict.fromkeys(node_ids)))
        found = {r["node_id"]: Label(r["node_id"], r["status"], r["by"], r["at"], r["reason"]) for r in records}
        if node_ids is None:
            return found
        return {n: found[n] for n in node_ids if n in found}

    # -- whole graph ------------------------------------------------------------------------------
    def links(self) -> Iterator[tuple[str, str, float, float]]:
        def work(tx: neo4j.ManagedTransaction) -> list[tuple[str, str, float, float]]:
            return [(r[0], r[1], r[2], r[3]) for r in tx.run(q.Q_LINKS)]

        # A whole-graph read for batch work: bounded by the batch timeout, not the online one.
        every = self._read("links", work, max(self._timeout, q.BATCH_TIMEOUT))
        yield from every

    def stats(self) -> dict[str, int]:
        record = self._fetch("stats", q.Q_STATS)[0]
        counts = {"applications": record["applications"], "applicants": record["applicants"]}
        counts.update((kind, record[kind]) for kind in IDENTIFIER_KINDS if record[kind])
        counts["labels"] = record["labels"]
        counts["rings"] = record["rings"]
        return counts

    def linked_components(
        self, kinds: Sequence[str], max_identifier_applicants: int, min_size: int, exclude: Sequence[str] = ()
    ) -> list[LinkedComponent]:
        """GDS WCC (see :meth:`graph.store.neo4j.gds.GdsWork.linked_components`)."""
        self._ensure_schema()
        return self._gds.linked_components(kinds, max_identifier_applicants, min_size, exclude)

    def look_alikes(
        self,
        kinds: Sequence[str],
        max_identifier_applicants: int,
        min_similarity: float,
        min_shared: int = 2,
        exclude: Sequence[str] = (),
    ) -> list[LookAlike]:
        """GDS node similarity and degree (see :meth:`graph.store.neo4j.gds.GdsWork.look_alikes`)."""
        self._ensure_schema()
        return self._gds.look_alikes(kinds, max_identifier_applicants, min_similarity, min_shared, exclude)

    def split_communities(
        self, component: LinkedComponent, max_identifier_applicants: int, seed: int = 42
    ) -> list[LinkedComponent]:
        """GDS Louvain (see :meth:`graph.store.neo4j.gds.GdsWork.split_communities`)."""
        self._ensure_schema()
        return self._gds.split_communities(component, max_identifier_applicants, seed)

    # -- rings, decisions, alerts, audit ----------------------------------------------------------
    def write_rings(self, run_id: str, at: float, rings: Sequence[RingRecord]) -> None:
        payload = [
            {
                "ring_id": r.ring_id,
                "run_id": r.run_id,
                "score": r.score,
                "features": to_json(r.features),
                "identifiers": list(r.identifiers),
                "lineage": to_json(r.lineage),
                "members": list(r.members),
            }
            for r in rings
        ]

        def work(tx: neo4j.ManagedTransaction) -> None:
            tx.run(q.Q_RETIRE_RINGS).consume()
            for start in range(0, len(payload), 500):
                tx.run(q.Q_WRITE_RINGS, rings=payload[start : start + 500], at=at).consume()

        self._write("write_rings", work, self._timeout + 0.01 * sum(len(r.members) for r in rings))

    def rings(self) -> list[RingRecord]:
        return [ring_of_record(r) for r in self._fetch("rings", q.Q_RINGS)]

    def ring_of(self, applicant_key: str) -> RingRecord | None:
        records = self._fetch("ring_of", q.Q_RING_OF, key=applicant_key)
        return ring_of_record(records[0]) if records else None

    def record_decision(self, decision: Decision) -> None:
        params = decision_params(decision)
        self._write_settled(
            "record_decision",
            lambda tx: tx.run(q.Q_RECORD_DECISION, seq=new_seq(), **params).consume(),
            self._timeout,
        )

    def decisions(self, application_id: str) -> list[Decision]:
        return self._read("decisions", lambda tx: read_decisions(tx, application_id))

    def append_audit(self, at: float, actor: str, action: str, subject: str, detail: dict[str, Any]) -> int:
        params = audit_params(AuditEntry(at, actor, action, subject, detail))

        def work(tx: neo4j.ManagedTransaction) -> int:
            seq = new_seq()
            tx.run(q.Q_APPEND_AUDIT, seq=seq, **params).consume()
            return seq

        return self._write_settled("append_audit", work, self._timeout)

    def audit(self, subject: str | None = None, limit: int = 100) -> list[AuditEvent]:
        return [
            AuditEvent(r["seq"], r["at"], r["actor"], r["action"], r["subject"], json.loads(r["detail"]))
            for r in (
                self._fetch("audit", q.Q_AUDIT, limit=max(0, limit))
                if subject is None
                else self._fetch("audit", q.Q_AUDIT_OF, subject=subject, limit=max(0, limit))
            )
        ]

    # -- lifecycle --------------------------------------------------------------------------------
    def setting(self, name: str) -> str | None:
        records = self._fetch("setting", "MATCH (s:Setting {name: $name}) RETURN s.value AS value", name=name)
        value = None if not records else str(records[0]["value"])
        if value is not None:
            self._settings[name] = value
        return value

    def put_setting(self, name: str, value: str) -> None:
        self._change("put_setting", "MERGE (s:Setting {name: $name}) SET s.value = $value", name=name, value=value)
        self._settings[name] = value

    def ping(self) -> None:
        """Readiness: answers within ``READY_SECONDS`` whatever the server does. Ready means
        the server answers and the schema and scoring plans are in place; when they are
        not (first start, or a server restarted empty), they are prepared on a thread of
        their own and readiness says so meanwhile."""
        self._deadlines.run("ping", self._ping_server, READY_SECONDS)
        if not self._schema_ready:
            self._prepare_in_background()
            problem = self._schema_problem
            raise StoreUnavailable(
                f"neo4j: {problem}" if problem else "neo4j: preparing the schema and the scoring plans"
            )

    def problems(self) -> list[str]:
        """Uniqueness rules the data blocks, with the duplicates named (the store serves)."""
        return list(self._conflicts.values())

    def _ping_server(self) -> None:
        # Auto-commit and no retries; a second try covers a pooled connection that died
        # with a restarted server.
        for attempt in (1, 2):
            try:
                with Outage("ping"), self._driver.session(database=self._database) as session:
                    session.run(neo4j.Query("RETURN 1", timeout=READY_SECONDS)).consume()
                    self._check_schema(session)
                return
            except StoreUnavailable:
                if attempt == 2:
                    # The server may come back empty or freshly started: check the schema and
                    # plan the scoring query again before the next request depends on them.
                    self._schema_ready = False
                    self._renew_driver()
                    raise

    def close(self) -> None:
        self._gds.close()
        self._driver.close()
        self._deadlines.close()


def _consequences(tx: neo4j.ManagedTransaction, audit: AuditEntry | None, follow_up: FollowUp | None) -> None:
    """A label's audit event and follow-up work, inside its transaction."""
    if audit is not None:
        tx.run(q.Q_APPEND_AUDIT, seq=new_seq(), **audit_params(audit)).consume()
    if follow_up is not None:
        queue_in(tx, follow_up)
