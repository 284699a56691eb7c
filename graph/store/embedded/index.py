"""The embedded store's graph index: integer ids and numpy arrays, no Python object per
application or identifier.

Applications are rows ``0 .. n-1`` (their SQLite ids), identifiers and applicants
dense ids (see :mod:`.keys`). The frozen part (:class:`Frozen`) holds, for ``n``
applications, ``u`` uses (application, identifier), ``m`` identifiers and ``p``
applicants::

    app_ts[n] f8, app_applicant[n] i4          each application's time and applicant
    app_ptr[n+1] i8, app_ident[u] i4           application -> its identifiers (CSR, in its order)
    iu_ptr[m+1] i8, iu_ts[u] f8, iu_applicant[u] i4
                                               identifier -> its uses sorted by (time, row)
    iu_cum[u+1] i4|i8                          running count of "first use of this identifier by
                                               this applicant": distinct applicants of any prefix
                                               of a segment in O(1)
    ap_ptr[p+1] i8, ap_app[n] i4               applicant -> its applications sorted by (time, row)

Applications stored since the last compaction wait in a small :class:`Tail` (Python
lists and dicts, read together with the frozen arrays) or, for bulk writes, in a
queue of arrays that the next read compacts first. Compaction merges them in
(:func:`merge`, linear copies) or rebuilds (:func:`build`, sorts) when they are many;
both give the same arrays.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, fields
from operator import itemgetter
from typing import Any, cast

import numpy as np

from graph.store.embedded.keys import KeyTable, view
from graph.store.records import IdentifierUsage

SMALL = 48
"""Identifiers with at most this many frozen uses are read as Python lists; longer ones
(employers, kiosks) through numpy."""
TAIL_LIMIT = 1 << 14
"""Applications in the tail before it is merged into the frozen arrays."""
TAIL_BATCH = 256
"""Writes of more applications than this are queued as arrays for the next read to compact."""

_BY_TIME = itemgetter(0)


def _cum_dtype(uses: int) -> Any:
    return np.int32 if uses < 2**31 - 1 else np.int64


@dataclass(frozen=True, slots=True)
class Frozen:
    """The compacted index arrays (see the module docstring); never modified in place."""

    app_ts: np.ndarray
    app_applicant: np.ndarray
    app_ptr: np.ndarray
    app_ident: np.ndarray
    iu_ptr: np.ndarray
    iu_ts: np.ndarray
    iu_applicant: np.ndarray
    iu_cum: np.ndarray
    ap_ptr: np.ndarray
    ap_app: np.ndarray

    @property
    def n(self) -> int:
        return len(self.app_ts)

    @property
    def m(self) -> int:
        return len(self.iu_ptr) - 1

    @property
    def p(self) -> int:
        return len(self.ap_ptr) - 1

    @property
    def u(self) -> int:
        return len(self.app_ident)

    @classmethod
    def empty(cls) -> Frozen:
        return build(np.empty(0), np.empty(0, np.int32), np.zeros(1, np.int64), np.empty(0, np.int32), 0, 0)

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def restore(cls, arrays: dict[str, np.ndarray]) -> Frozen:
        """Arrays saved by :meth:`arrays`, checked to fit together (ValueError if not)."""
        frozen = cls(**{f.name: arrays[f.name] for f in fields(cls)})
        frozen.check()
        return frozen

    def check(self) -> None:
        n, u = self.n, self.u
        sizes = {
            "app_applicant": (self.app_applicant, n),
            "app_ptr": (self.app_ptr, n + 1),
            "iu_ts": (self.iu_ts, u),
            "iu_applicant": (self.iu_applicant, u),
            "iu_cum": (self.iu_cum, u + 1),
            "ap_app": (self.ap_app, n),
        }
        for name, (array, size) in sizes.items():
            if len(array) != size:
                raise ValueError(f"{name} holds {len(array)} values, not {size}")
        for name, ptr, end in (("app_ptr", self.app_ptr, u), ("iu_ptr", self.iu_ptr, u), ("ap_ptr", self.ap_ptr, n)):
            if int(ptr[0]) != 0 or int(ptr[-1]) != end:
                raise ValueError(f"{name} does not span its values")


def build(
    app_ts: np.ndarray, app_applicant: np.ndarray, app_ptr: np.ndarray, app_ident: np.ndarray, m: int, p: int
) -> Frozen:
    """The frozen index of applications given as arrays (``m`` identifiers, ``p`` applicants)."""
    n, u = len(app_ts), len(app_ident)
    app_ts = np.ascontiguousarray(app_ts, np.float64)
    app_applicant = np.ascontiguousarray(app_applicant, np.int32)
    app_ptr = np.ascontiguousarray(app_ptr, np.int64)
    app_ident = np.ascontiguousarray(app_ident, np.int32)
    use_app = np.repeat(np.arange(n, dtype=np.int32), np.diff(app_ptr))
    use_ts = app_ts[use_app]
    order = np.lexsort((use_ts, app_ident))
    iu_ident = app_ident[order]
    iu_ts = use_ts[order]
    del use_ts
    iu_applicant = app_applicant[use_app[order]]
    del use_app, order
    segments = np.bincount(app_ident, minlength=m)
    iu_ptr = np.zeros(m + 1, np.int64)
    np.cumsum(segments, out=iu_ptr[1:])
    flags = np.ones(u, np.int8)
    shared = np.flatnonzero(segments[iu_ident] > 1)
    if len(shared):
        flags[shared] = _first_flags(iu_ident[shared], iu_applicant[shared], p)
    del iu_ident
    iu_cum = np.zeros(u + 1, _cum_dtype(u))
    np.cumsum(flags, dtype=iu_cum.dtype, out=iu_cum[1:])
    ap_app = np.lexsort((app_ts, app_applicant)).astype(np.int32)
    ap_ptr = np.zeros(p + 1, np.int64)
    np.cumsum(np.bincount(app_applicant, minlength=p), out=ap_ptr[1:])
    return Frozen(app_ts, app_applicant, app_ptr, app_ident, iu_ptr, iu_ts, iu_applicant, iu_cum, ap_ptr, ap_app)


def _first_flags(idents: np.ndarray, applicants: np.ndarray, p: int) -> np.ndarray:
    """1 where a use is the first of its (identifier, applicant) pair in the given order."""
    pair = idents.astype(np.int64) * max(p, 1) + applicants
    _, first = np.unique(pair, return_index=True)
    flags = np.zeros(len(pair), np.int8)
    flags[first] = 1
    return flags


def _count_not_after(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray, probes: np.ndarray) -> np.ndarray:
    """For sorted segments ``values[start:start+length]``: how many are <= each probe."""
    counts = np.zeros(len(probes), np.int64)
    short = lengths <= 8
    if short.any() and len(values):
        reach = np.arange(8)
        at = np.minimum(starts[short, None] + reach, len(values) - 1)
        inside = reach < lengths[short, None]
        counts[short] = ((values[at] <= probes[short, None]) & inside).sum(axis=1)
    for j in np.flatnonzero(~short).tolist():
        start = int(starts[j])
        counts[j] = np.searchsorted(values[start : start + int(lengths[j])], probes[j], side="right")
    return counts


def merge(
    base: Frozen, ts: np.ndarray, applicant: np.ndarray, ptr: np.ndarray, idents: np.ndarray, m: int, p: int
) -> Frozen:
    """``base`` with applications appended (rows ``base.n ..``): the arrays :func:`build`
    would give for all of them, by insertion (linear copies) instead of sorting everything."""
    n0, u0 = base.n, base.u
    k = len(ts)
    app_ts = np.concatenate([base.app_ts, ts])
    app_applicant = np.concatenate([base.app_applicant, applicant.astype(np.int32)])
    app_ptr = np.concatenate([base.app_ptr, ptr[1:] + u0])
    app_ident = np.concatenate([base.app_ident, idents.astype(np.int32)])

    # identifier -> uses: insert each new use after the frozen uses of its identifier with time <= its own
    new_app = np.repeat(np.arange(k), np.diff(ptr))
    order = np.lexsort((ts[new_app], idents))
    ni, nt, nw = idents[order].astype(np.int64), ts[new_app][order], applicant[new_app][order].astype(np.int64)
    old_ident = ni < base.m
    starts = np.full(len(ni), u0, np.int64)
    lengths = np.zeros(len(ni), np.int64)
    starts[old_ident] = base.iu_ptr[ni[old_ident]]
    lengths[old_ident] = base.iu_ptr[ni[old_ident] + 1] - starts[old_ident]
    at = starts + _count_not_after(base.iu_ts, starts, lengths, nt)
    flags = np.diff(base.iu_cum).astype(np.int8)
    new_flags = _first_flags(ni, nw, p)
    demoted: list[int] = []
    for j in np.flatnonzero(new_flags.astype(bool) & old_ident & (nw < base.p)).tolist():
        earliest = _first_use(base, int(nw[j]), int(ni[j]))
        if earliest is not None:
            if nt[j] < earliest:
                demoted.append(_flagged_use(base, flags, int(nw[j]), int(ni[j])))
            else:
                new_flags[j] = 0
    flags[demoted] = 0
    iu_ts = np.insert(base.iu_ts, at, nt)
    iu_applicant = np.insert(base.iu_applicant, at, nw.astype(np.int32))
    flags = np.insert(flags, at, new_flags)
    iu_cum = np.zeros(len(flags) + 1, _cum_dtype(len(flags)))
    np.cumsum(flags, dtype=iu_cum.dtype, out=iu_cum[1:])
    segments = np.zeros(m, np.int64)
    segments[: base.m] = np.diff(base.iu_ptr)
    segments += np.bincount(ni, minlength=m)
    iu_ptr = np.zeros(m + 1, np.int64)
    np.cumsum(segments, out=iu_ptr[1:])

    # applicant -> applications: insert after the applicant's frozen applications with time <= its own
    rows = np.lexsort((ts, applicant))
    who = applicant[rows].astype(np.int64)
    old_person = who < base.p
    starts = np.full(k, n0, np.int64)
    lengths = np.zeros(k, np.int64)
    starts[old_person] = base.ap_ptr[who[old_person]]
    lengths[old_person] = base.ap_ptr[who[old_person] + 1] - starts[old_person]
    frozen_times = base.app_ts[base.ap_app] if n0 else np.empty(0)
    at = starts + _count_not_after(frozen_times, starts, lengths, ts[rows])
    ap_app = np.insert(base.ap_app, at, (rows + n0).astype(np.int32))
    apps = np.zeros(p, np.int64)
    apps[: base.p] = np.diff(base.ap_ptr)
    apps += np.bincount(who, minlength=p)
    ap_ptr = np.zeros(p + 1, np.int64)
    np.cumsum(apps, out=ap_ptr[1:])
    return Frozen(app_ts, app_applicant, app_ptr, app_ident, iu_ptr, iu_ts, iu_applicant, iu_cum, ap_ptr, ap_app)


def _first_use(base: Frozen, applicant: int, ident: int) -> float | None:
    """Time of the applicant's first frozen use of an identifier, None if it has none."""
    for row in base.ap_app[base.ap_ptr[applicant] : base.ap_ptr[applicant + 1]].tolist():
        if ident in base.app_ident[base.app_ptr[row] : base.app_ptr[row + 1]].tolist():
            return float(base.app_ts[row])
    return None


def _flagged_use(base: Frozen, flags: np.ndarray, applicant: int, ident: int) -> int:
    start, end = base.iu_ptr[ident : ident + 2].tolist()
    mine = (base.iu_applicant[start:end] == applicant) & (flags[start:end] == 1)
    return start + int(np.flatnonzero(mine)[0])


class Tail:
    """Applications after the frozen rows, as Python lists, with lookups by identifier and applicant."""

    __slots__ = ("by_applicant", "by_ident", "idents", "start", "ts", "who")

    def __init__(self, start: int) -> None:
        self.start = start
        self.ts: list[float] = []
        self.who: list[int] = []
        self.idents: list[tuple[int, ...]] = []
        self.by_ident: dict[int, list[int]] = {}
        self.by_applicant: dict[int, list[int]] = {}

    def __len__(self) -> int:
        return len(self.ts)

    def add(self, ts: float, applicant: int, idents: tuple[int, ...]) -> None:
        j = len(self.ts)
        self.ts.append(ts)
        self.who.append(applicant)
        self.idents.append(idents)
        for ident in idents:
            self.by_ident.setdefault(ident, []).append(j)
        self.by_applicant.setdefault(applicant, []).append(j)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        ptr = np.zeros(len(self.ts) + 1, np.int64)
        np.cumsum([len(i) for i in self.idents], out=ptr[1:])
        flat = np.fromiter((i for idents in self.idents for i in idents), np.int32, int(ptr[-1]))
        return np.asarray(self.ts, np.float64), np.asarray(self.who, np.int32), ptr, flat


NAMES_KEPT = 1 << 18
"""Applicant keys kept named between reads (hub members recur in many snapshots)."""


class Names(dict[int, str]):
    """Applicant keys by id, each looked up the first time it is needed. Ids never change
    their key, so the index keeps one of these across reads (cleared when it grows large)."""

    def __init__(self, table: KeyTable) -> None:
        super().__init__()
        self._table = table

    def __missing__(self, applicant: int) -> str:
        key = self[applicant] = self._table.key(applicant)
        return key


Usage = tuple[IdentifierUsage, list[int]]
"""An identifier's usage record and the ids of its members (empty for a hub)."""


def _recent(times: list[float], keys: list[str]) -> tuple[tuple[float, str], ...]:
    """Recent uses as (time, applicant key), ordered by time and then key like every backend."""
    recent = tuple(zip(times, keys, strict=True))
    if len(times) > 1 and len(set(times)) < len(times):
        return tuple(sorted(recent))
    return recent


class Views:
    """Memoryviews of the frozen arrays, for reading one value or a short slice at a time
    (Python numbers and lists straight from the buffers)."""

    __slots__ = ("ap_app", "ap_ptr", "app_ident", "app_ptr", "app_ts", "iu_applicant", "iu_cum", "iu_ptr", "iu_ts")

    def __init__(self, frozen: Frozen) -> None:
        self.app_ts = view(frozen.app_ts)
        self.app_ptr = view(frozen.app_ptr)
        self.app_ident = view(frozen.app_ident)
        self.iu_ptr = view(frozen.iu_ptr)
        self.iu_ts = view(frozen.iu_ts)
        self.iu_applicant = view(frozen.iu_applicant)
        self.iu_cum = view(frozen.iu_cum)
        self.ap_ptr = view(frozen.ap_ptr)
        self.ap_app = view(frozen.ap_app)


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Positions of the ranges ``[start, start + length)`` concatenated, and the offsets
    (one more than the ranges) of each range in them."""
    offsets = np.zeros(len(starts) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    positions = np.arange(offsets[-1], dtype=np.int64) + np.repeat(starts - offsets[:-1], lengths)
    return positions, offsets.tolist()


class GraphIndex:
    """The frozen arrays, the tail and the bulk queue, read as one graph. Not thread-safe:
    the store serialises every call. Reads expect :meth:`settle` to have been called."""

    def __init__(self, applicants: KeyTable, identifiers: KeyTable, frozen: Frozen | None = None) -> None:
        self.applicants = applicants
        self.identifiers = identifiers
        self._frozen = frozen or Frozen.empty()
        self._v = Views(self._frozen)
        self._names = Names(applicants)
        self._tail = Tail(self._frozen.n)
        self._queue: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._queued = 0

    @property
    def frozen(self) -> Frozen:
        return self._frozen

    @frozen.setter
    def frozen(self, frozen: Frozen) -> None:
        self._frozen = frozen
        self._v = Views(frozen)

    @property
    def names(self) -> Names:
        """Applicant keys by id, kept across reads."""
        if len(self._names) > NAMES_KEPT:
            self._names.clear()
        return self._names

    @property
    def rows(self) -> int:
        """Applications indexed (the next row number)."""
        return self.frozen.n + len(self._tail) + self._queued

    @property
    def compacted(self) -> bool:
        return not self._tail and not self._queue

    # -- writes -----------------------------------------------------------------------------------
    def append(self, ts: Sequence[float], applicants: Sequence[int], idents: Sequence[Sequence[int]]) -> None:
        """Index applications stored as rows ``rows, rows + 1, ...`` (their keys already added)."""
        if self._queue or len(ts) > TAIL_BATCH:
            ptr = np.zeros(len(ts) + 1, np.int64)
            np.cumsum([len(i) for i in idents], out=ptr[1:])
            flat = np.fromiter((i for ids in idents for i in ids), np.int32, int(ptr[-1]))
            self.append_arrays(np.asarray(ts, np.float64), np.asarray(applicants, np.int32), ptr, flat)
            return
        for t, a, ids in zip(ts, applicants, idents, strict=True):
            self._tail.add(float(t), int(a), tuple(ids))
        if len(self._tail) >= TAIL_LIMIT:
            self.compact()

    def append_arrays(self, ts: np.ndarray, applicants: np.ndarray, ptr: np.ndarray, idents: np.ndarray) -> None:
        """Queue applications given as arrays; the next read compacts them in."""
        if len(ts):
            self._queue.append((ts, applicants, ptr, idents))
            self._queued += len(ts)

    def settle(self) -> None:
        """Compact queued bulk writes: what every read calls first."""
        if self._queue:
            self.compact()

    def compact(self) -> None:
        """Merge the tail and the queue into the frozen arrays."""
        parts = ([self._tail.arrays()] if self._tail else []) + self._queue
        if not parts:
            return
        ts = np.concatenate([part[0] for part in parts])
        who = np.concatenate([part[1] for part in parts])
        idents = np.concatenate([part[3] for part in parts])
        ptr = np.zeros(len(ts) + 1, np.int64)
        np.cumsum(np.concatenate([np.diff(part[2]) for part in parts]), out=ptr[1:])
        m, p, base = self.identifiers.n, self.applicants.n, self.frozen
        if base.u == 0 or len(idents) * 4 > base.u:
            self.frozen = build(
                np.concatenate([base.app_ts, ts]),
                np.concatenate([base.app_applicant, who]),
                np.concatenate([base.app_ptr, ptr[1:] + base.u]),
                np.concatenate([base.app_ident, idents]),
                m,
                p,
            )
        else:
            self.frozen = merge(base, ts, who, ptr, idents, m, p)
        self._tail = Tail(self.frozen.n)
        self._queue = []
        self._queued = 0

    # -- applications -------------------------------------------------------------------------------
    def app_rows(self, applicant: int) -> list[int]:
        """Rows of the applicant's applications (frozen ones by time, then the tail's)."""
        v = self._v
        rows: list[int] = (
            v.ap_app[v.ap_ptr[applicant] : v.ap_ptr[applicant + 1]].tolist() if applicant < self._frozen.p else []
        )
        tail = self._tail.by_applicant.get(applicant)
        if tail:
            rows.extend(self._tail.start + j for j in tail)
        return rows

    def app_count(self, applicant: int) -> int:
        v = self._v
        count: int = v.ap_ptr[applicant + 1] - v.ap_ptr[applicant] if applicant < self._frozen.p else 0
        return count + len(self._tail.by_applicant.get(applicant, ()))

    def row_ts(self, row: int) -> float:
        ts: float = self._v.app_ts[row] if row < self._frozen.n else self._tail.ts[row - self._frozen.n]
        return ts

    def _applications_by_row(self, applicant: int) -> list[tuple[int, float, Sequence[int]]]:
        """(row, time, identifiers) of each application of the applicant."""
        v = self._v
        out: list[tuple[int, float, Sequence[int]]] = []
        if applicant < self._frozen.p:
            for row in v.ap_app[v.ap_ptr[applicant] : v.ap_ptr[applicant + 1]].tolist():
                out.append((row, v.app_ts[row], v.app_ident[v.app_ptr[row] : v.app_ptr[row + 1]].tolist()))
        tail = self._tail
        for j in tail.by_applicant.get(applicant, ()):
            out.append((tail.start + j, tail.ts[j], tail.idents[j]))
        return out

    def idents_before(self, applicant: int, as_of: float) -> set[int]:
        """Identifiers the applicant used in applications before ``as_of``."""
        used: set[int] = set()
        for _row, ts, idents in self._applications_by_row(applicant):
            if ts < as_of:
                used.update(idents)
        return used

    def idents_before_many(self, applicants: Sequence[int], as_of: float) -> list[set[int]]:
        """:meth:`idents_before` of many applicants, reading their frozen rows in one gather."""
        if len(applicants) <= 4:
            return [self.idents_before(a, as_of) for a in applicants]
        f = self._frozen
        people = np.asarray(applicants, np.int64)
        inside = np.flatnonzero(people < f.p)
        out: list[set[int]] = [set() for _ in applicants]
        if len(inside):
            starts = f.ap_ptr[people[inside]]
            positions, by_person = _ranges(starts, f.ap_ptr[people[inside] + 1] - starts)
            rows = f.ap_app[positions]
            times = f.app_ts[rows].tolist()
            first = f.app_ptr[rows]
            positions, by_row = _ranges(first, f.app_ptr[rows + 1] - first)
            idents = f.app_ident[positions].tolist()
            for k, j in enumerate(inside.tolist()):
                used = out[j]
                for r in range(by_person[k], by_person[k + 1]):
                    if times[r] < as_of:
                        used.update(idents[by_row[r] : by_row[r + 1]])
        tail = self._tail
        if tail.by_applicant:
            for j, a in enumerate(applicants):
                for t in tail.by_applicant.get(a, ()):
                    if tail.ts[t] < as_of:
                        out[j].update(tail.idents[t])
        return out

    def spans_of(self, applicant: int) -> dict[int, list[float]]:
        """Each identifier the applicant used, with the times of its first and last use, in
        the order of first appearance in the applicant's applications by row."""
        spans: dict[int, list[float]] = {}
        for _row, ts, idents in sorted(self._applications_by_row(applicant)):
            for ident in idents:
                span = spans.get(ident)
                if span is None:
                    spans[ident] = [ts, ts]
                else:
                    span[0] = min(span[0], ts)
                    span[1] = max(span[1], ts)
        return spans

    def _frozen_use_before(self, applicant: int, ident: int, as_of: float) -> bool:
        """Whether one of the applicant's frozen applications before ``as_of`` used the identifier."""
        if applicant >= self._frozen.p:
            return False
        v = self._v
        for row in v.ap_app[v.ap_ptr[applicant] : v.ap_ptr[applicant + 1]].tolist():
            if v.app_ts[row] < as_of and ident in v.app_ident[v.app_ptr[row] : v.app_ptr[row + 1]].tolist():
                return True
        return False

    # -- identifiers ---------------------------------------------------------------------------------
    def _segment(self, ident: int) -> tuple[int, int]:
        if ident >= self._frozen.m:
            return 0, 0
        ptr = self._v.iu_ptr
        return ptr[ident], ptr[ident + 1]

    def _tail_uses(self, ident: int) -> list[tuple[float, int]]:
        tail = self._tail
        return [(tail.ts[j], tail.who[j]) for j in tail.by_ident.get(ident, ())]

    def usage(
        self, ident: int, node_id: str, as_of: float, window: float, limit: int, names: Names, skip_hubs: bool = False
    ) -> Usage | None:
        """The usage record of one identifier before ``as_of`` (what
        :meth:`graph.store.reader.GraphReader.identifier_usage` answers for it), or None when it
        was not used before then, or is a hub and ``skip_hubs`` is set."""
        start, end = self._segment(ident)
        if end - start > SMALL:
            return self._usage_of_arrays(ident, node_id, start, end, as_of, window, limit, names, skip_hubs)
        v = self._v
        times = cast("list[float]", v.iu_ts[start:end].tolist())
        who: list[int] = v.iu_applicant[start:end].tolist()
        return self._usage_of_lists(ident, node_id, times, who, as_of, window, limit, names, skip_hubs)

    def usages(
        self,
        idents: Sequence[int],
        node_ids: Sequence[str],
        as_of: float,
        window: float,
        limit: int,
        names: Names,
        skip_hubs: bool = False,
    ) -> list[Usage | None]:
        """:meth:`usage` of many identifiers, reading the short ones' frozen uses in one gather."""
        if len(idents) <= 4:
            return [
                self.usage(i, n, as_of, window, limit, names, skip_hubs) for i, n in zip(idents, node_ids, strict=True)
            ]
        f = self._frozen
        ids = np.asarray(idents, np.int64)
        starts = np.zeros(len(ids), np.int64)
        ends = np.zeros(len(ids), np.int64)
        inside = ids < f.m
        starts[inside] = f.iu_ptr[ids[inside]]
        ends[inside] = f.iu_ptr[ids[inside] + 1]
        lengths = ends - starts
        short = lengths <= SMALL
        positions, offsets = _ranges(starts[short], lengths[short])
        times = f.iu_ts[positions].tolist()
        who = f.iu_applicant[positions].tolist()
        display = self.identifiers.display
        tail = self._tail.by_ident
        bound = as_of - window
        out: list[Usage | None] = []
        k = 0
        for ident, node_id, is_short, start, end in zip(
            idents, node_ids, short.tolist(), starts.tolist(), ends.tolist(), strict=True
        ):
            if not is_short:
                out.append(self._usage_of_arrays(ident, node_id, start, end, as_of, window, limit, names, skip_hubs))
                continue
            a, b = offsets[k], offsets[k + 1]
            k += 1
            if b - a == 1 and ident not in tail:
                # one use: most identifiers (a person's own phone, e-mail, bank account)
                t = times[a]
                if not t < as_of:
                    out.append(None)
                    continue
                person = who[a]
                name = names[person]
                one = (name,) if limit >= 1 else ()
                recent = () if t < bound else ((t, name),)
                if not one and skip_hubs:
                    out.append(None)
                    continue
                record = IdentifierUsage(node_id, 1, 1, t, t, recent, one, display(ident))
                out.append((record, [person] if one else []))
            else:
                out.append(
                    self._usage_of_lists(ident, node_id, times[a:b], who[a:b], as_of, window, limit, names, skip_hubs)
                )
        return out

    def _usage_of_lists(
        self,
        ident: int,
        node_id: str,
        times: list[float],
        who: list[int],
        as_of: float,
        window: float,
        limit: int,
        names: Names,
        skip_hubs: bool,
    ) -> Usage | None:
        """Usage from an identifier's frozen uses as lists (in time order), with its tail's."""
        if ident in self._tail.by_ident:
            uses = sorted([*zip(times, who, strict=True), *self._tail_uses(ident)], key=_BY_TIME)
            times = [t for t, _ in uses]
            who = [a for _, a in uses]
        before = bisect_left(times, as_of)
        if before == 0:
            return None
        people = set(who[:before])
        hub = len(people) > limit
        if hub and skip_hubs:
            return None
        first = bisect_left(times, as_of - window, 0, before)
        members = [] if hub else list(people)
        record = IdentifierUsage(
            node_id,
            len(people),
            before,
            times[0],
            times[before - 1],
            _recent(times[first:before], list(map(names.__getitem__, who[first:before]))),
            tuple(sorted(map(names.__getitem__, members))),
            self.identifiers.display(ident),
        )
        return record, members

    def _usage_of_arrays(
        self,
        ident: int,
        node_id: str,
        start: int,
        end: int,
        as_of: float,
        window: float,
        limit: int,
        names: Names,
        skip_hubs: bool,
    ) -> Usage | None:
        """Usage of an identifier with many frozen uses (a kiosk, an employer): binary searches
        over the frozen arrays, the distinct-applicant count from the running count, and only
        the recent uses read out."""
        v = self._v
        times = v.iu_ts
        before = bisect_left(times, as_of, start, end)
        count = v.iu_cum[before] - v.iu_cum[start]
        bound = as_of - window
        first = bisect_left(times, bound, start, before)
        tail = self._tail_uses(ident) if ident in self._tail.by_ident else []
        tail_before = [(t, a) for t, a in tail if t < as_of]
        if before == start and not tail_before:
            return None
        newcomers = {a for _, a in tail_before if not self._frozen_use_before(a, ident, as_of)}
        count += len(newcomers)
        hub = count > limit
        if hub and skip_hubs:
            return None
        first_ts: float = times[start]
        last_ts: float = times[before - 1] if before > start else tail_before[0][0]
        recent_ts = cast("list[float]", times[first:before].tolist())
        recent_who: list[int] = v.iu_applicant[first:before].tolist()
        if tail:
            first_ts = min([first_ts, *(t for t, _ in tail)])
            last_ts = max([last_ts, *(t for t, _ in tail_before)])
            late = [(t, a) for t, a in tail_before if not t < bound]
            if late:
                recent = sorted([*zip(recent_ts, recent_who, strict=True), *late], key=_BY_TIME)
                recent_ts = [t for t, _ in recent]
                recent_who = [a for _, a in recent]
        members: list[int] = []
        if not hub:
            running = v.iu_cum[start : before + 1].tolist()
            who = v.iu_applicant[start:before].tolist()
            members = [who[j] for j in range(before - start) if running[j + 1] > running[j]]
            members.extend(newcomers)
        record = IdentifierUsage(
            node_id,
            count,
            before - start + len(tail_before),
            first_ts,
            last_ts,
            _recent(recent_ts, list(map(names.__getitem__, recent_who))),
            tuple(sorted(map(names.__getitem__, members))),
            self.identifiers.display(ident),
        )
        return record, members

    def members_first(self, ident: int) -> dict[int, float]:
        """Every applicant of the identifier, with the time of its first use."""
        f = self.frozen
        start, end = self._segment(ident)
        firsts = np.diff(f.iu_cum[start : end + 1]).astype(bool)
        out = dict(zip(f.iu_applicant[start:end][firsts].tolist(), f.iu_ts[start:end][firsts].tolist(), strict=True))
        for t, a in self._tail_uses(ident):
            known = out.get(a)
            if known is None or t < known:
                out[a] = t
        return out

    def uses_of(self, ident: int) -> tuple[np.ndarray, np.ndarray]:
        """Every use of the identifier as (times, applicant ids), in time order: its frozen
        segment and its tail's uses."""
        f = self.frozen
        start, end = self._segment(ident)
        ts, who = f.iu_ts[start:end], f.iu_applicant[start:end]
        tail = self._tail_uses(ident)
        if tail:
            ts = np.concatenate([ts, np.fromiter((t for t, _ in tail), np.float64, len(tail))])
            who = np.concatenate([who, np.fromiter((a for _, a in tail), np.int32, len(tail))])
            order = np.argsort(ts, kind="stable")
            ts, who = ts[order], who[order]
        return ts, who

    def applicant_count(self, ident: int) -> int:
        """Distinct applicants of the identifier, at any time."""
        f = self.frozen
        start, end = self._segment(ident)
        count = int(f.iu_cum[end] - f.iu_cum[start]) if end > start else 0
        tail = self._tail.by_ident.get(ident)
        if tail:
            who = {self._tail.who[j] for j in tail}
            count += sum(1 for a in who if not self._frozen_use_before(a, ident, float("inf")))
        return count

    def used(self, ident: int) -> bool:
        start, end = self._segment(ident)
        return end > start or ident in self._tail.by_ident

    # -- persistence --------------------------------------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        """Every array of the index (compacted first), by file name."""
        self.compact()
        out = {f"graph.{name}": array for name, array in self.frozen.arrays().items()}
        for prefix, table in (("applicants", self.applicants), ("identifiers", self.identifiers)):
            out.update({f"{prefix}.{name}": array for name, array in table.arrays().items()})
        return out

    def meta(self) -> dict[str, Any]:
        return {"applicants": self.applicants.meta(), "identifiers": self.identifiers.meta()}

    @classmethod
    def restore(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> GraphIndex:
        """The index saved by :meth:`arrays` and :meth:`meta`; ValueError if the parts do not fit."""
        tables = []
        for prefix in ("applicants", "identifiers"):
            part = {name.split(".", 1)[1]: a for name, a in arrays.items() if name.startswith(prefix + ".")}
            table = KeyTable.restore(part, meta[prefix])
            table.check()
            tables.append(table)
        frozen = Frozen.restore({name[6:]: a for name, a in arrays.items() if name.startswith("graph.")})
        applicants, identifiers = tables
        if frozen.m != identifiers.n or frozen.p != applicants.n:
            raise ValueError("the graph arrays and the key tables disagree on their sizes")
        return cls(applicants, identifiers, frozen)
