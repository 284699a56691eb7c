"""Whole-graph work for ring runs, vectorised over the compacted index arrays (scipy for
components and co-occurrence counts). Each function answers exactly what the
in-process version over ``links()`` (:mod:`graph.store.in_process`) answers, which is
what the contract tests hold both backends to.

>>> from graph.store.embedded.keys import KeyTable
>>> people, idents = KeyTable(), KeyTable()
>>> _ = people.add_many([0, 0, 0], ["a", "b", "c"], ["", "", ""])
>>> _ = idents.add_many([0, 1], ["d1", "p9"], ["", ""])
>>> index = GraphIndex(people, idents)
>>> index.append([1.0, 2.0, 3.0], [0, 1, 2], [[0], [0], [1]])
>>> [c.members for c in linked_components(index, ["device", "phone"], 30, 2, [])]
[('a', 'b')]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from graph.store.embedded.index import GraphIndex
from graph.store.records import LinkedComponent, LookAlike, ranked_look_alikes
from graph.vocabulary import IDENTIFIER_KINDS, KIND_CODE

Link = tuple[str, str, float, float]
_NAMES_AT_ONCE = 200_000


def node_ids(index: GraphIndex, idents: np.ndarray) -> list[str]:
    """``kind:key`` of many identifier ids."""
    kinds = index.identifiers.kinds[idents].tolist()
    keys = index.identifiers.keys_of(idents)
    return [f"{IDENTIFIER_KINDS[k]}:{key}" for k, key in zip(kinds, keys, strict=True)]


def links(index: GraphIndex) -> Iterator[Link]:
    """Every (applicant key, identifier node id, first use, last use), grouped by applicant
    in the order applicants were first stored, each applicant's identifiers in the order of
    their first use in its stored applications."""
    index.compact()
    f = index.frozen
    if not f.u:
        return
    use_app = np.repeat(np.arange(f.n, dtype=np.int32), np.diff(f.app_ptr))
    who = f.app_applicant[use_app].astype(np.int64)
    ts = f.app_ts[use_app]
    del use_app
    pair = who * max(f.m, 1) + f.app_ident
    order = np.argsort(pair, kind="stable")
    sorted_pair = pair[order]
    del pair
    starts = np.flatnonzero(np.r_[True, sorted_pair[1:] != sorted_pair[:-1]])
    del sorted_pair
    ordered_ts = ts[order]
    first_ts = np.minimum.reduceat(ordered_ts, starts)
    last_ts = np.maximum.reduceat(ordered_ts, starts)
    first_use = order[starts]
    del order, ordered_ts, ts
    applicant = who[first_use]
    listing = np.lexsort((first_use, applicant))
    applicant, ident = applicant[listing], f.app_ident[first_use[listing]]
    first_ts, last_ts = first_ts[listing], last_ts[listing]
    for start in range(0, len(listing), _NAMES_AT_ONCE):
        part = slice(start, start + _NAMES_AT_ONCE)
        yield from zip(
            index.applicants.keys_of(applicant[part]),
            node_ids(index, ident[part]),
            first_ts[part].tolist(),
            last_ts[part].tolist(),
            strict=True,
        )


def _linking(
    index: GraphIndex, kinds: Sequence[str], max_identifier_applicants: int, exclude: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(applicant, identifier) pairs, once each, of the identifiers that link applicants: of
    one of ``kinds``, used by 2..max distinct applicants, not excluded."""
    index.compact()
    f = index.frozen
    wanted = np.zeros(256, bool)
    wanted[[KIND_CODE[k] for k in kinds if k in KIND_CODE]] = True
    applicants = np.diff(f.iu_cum[f.iu_ptr])
    linking = wanted[index.identifiers.kinds[: f.m]] & (applicants >= 2) & (applicants <= max_identifier_applicants)
    for nid in exclude:
        kind, _, key = nid.partition(":")
        if kind in KIND_CODE:
            i = index.identifiers.find(KIND_CODE[kind], key)
            if 0 <= i < f.m:
                linking[i] = False
    firsts = np.diff(f.iu_cum).astype(bool)
    use_ident = np.repeat(np.arange(f.m, dtype=np.int32), np.diff(f.iu_ptr))
    chosen = firsts & linking[use_ident]
    return f.iu_applicant[chosen], use_ident[chosen]


def linked_components(
    index: GraphIndex, kinds: Sequence[str], max_identifier_applicants: int, min_size: int, exclude: Sequence[str]
) -> list[LinkedComponent]:
    """Connected components of applicants over linking identifiers (see
    :meth:`graph.store.batch.GraphBatch.linked_components`)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    who, idents = _linking(index, kinds, max_identifier_applicants, exclude)
    if not len(who):
        return []
    people, person_at = np.unique(who, return_inverse=True)
    shared, ident_at = np.unique(idents, return_inverse=True)
    size = len(people) + len(shared)
    graph = coo_matrix((np.ones(len(who), np.int8), (person_at, ident_at + len(people))), shape=(size, size))
    _, label = connected_components(graph, directed=False)
    person_label, ident_label = label[: len(people)], label[len(people) :]
    sizes = np.bincount(person_label, minlength=int(label.max()) + 1)
    kept = np.flatnonzero(sizes >= min_size)
    if not len(kept):
        return []
    out = []
    in_kept = np.isin(person_label, kept)
    member_label = person_label[in_kept]
    member_keys = index.applicants.keys_of(people[in_kept])
    ident_in_kept = np.isin(ident_label, kept)
    shared_label = ident_label[ident_in_kept]
    shared_names = node_ids(index, shared[ident_in_kept])
    members: dict[int, list[str]] = {}
    for c, key in zip(member_label.tolist(), member_keys, strict=True):
        members.setdefault(c, []).append(key)
    linked: dict[int, list[str]] = {}
    for c, name in zip(shared_label.tolist(), shared_names, strict=True):
        linked.setdefault(c, []).append(name)
    for c, keys in members.items():
        out.append(LinkedComponent(tuple(sorted(keys)), tuple(sorted(linked.get(c, ())))))
    return sorted(out, key=lambda comp: comp.members[0])


def look_alikes(
    index: GraphIndex,
    kinds: Sequence[str],
    max_identifier_applicants: int,
    min_similarity: float,
    min_shared: int,
    exclude: Sequence[str],
) -> list[LookAlike]:
    """Applicant pairs by Jaccard similarity of their linking identifiers (see
    :meth:`graph.store.batch.GraphBatch.look_alikes`), counted with one sparse product."""
    from scipy.sparse import csr_matrix, triu

    who, idents = _linking(index, kinds, max_identifier_applicants, exclude)
    if not len(who):
        return []
    p, m = index.frozen.p, index.frozen.m
    degree = np.bincount(who, minlength=p)
    incidence = csr_matrix((np.ones(len(who), np.int32), (who, idents)), shape=(p, m))
    together = triu(incidence @ incidence.T, k=1).tocoo()
    keep = together.data >= min_shared
    first, second, both = together.row[keep], together.col[keep], together.data[keep].astype(np.int64)
    union = degree[first] + degree[second] - both
    close = both / union >= min_similarity
    first, second, both = first[close], second[close], both[close]
    first_keys = index.applicants.keys_of(first)
    second_keys = index.applicants.keys_of(second)
    pairs = []
    for a, b, shared, da, db in zip(
        first_keys, second_keys, both.tolist(), degree[first].tolist(), degree[second].tolist(), strict=True
    ):
        pairs.append(LookAlike.of(a, b, shared, da, db) if a < b else LookAlike.of(b, a, shared, db, da))
    return ranked_look_alikes(pairs)


def links_of_members(index: GraphIndex, members: Sequence[str]) -> list[Link]:
    """The links of these applicants only (what splitting one component needs)."""
    out: list[Link] = []
    for key in members:
        a = index.applicants.find(0, key)
        if a < 0:
            continue
        spans = index.spans_of(a)
        names = node_ids(index, np.fromiter(spans, np.int64, len(spans)))
        out.extend((key, name, first, last) for name, (first, last) in zip(names, spans.values(), strict=True))
    return out
