"""The store contract: what detectors, the API and batch runs need from a graph.

Two backends implement it: :class:`graph.embedded.EmbeddedStore` (SQLite on
disk plus an in-memory index; ``sqlite:///path`` or ``memory://``) and
:class:`graph.neo4j_store.Neo4jStore` (``neo4j://``, ``bolt://``,
``neo4j+s://``). Each read method is one or two parameterised Cypher queries
on Neo4j. Both must give the same answers on the same data; the parity tests
hold them to it.

Times are epoch seconds (UTC). Reads that take ``as_of`` see only
applications submitted strictly before it, so an application can be scored
with exactly what came before it (no look-ahead).

Node ids are ``kind:key`` strings: ``applicant:<hash>``,
``application:<application id>``, ``device:<hash>``, ``phone:<hash>`` ...
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from graph.errors import InvalidInput
from graph.normalise import NormalisedApplication, Normaliser

LabelStatus = Literal["confirmed_fraud", "cleared", "allow_listed"]
LABEL_STATUSES: tuple[str, ...] = ("confirmed_fraud", "cleared", "allow_listed")


@dataclass(frozen=True, slots=True)
class Label:
    """The current investigator label of a node, with who, when and why."""

    node_id: str
    status: str
    by: str
    at: float
    reason: str


@dataclass(frozen=True, slots=True)
class IdentifierUsage:
    """How one identifier was used before ``as_of``.

    ``recent`` holds ``(ts, applicant_key)`` of applications within the
    requested window, sorted by (ts, applicant_key). ``members`` lists the distinct applicants
    when there are at most ``expand_limit`` of them and is empty otherwise: a
    hub is counted, never expanded.
    """

    node_id: str
    applicants: int
    applications: int
    first_ts: float
    last_ts: float
    recent: tuple[tuple[float, str], ...]
    members: tuple[str, ...]
    display: str = ""


@dataclass(frozen=True, slots=True)
class GraphNode:
    id: str
    kind: str
    label: str
    props: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GraphEdge:
    source: str
    target: str
    type: str
    ts: float | None = None


@dataclass(slots=True)
class Subgraph:
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class LinkedComponent:
    """Applicants connected through specific identifiers, with those identifiers."""

    members: tuple[str, ...]
    identifiers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LookAlike:
    """Two applicants whose specific identifiers largely coincide (Jaccard similarity
    of their identifier sets): one person under two identities, or two people
    sharing one kit. ``first`` < ``second``; the counts are each one's degree."""

    first: str
    second: str
    similarity: float
    shared: int
    first_identifiers: int
    second_identifiers: int

    @classmethod
    def of(cls, first: str, second: str, shared: int, first_identifiers: int, second_identifiers: int) -> LookAlike:
        """The pair with its Jaccard similarity computed from the counts (one formula,
        so every backend gives the same double)."""
        union = first_identifiers + second_identifiers - shared
        return cls(first, second, shared / union, shared, first_identifiers, second_identifiers)


def ranked_look_alikes(pairs: Iterable[LookAlike]) -> list[LookAlike]:
    """Most similar first, then by keys."""
    return sorted(pairs, key=lambda p: (-p.similarity, p.first, p.second))


def components_of(
    members: dict[int, list[str]], identifiers: dict[int, list[str]], min_size: int
) -> list[LinkedComponent]:
    """Components from their members and linking identifiers by component number: those
    of at least ``min_size`` members, each sorted, ordered by first member."""
    out = [
        LinkedComponent(tuple(sorted(m)), tuple(sorted(identifiers.get(c, ()))))
        for c, m in members.items()
        if len(m) >= min_size
    ]
    return sorted(out, key=lambda comp: comp.members[0])


@dataclass(frozen=True, slots=True)
class RingRecord:
    """One ring written by a batch run."""

    ring_id: str
    run_id: str
    members: tuple[str, ...]
    score: float
    features: dict[str, Any]
    identifiers: tuple[str, ...] = ()
    lineage: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    application_id: str
    at: float
    score: float
    band: str
    action: str
    reasons: list[dict[str, Any]]
    model_version: str
    trigger: str = "application"


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str
    applicant_key: str
    tier: str
    at: float
    trigger: str
    score: float
    previous_score: float | None
    status: str = "open"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    seq: int
    at: float
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


class GraphStore(ABC):
    """Abstract store. See the module docstring for the conventions."""

    url: str

    # -- writes -----------------------------------------------------------------
    @abstractmethod
    def upsert(self, applications: Sequence[NormalisedApplication]) -> int:
        """Store a batch idempotently; return how many were new.

        Re-sending an application id with the same applicant replaces nothing
        and creates no duplicate; the same id for a different applicant raises
        :class:`graph.errors.Conflict` and writes nothing of the batch.
        """

    # -- point reads ------------------------------------------------------------
    @abstractmethod
    def application(self, application_id: str) -> NormalisedApplication | None: ...

    @abstractmethod
    def applicant_applications(
        self, applicant_key: str, before: float | None = None
    ) -> list[NormalisedApplication]:
        """The applicant's applications (strictly before ``before``), oldest first."""

    def applicants_below(self, bound: str) -> list[str]:
        """Applicant keys that sort below ``bound``, sorted. Keys are uniform keyed hashes,
        so this is a deterministic sample of the population, the same on every backend."""
        return sorted({link[0] for link in self.links() if link[0] < bound})

    def applications_of(self, applicant_keys: Sequence[str]) -> dict[str, list[NormalisedApplication]]:
        """Every application of each applicant, oldest first (batch reads; one query on Neo4j).
        Applicants without applications are absent."""
        out: dict[str, list[NormalisedApplication]] = {}
        for key in applicant_keys:
            apps = self.applicant_applications(key)
            if apps:
                out[key] = apps
        return out

    @abstractmethod
    def applicant_identifiers(
        self, applicant_keys: Sequence[str], as_of: float
    ) -> dict[str, tuple[str, ...]]:
        """Identifier node ids each applicant used before ``as_of`` (sorted)."""

    @abstractmethod
    def identifier_usage(
        self, node_ids: Sequence[str], as_of: float, window: float, expand_limit: int
    ) -> dict[str, IdentifierUsage]:
        """Usage of each identifier before ``as_of``; unknown ids are absent."""

    @abstractmethod
    def applicants_exist(self, applicant_keys: Sequence[str]) -> set[str]: ...

    @abstractmethod
    def node_display(self, node_ids: Sequence[str]) -> dict[str, str]:
        """Masked display text of identifier and applicant nodes."""

    @abstractmethod
    def neighbourhood(self, node_id: str, depth: int, limit: int) -> Subgraph:
        """Nodes and edges within ``depth`` applicant-identifier hops of a node
        (applications are folded into the links)."""

    # -- labels -------------------------------------------------------------------
    @abstractmethod
    def set_label(self, label: Label) -> None: ...

    @abstractmethod
    def remove_label(self, node_id: str) -> None: ...

    @abstractmethod
    def labels(self, node_ids: Sequence[str] | None = None) -> dict[str, Label]:
        """Current labels, of the given nodes or of every labelled node."""

    # -- whole graph ----------------------------------------------------------------
    @abstractmethod
    def links(self) -> Iterator[tuple[str, str, float, float]]:
        """Every (applicant_key, identifier node id, first_ts, last_ts) link."""

    @abstractmethod
    def stats(self) -> dict[str, int]: ...

    def linked_components(
        self, kinds: Sequence[str], max_identifier_applicants: int, min_size: int, exclude: Sequence[str] = ()
    ) -> list[LinkedComponent]:
        """Connected components of applicants linked through *specific* identifiers.

        An identifier links applicants when it is of one of ``kinds``, is used by
        2..``max_identifier_applicants`` distinct applicants and is not in
        ``exclude`` (allow-listed or cleared). Components smaller than
        ``min_size`` are dropped. Members and identifiers are sorted; components
        are sorted by their first member. The default runs scipy in process;
        Neo4j overrides it with GDS WCC.
        """
        import numpy as np
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        wanted = set(kinds)
        skip = set(exclude)
        by_ident: dict[str, list[str]] = {}
        for applicant, nid, _first, _last in self.links():
            if nid.split(":", 1)[0] in wanted and nid not in skip:
                by_ident.setdefault(nid, []).append(applicant)
        linking = {n: a for n, a in by_ident.items() if 2 <= len(set(a)) <= max_identifier_applicants}
        applicants = sorted({a for members in linking.values() for a in members})
        idents = sorted(linking)
        a_index = {a: i for i, a in enumerate(applicants)}
        rows: list[int] = []
        cols: list[int] = []
        for j, nid in enumerate(idents):
            for a in linking[nid]:
                rows.append(a_index[a])
                cols.append(len(applicants) + j)
        size = len(applicants) + len(idents)
        if size == 0:
            return []
        matrix = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
        _, label = connected_components(matrix, directed=False)
        members: dict[int, list[str]] = {}
        shared: dict[int, list[str]] = {}
        for i, a in enumerate(applicants):
            members.setdefault(int(label[i]), []).append(a)
        for j, nid in enumerate(idents):
            shared.setdefault(int(label[len(applicants) + j]), []).append(nid)
        return components_of(members, shared, min_size)

    def look_alikes(
        self,
        kinds: Sequence[str],
        max_identifier_applicants: int,
        min_similarity: float,
        min_shared: int = 2,
        exclude: Sequence[str] = (),
    ) -> list[LookAlike]:
        """Pairs of applicants whose sets of *specific* identifiers (as for
        :meth:`linked_components`) have a Jaccard similarity of at least
        ``min_similarity`` and share at least ``min_shared`` identifiers; sorted by
        similarity (highest first), then keys. The default counts in process; Neo4j
        overrides it with GDS node similarity and degree."""
        wanted = set(kinds)
        skip = set(exclude)
        by_ident: dict[str, set[str]] = {}
        for applicant, nid, _first, _last in self.links():
            if nid.split(":", 1)[0] in wanted and nid not in skip:
                by_ident.setdefault(nid, set()).add(applicant)
        degree: dict[str, int] = {}
        shared: dict[tuple[str, str], int] = {}
        for people in by_ident.values():
            if not 2 <= len(people) <= max_identifier_applicants:
                continue
            ordered = sorted(people)
            for i, a in enumerate(ordered):
                degree[a] = degree.get(a, 0) + 1
                for b in ordered[i + 1 :]:
                    shared[(a, b)] = shared.get((a, b), 0) + 1
        pairs = (
            LookAlike.of(a, b, both, degree[a], degree[b]) for (a, b), both in shared.items() if both >= min_shared
        )
        return ranked_look_alikes(p for p in pairs if p.similarity >= min_similarity)

    def split_communities(
        self, component: LinkedComponent, max_identifier_applicants: int, seed: int = 42
    ) -> list[LinkedComponent]:
        """Louvain communities inside one (large) component, over the applicant
        projection weighted by how many specific identifiers two applicants share.
        The default runs networkx in process; Neo4j overrides it with GDS Louvain."""
        import networkx as nx

        inside = set(component.members)
        idents = set(component.identifiers)
        users: dict[str, list[str]] = {}
        for applicant, nid, _first, _last in self.links():
            if applicant in inside and nid in idents:
                users.setdefault(nid, []).append(applicant)
        graph = nx.Graph()
        graph.add_nodes_from(sorted(inside))
        for nid in sorted(users):
            people = sorted(set(users[nid]))
            if len(people) > max_identifier_applicants:
                continue
            for i, a in enumerate(people):
                for b in people[i + 1 :]:
                    w = graph.get_edge_data(a, b, {"weight": 0.0})["weight"]
                    graph.add_edge(a, b, weight=w + 1.0)
        communities = nx.community.louvain_communities(graph, weight="weight", seed=seed)
        out = []
        for community in communities:
            members = tuple(sorted(community))
            own = tuple(sorted(n for n in users if set(users[n]) & community and len(set(users[n]) & community) >= 2))
            out.append(LinkedComponent(members, own))
        return sorted(out, key=lambda comp: comp.members[0])

    # -- rings, decisions, alerts, audit -------------------------------------------------
    @abstractmethod
    def write_rings(self, run_id: str, at: float, rings: Sequence[RingRecord]) -> None:
        """Replace the current rings with this run's, atomically."""

    @abstractmethod
    def rings(self) -> list[RingRecord]: ...

    @abstractmethod
    def ring_of(self, applicant_key: str) -> RingRecord | None: ...

    @abstractmethod
    def record_decision(self, decision: Decision) -> None: ...

    @abstractmethod
    def decisions(self, application_id: str) -> list[Decision]: ...

    @abstractmethod
    def add_alert(self, alert: Alert) -> None: ...

    @abstractmethod
    def alerts(self, status: str | None = None, limit: int = 100) -> list[Alert]: ...

    @abstractmethod
    def set_alert_status(self, alert_id: str, status: str) -> None: ...

    @abstractmethod
    def append_audit(self, at: float, actor: str, action: str, subject: str, detail: dict[str, Any]) -> int:
        """Append one event to the append-only audit log; return its sequence number."""

    @abstractmethod
    def audit(self, subject: str | None = None, limit: int = 100) -> list[AuditEvent]: ...

    # -- store-wide settings --------------------------------------------------------------
    @abstractmethod
    def setting(self, name: str) -> str | None:
        """A store-wide setting, e.g. the fingerprint of the PII key its identifiers
        were hashed with (see :func:`graph.normalise.bind_pii_key`)."""

    @abstractmethod
    def put_setting(self, name: str, value: str) -> None: ...

    # -- lifecycle ----------------------------------------------------------------------
    @abstractmethod
    def ping(self) -> None:
        """Raise :class:`graph.errors.StoreUnavailable` if the store cannot answer."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


PII_KEY_SETTING = "pii_key_fingerprint"


def bind_pii_key(store: GraphStore, normaliser: Normaliser) -> None:
    """Record the PII key's fingerprint in a store that has none; refuse a store whose
    identifiers were hashed with another key (every lookup would miss them, and links
    to confirmed fraud would silently score as clean)."""
    stored = store.setting(PII_KEY_SETTING)
    mine = normaliser.key_fingerprint
    if stored is None:
        store.put_setting(PII_KEY_SETTING, mine)
    elif stored != mine:
        raise InvalidInput(
            "RINGSIGHT_PII_KEY",
            f"this store's identifiers were hashed with another PII key (fingerprint {stored}; this "
            f"process has {mine}): every identifier lookup would miss; use the key the store was built with",
        )


def open_store(url: str, **options: Any) -> GraphStore:
    """Open the backend a URL names.

    ``sqlite:///relative.db``, ``sqlite:////abs/path.db`` and ``memory://``
    give the embedded store; ``neo4j://``, ``neo4j+s://``, ``bolt://`` and
    ``bolt+s://`` give Neo4j.
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("sqlite", "memory"):
        from graph.embedded import EmbeddedStore

        return EmbeddedStore(url)
    if scheme in ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"):
        from graph.neo4j_store import Neo4jStore

        return Neo4jStore(url, **options)
    from graph.errors import InvalidInput

    raise InvalidInput("graph_url", f"unsupported store URL scheme {scheme or url!r}")
