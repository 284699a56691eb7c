"""The embedded store: SQLite on disk for durability, an in-memory index for speed.

Every acknowledged write is committed to SQLite (WAL journal) before the
index changes, so a killed process loses nothing it acknowledged; the index
is rebuilt from SQLite on start. Reads never touch SQLite: they are served
from the index, which is what keeps online scoring in the sub-millisecond
range on a million applications.

One process owns a database file at a time (the service, or a ``ringsight``
command); concurrent threads inside that process are serialised by a lock.

>>> from graph.store.embedded.store import EmbeddedStore
>>> store = EmbeddedStore("memory://")
>>> store.stats()["applications"]
0
"""

from __future__ import annotations

import json
import sqlite3
import threading
from bisect import bisect_left
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.errors import Conflict, InvalidInput, StoreUnavailable
from graph.memory import collector_paused
from graph.normalise import SCALAR_PROPS, Identifier, NormalisedApplication, application_props
from graph.store import in_process, snapshot
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
)
from graph.vocabulary import HUB_LIMIT, RELATIONSHIP_OF_KIND, applicant_node, node_kind

_COLUMNS = ", ".join(("application_id", "applicant_key", "applicant_display", "ts", "identifiers", *SCALAR_PROPS))
_MARKS = ", ".join("?" * (5 + len(SCALAR_PROPS)))
_ITEM, _FIELD = "\x1e", "\x1f"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS applications (
    application_id TEXT PRIMARY KEY,
    applicant_key TEXT NOT NULL,
    applicant_display TEXT NOT NULL,
    ts REAL NOT NULL,
    identifiers TEXT NOT NULL,
    account_created_ts REAL, amount REAL, income REAL, product TEXT, channel TEXT, device_os TEXT,
    lat REAL, lon REAL, form_fill_seconds REAL, field_edits INTEGER, paste_events INTEGER,
    session_seconds REAL
);
CREATE TABLE IF NOT EXISTS labels (
    node_id TEXT PRIMARY KEY, status TEXT NOT NULL, by TEXT NOT NULL,
    at REAL NOT NULL, reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rings (
    ring_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, at REAL NOT NULL, active INTEGER NOT NULL,
    score REAL NOT NULL, features TEXT NOT NULL, identifiers TEXT NOT NULL,
    lineage TEXT NOT NULL, members TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, application_id TEXT NOT NULL, at REAL NOT NULL,
    score REAL NOT NULL, band TEXT NOT NULL, action TEXT NOT NULL, reasons TEXT NOT NULL,
    model_version TEXT NOT NULL, trigger TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_by_application ON decisions(application_id);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY, applicant_key TEXT NOT NULL, tier TEXT NOT NULL, at REAL NOT NULL,
    trigger TEXT NOT NULL, score REAL NOT NULL, previous_score REAL, status TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_subject ON audit(subject);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


@dataclass(slots=True)
class _IdentifierIndex:
    """Usage of one identifier: application times (sorted) with their applicants,
    and per applicant the first and last time of use."""

    display: str
    times: list[float] = field(default_factory=list)
    who: list[str] = field(default_factory=list)
    applicants: dict[str, list[float]] = field(default_factory=dict)
    dirty: bool = False

    def add(self, ts: float, applicant: str) -> None:
        if self.times and (ts < self.times[-1] or (ts == self.times[-1] and applicant < self.who[-1])):
            self.dirty = True
        self.times.append(ts)
        self.who.append(applicant)
        span = self.applicants.get(applicant)
        if span is None:
            self.applicants[applicant] = [ts, ts]
        else:
            span[0] = min(span[0], ts)
            span[1] = max(span[1], ts)

    def settle(self) -> None:
        if self.dirty:
            order = sorted(range(len(self.times)), key=lambda i: (self.times[i], self.who[i]))
            self.times = [self.times[i] for i in order]
            self.who = [self.who[i] for i in order]
            self.dirty = False


def _path_of(url: str) -> str:
    if url.startswith("memory://"):
        return ":memory:"
    if not url.startswith("sqlite:///"):
        raise InvalidInput("graph_url", "embedded store URLs are sqlite:///path or memory://")
    path = url[len("sqlite:///") :]
    if not path:
        raise InvalidInput("graph_url", "sqlite:/// needs a file path")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return path


class EmbeddedStore(GraphStore):
    """SQLite-backed store with an in-memory graph index. See the module docstring."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(_path_of(url), check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open {url}: {exc}") from exc
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._apps: dict[str, NormalisedApplication] = {}
        self._by_applicant: dict[str, list[str]] = {}
        self._applicant_display: dict[str, str] = {}
        self._ident: dict[str, _IdentifierIndex] = {}
        self._applicant_idents: dict[str, dict[str, list[float]]] = {}
        self._labels: dict[str, Label] = {}
        self._idents: dict[str, Identifier] = {}
        self._rebuild()

    # -- index ------------------------------------------------------------------------
    def _rebuild(self) -> None:
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM applications ORDER BY ts, application_id")
        # Millions of small objects and no garbage: the collector would rescan them all
        # over and over (a 1M-application restart is ~3x faster without it). The index
        # lives as long as the process: frozen, it stays out of every later collection.
        with collector_paused(freeze=True):
            for row in rows:
                self._index(self._from_row(row))
            self._settle()
        for node_id, status, by, at, reason in self._db.execute("SELECT * FROM labels"):
            self._labels[node_id] = Label(node_id, status, by, at, reason)

    def _identifier(self, kind: str, key: str, display: str) -> Identifier:
        # One shared object per identifier: a kiosk used by 500 applications is held once.
        known = self._idents.get(key)
        if known is None:
            known = self._idents[key] = Identifier(kind, key, display)
        return known

    def _from_row(self, row: tuple[Any, ...]) -> NormalisedApplication:
        app_id, key, display, ts, packed = row[:5]
        idents = tuple(self._identifier(*item.split(_FIELD)) for item in packed.split(_ITEM)) if packed else ()
        return NormalisedApplication(app_id, ts, key, display, idents, *row[5:])

    @staticmethod
    def _to_row(a: NormalisedApplication) -> tuple[Any, ...]:
        packed = _ITEM.join(_FIELD.join((i.kind, i.key, i.display)) for i in a.identifiers)
        return (a.application_id, a.applicant_key, a.applicant_display, a.ts, packed,
                *application_props(a).values())

    def _index(self, app: NormalisedApplication) -> None:
        app.identifiers = tuple(self._identifier(i.kind, i.key, i.display) for i in app.identifiers)
        self._apps[app.application_id] = app
        self._by_applicant.setdefault(app.applicant_key, []).append(app.application_id)
        self._applicant_display[app.applicant_key] = app.applicant_display
        mine = self._applicant_idents.setdefault(app.applicant_key, {})
        for ident in app.identifiers:
            nid = ident.node_id
            entry = self._ident.get(nid)
            if entry is None:
                entry = self._ident[nid] = _IdentifierIndex(ident.display)
            entry.add(app.ts, app.applicant_key)
            span = mine.get(nid)
            if span is None:
                mine[nid] = [app.ts, app.ts]
            else:
                span[0] = min(span[0], app.ts)
                span[1] = max(span[1], app.ts)

    def _settle(self) -> None:
        for entry in self._ident.values():
            entry.settle()
        for app_ids in self._by_applicant.values():
            if len(app_ids) > 1:
                app_ids.sort(key=lambda a: (self._apps[a].ts, a))

    # -- writes -------------------------------------------------------------------------
    def upsert(self, applications: Sequence[NormalisedApplication]) -> int:
        with self._lock:
            fresh: dict[str, NormalisedApplication] = {}
            for app in applications:
                known = self._apps.get(app.application_id) or fresh.get(app.application_id)
                if known is not None:
                    if known.applicant_key != app.applicant_key:
                        raise Conflict(
                            f"application {app.application_id!r} is already stored for another applicant"
                        )
                    continue
                fresh[app.application_id] = app
            if not fresh:
                return 0
            rows = [self._to_row(a) for a in fresh.values()]
            with self._transaction("write"):
                self._db.executemany(f"INSERT INTO applications ({_COLUMNS}) VALUES ({_MARKS})", rows)
            for app in fresh.values():
                self._index(app)
            self._settle_touched(fresh.values())
            return len(fresh)

    def record_assessment(self, app: NormalisedApplication, decision: Decision, audit: AuditEntry) -> Recorded:
        with self._lock:
            known = self._apps.get(app.application_id)
            if known is not None:
                if known.applicant_key != app.applicant_key:
                    raise Conflict(f"application {app.application_id!r} is already stored for another applicant")
                first = [d for d in self.decisions(app.application_id) if d.trigger == decision.trigger]
                return Recorded(False, first[0] if first else None)
            with self._transaction("write"):
                self._db.execute(f"INSERT INTO applications ({_COLUMNS}) VALUES ({_MARKS})", self._to_row(app))
                self._insert_decision(decision)
                self._insert_audit(audit.at, audit.actor, audit.action, audit.subject, audit.detail)
            self._index(app)
            self._settle_touched([app])
            return Recorded(True)

    @contextmanager
    def _transaction(self, what: str) -> Iterator[None]:
        """One write transaction: committed whole, or rolled back on any error (so nothing
        of a failed write stays pending for a later write to commit)."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"{what} failed: {exc}") from exc
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException as exc:
            self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreUnavailable(f"{what} failed: {exc}") from exc
            raise

    def _settle_touched(self, apps: Any) -> None:
        for app in apps:
            for ident in app.identifiers:
                self._ident[ident.node_id].settle()
            ids = self._by_applicant[app.applicant_key]
            if len(ids) > 1:
                ids.sort(key=lambda a: (self._apps[a].ts, a))

    # -- point reads ------------------------------------------------------------------------
    def application(self, application_id: str) -> NormalisedApplication | None:
        return self._apps.get(application_id)

    def applicant_applications(
        self, applicant_key: str, before: float | None = None
    ) -> list[NormalisedApplication]:
        with self._lock:
            apps = [self._apps[a] for a in self._by_applicant.get(applicant_key, ())]
        return [a for a in apps if before is None or a.ts < before]

    def applicant_identifiers(
        self, applicant_keys: Sequence[str], as_of: float
    ) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {}
        with self._lock:
            for key in applicant_keys:
                spans = self._applicant_idents.get(key)
                if spans:
                    used = tuple(sorted(n for n, s in spans.items() if s[0] < as_of))
                    if used:
                        out[key] = used
        return out

    def identifier_usage(
        self, node_ids: Sequence[str], as_of: float, window: float, expand_limit: int
    ) -> dict[str, IdentifierUsage]:
        out: dict[str, IdentifierUsage] = {}
        with self._lock:
            for nid in node_ids:
                entry = self._ident.get(nid)
                if entry is None:
                    continue
                end = bisect_left(entry.times, as_of)
                if end == 0:
                    continue
                if end == len(entry.times):
                    before = list(entry.applicants)
                else:
                    before = [k for k, s in entry.applicants.items() if s[0] < as_of]
                start = bisect_left(entry.times, as_of - window, 0, end)
                recent = tuple(zip(entry.times[start:end], entry.who[start:end], strict=True))
                out[nid] = IdentifierUsage(
                    node_id=nid,
                    applicants=len(before),
                    applications=end,
                    first_ts=entry.times[0],
                    last_ts=entry.times[end - 1],
                    recent=recent,
                    members=tuple(sorted(before)) if len(before) <= expand_limit else (),
                    display=entry.display,
                )
        return out

    def applicants_below(self, bound: str) -> list[str]:
        with self._lock:
            return sorted(k for k in self._by_applicant if k < bound)

    def applications_of(self, applicant_keys: Sequence[str]) -> dict[str, list[NormalisedApplication]]:
        out: dict[str, list[NormalisedApplication]] = {}
        for key in applicant_keys:
            apps = self.applicant_applications(key)
            if apps:
                out[key] = apps
        return out

    def snapshot(self, app: NormalisedApplication, as_of: float, hub_limit: int) -> ScoringSnapshot:
        with self._lock:
            return snapshot.assemble(self, self.labels, app, as_of, hub_limit)

    def applicants_exist(self, applicant_keys: Sequence[str]) -> set[str]:
        return {k for k in applicant_keys if k in self._by_applicant}

    def node_display(self, node_ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for nid in node_ids:
            kind, _, key = nid.partition(":")
            if kind == "applicant" and key in self._applicant_display:
                out[nid] = self._applicant_display[key]
            elif kind == "application" and key in self._apps:
                out[nid] = key
            elif nid in self._ident:
                out[nid] = self._ident[nid].display
        return out

    def neighbourhood(self, node_id: str, depth: int, limit: int) -> Subgraph:
        hub_limit = HUB_LIMIT
        with self._lock:
            start: list[str]
            kind, _, key = node_id.partition(":")
            if kind == "application":
                app = self._apps.get(key)
                start = [applicant_node(app.applicant_key)] if app else []
            elif kind == "applicant":
                start = [node_id] if key in self._by_applicant else []
            else:
                start = [node_id] if node_id in self._ident else []
            seen: dict[str, int] = {n: 0 for n in start}
            edges: set[tuple[str, str, float]] = set()
            queue = deque(start)
            truncated = False
            while queue:
                current = queue.popleft()
                hops = seen[current]
                if hops >= depth:
                    continue
                ckind, _, ckey = current.partition(":")
                if ckind == "applicant":
                    spans = self._applicant_idents.get(ckey, {})
                    neighbours = [(n, s[0]) for n, s in sorted(spans.items())]
                    pairs = [(current, n, t) for n, t in neighbours]
                else:
                    entry = self._ident[current]
                    if len(entry.applicants) > hub_limit and hops > 0:
                        continue
                    neighbours = [(applicant_node(a), s[0]) for a, s in sorted(entry.applicants.items())]
                    pairs = [(n, current, t) for n, t in neighbours]
                for (nid, _), pair in zip(neighbours, pairs, strict=True):
                    if nid not in seen:
                        if len(seen) >= limit:
                            truncated = True
                            continue
                        seen[nid] = hops + 1
                        queue.append(nid)
                    edges.add(pair)
            nodes = [self._graph_node(n) for n in sorted(seen)]
            graph_edges = [
                GraphEdge(s, t, RELATIONSHIP_OF_KIND[node_kind(t)], ts)
                for s, t, ts in sorted(edges)
                if s in seen and t in seen
            ]
        return Subgraph(nodes, graph_edges, truncated)

    def _graph_node(self, nid: str) -> GraphNode:
        kind, _, key = nid.partition(":")
        label = self._labels.get(nid)
        props: dict[str, Any] = {"status": label.status if label else None}
        if kind == "applicant":
            props["applications"] = len(self._by_applicant.get(key, ()))
            return GraphNode(nid, kind, self._applicant_display.get(key, ""), props)
        entry = self._ident[nid]
        props["applicants"] = len(entry.applicants)
        return GraphNode(nid, kind, entry.display, props)

    # -- labels ------------------------------------------------------------------------------
    def set_label(self, label: Label) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO labels VALUES (?, ?, ?, ?, ?)",
                (label.node_id, label.status, label.by, label.at, label.reason),
            )
            self._labels[label.node_id] = label

    def remove_label(self, node_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM labels WHERE node_id = ?", (node_id,))
            self._labels.pop(node_id, None)

    def labels(self, node_ids: Sequence[str] | None = None) -> dict[str, Label]:
        with self._lock:
            if node_ids is None:
                return dict(self._labels)
            return {n: self._labels[n] for n in node_ids if n in self._labels}

    # -- whole graph -----------------------------------------------------------------------------
    def links(self) -> Iterator[tuple[str, str, float, float]]:
        with self._lock:
            snapshot = [
                (key, nid, span[0], span[1])
                for key, spans in self._applicant_idents.items()
                for nid, span in spans.items()
            ]
        yield from snapshot

    def linked_components(
        self, kinds: Sequence[str], max_identifier_applicants: int, min_size: int, exclude: Sequence[str] = ()
    ) -> list[LinkedComponent]:
        return in_process.linked_components(self.links(), kinds, max_identifier_applicants, min_size, exclude)

    def look_alikes(
        self,
        kinds: Sequence[str],
        max_identifier_applicants: int,
        min_similarity: float,
        min_shared: int = 2,
        exclude: Sequence[str] = (),
    ) -> list[LookAlike]:
        return in_process.look_alikes(
            self.links(), kinds, max_identifier_applicants, min_similarity, min_shared, exclude
        )

    def split_communities(
        self, component: LinkedComponent, max_identifier_applicants: int, seed: int = 42
    ) -> list[LinkedComponent]:
        return in_process.split_communities(self.links(), component, max_identifier_applicants, seed)

    def stats(self) -> dict[str, int]:
        with self._lock:
            counts = {"applications": len(self._apps), "applicants": len(self._by_applicant)}
            for nid in self._ident:
                kind = node_kind(nid)
                counts[kind] = counts.get(kind, 0) + 1
            counts["labels"] = len(self._labels)
            counts["rings"] = self._db.execute("SELECT count(*) FROM rings WHERE active = 1").fetchone()[0]
            return counts

    # -- rings, decisions, alerts, audit -------------------------------------------------------------
    def write_rings(self, run_id: str, at: float, rings: Sequence[RingRecord]) -> None:
        with self._lock, self._transaction("ring write"):
            self._db.execute("UPDATE rings SET active = 0 WHERE active = 1")
            self._db.executemany(
                "INSERT OR REPLACE INTO rings VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?)",
                [
                    (
                        r.ring_id,
                        r.run_id,
                        at,
                        r.score,
                        json.dumps(r.features, sort_keys=True),
                        json.dumps(list(r.identifiers)),
                        json.dumps(r.lineage, sort_keys=True),
                        json.dumps(list(r.members)),
                    )
                    for r in rings
                ],
            )

    @staticmethod
    def _ring(row: tuple[Any, ...]) -> RingRecord:
        ring_id, run_id, _at, _active, score, features, idents, lineage, members = row
        return RingRecord(
            ring_id, run_id, tuple(json.loads(members)), score, json.loads(features),
            tuple(json.loads(idents)), json.loads(lineage),
        )

    def rings(self) -> list[RingRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM rings WHERE active = 1 ORDER BY ring_id").fetchall()
        return [self._ring(r) for r in rows]

    def ring_of(self, applicant_key: str) -> RingRecord | None:
        needle = json.dumps(applicant_key)
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM rings WHERE active = 1 AND instr(members, ?) > 0 ORDER BY ring_id",
                (needle,),
            ).fetchall()
        return self._ring(rows[0]) if rows else None

    def record_decision(self, decision: Decision) -> None:
        with self._lock:
            self._insert_decision(decision)

    def _insert_decision(self, decision: Decision) -> None:
        d = decision
        self._db.execute(
            "INSERT INTO decisions (application_id, at, score, band, action, reasons, model_version, trigger) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (d.application_id, d.at, d.score, d.band, d.action, json.dumps(d.reasons), d.model_version, d.trigger),
        )

    def decisions(self, application_id: str) -> list[Decision]:
        with self._lock:
            rows = self._db.execute(
                "SELECT application_id, at, score, band, action, reasons, model_version, trigger "
                "FROM decisions WHERE application_id = ? ORDER BY id",
                (application_id,),
            ).fetchall()
        return [Decision(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows]

    def add_alert(self, alert: Alert) -> None:
        a = alert
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (a.alert_id, a.applicant_key, a.tier, a.at, a.trigger, a.score, a.previous_score,
                 a.status, json.dumps(a.detail, sort_keys=True)),
            )

    def alerts(self, status: str | None = None, limit: int = 100) -> list[Alert]:
        sql = "SELECT * FROM alerts"
        params: tuple[Any, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            params = (status,)
        sql += " ORDER BY at DESC, alert_id LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*params, limit)).fetchall()
        return [Alert(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8])) for r in rows]

    def set_alert_status(self, alert_id: str, status: str) -> None:
        with self._lock:
            cur = self._db.execute("UPDATE alerts SET status = ? WHERE alert_id = ?", (status, alert_id))
        if cur.rowcount == 0:
            from graph.errors import NotFound

            raise NotFound("alert", alert_id)

    def append_audit(self, at: float, actor: str, action: str, subject: str, detail: dict[str, Any]) -> int:
        with self._lock:
            return self._insert_audit(at, actor, action, subject, detail)

    def _insert_audit(self, at: float, actor: str, action: str, subject: str, detail: dict[str, Any]) -> int:
        cur = self._db.execute(
            "INSERT INTO audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
            (at, actor, action, subject, json.dumps(detail, sort_keys=True, default=str)),
        )
        return int(cur.lastrowid or 0)

    def audit(self, subject: str | None = None, limit: int = 100) -> list[AuditEvent]:
        sql = "SELECT seq, at, actor, action, subject, detail FROM audit"
        params: tuple[Any, ...] = ()
        if subject is not None:
            sql += " WHERE subject = ?"
            params = (subject,)
        sql += " ORDER BY seq DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*params, limit)).fetchall()
        return [AuditEvent(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    # -- lifecycle ------------------------------------------------------------------------------------
    def setting(self, name: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def put_setting(self, name: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (name, value))

    def ping(self) -> None:
        try:
            with self._lock:
                self._db.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(str(exc)) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()
