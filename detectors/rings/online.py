"""Online ring assignment: a stored application joins a known ring at once, or forms a
provisional one, and the next batch run reconciles.

Between batch runs (:mod:`detectors.rings.run`) the scoring flow calls :func:`assign`
for every application it stores:

- it takes the usage of the application's *specific* identifiers (the ring kinds of
  :class:`~detectors.rings.params.RingParams` that the scorer treats as linking people,
  hubs and allow-listed or cleared identifiers left out) from the application's scoring
  snapshot, and reads the current ring of each applicant they link to in one membership
  read by key (``store.ring_memberships``);
- when any of those applicants is in a ring (a batch ring or one joined online), the
  applicant joins the ring most of them are in (ties: the smaller ring id), recorded with
  ``store.join_ring``;
- otherwise, when it and at least ``min_members - 1`` others used those identifiers
  within ``window`` seconds, none of them in a ring, the group takes a *provisional* ring
  id (``PROV-<8 hex>`` of its smallest member key) and every member joins it.

The next batch run (:func:`reconcile`) is authoritative: a reported ring that overlaps a
provisional group (at least ``keep_id_overlap`` of the smaller of the two) takes its
proper ``RING-...`` id with ``lineage["from_provisional"]``; a member who joined a known
ring keeps that ring's id because the run finds the ring grown (ids survive growth,
:func:`~detectors.rings.lineage.assign_ids`); every join the run read is settled.

>>> provisional_id(["b1", "a2", "c3"]) == "PROV-" + ring_id_of("a2")[5:]
True
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from detectors.rings.lineage import ring_id_of
from detectors.rings.params import RingParams
from detectors.signals import DetectorParams
from graph.normalise import NormalisedApplication
from graph.store import GraphStore, IdentifierUsage, Label, RingRecord, ScoringSnapshot
from graph.store.online_rings import OnlineRings, RingJoin, RingMembership
from graph.vocabulary import DAY, USAGE_WINDOW

PROVISIONAL = "PROV-"
WINDOW = 7 * DAY
"""Seconds within which a group's uses of shared identifiers must fall to form a provisional ring."""


@dataclass(frozen=True)
class OnlineRing:
    """The ring an application's applicant is in after it was stored.

    ``joined``: the membership comes from an online join (no batch run has placed the
    applicant yet); ``provisional``: the ring itself is provisional; ``via``: the
    identifiers (node ids) that linked the applicant, empty for a batch member."""

    ring_id: str
    joined: bool
    provisional: bool
    lineage: dict[str, Any] = field(default_factory=dict)
    via: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "ring_id": self.ring_id,
            "joined": self.joined,
            "provisional": self.provisional,
            "lineage": self.lineage,
        }


def provisional_id(members: Sequence[str]) -> str:
    """The id of a provisional ring: ``PROV-`` and the hash of its smallest member key."""
    return PROVISIONAL + ring_id_of(min(members))[len("RING-") :]


def _of(m: RingMembership, via: Sequence[str] = ()) -> OnlineRing:
    return OnlineRing(m.ring_id, m.joined, m.provisional, dict(m.lineage), tuple(via))


def current(store: GraphStore, applicant_key: str) -> OnlineRing | None:
    """The applicant's ring now: its active batch ring, else its online join."""
    if isinstance(store, OnlineRings):
        m = store.ring_memberships([applicant_key]).get(applicant_key)
        return _of(m) if m else None
    ring = store.ring_of(applicant_key)
    return OnlineRing(ring.ring_id, False, False, dict(ring.lineage)) if ring else None


@dataclass(frozen=True)
class Links:
    """Whom a stored application links to over specific identifiers.

    ``linking``: its ring-kind identifiers that link people (allow-listed and cleared ones
    left out); ``via_of``: each other applicant of those (hubs left out) with the
    identifiers that link it; ``recent``: those of them who used one within the window."""

    linking: list[str]
    via_of: dict[str, set[str]]
    recent: set[str]


def _specific(app: NormalisedApplication, detector: DetectorParams, params: RingParams) -> list[str]:
    return sorted({i.node_id for i in app.identifiers if i.kind in params.kinds and detector.links_people(i.kind)})


def _unlabelled(node_ids: list[str], labels: Mapping[str, Label]) -> list[str]:
    return [n for n in node_ids if not (n in labels and labels[n].status in ("allow_listed", "cleared"))]


def links_read(
    store: GraphStore, app: NormalisedApplication, detector: DetectorParams, params: RingParams, window: float
) -> Links:
    """:class:`Links` read from the store after the application was written (two reads)."""
    linking = _specific(app, detector, params)
    linking = _unlabelled(linking, store.labels(linking) if linking else {})
    usage = store.identifier_usage(linking, app.ts + 1.0, window, detector.hub_limit) if linking else {}
    return _links(app, linking, usage, detector.hub_limit, window)


def links_of_snapshot(
    snapshot: ScoringSnapshot, app: NormalisedApplication, detector: DetectorParams, params: RingParams, window: float
) -> Links:
    """The same :class:`Links` from the scoring snapshot of the application (read before it
    was written, as of its submission): no read at all. The snapshot's labels are current
    and its usage holds every earlier use of the application's identifiers."""
    linking = _unlabelled(_specific(app, detector, params), snapshot.labels)
    return _links(app, linking, snapshot.usage, detector.hub_limit, window)


def _links(
    app: NormalisedApplication, linking: list[str], usage: Mapping[str, IdentifierUsage], hub_limit: int, window: float
) -> Links:
    """Whom ``linking`` links the application's applicant to, over ``usage`` read before or
    after the application was written: the application is counted in either way (a read
    after the write already lists its applicant among a non-hub's members), and a use is
    recent within the ``window`` that ends just after the application."""
    key = app.applicant_key
    since = app.ts + 1.0 - window
    via_of: dict[str, set[str]] = {}
    recent: set[str] = set()
    for nid in linking:
        use = usage.get(nid)
        if use is None or use.applicants + (key not in use.members) > hub_limit:
            continue  # unused before, or a hub once this application is counted in
        for other in use.members:
            if other != key:
                via_of.setdefault(other, set()).add(nid)
        recent.update(k for ts, k in use.recent if ts >= since and k != key)
    return Links(linking, via_of, recent)


def assign(
    store: GraphStore,
    app: NormalisedApplication,
    detector: DetectorParams,
    at: float,
    params: RingParams | None = None,
    window: float = WINDOW,
    snapshot: ScoringSnapshot | None = None,
) -> OnlineRing | None:
    """Join the stored application's applicant to a ring, or form a provisional one (see
    the module docstring); ``None`` when it links to no ring and forms none. ``snapshot``:
    the application's scoring snapshot, so whom it links to is not read again (one read,
    the memberships, is left; an application stored meanwhile by another request is seen
    by the next batch run)."""
    if not isinstance(store, OnlineRings):
        return None
    params = params or RingParams()
    key = app.applicant_key
    links = (
        links_read(store, app, detector, params, window)
        if snapshot is None or window > USAGE_WINDOW  # the snapshot's recent uses span USAGE_WINDOW
        else links_of_snapshot(snapshot, app, detector, params, window)
    )
    via_of = links.via_of
    found = store.ring_memberships([key, *via_of])
    own = found.get(key)
    if own is not None:
        return _of(own)
    rings = Counter(found[k].ring_id for k in via_of if k in found)
    if rings:
        ring_id = min(rings, key=lambda rid: (-rings[rid], rid))
        member = next(found[k] for k in sorted(via_of) if k in found and found[k].ring_id == ring_id)
        via = sorted({n for k in via_of if k in found and found[k].ring_id == ring_id for n in via_of[k]})
        join = store.join_ring(ring_id, key, via, at, provisional=member.provisional, lineage=member.lineage)
        return _joined(join)
    group = sorted((links.recent & set(via_of)) | {key})
    if len(group) < params.min_members:
        return None
    ring_id = provisional_id(group)
    lineage = {"event": "provisional", "members_at_forming": len(group)}
    mine = None
    for member_key in group:
        via = sorted(via_of.get(member_key, set())) if member_key != key else links.linking
        join = store.join_ring(ring_id, member_key, via, at, provisional=True, lineage=lineage)
        if member_key == key:
            mine = join
    return _joined(mine) if mine is not None else None


def _joined(join: RingJoin) -> OnlineRing:
    return OnlineRing(join.ring_id, True, join.provisional, dict(join.lineage), join.via)


def pending(store: GraphStore) -> list[RingJoin]:
    """The joins a batch run reconciles (none for a store without the seam)."""
    return store.ring_joins() if isinstance(store, OnlineRings) else []


def reconcile(
    records: Sequence[RingRecord], joins: Sequence[RingJoin], run_id: str, keep_overlap: float
) -> list[RingRecord]:
    """The run's rings, those new in this run that overlap a provisional group (at least
    ``keep_overlap`` of the smaller of the two, the best overlap first) with
    ``lineage["from_provisional"]`` naming it; each provisional id goes to one ring."""
    groups: dict[str, set[str]] = {}
    for j in joins:
        if j.provisional:
            groups.setdefault(j.ring_id, set()).add(j.applicant_key)
    if not groups:
        return list(records)
    options: list[tuple[int, str, int]] = []
    for i, r in enumerate(records):
        if r.lineage.get("first_run") != run_id:
            continue
        members = set(r.members)
        for pid, group in groups.items():
            shared = len(members & group)
            if shared and shared >= keep_overlap * min(len(members), len(group)):
                options.append((-shared, pid, i))
    out = list(records)
    taken: set[str] = set()
    for _, pid, i in sorted(options):
        if pid in taken or "from_provisional" in out[i].lineage:
            continue
        taken.add(pid)
        out[i] = replace(out[i], lineage={**out[i].lineage, "from_provisional": pid})
    return out


def settle(store: GraphStore, joins: Sequence[RingJoin]) -> int:
    """Remove the joins a run has decided on."""
    return store.settle_ring_joins(joins) if isinstance(store, OnlineRings) and joins else 0
