"""Investigation: the files investigators open (an application, an applicant, a node,
a network, a ring), the audit log they read, and lookups of
raw identifiers (audited: who looked whom up)."""

from __future__ import annotations

from dataclasses import dataclass

from api.service.base import DeskBase, applicant_key
from detectors.rings.online import current as current_ring
from graph.errors import NotFound
from graph.normalise import NormalisedApplication
from graph.store import AuditEvent, Decision, IdentifierUsage, Label, RingRecord, Subgraph
from graph.vocabulary import USAGE_WINDOW, applicant_node, node_kind


@dataclass(frozen=True)
class ApplicationFile:
    application: NormalisedApplication
    decisions: list[Decision]
    """Oldest first."""


@dataclass(frozen=True)
class ApplicantFile:
    applicant_key: str
    applications: list[ApplicationFile]
    """Oldest first."""
    label: Label | None
    ring_id: str | None


@dataclass(frozen=True)
class NodeFile:
    node_id: str
    display: str
    label: Label | None
    usage: IdentifierUsage | None = None
    """Identifiers only: their use within the usage window (None for applicants and applications)."""
    hub: bool = False

    @property
    def kind(self) -> str:
        return node_kind(self.node_id)


@dataclass(frozen=True)
class RingFile:
    ring: RingRecord
    display: dict[str, str]
    """Of the members' and identifiers' node ids."""
    labels: dict[str, Label]
    """Of the members' node ids."""


class Investigating(DeskBase):
    def application_file(self, application_id: str) -> ApplicationFile:
        app = self.store.application(application_id)
        if app is None:
            raise NotFound("application", application_id)
        return ApplicationFile(app, self.store.decisions(application_id))

    def applicant_file(self, applicant_id: str) -> ApplicantFile:
        key = applicant_key(applicant_id)
        apps = self.store.applicant_applications(key)
        if not apps:
            raise NotFound("applicant", applicant_id)
        ring = current_ring(self.store, key)
        return ApplicantFile(
            key,
            [ApplicationFile(a, self.store.decisions(a.application_id)) for a in apps],
            self.store.labels([applicant_node(key)]).get(applicant_node(key)),
            ring.ring_id if ring else None,
        )

    def network(self, node_id: str, depth: int, limit: int) -> Subgraph:
        """Nodes and edges within ``depth`` hops (hubs counted, never expanded)."""
        graph = self.store.neighbourhood(node_id, depth, limit)
        if not graph.nodes:
            raise NotFound("node", node_id)
        return graph

    def node_file(self, node_id: str) -> NodeFile:
        display = self.store.node_display([node_id]).get(node_id)
        if display is None:
            raise NotFound("node", node_id)
        label = self.store.labels([node_id]).get(node_id)
        if node_kind(node_id) in ("applicant", "application"):
            return NodeFile(node_id, display, label)
        usage = self.store.identifier_usage([node_id], self.now() + 1, USAGE_WINDOW, 0).get(node_id)
        hub = bool(usage and usage.applicants > self.scorer.config.params.hub_limit)
        return NodeFile(node_id, display, label, usage, hub)

    def lookup(self, kind: str, value: str, actor: str) -> NodeFile:
        """The node of a raw identifier or national id; audited whether found or not."""
        node = self.normaliser.node_for(kind, value)
        self.store.append_audit(self.now(), actor, "lookup", node, {"kind": kind})
        display = self.store.node_display([node]).get(node)
        if display is None:
            raise NotFound(kind, node)
        hub_limit = self.scorer.config.params.hub_limit
        usage = self.store.identifier_usage([node], self.now() + 1, USAGE_WINDOW, hub_limit).get(node)
        return NodeFile(node, display, self.store.labels([node]).get(node), usage)

    def labels_by(self, status: str | None = None) -> list[Label]:
        """Current labels, newest first; only those of ``status`` when given."""
        found = (lab for lab in self.store.labels().values() if status is None or lab.status == status)
        return sorted(found, key=lambda lab: -lab.at)

    def rings_by(self, min_score: float, limit: int) -> list[RingRecord]:
        """Rings of the latest run scoring at least ``min_score``, highest first."""
        found = sorted((r for r in self.store.rings() if r.score >= min_score), key=lambda r: (-r.score, r.ring_id))
        return found[:limit]

    def ring_file(self, ring_id: str) -> RingFile:
        ring = next((r for r in self.store.rings() if r.ring_id == ring_id), None)
        if ring is None:
            raise NotFound("ring", ring_id)
        members = [applicant_node(m) for m in ring.members]
        return RingFile(ring, self.store.node_display(members + list(ring.identifiers)), self.store.labels(members))

    def audit_log(self, subject: str | None, limit: int) -> list[AuditEvent]:
        return self.store.audit(subject, limit)

    def store_counts(self) -> dict[str, int]:
        """Nodes and records the store holds, by kind."""
        return self.store.stats()
