"""An in-memory fake of the store seams for unit tests of detectors and the desk.

Every read is a plain scan over a list of applications: slow, obviously
correct, and independent of both real backends. ``calls`` records each seam
method called, the way the GDS client's unit tests record queries, so a test
can assert what a component read (a score makes exactly one ``snapshot`` call).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from graph.errors import Conflict, NotFound
from graph.normalise import Identifier, NormalisedApplication
from graph.store import in_process
from graph.store.contract import GraphStore
from graph.store.outcomes import Outcome
from graph.store.records import (
    Alert,
    AuditEntry,
    AuditEvent,
    AuditSeal,
    Case,
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
    decision_count_order,
    utc_day,
    work_count_order,
)
from graph.store.snapshot import assemble
from graph.store.work_queue import MONITOR, FollowUp, WorkItem
from graph.vocabulary import RELATIONSHIP_OF_KIND, applicant_node, node_kind

DAY = 86400.0
T0 = 1_760_000_000.0


def app(
    app_id: str,
    who: str,
    ts: float,
    *identifiers: str,
    **props: Any,
) -> NormalisedApplication:
    """An application of applicant ``who`` at ``ts`` using identifiers given as ``kind:key``."""
    idents = tuple(Identifier(node_kind(n), n.split(":", 1)[1], n.split(":", 1)[1][:3] + "***") for n in identifiers)
    return NormalisedApplication(app_id, ts, who, f"{who[:2]}***", idents, **props)


class FakeStore(GraphStore):
    """Every seam over Python lists. Not thread-safe; not fast; not a backend."""

    url = "fake://"

    def __init__(self, applications: Sequence[NormalisedApplication] = ()) -> None:
        self.apps: dict[str, NormalisedApplication] = {}
        self.label_book: dict[str, Label] = {}
        self.decision_log: list[Decision] = []
        self.alert_book: dict[str, Alert] = {}
        self.case_book: dict[str, Case] = {}
        self.seal_log: list[AuditSeal] = []
        self.work_log: list[WorkItem] = []
        self._work_seq = itertools.count(1)
        self.work_holders: dict[int, tuple[str, float]] = {}
        self.lock_book: dict[str, tuple[str, float]] = {}
        self.audit_log: list[AuditEvent] = []
        self.settings: dict[str, str] = {}
        self.ring_book: list[RingRecord] = []
        self.calls: list[str] = []
        self.fail_writes = False
        self._seq = itertools.count(1)
        self.upsert(applications)
        self.calls.clear()

    def _call(self, name: str) -> None:
        self.calls.append(name)

    # -- reader ------------------------------------------------------------------------
    def snapshot(self, app: NormalisedApplication, as_of: float, hub_limit: int) -> ScoringSnapshot:
        self._call("snapshot")
        calls = len(self.calls)
        try:
            return assemble(self, self.labels, app, as_of, hub_limit)
        finally:
            del self.calls[calls:]  # the assembly's own point reads are not the caller's

    def _before(self, as_of: float) -> list[NormalisedApplication]:
        return sorted((a for a in self.apps.values() if a.ts < as_of), key=lambda a: (a.ts, a.application_id))

    def application(self, application_id: str) -> NormalisedApplication | None:
        self._call("application")
        return self.apps.get(application_id)

    def applicant_applications(self, applicant_key: str, before: float | None = None) -> list[NormalisedApplication]:
        self._call("applicant_applications")
        return [a for a in self._before(float("inf") if before is None else before) if a.applicant_key == applicant_key]

    def applications_of(self, applicant_keys: Sequence[str]) -> dict[str, list[NormalisedApplication]]:
        self._call("applications_of")
        out = {k: [a for a in self._before(float("inf")) if a.applicant_key == k] for k in applicant_keys}
        return {k: v for k, v in out.items() if v}

    def applicants_below(self, bound: str) -> list[str]:
        self._call("applicants_below")
        return sorted({a.applicant_key for a in self.apps.values() if a.applicant_key < bound})

    def applicant_identifiers(self, applicant_keys: Sequence[str], as_of: float) -> dict[str, tuple[str, ...]]:
        self._call("applicant_identifiers")
        out: dict[str, tuple[str, ...]] = {}
        for key in applicant_keys:
            used = {i.node_id for a in self._before(as_of) if a.applicant_key == key for i in a.identifiers}
            if used:
                out[key] = tuple(sorted(used))
        return out

    def identifier_usage(
        self, node_ids: Sequence[str], as_of: float, window: float, hub_limit: int
    ) -> dict[str, IdentifierUsage]:
        self._call("identifier_usage")
        out: dict[str, IdentifierUsage] = {}
        for nid in dict.fromkeys(node_ids):
            uses = [
                (a.ts, a.applicant_key, i.display)
                for a in self._before(as_of)
                for i in a.identifiers
                if i.node_id == nid
            ]
            if not uses:
                continue
            people = sorted({who for _, who, _ in uses})
            out[nid] = IdentifierUsage(
                node_id=nid,
                applicants=len(people),
                applications=len(uses),
                first_ts=uses[0][0],
                last_ts=uses[-1][0],
                recent=tuple(sorted((t, w) for t, w, _ in uses if t >= as_of - window)),
                members=tuple(people) if len(people) <= hub_limit else (),
                display=uses[0][2],
            )
        return out

    def identifier_applicants(self, node_id: str, limit: int) -> list[IdentifierUser]:
        self._call("identifier_applicants")
        uses: dict[str, list[NormalisedApplication]] = {}
        for a in self._before(float("inf")):
            if any(i.node_id == node_id for i in a.identifiers):
                uses.setdefault(a.applicant_key, []).append(a)
        users = [
            IdentifierUser(key, len(apps), apps[0].ts, apps[-1].ts, apps[-1].applicant_display)
            for key, apps in uses.items()
        ]
        return sorted(users, key=lambda u: (-u.last_ts, u.applicant_key))[: max(0, limit)]

    def applicants_exist(self, applicant_keys: Sequence[str]) -> set[str]:
        self._call("applicants_exist")
        known = {a.applicant_key for a in self.apps.values()}
        return {k for k in applicant_keys if k in known}

    def node_display(self, node_ids: Sequence[str]) -> dict[str, str]:
        self._call("node_display")
        out: dict[str, str] = {}
        for a in self._before(float("inf")):
            out.setdefault(applicant_node(a.applicant_key), a.applicant_display)
            out.setdefault(a.node_id, a.application_id)
            for i in a.identifiers:
                out.setdefault(i.node_id, i.display)
        return {n: out[n] for n in node_ids if n in out}

    def neighbourhood(self, node_id: str, depth: int, limit: int) -> Subgraph:
        self._call("neighbourhood")
        edges = {(applicant_node(a.applicant_key), i.node_id) for a in self.apps.values() for i in a.identifiers}
        seen = {node_id}
        frontier = {node_id}
        for _ in range(depth):
            frontier = {t for s, t in edges if s in frontier} | {s for s, t in edges if t in frontier}
            frontier -= seen
            seen |= frontier
        display = self.node_display(sorted(seen))
        nodes = [GraphNode(n, node_kind(n), display.get(n, "")) for n in sorted(seen) if n in display]
        links = [GraphEdge(s, t, RELATIONSHIP_OF_KIND[node_kind(t)]) for s, t in sorted(edges) if {s, t} <= seen]
        return Subgraph(nodes, links)

    def stats(self) -> dict[str, int]:
        self._call("stats")
        return {
            "applications": len(self.apps),
            "applicants": len({a.applicant_key for a in self.apps.values()}),
            "labels": len(self.label_book),
            "rings": len(self.ring_book),
        }

    # -- writer ------------------------------------------------------------------------
    def _check(self, app: NormalisedApplication) -> bool:
        known = self.apps.get(app.application_id)
        if known is not None and known.applicant_key != app.applicant_key:
            raise Conflict(f"application {app.application_id!r} is already stored for another applicant")
        return known is None

    def upsert(self, applications: Sequence[NormalisedApplication]) -> int:
        self._call("upsert")
        fresh = [a for a in applications if self._check(a)]
        self.apps.update((a.application_id, a) for a in fresh)
        return len(fresh)

    def record_assessment(
        self, app: NormalisedApplication, decision: Decision, audit: AuditEntry, monitor: bool = False
    ) -> Recorded:
        self._call("record_assessment")
        if self.fail_writes:
            from graph.errors import StoreUnavailable

            raise StoreUnavailable("fake: writes are failing")
        if not self._check(app):
            first = [
                d for d in self.decision_log if d.application_id == app.application_id and d.trigger == decision.trigger
            ]
            return Recorded(False, first[0] if first else None)
        self.apps[app.application_id] = app
        self.decision_log.append(decision)
        self.append_audit(audit.at, audit.actor, audit.action, audit.subject, audit.detail)
        if monitor:
            self.enqueue(MONITOR, app.application_id, decision.at)
        return Recorded(True)

    # -- case log ----------------------------------------------------------------------
    def record_decision(self, decision: Decision) -> None:
        self._call("record_decision")
        self.decision_log.append(decision)

    def decisions(self, application_id: str) -> list[Decision]:
        self._call("decisions")
        return [d for d in self.decision_log if d.application_id == application_id]

    def decision_summary(self, since: float, trigger: str = "application") -> list[DecisionCount]:
        self._call("decision_summary")
        counts: Counter[tuple[str, str, str, str | None, str | None]] = Counter()
        for d in self.decision_log:
            if d.trigger == trigger and d.at >= since:
                a = self.apps.get(d.application_id)
                day = utc_day(int(d.at // DAY))
                counts[(day, d.band, d.action, a.channel if a else None, a.product if a else None)] += 1
        return sorted((DecisionCount(*k, n) for k, n in counts.items()), key=decision_count_order)

    @staticmethod
    def _work(items: list[tuple[str, str, float]], since: float, cutoffs: Sequence[float]) -> list[WorkCount]:
        counts: Counter[tuple[str, str, int, bool]] = Counter(
            (group, status, sum(1 for c in cutoffs if at <= c), at >= since) for group, status, at in items
        )
        return sorted((WorkCount(*k, n) for k, n in counts.items()), key=work_count_order)

    def alert_summary(self, since: float, cutoffs: Sequence[float]) -> list[WorkCount]:
        self._call("alert_summary")
        return self._work([(a.tier, a.status, a.at) for a in self.alert_book.values()], since, cutoffs)

    def case_summary(self, since: float, cutoffs: Sequence[float]) -> list[WorkCount]:
        self._call("case_summary")
        return self._work([(c.layer, c.status, c.opened_at) for c in self.case_book.values()], since, cutoffs)

    def set_label(self, label: Label, audit: AuditEntry | None = None, follow_up: FollowUp | None = None) -> None:
        self._call("set_label")
        self.label_book[label.node_id] = label
        self._consequences(audit, follow_up)

    def remove_label(self, node_id: str, audit: AuditEntry | None = None, follow_up: FollowUp | None = None) -> None:
        self._call("remove_label")
        self.label_book.pop(node_id, None)
        self._consequences(audit, follow_up)

    def _consequences(self, audit: AuditEntry | None, follow_up: FollowUp | None) -> None:
        if audit is not None:
            self.audit_log.append(
                AuditEvent(next(self._seq), audit.at, audit.actor, audit.action, audit.subject, audit.detail)
            )
        if follow_up is not None:
            self.enqueue(follow_up.kind, follow_up.subject, follow_up.at)

    def labels(self, node_ids: Sequence[str] | None = None) -> dict[str, Label]:
        self._call("labels")
        if node_ids is None:
            return dict(self.label_book)
        return {n: self.label_book[n] for n in node_ids if n in self.label_book}

    def add_alert(self, alert: Alert) -> bool:
        self._call("add_alert")
        if alert.alert_id in self.alert_book or any(
            a.applicant_key == alert.applicant_key and a.tier == alert.tier and a.status != "resolved"
            for a in self.alert_book.values()
        ):
            return False
        self.alert_book[alert.alert_id] = alert
        return True

    def alert(self, alert_id: str) -> Alert | None:
        self._call("alert")
        return self.alert_book.get(alert_id)

    def alerts(self, status: str | None = None, limit: int = 100, applicant_key: str | None = None) -> list[Alert]:
        self._call("alerts")
        found = [
            a
            for a in self.alert_book.values()
            if (status is None or a.status == status) and (applicant_key is None or a.applicant_key == applicant_key)
        ]
        return sorted(found, key=lambda a: (-a.at, a.alert_id))[:limit]

    def set_alert_status(
        self, alert_id: str, status: str, by: str, at: float, note: str, case_id: str | None = None
    ) -> Alert:
        self._call("set_alert_status")
        alert = self.alert_book.get(alert_id)
        if alert is None:
            raise NotFound("alert", alert_id)
        moved = replace(alert, status=status, updated_by=by, updated_at=at, note=note, case_id=case_id or alert.case_id)
        self.alert_book[alert_id] = moved
        return moved

    def resolve_alerts(self, triggers: Sequence[str], by: str, at: float, note: str) -> list[Alert]:
        self._call("resolve_alerts")
        hit = [a for a in self.alert_book.values() if a.trigger in triggers and a.status != "resolved"]
        return [self.set_alert_status(a.alert_id, "resolved", by, at, note) for a in hit]

    def open_case(self, case: Case, audit: AuditEntry) -> None:
        self._call("open_case")
        if case.case_id in self.case_book:
            raise Conflict(f"case {case.case_id!r} exists")
        self.case_book[case.case_id] = case
        self.append_audit(audit.at, audit.actor, audit.action, audit.subject, audit.detail)

    def add_case_step(self, case: Case, audit: AuditEntry) -> None:
        self._call("add_case_step")
        stored = self.case_book.get(case.case_id)
        if stored is None or stored.version != case.version - 1:
            raise Conflict(f"case {case.case_id!r} changed meanwhile")
        self.case_book[case.case_id] = case
        self.append_audit(audit.at, audit.actor, audit.action, audit.subject, audit.detail)

    def case(self, case_id: str) -> Case | None:
        self._call("case")
        return self.case_book.get(case_id)

    def cases(
        self,
        status: str | None = None,
        layer: str | None = None,
        owner: str | None = None,
        subject: str | None = None,
        limit: int = 100,
    ) -> list[Case]:
        self._call("cases")
        found = [
            replace(c, steps=())
            for c in self.case_book.values()
            if (status is None or c.status == status)
            and (layer is None or c.layer == layer)
            and (subject is None or c.subject == subject)
            and (owner is None or c.owner == (owner or None))
        ]
        return sorted(found, key=lambda c: (-c.updated_at, c.case_id))[:limit]

    def append_audit(self, at: float, actor: str, action: str, subject: str, detail: dict[str, Any]) -> int:
        self._call("append_audit")
        seq = next(self._seq)
        self.audit_log.append(AuditEvent(seq, at, actor, action, subject, detail))
        return seq

    def audit(self, subject: str | None = None, limit: int = 100) -> list[AuditEvent]:
        self._call("audit")
        return [e for e in reversed(self.audit_log) if subject is None or e.subject == subject][:limit]

    def enqueue(self, kind: str, subject: str, at: float) -> None:
        self.work_log.append(WorkItem(next(self._work_seq), kind, subject, at))

    def claim(self, worker: str, now: float, lease: float, limit: int) -> list[WorkItem]:
        self._call("claim")
        free = [w for w in self.work_log if self.work_holders.get(w.seq, ("", 0.0))[1] < now][:limit]
        for w in free:
            self.work_holders[w.seq] = (worker, now + lease)
        return free

    def finish(self, worker: str, seqs: list[int]) -> None:
        done = {s for s in seqs if self.work_holders.get(s, ("", 0.0))[0] == worker}
        self.work_log = [w for w in self.work_log if w.seq not in done]

    def pending_work(self) -> int:
        return len(self.work_log)

    def acquire_lock(self, name: str, holder: str, now: float, lease: float) -> bool:
        current = self.lock_book.get(name)
        if current is not None and current[0] != holder and current[1] >= now:
            return False
        self.lock_book[name] = (holder, now + lease)
        return True

    def release_lock(self, name: str, holder: str) -> None:
        if self.lock_book.get(name, ("", 0.0))[0] == holder:
            del self.lock_book[name]

    def audit_after(self, after: int, upto: int, limit: int) -> list[AuditEvent]:
        self._call("audit_after")
        return [e for e in self.audit_log if after < e.seq <= upto][:limit]

    def audit_settled(self) -> int:
        return max((e.seq for e in self.audit_log), default=0)

    def audit_seals(self) -> list[AuditSeal]:
        return list(self.seal_log)

    def add_audit_seal(self, seal: AuditSeal) -> None:
        if any(s.n == seal.n for s in self.seal_log):
            raise Conflict(f"audit seal {seal.n} exists")
        self.seal_log.append(seal)

    def audit_by_action(self, action: str, limit: int = 100) -> list[AuditEvent]:
        self._call("audit_by_action")
        return [e for e in reversed(self.audit_log) if e.action == action][:limit]

    def setting(self, name: str) -> str | None:
        return self.settings.get(name)

    def put_setting(self, name: str, value: str) -> None:
        self.settings[name] = value

    # -- outcomes ----------------------------------------------------------------------
    def record_outcome(self, outcome: Outcome) -> None:
        self.__dict__.setdefault("outcome_log", []).append(outcome)

    def outcomes(self, known_by: float | None = None, application_id: str | None = None) -> list[Outcome]:
        found = [
            o
            for o in self.__dict__.get("outcome_log", [])
            if (known_by is None or o.known_at <= known_by) and application_id in (None, o.application_id)
        ]
        return sorted(found, key=lambda o: (o.known_at, o.application_id, o.recorded_at))

    # -- batch -------------------------------------------------------------------------
    def links(self) -> Iterator[tuple[str, str, float, float]]:
        spans: dict[tuple[str, str], list[float]] = {}
        for a in self.apps.values():
            for i in a.identifiers:
                span = spans.setdefault((a.applicant_key, i.node_id), [a.ts, a.ts])
                span[0], span[1] = min(span[0], a.ts), max(span[1], a.ts)
        yield from ((k, n, s[0], s[1]) for (k, n), s in sorted(spans.items()))

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

    def write_rings(self, run_id: str, at: float, rings: Sequence[RingRecord]) -> None:
        self.ring_book = list(rings)

    def rings(self) -> list[RingRecord]:
        return list(self.ring_book)

    def ring_of(self, applicant_key: str) -> RingRecord | None:
        return next((r for r in self.ring_book if applicant_key in r.members), None)

    # -- lifecycle -----------------------------------------------------------------------
    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None
