"""The embedded store: SQLite on disk for durability, a compact in-memory index for speed.

Every acknowledged write is one SQLite transaction (WAL journal), committed before
the index changes, so a killed process loses nothing it acknowledged. The index
(:mod:`.index`: integer ids and numpy arrays) is saved beside the database on close
and after bulk loads, and loaded and caught up on open (:mod:`.startup`); graph reads
are index lookups, application records are read from SQLite by row.

One process owns a database file at a time (:mod:`.lock`); threads inside it are
serialised by a lock.

>>> from graph.store.embedded.store import EmbeddedStore
>>> store = EmbeddedStore("memory://")
>>> store.stats()["applications"]
0
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from graph.errors import Conflict, StoreUnavailable
from graph.normalise import NormalisedApplication
from graph.store import in_process, snapshot
from graph.store.contract import GraphStore
from graph.store.embedded import persist, rows, startup, whole_graph
from graph.store.embedded.audit_seals import AuditSealRows
from graph.store.embedded.case_log import CaseLogRows
from graph.store.embedded.cases import CaseRows
from graph.store.embedded.database import (
    connect,
    connect_read_only,
    identity_of,
    path_of,
    prepare,
    read_snapshot,
    transaction,
)
from graph.store.embedded.index import GraphIndex
from graph.store.embedded.investigator_reads import InvestigatorRows
from graph.store.embedded.lock import ProcessLock
from graph.store.embedded.online_rings import OnlineRingRows
from graph.store.embedded.outcomes import OutcomeRows
from graph.store.embedded.startup import Opened
from graph.store.embedded.work_queue import WorkRows, queue_work
from graph.store.records import (
    AuditEntry,
    Decision,
    GraphEdge,
    GraphNode,
    IdentifierUsage,
    Label,
    LinkedComponent,
    LookAlike,
    Recorded,
    ScoringSnapshot,
    Subgraph,
)
from graph.store.work_queue import MONITOR
from graph.vocabulary import (
    HUB_LIMIT,
    IDENTIFIER_KINDS,
    KIND_CODE,
    RELATIONSHIP_OF_KIND,
    USAGE_WINDOW,
    applicant_node,
    node_kind,
)

log = logging.getLogger("ringsight.embedded")
READ_ONLY_CATCH_UP = 1.0
"""Seconds between a read-only store's looks at what the owning process committed."""
SAVE_EVERY = 200_000
"""Applications written since the last save after which a write saves the index (and
then only when they are at least as many as the saved index covers): bulk loads are
saved as they go, at doubling intervals; online writes are saved on close."""

_POINT_READS = ("identifier_usage", "applicant_identifiers", "applicant_applications", "labels")


class EmbeddedStore(
    OnlineRingRows, CaseLogRows, CaseRows, AuditSealRows, WorkRows, InvestigatorRows, OutcomeRows, GraphStore
):
    """SQLite-backed store with an in-memory graph index. See the module docstring."""

    def __init__(self, url: str = "memory://", read_only: bool = False) -> None:
        """``read_only``: for a tool that reads a store another process owns (it takes no
        lock, writes nothing, and sees what the owner commits: each read catches up)."""
        self.url = url
        self._lock = threading.RLock()
        self._path = path_of(url)
        self._closed = False
        self.read_only = read_only and self._path is not None
        self._caught_up_at = 0.0
        if self._path is not None and not self.read_only:
            # SQLite creates the file, not its folder: a store in a new folder is made whole.
            try:
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(f"cannot create the folder of {self._path}: {exc}") from exc
        self._process_lock = ProcessLock(self._path) if self._path is not None and not self.read_only else None
        try:
            if self._path is not None and self.read_only:
                self._db = connect_read_only(self._path)
                self._identity = identity_of(self._db)
            else:
                self._db = connect(self._path)
                self._identity = prepare(self._db)
            self._read_labels()
            self._index: GraphIndex | None = None
            self.opened: Opened = Opened("none", 0, 0.0)
            index = self._ready()
            self._saved = index.rows if self.opened.how == "loaded" and not self.opened.caught_up else -1
        except BaseException:
            if hasattr(self, "_db"):
                self._db.close()
            if self._process_lock is not None:
                self._process_lock.release()
            raise
        # A subclass that replaces a point read (a test's failing store) gets the snapshot
        # assembled from its reads, so it sees what it asked for.
        self._assemble = any(getattr(type(self), name) is not getattr(EmbeddedStore, name) for name in _POINT_READS)

    # -- the index ----------------------------------------------------------------------------------
    def _ready(self) -> GraphIndex:
        """The index with every acknowledged write in it (call under the lock)."""
        if self._index is None:
            with self._reading():
                self._index, self.opened = startup.open_index(self._db, self._path, self._identity)
        elif self.read_only and time.monotonic() - self._caught_up_at >= READ_ONLY_CATCH_UP:
            with self._reading():
                startup.catch_up(self._db, self._index)
                self._read_labels()
        self._index.settle()
        return self._index

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Reads of the database into the index: one read transaction when read-only (the
        owner process commits meanwhile), noted as the last catch-up."""
        if not self.read_only:
            yield
            return
        with read_snapshot(self._db):
            yield
        self._caught_up_at = time.monotonic()

    def _writable(self) -> GraphIndex:
        """The index for a write: its key tables are always current, so queued bulk writes
        stay queued (a bulk load is compacted once, by the first read)."""
        if self._index is None:
            return self._ready()
        return self._index

    def _indexed(self, batch: rows.NewRows) -> None:
        """Put a committed batch into the index. Should that fail, the write stands (SQLite
        holds it) and the index is read again from SQLite rather than left behind it."""
        index = self._writable()
        try:
            if batch.new_applicants:
                keys, shown = map(list, zip(*batch.new_applicants, strict=True))
                index.applicants.add_many([0] * len(keys), keys, shown)
            for person, display in batch.displays.items():
                index.applicants.set_display(person, display)
            if batch.new_identifiers:
                kinds, keys, displays = map(list, zip(*batch.new_identifiers, strict=True))
                index.identifiers.add_many(kinds, keys, displays)
            index.append([a.ts for a in batch.apps], batch.applicants, batch.identifiers)
        except Exception:
            log.exception("indexing a committed write failed; reading the index again from SQLite")
            self._index = None
            self._ready()
        except BaseException:
            self._index = None  # interrupted: the next call reads the index again
            raise

    @staticmethod
    def _ident(index: GraphIndex, node_id: str) -> int:
        """The id of an identifier node, -1 if it is not stored."""
        kind, sep, key = node_id.partition(":")
        code = KIND_CODE.get(kind)
        if code is None or not sep:
            return -1
        return index.identifiers.find(code, key)

    def _node(self, index: GraphIndex, ident: int) -> str:
        return f"{IDENTIFIER_KINDS[index.identifiers.kind(ident)]}:{index.identifiers.key(ident)}"

    def _nodes(self, index: GraphIndex, idents: Sequence[int]) -> list[str]:
        """Node ids of identifier ids (vectorised when there are many)."""
        if len(idents) > 8:
            return whole_graph.node_ids(index, np.asarray(idents, np.int64))
        return [self._node(index, i) for i in idents]

    def _keys_of(self, index: GraphIndex, people: Sequence[int]) -> list[str]:
        """Keys of applicant ids (vectorised when there are many)."""
        if len(people) > 8:
            return index.applicants.keys_of(np.asarray(people, np.int64))
        return [index.applicants.key(a) for a in people]

    def _save(self) -> None:
        if self._path is None or self._index is None or self.read_only:
            return
        index = self._index
        arrays = index.arrays()
        manifest = {
            "identity": self._identity,
            "applications": index.rows,
            "applicants": index.applicants.n,
            "identifiers": index.identifiers.n,
            "meta": index.meta(),
        }
        persist.save(persist.index_dir(self._path), manifest, arrays)
        self._saved = index.rows

    def _save_after_bulk(self) -> None:
        if self._path is None or self._index is None:
            return
        unsaved = self._index.rows - max(self._saved, 0)
        if unsaved >= max(SAVE_EVERY, self._saved):
            self._save()

    # -- writes ---------------------------------------------------------------------------------------
    def upsert(self, applications: Sequence[NormalisedApplication]) -> int:
        rows.check_kinds(applications)
        with self._lock:
            index = self._writable()
            with transaction(self._db, "write"):
                fresh = rows.new_applications(self._db, applications, index.applicants)
                if not fresh:
                    return 0
                batch = rows.resolve(fresh, index.applicants, index.identifiers, index.rows)
                rows.write(self._db, batch, index.applicants.n, index.identifiers.n)
            self._indexed(batch)
            self._save_after_bulk()
            return len(fresh)

    def record_assessment(
        self, app: NormalisedApplication, decision: Decision, audit: AuditEntry, monitor: bool = False
    ) -> Recorded:
        rows.check_kinds([app])
        with self._lock:
            index = self._writable()
            with transaction(self._db, "write"):
                found = rows.row_of(self._db, app.application_id)
                if found is None:
                    batch = rows.resolve([app], index.applicants, index.identifiers, index.rows)
                    rows.write(self._db, batch, index.applicants.n, index.identifiers.n)
                    self._insert_decision(decision)
                    self._insert_audit(audit.at, audit.actor, audit.action, audit.subject, audit.detail)
                    if monitor:
                        queue_work(self._db, MONITOR, app.application_id, decision.at)
                elif index.applicants.key(found[1]) != app.applicant_key:
                    raise Conflict(f"application {app.application_id!r} is already stored for another applicant")
            if found is not None:
                first = [d for d in self.decisions(app.application_id) if d.trigger == decision.trigger]
                return Recorded(False, first[0] if first else None)
            self._indexed(batch)
            return Recorded(True)

    # -- point reads ------------------------------------------------------------------------------------
    def application(self, application_id: str) -> NormalisedApplication | None:
        with self._lock:
            row = rows.application_by_id(self._db, application_id)
            index = self._ready()
            return None if row is None else rows.decode(row, index.applicants, index.identifiers)

    def _applications_at(self, index: GraphIndex, at: Sequence[int]) -> list[NormalisedApplication]:
        return [rows.decode(r, index.applicants, index.identifiers) for r in rows.applications_at(self._db, at)]

    def applicant_applications(self, applicant_key: str, before: float | None = None) -> list[NormalisedApplication]:
        with self._lock:
            index = self._ready()
            person = index.applicants.find(0, applicant_key)
            apps = rows.by_time(self._applications_at(index, index.app_rows(person))) if person >= 0 else []
        return [a for a in apps if before is None or a.ts < before]

    def applications_of(self, applicant_keys: Sequence[str]) -> dict[str, list[NormalisedApplication]]:
        with self._lock:
            index = self._ready()
            people = {key: p for key in applicant_keys if (p := index.applicants.find(0, key)) >= 0}
            at = [row for p in set(people.values()) for row in index.app_rows(p)]
            grouped: dict[int, list[NormalisedApplication]] = {}
            for r in rows.applications_at(self._db, at):
                grouped.setdefault(int(r[2]), []).append(rows.decode(r, index.applicants, index.identifiers))
        return {key: rows.by_time(grouped[p]) for key, p in people.items() if p in grouped}

    def applicants_below(self, bound: str) -> list[str]:
        with self._lock:
            return self._ready().applicants.sorted_below(bound)

    def applicant_identifiers(self, applicant_keys: Sequence[str], as_of: float) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {}
        with self._lock:
            index = self._ready()
            for key in applicant_keys:
                person = index.applicants.find(0, key)
                if person >= 0:
                    used = index.idents_before(person, as_of)
                    if used:
                        out[key] = tuple(sorted(self._node(index, i) for i in used))
        return out

    def identifier_usage(
        self, node_ids: Sequence[str], as_of: float, window: float, hub_limit: int
    ) -> dict[str, IdentifierUsage]:
        with self._lock:
            index = self._ready()
            asked = [(nid, ident) for nid in node_ids if (ident := self._ident(index, nid)) >= 0]
            uses = index.usages([i for _, i in asked], [n for n, _ in asked], as_of, window, hub_limit, index.names)
            return {nid: use[0] for (nid, _), use in zip(asked, uses, strict=True) if use is not None}

    def snapshot(self, app: NormalisedApplication, as_of: float, hub_limit: int) -> ScoringSnapshot:
        if self._assemble:
            return snapshot.assemble(self, self.labels, app, as_of, hub_limit)
        with self._lock:
            return self._snapshot(self._ready(), app, as_of, hub_limit)

    def _snapshot(self, index: GraphIndex, app: NormalisedApplication, as_of: float, hub_limit: int) -> ScoringSnapshot:
        """:func:`graph.store.snapshot.assemble` with integer ids: the same record, with every
        applicant and identifier named once (and hop-3 hubs not counted past the limit, since
        nothing is read through them)."""
        subject = app.applicant_key
        me = index.applicants.find(0, subject)
        names = index.names
        hop1: dict[str, int] = {}
        for own in app.identifiers:
            nid = own.node_id
            if nid not in hop1:
                hop1[nid] = self._ident(index, nid)
        if me >= 0:
            own_ids = set(hop1.values())
            earlier = [i for i in index.idents_before(me, as_of) if i not in own_ids]
            hop1.update(zip(self._nodes(index, earlier), earlier, strict=True))
        identifiers = tuple(sorted(hop1))
        known = [(nid, hop1[nid]) for nid in identifiers if hop1[nid] >= 0]
        near = index.usages([i for _, i in known], [n for n, _ in known], as_of, USAGE_WINDOW, hub_limit, names)
        usage: dict[str, IdentifierUsage] = {}
        hop2_ids: set[int] = set()
        for (nid, _), use in zip(known, near, strict=True):
            if use is not None:
                usage[nid] = use[0]
                hop2_ids.update(use[1])
        hop2_ids.discard(me)
        hop2 = sorted((names[person], person) for person in hop2_ids)
        used_by = index.idents_before_many([person for _, person in hop2], as_of)
        hop3_ids = set().union(*used_by).difference(hop1.values())
        ident_name = {at: nid for nid, at in hop1.items() if at >= 0}
        hop3_list = list(hop3_ids)
        ident_name.update(zip(hop3_list, self._nodes(index, hop3_list), strict=True))
        neighbours = {
            key: tuple(sorted([ident_name[i] for i in used])) for (key, _), used in zip(hop2, used_by, strict=True)
        }
        hop3 = sorted((ident_name[i], i) for i in hop3_list)
        far = index.usages(
            [i for _, i in hop3], [n for n, _ in hop3], as_of, USAGE_WINDOW, hub_limit, names, skip_hubs=True
        )
        far_usage = {nid: use[0] for (nid, _), use in zip(hop3, far, strict=True) if use is not None and use[1]}
        labels: dict[str, Label] = {}
        if self._labels:
            nodes = {applicant_node(subject), *identifiers, *(nid for nid, _ in hop3)}
            nodes.update(applicant_node(k) for k, _ in hop2)
            nodes.update(applicant_node(k) for use in far_usage.values() for k in use.members)
            labels = {n: self._labels[n] for n in sorted(n for n in nodes if n in self._labels)}
        history: tuple[NormalisedApplication, ...] = ()
        if me >= 0:
            earlier_rows = [r for r in index.app_rows(me) if index.row_ts(r) < as_of]
            if earlier_rows:
                history = tuple(
                    a
                    for a in rows.by_time(self._applications_at(index, earlier_rows))
                    if a.application_id != app.application_id
                )
        return ScoringSnapshot(
            applicant_key=subject,
            as_of=as_of,
            identifiers=identifiers,
            usage=usage,
            neighbours=neighbours,
            far_usage=far_usage,
            labels=labels,
            history=history,
        )

    def applicants_exist(self, applicant_keys: Sequence[str]) -> set[str]:
        with self._lock:
            index = self._ready()
            return {k for k in applicant_keys if index.applicants.find(0, k) >= 0}

    def node_display(self, node_ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        with self._lock:
            index = self._ready()
            apps = [key for kind, _, key in (n.partition(":") for n in node_ids) if kind == "application"]
            stored = rows.existing(self._db, apps) if apps else set()
            for nid in node_ids:
                kind, _, key = nid.partition(":")
                if kind == "applicant":
                    person = index.applicants.find(0, key)
                    if person >= 0:
                        out[nid] = index.applicants.display(person)
                elif kind == "application":
                    if key in stored:
                        out[nid] = key
                else:
                    ident = self._ident(index, nid)
                    if ident >= 0:
                        out[nid] = index.identifiers.display(ident)
        return out

    def neighbourhood(self, node_id: str, depth: int, limit: int) -> Subgraph:
        hub_limit = HUB_LIMIT
        with self._lock:
            index = self._ready()
            ids: dict[str, int] = {}
            kind, _, key = node_id.partition(":")
            if kind == "application":
                found = rows.row_of(self._db, key)
                if found is not None:
                    ids[applicant_node(index.applicants.key(found[1]))] = found[1]
            elif kind == "applicant":
                person = index.applicants.find(0, key)
                if person >= 0:
                    ids[node_id] = person
            else:
                ident = self._ident(index, node_id)
                if ident >= 0:
                    ids[node_id] = ident
            seen: dict[str, int] = {n: 0 for n in ids}
            edges: set[tuple[str, str, float]] = set()
            queue = deque(seen)
            truncated = False
            while queue:
                current = queue.popleft()
                hops = seen[current]
                if hops >= depth:
                    continue
                at = ids[current]
                neighbours: list[tuple[str, float, int]]
                if node_kind(current) == "applicant":
                    spans = index.spans_of(at)
                    neighbours = sorted((self._node(index, i), s[0], i) for i, s in spans.items())
                    pairs = [(current, n, t) for n, t, _ in neighbours]
                else:
                    if hops > 0 and index.applicant_count(at) > hub_limit:
                        continue
                    firsts = index.members_first(at)
                    names = self._keys_of(index, list(firsts))
                    neighbours = sorted(
                        (applicant_node(k), t, a) for k, (a, t) in zip(names, firsts.items(), strict=True)
                    )
                    pairs = [(n, current, t) for n, t, _ in neighbours]
                for (nid, _, nid_at), pair in zip(neighbours, pairs, strict=True):
                    if nid not in seen:
                        if len(seen) >= limit:
                            truncated = True
                            continue
                        seen[nid] = hops + 1
                        ids[nid] = nid_at
                        queue.append(nid)
                    edges.add(pair)
            nodes = [self._graph_node(index, n, ids[n]) for n in sorted(seen)]
            graph_edges = [
                GraphEdge(s, t, RELATIONSHIP_OF_KIND[node_kind(t)], ts)
                for s, t, ts in sorted(edges)
                if s in seen and t in seen
            ]
        return Subgraph(nodes, graph_edges, truncated)

    def _graph_node(self, index: GraphIndex, nid: str, at: int) -> GraphNode:
        kind = node_kind(nid)
        label = self._labels.get(nid)
        props: dict[str, Any] = {"status": label.status if label else None}
        if kind == "applicant":
            props["applications"] = index.app_count(at)
            return GraphNode(nid, kind, index.applicants.display(at), props)
        props["applicants"] = index.applicant_count(at)
        return GraphNode(nid, kind, index.identifiers.display(at), props)

    def stats(self) -> dict[str, int]:
        with self._lock:
            index = self._ready()
            counts = {"applications": index.rows, "applicants": index.applicants.n}
            idents = index.identifiers
            for kind in sorted(idents.kind_first, key=idents.kind_first.__getitem__):
                counts[IDENTIFIER_KINDS[kind]] = idents.kind_counts[kind]
            counts["labels"] = len(self._labels)
            counts["rings"] = self.active_rings()
            return counts

    # -- whole graph -----------------------------------------------------------------------------------
    def links(self) -> Iterator[tuple[str, str, float, float]]:
        with self._lock:
            everything = list(whole_graph.links(self._ready()))
        yield from everything

    def linked_components(
        self, kinds: Sequence[str], max_identifier_applicants: int, min_size: int, exclude: Sequence[str] = ()
    ) -> list[LinkedComponent]:
        with self._lock:
            return whole_graph.linked_components(self._ready(), kinds, max_identifier_applicants, min_size, exclude)

    def look_alikes(
        self,
        kinds: Sequence[str],
        max_identifier_applicants: int,
        min_similarity: float,
        min_shared: int = 2,
        exclude: Sequence[str] = (),
    ) -> list[LookAlike]:
        with self._lock:
            return whole_graph.look_alikes(
                self._ready(), kinds, max_identifier_applicants, min_similarity, min_shared, exclude
            )

    def split_communities(
        self, component: LinkedComponent, max_identifier_applicants: int, seed: int = 42
    ) -> list[LinkedComponent]:
        with self._lock:
            links = whole_graph.links_of_members(self._ready(), component.members)
        return in_process.split_communities(links, component, max_identifier_applicants, seed)

    # -- lifecycle ---------------------------------------------------------------------------------------
    def ping(self) -> None:
        try:
            with self._lock:
                self._db.execute("SELECT 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(str(exc)) from exc

    def save_index(self) -> None:
        """Save the index now (done on close and during bulk loads anyway)."""
        with self._lock:
            self._ready()
            self._save()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self._index is not None and self._index.rows != self._saved:
                    self._save()
            finally:
                self._db.close()
                if self._process_lock is not None:
                    self._process_lock.release()
