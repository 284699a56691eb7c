"""Ring ids that survive small changes, and the lineage of splits and merges between runs."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from graph.store import RingRecord


def ring_id_of(member_key: str) -> str:
    """The id a brand-new ring takes from its smallest member key: ``RING-<8 hex>``."""
    return "RING-" + hashlib.sha256(member_key.encode()).hexdigest()[:8].upper()


def _significant(shared: int, of: int) -> bool:
    """Whether ``shared`` members of a ring of ``of`` make up a real part of it."""
    return shared >= 2 and shared * 4 >= of


def assign_ids(
    groups: Sequence[Sequence[str]], previous: Sequence[RingRecord], run_id: str, keep_overlap: float = 0.5
) -> list[tuple[str, dict[str, Any]]]:
    """Ring id and lineage for each new member group, matched to the previous run.

    A group inherits the id of the previous ring it overlaps best (Jaccard,
    then shared members, then the older ring, then id), when they share at least ``keep_overlap``
    of the smaller of the two; each id goes to one group at most. Other groups
    take :func:`ring_id_of` their smallest member whose id is free. Lineage:
    ``event`` is ``new``, ``same``, ``grown``, ``shrunk``, ``changed`` (members
    both joined and left), ``split`` (a previous ring's members are now spread
    over several rings) or ``merged`` (this ring holds real parts of several
    previous rings); ``previous`` lists the previous ring ids involved;
    ``first_run`` is the run in which the ring (id) first appeared.

    >>> assign_ids([("a", "b", "c")], [], "run-1")[0][1]["event"]
    'new'
    """
    sets = [frozenset(g) for g in groups]
    prev_sets = {r.ring_id: frozenset(r.members) for r in previous}
    prev_by_id = {r.ring_id: r for r in previous}
    owner: dict[str, list[str]] = {}
    for r in previous:
        for m in r.members:
            owner.setdefault(m, []).append(r.ring_id)

    overlaps: list[dict[str, int]] = []
    for members in sets:
        counts: dict[str, int] = {}
        for m in members:
            for rid in owner.get(m, ()):
                counts[rid] = counts.get(rid, 0) + 1
        overlaps.append(counts)

    holders: dict[str, list[tuple[int, int]]] = {}
    for i, counts in enumerate(overlaps):
        for rid, shared in counts.items():
            holders.setdefault(rid, []).append((i, shared))

    def first_run(rid: str) -> str:
        return str(prev_by_id[rid].lineage.get("first_run", prev_by_id[rid].run_id))

    options: list[tuple[float, int, str, str, int]] = []
    for i, counts in enumerate(overlaps):
        for rid, shared in counts.items():
            other = prev_sets[rid]
            if shared >= keep_overlap * min(len(sets[i]), len(other)):
                jaccard = shared / len(sets[i] | other)
                options.append((-jaccard, -shared, first_run(rid), rid, i))
    options.sort(key=lambda o: (*o[:4], min(sets[o[4]])))
    inherited: dict[int, str] = {}
    taken: set[str] = set()
    for *_, rid, i in options:
        if i not in inherited and rid not in taken:
            inherited[i] = rid
            taken.add(rid)

    used = set(prev_sets) | taken
    out: list[tuple[str, dict[str, Any]]] = []
    for i, members in enumerate(sets):
        counts = overlaps[i]
        related = sorted(rid for rid, shared in counts.items() if _significant(shared, len(prev_sets[rid])))
        if i in inherited:
            rid = inherited[i]
            before = prev_sets[rid]
            spread = any(j != i and _significant(shared, len(before)) for j, shared in holders.get(rid, ()))
            merged_from = sorted(set(related) | {rid})
            if len(merged_from) > 1:
                event, prev_ids = "merged", merged_from
            elif spread:
                event, prev_ids = "split", [rid]
            elif members == before:
                event, prev_ids = "same", [rid]
            elif members > before:
                event, prev_ids = "grown", [rid]
            elif members < before:
                event, prev_ids = "shrunk", [rid]
            else:
                event, prev_ids = "changed", [rid]
            out.append((rid, {"event": event, "previous": prev_ids, "first_run": first_run(rid)}))
            continue
        rid = ""
        for key in sorted(members):
            candidate = ring_id_of(key)
            if candidate not in used:
                rid = candidate
                break
        if not rid:  # every member's id is taken: extend the smallest one's hash deterministically
            n = 1
            while not rid or rid in used:
                rid = ring_id_of(f"{min(members)}#{n}")
                n += 1
        used.add(rid)
        event = "split" if related else "new"
        out.append((rid, {"event": event, "previous": related, "first_run": run_id}))
    return out
