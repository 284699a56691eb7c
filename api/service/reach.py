"""What an identifier links: the applicants who used it, and how many confirmed-fraud
applicants each identifier around a node reaches within a few links.

A *link* is one shared identifier between two people: the applicants who used an
identifier are one link from it, the applicants sharing another identifier with those
are two links away, and so on. The walk follows the scorer's rules
(:mod:`detectors.bad_actor_proximity`): it never expands through a hub (an identifier
with more applicants than the scorer's ``hub_limit``) nor through a node whose label
blocks a walk (:data:`graph.vocabulary.BLOCKING_STATUSES`), so a hub or a cleared
identifier linked to the root reaches nobody. The root applicant is not part of the
walk: each identifier is credited only with what it links the root to.

Built from the reader seam's batched point reads (``identifier_usage``,
``applicant_identifiers``, ``labels``): one round of reads per link, shared by every
identifier of the root, and bounded by :data:`REACH_BUDGET`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from api.service.base import DeskBase
from graph.errors import InvalidInput, NotFound
from graph.store import IdentifierUsage, IdentifierUser, Label
from graph.vocabulary import BLOCKING_STATUSES, CONFIRMED_FRAUD, applicant_node, node_key, node_kind

MAX_REACH_HOPS = 3
REACH_BUDGET = 2000
"""Applicants a reach view expands at most (reads their identifiers). A walk that would
expand more stops before that link and says so (``truncated``)."""
MAX_APPLICANTS = 1000
"""Most applicants of one identifier listed at once."""
_NOT_IDENTIFIERS = ("applicant", "application")


@dataclass(frozen=True)
class IdentifierReach:
    """One identifier linked to the root: its users and the confirmed fraud it reaches."""

    node_id: str
    display: str
    applicants: int
    confirmed_fraud: int
    nearest: int | None
    """Links to the nearest confirmed-fraud applicant (1: one of its own users); None if none."""
    hub: bool

    @property
    def kind(self) -> str:
        return node_kind(self.node_id)


@dataclass(frozen=True)
class Reach:
    root: str
    hops: int
    identifiers: list[IdentifierReach]
    """Most confirmed fraud first, then the nearest, then by node id."""
    truncated: bool = False
    """The walk stopped short of ``hops`` links at :data:`REACH_BUDGET`."""


@dataclass
class _Walk:
    """The walk from one identifier linked to the root."""

    seen_people: set[str]
    seen_idents: set[str]
    frontier: list[str] = field(default_factory=list)
    fraud: dict[str, int] = field(default_factory=dict)
    """Confirmed-fraud applicant keys reached, with their distance in links."""


class Reaching(DeskBase):
    def identifier_users(self, node_id: str, limit: int) -> list[tuple[IdentifierUser, Label | None]]:
        """The applicants who used an identifier, most recent use first, each with its label."""
        if node_kind(node_id) in _NOT_IDENTIFIERS:
            raise InvalidInput("node_id", "not an identifier: open an applicant's or application's file instead")
        if not 1 <= limit <= MAX_APPLICANTS:
            raise InvalidInput("limit", f"between 1 and {MAX_APPLICANTS}")
        if node_id not in self.store.node_display([node_id]):
            raise NotFound("node", node_id)
        users = self.store.identifier_applicants(node_id, limit)
        labels = self.store.labels([applicant_node(u.applicant_key) for u in users])
        return [(u, labels.get(applicant_node(u.applicant_key))) for u in users]

    def reach(self, node_id: str, hops: int) -> Reach:
        """For each identifier linked to ``node_id`` (an applicant's own, or the identifier
        itself), how many distinct confirmed-fraud applicants it reaches within ``hops``
        links (see the module docstring)."""
        if not 1 <= hops <= MAX_REACH_HOPS:
            raise InvalidInput("hops", f"between 1 and {MAX_REACH_HOPS}")
        kind = node_kind(node_id)
        if kind == "application":
            raise InvalidInput("node_id", "an application has no reach of its own: ask about its applicant")
        if node_id not in self.store.node_display([node_id]):
            raise NotFound("node", node_id)
        as_of = self.now() + 1
        hub_limit = self.scorer.config.params.hub_limit
        me: str | None = None
        roots: tuple[str, ...] = (node_id,)
        if kind == "applicant":
            me = node_key(node_id)
            roots = self.store.applicant_identifiers([me], as_of).get(me, ())
        return _Walker(self, as_of, hub_limit, me).walk(node_id, roots, hops)


class _Walker:
    """One reach view's walks, with the reads they share cached."""

    def __init__(self, desk: DeskBase, as_of: float, hub_limit: int, me: str | None) -> None:
        self.store = desk.store
        self.as_of = as_of
        self.hub_limit = hub_limit
        self.me = me
        self.usage: dict[str, IdentifierUsage | None] = {}
        self.used: dict[str, tuple[str, ...]] = {}
        self.labels: dict[str, Label | None] = {}

    def _read_usage(self, node_ids: set[str]) -> None:
        wanted = sorted(n for n in node_ids if n not in self.usage)
        if wanted:
            found = self.store.identifier_usage(wanted, self.as_of, 0.0, self.hub_limit)
            self.usage.update((n, found.get(n)) for n in wanted)

    def _read_labels(self, node_ids: set[str]) -> None:
        wanted = sorted(n for n in node_ids if n not in self.labels)
        if wanted:
            found = self.store.labels(wanted)
            self.labels.update((n, found.get(n)) for n in wanted)

    def _blocked(self, node_id: str) -> bool:
        label = self.labels.get(node_id)
        return label is not None and label.status in BLOCKING_STATUSES

    def _open(self, ident: str) -> bool:
        """Whether the walk goes on through an identifier: used, not a hub, not blocked."""
        use = self.usage.get(ident)
        return use is not None and use.applicants <= self.hub_limit and not self._blocked(ident)

    def _arrive(self, walk: _Walk, idents: list[str], links: int) -> None:
        """Step from ``idents`` to their users not seen yet: the walk's next frontier."""
        reached: list[str] = []
        for ident in idents:
            if not self._open(ident):
                continue
            use = self.usage[ident]
            assert use is not None
            for person in use.members:
                if person != self.me and person not in walk.seen_people:
                    walk.seen_people.add(person)
                    reached.append(person)
        self._read_labels({applicant_node(p) for p in reached})
        for person in reached:
            label = self.labels.get(applicant_node(person))
            if label is not None and label.status == CONFIRMED_FRAUD:
                walk.fraud[person] = links
        walk.frontier = sorted(p for p in reached if not self._blocked(applicant_node(p)))

    def walk(self, root: str, roots: tuple[str, ...], hops: int) -> Reach:
        self._read_usage(set(roots))
        self._read_labels(set(roots))
        walks = {r: _Walk(set(), {r}) for r in roots}
        for r, walk in walks.items():
            self._arrive(walk, [r], 1)
        truncated = False
        for links in range(2, hops + 1):
            people = {p for w in walks.values() for p in w.frontier}
            expanded = len(self.used) + len(people.difference(self.used))
            if expanded > REACH_BUDGET:
                truncated = True
                break
            wanted = sorted(people.difference(self.used))
            if wanted:
                found = self.store.applicant_identifiers(wanted, self.as_of)
                self.used.update((p, found.get(p, ())) for p in wanted)
            steps: dict[str, list[str]] = {}
            for r, walk in walks.items():
                fresh = sorted({i for p in walk.frontier for i in self.used[p]}.difference(walk.seen_idents))
                walk.seen_idents.update(fresh)
                steps[r] = fresh
            new_idents = {i for fresh in steps.values() for i in fresh}
            self._read_usage(new_idents)
            self._read_labels(new_idents)
            for r, walk in walks.items():
                self._arrive(walk, steps[r], links)
            if not any(w.frontier for w in walks.values()):
                break
        views = []
        for r, walk in walks.items():
            use = self.usage.get(r)
            views.append(
                IdentifierReach(
                    node_id=r,
                    display=use.display if use else "",
                    applicants=use.applicants if use else 0,
                    confirmed_fraud=len(walk.fraud),
                    nearest=min(walk.fraud.values(), default=None),
                    hub=use is not None and use.applicants > self.hub_limit,
                )
            )
        views.sort(key=lambda v: (-v.confirmed_fraud, v.nearest if v.nearest is not None else hops + 1, v.node_id))
        return Reach(root, hops, views, truncated)
