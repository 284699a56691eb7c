"""Whole-graph algorithms run in process over a store's links (the embedded
store's batch work; Neo4j runs the same in GDS). Each takes the
``(applicant, identifier, first_ts, last_ts)`` links and the rules of
:class:`graph.store.batch.GraphBatch`, and answers what its method promises.

>>> links = [("a", "device:1", 0.0, 0.0), ("b", "device:1", 0.0, 0.0), ("c", "phone:9", 0.0, 0.0)]
>>> [c.members for c in linked_components(links, ["device", "phone"], 30, 2)]
[('a', 'b')]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from graph.store.records import LinkedComponent, LookAlike, components_of, ranked_look_alikes
from graph.vocabulary import node_kind

Link = tuple[str, str, float, float]


def _users(links: Iterable[Link], kinds: Sequence[str], exclude: Sequence[str]) -> dict[str, set[str]]:
    wanted = set(kinds)
    skip = set(exclude)
    by_ident: dict[str, set[str]] = {}
    for applicant, nid, _first, _last in links:
        if node_kind(nid) in wanted and nid not in skip:
            by_ident.setdefault(nid, set()).add(applicant)
    return by_ident


def linked_components(
    links: Iterable[Link],
    kinds: Sequence[str],
    max_identifier_applicants: int,
    min_size: int,
    exclude: Sequence[str] = (),
) -> list[LinkedComponent]:
    """Connected components (scipy) of the applicant-identifier graph of specific identifiers."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    linking = {
        n: sorted(a) for n, a in _users(links, kinds, exclude).items() if 2 <= len(a) <= max_identifier_applicants
    }
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
    links: Iterable[Link],
    kinds: Sequence[str],
    max_identifier_applicants: int,
    min_similarity: float,
    min_shared: int = 2,
    exclude: Sequence[str] = (),
) -> list[LookAlike]:
    """Jaccard pairs over specific identifiers, counted pair by pair."""
    degree: dict[str, int] = {}
    shared: dict[tuple[str, str], int] = {}
    for people in _users(links, kinds, exclude).values():
        if not 2 <= len(people) <= max_identifier_applicants:
            continue
        ordered = sorted(people)
        for i, a in enumerate(ordered):
            degree[a] = degree.get(a, 0) + 1
            for b in ordered[i + 1 :]:
                shared[(a, b)] = shared.get((a, b), 0) + 1
    pairs = (LookAlike.of(a, b, both, degree[a], degree[b]) for (a, b), both in shared.items() if both >= min_shared)
    return ranked_look_alikes(p for p in pairs if p.similarity >= min_similarity)


def split_communities(
    links: Iterable[Link], component: LinkedComponent, max_identifier_applicants: int, seed: int = 42
) -> list[LinkedComponent]:
    """Louvain (networkx) inside one component, weighted by shared specific identifiers."""
    import networkx as nx

    inside = set(component.members)
    idents = set(component.identifiers)
    users: dict[str, set[str]] = {}
    for applicant, nid, _first, _last in links:
        if applicant in inside and nid in idents:
            users.setdefault(nid, set()).add(applicant)
    graph = nx.Graph()
    graph.add_nodes_from(sorted(inside))
    for nid in sorted(users):
        people = sorted(users[nid])
        if len(people) > max_identifier_applicants:
            continue
        for i, a in enumerate(people):
            for b in people[i + 1 :]:
                w = graph.get_edge_data(a, b, {"weight": 0.0})["weight"]
                graph.add_edge(a, b, weight=w + 1.0)
    communities = nx.community.louvain_communities(graph, weight="weight", seed=seed)
    out = []
    for community in communities:
        own = tuple(sorted(n for n in users if len(users[n] & community) >= 2))
        out.append(LinkedComponent(tuple(sorted(community)), own))
    return sorted(out, key=lambda comp: comp.members[0])
