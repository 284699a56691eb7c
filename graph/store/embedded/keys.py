"""Applicant and identifier keys to dense integer ids and back, with their displays,
without a Python object per key.

Keys the normaliser makes are 24 lowercase hex digits (a truncated HMAC): they are
held as 12 packed bytes in one numpy array in id order, found through an array of
ids sorted by key (binary search). Keys added since the last merge wait in a small
dict; any other key (tests, hand-made data) lives in a dict of its own. Displays
are UTF-8 in one byte buffer with offsets.

>>> table = KeyTable()
>>> table.add_many([0, 0], ["00ff" * 6, "odd key"], ["0***", "o***"])
0
>>> table.find(0, "00ff" * 6), table.key(0), table.display(1), table.find(0, "nobody")
(0, '00ff00ff00ff00ff00ff00ff', 'o***', -1)
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

PACKED = np.dtype("S12")
MERGE_AT = 1 << 17
"""Pending keys merged into the sorted array once there are this many."""

IntArray = npt.NDArray[np.int64]
_NIBBLE = np.full(128, 255, np.uint8)
_NIBBLE[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16, dtype=np.uint8)
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", np.uint8)


def packed_key(key: str) -> bytes | None:
    """The 12 bytes of a 24-lowercase-hex-digit key; None for any other key."""
    if len(key) != 24:
        return None
    try:
        raw = bytes.fromhex(key)
    except ValueError:
        return None
    return raw if len(raw) == 12 and raw.hex() == key else None


def packed_keys(keys: Sequence[str]) -> tuple[np.ndarray, npt.NDArray[np.bool_]]:
    """:func:`packed_key` of many keys at once: the packed array and which keys packed."""
    count = len(keys)
    if count == 0:
        return np.empty(0, PACKED), np.empty(0, bool)
    codes: np.ndarray
    try:  # hex keys are ASCII: a byte per character
        codes = np.array(keys, dtype="S25").view(np.uint8).reshape(count, 25)
    except UnicodeEncodeError:
        codes = np.array(keys, dtype="U25").view(np.uint32).reshape(count, 25)
    ok = codes[:, 24] == 0
    digits = codes[:, :24]
    ok &= (digits < 128).all(axis=1)
    nibbles = _NIBBLE[np.minimum(digits, 127)]
    ok &= (nibbles != 255).all(axis=1)
    packed = np.ascontiguousarray((nibbles[:, 0::2] << 4) | (nibbles[:, 1::2] & 15)).view(PACKED).ravel()
    return packed, ok


def hex_of(packed: np.ndarray) -> list[str]:
    """Keys of packed bytes, vectorised (the inverse of :func:`packed_keys`)."""
    count = len(packed)
    if count == 0:
        return []
    raw = np.ascontiguousarray(packed, dtype=PACKED).view(np.uint8).reshape(count, 12)
    text = np.empty((count, 24), np.uint8)
    text[:, 0::2] = _HEX_DIGITS[raw >> 4]
    text[:, 1::2] = _HEX_DIGITS[raw & 15]
    out: list[str] = text.view("S24").ravel().astype("U24").tolist()
    return out


def view(array: np.ndarray) -> memoryview:
    """A memoryview of a contiguous array: indexing and slicing it give Python numbers and
    lists directly, several times cheaper than numpy's scalars for one value at a time."""
    code: Any = array.dtype.char
    buffer: Any = np.ascontiguousarray(array)
    return memoryview(buffer).cast("B").cast(code)


class Column:
    """A growable one-dimensional array (amortised appends); it may start as a read-only
    memory map, which is copied on the first append."""

    __slots__ = ("data", "n")

    def __init__(self, dtype: Any, data: np.ndarray | None = None) -> None:
        self.data: np.ndarray = np.empty(0, dtype) if data is None else data
        """The backing array: valid below ``n`` (hot paths index it directly)."""
        self.n = len(self.data)

    @property
    def values(self) -> np.ndarray:
        return self.data[: self.n]

    def extend(self, values: Any) -> None:
        values = np.asarray(values, dtype=self.data.dtype)
        need = self.n + len(values)
        if need > len(self.data) or not self.data.flags.writeable:
            grown = np.empty(max(need, len(self.data) * 3 // 2 + 16), self.data.dtype)
            grown[: self.n] = self.data[: self.n]
            self.data = grown
        self.data[self.n : need] = values
        self.n = need


class Displays:
    """Display texts by id: UTF-8 in one buffer with offsets, plus the few that changed."""

    __slots__ = ("_blob", "_offsets", "_views", "changed")

    def __init__(self, blob: np.ndarray | None = None, offsets: np.ndarray | None = None) -> None:
        self._blob = Column(np.uint8, blob)
        self._offsets = Column(np.int64, offsets if offsets is not None else np.zeros(1, np.int64))
        self._views: tuple[memoryview, memoryview] | None = None
        self.changed: dict[int, str] = {}

    def __len__(self) -> int:
        return self._offsets.n - 1

    def get(self, i: int) -> str:
        changed = self.changed.get(i)
        if changed is not None:
            return changed
        if self._views is None:
            self._views = (view(self._blob.data), view(self._offsets.data))
        blob, offsets = self._views
        return str(blob[offsets[i] : offsets[i + 1]], "utf-8")

    def extend(self, texts: Sequence[str]) -> None:
        encoded = list(map(str.encode, texts))
        if not encoded:
            return
        lengths = np.fromiter(map(len, encoded), np.int64, len(encoded))
        self._views = None
        self._offsets.extend(self._offsets.values[-1] + np.cumsum(lengths))
        self._blob.extend(np.frombuffer(b"".join(encoded), np.uint8))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self._blob.values, self._offsets.values


def prefixes(packed: np.ndarray) -> np.ndarray:
    """The first 8 bytes of packed keys as big-endian integers (their sort order)."""
    raw = np.ascontiguousarray(packed, dtype=PACKED).view(np.uint8).reshape(len(packed), 12)
    return np.ascontiguousarray(raw[:, :8]).view(">u8").ravel().astype(np.uint64)


class KeyTable:
    """Keys (with an identifier kind, 0 for applicants) to dense ids, ids to keys and displays.

    Ids are given out in order by :meth:`add_many`; ``find`` answers -1 for an unknown key.
    ``_order`` lists the ids below ``_merged`` sorted by key, ``_prefix`` their first 8
    bytes (binary search runs on it; the candidate's whole key is then compared). Newer
    packed keys wait in ``_pending``; other keys are in ``_odd`` (and hold empty bytes in the
    arrays). Two kinds may share a key (hand-made data): the key's run is searched for the kind.
    """

    def __init__(self) -> None:
        self._keys = Column(PACKED)
        self._kinds = Column(np.uint8)
        self._order = np.empty(0, np.int32)
        self._prefix = np.empty(0, np.uint64)
        self._merged = 0
        self._pending: dict[tuple[int, str], int] = {}
        self._odd: dict[tuple[int, str], int] = {}
        self._odd_name: dict[int, str] = {}
        self.displays = Displays()
        self.kind_counts = [0] * 256
        self.kind_first: dict[int, int] = {}
        self._sorted_views: tuple[memoryview, memoryview, memoryview] | None = None
        self._id_views: tuple[memoryview, memoryview] | None = None

    @property
    def n(self) -> int:
        return self._keys.n

    def _lookup_views(self) -> tuple[memoryview, memoryview, memoryview, memoryview, memoryview]:
        """(prefixes, order, key bytes, kinds, buckets) as memoryviews. ``buckets[b]`` is where
        prefixes with top 16 bits ``b`` start, so a search bisects about n / 65536 prefixes.
        The sorted ones are rebuilt after a merge, the per-id ones after additions."""
        if self._sorted_views is None:
            tops = np.arange(1 << 16, dtype=np.uint64) << np.uint64(48)
            starts = np.append(np.searchsorted(self._prefix, tops), len(self._prefix)).astype(np.int64)
            self._sorted_views = (view(self._prefix), view(self._order), view(starts))
        if self._id_views is None:
            self._id_views = (view(self._keys.data.view(np.uint8)), view(self._kinds.data))
        prefixes, order, buckets = self._sorted_views
        keys, kinds = self._id_views
        return prefixes, order, keys, kinds, buckets

    def _search(self, kind: int, packed: bytes) -> int:
        """The id of a packed key among the merged ones, -1 if absent."""
        prefix = int.from_bytes(packed[:8], "big")
        prefixes, order, keys, kinds, buckets = self._lookup_views()
        top = prefix >> 48
        pos = bisect_left(prefixes, prefix, buckets[top], buckets[top + 1])
        while pos < self._merged and prefixes[pos] == prefix:
            i = order[pos]
            if keys[12 * i : 12 * i + 12] == packed and kinds[i] == kind and i not in self._odd_name:
                return int(i)
            pos += 1
        return -1

    def find(self, kind: int, key: str) -> int:
        packed = packed_key(key)
        if packed is None:
            return self._odd.get((kind, key), -1)
        found = self._search(kind, packed) if self._merged else -1
        return found if found >= 0 else self._pending.get((kind, key), -1)

    def find_many(self, kinds: Sequence[int], keys: Sequence[str]) -> np.ndarray:
        """:meth:`find` of many keys (an int64 array), vectorised over the sorted prefixes."""
        if len(keys) <= 16:  # an online write: one key at a time is cheaper than numpy's set-up
            return np.fromiter((self.find(k, key) for k, key in zip(kinds, keys, strict=True)), np.int64, len(keys))
        found = np.full(len(keys), -1, np.int64)
        packed, ok = packed_keys(keys)
        if self._merged and ok.any():
            at = np.flatnonzero(ok)
            probes = packed[at]
            wanted = prefixes(probes)
            pos = np.searchsorted(self._prefix, wanted)
            inside = np.minimum(pos, self._merged - 1)
            candidate = self._order[inside]
            hit = (
                (pos < self._merged)
                & (self._keys.values[candidate] == probes)
                & (self._kinds.values[candidate] == np.asarray(kinds, np.uint8)[at])
            )
            # a run of equal prefixes (or the all-zero key, which odd keys share) is searched one by one
            after = np.minimum(inside + 1, self._merged - 1)
            unsure = (pos < self._merged) & (self._prefix[inside] == wanted)
            unsure &= ((self._prefix[after] == wanted) & (after != inside)) | (wanted == 0)
            hit &= ~unsure
            found[at[hit]] = candidate[hit]
            for j in at[unsure].tolist():
                found[j] = self._search(kinds[j], packed_key(keys[j]) or b"")
        for j in np.flatnonzero(found < 0).tolist():
            name = (kinds[j], keys[j])
            found[j] = self._pending.get(name, -1) if ok[j] else self._odd.get(name, -1)
        return found

    def resolve(self, kinds: Sequence[int], keys: Sequence[str]) -> tuple[list[int], list[int]]:
        """Ids of keys, giving unknown ones the ids :meth:`add_many` will give them (in first
        appearance order) without adding them; and the positions of those first appearances."""
        found = self.find_many(kinds, keys)
        ids: list[int] = found.tolist()
        fresh: dict[tuple[int, str], int] = {}
        first: list[int] = []
        n = self.n
        for j in np.flatnonzero(found < 0).tolist():
            name = (kinds[j], keys[j])
            known = fresh.get(name)
            if known is None:
                known = fresh[name] = n + len(first)
                first.append(j)
            ids[j] = known
        return ids, first

    def key(self, i: int) -> str:
        odd = self._odd_name.get(i)
        if odd is not None:
            return odd
        return self._lookup_views()[2][12 * i : 12 * i + 12].hex()

    def keys_of(self, ids: np.ndarray) -> list[str]:
        """Keys of many ids (vectorised)."""
        out = hex_of(self._keys.values[ids])
        if self._odd_name:
            for j, i in enumerate(ids.tolist()):
                odd = self._odd_name.get(i)
                if odd is not None:
                    out[j] = odd
        return out

    def kind(self, i: int) -> int:
        kinds: int = self._lookup_views()[3][i]
        return kinds

    @property
    def kinds(self) -> np.ndarray:
        return self._kinds.values

    def display(self, i: int) -> str:
        return self.displays.get(i)

    def set_display(self, i: int, text: str) -> None:
        """A new display for a stored key (an applicant shows its latest application's)."""
        self.displays.changed[i] = text

    # -- additions -------------------------------------------------------------------------------
    def add_many(self, kinds: Sequence[int], keys: Sequence[str], displays: Sequence[str], sort: bool = True) -> int:
        """Append new keys (the caller knows they are new); return the first new id. A large
        batch goes straight into the sorted arrays; a small one waits in the pending dict.
        ``sort=False`` (bulk reads) leaves the keys unfindable until :meth:`merge` is called."""
        first = self.n
        count = len(keys)
        if count == 0:
            return first
        if count <= 16:
            each = [packed_key(key) for key in keys]
            packed = np.array([b or b"" for b in each], PACKED)
            ok = np.array([b is not None for b in each], bool)
        else:
            packed, ok = packed_keys(keys)
            packed[~ok] = b""
        kind_codes = np.asarray(kinds, np.uint8)
        self._id_views = None
        self._keys.extend(packed)
        self._kinds.extend(kind_codes)
        self.displays.extend(displays)
        for j in np.flatnonzero(~ok).tolist():
            self._odd[(kinds[j], keys[j])] = first + j
            self._odd_name[first + j] = keys[j]
        if sort and count >= MERGE_AT:
            self.merge()
        elif sort:
            self._pending.update(((kinds[j], keys[j]), first + j) for j in np.flatnonzero(ok).tolist())
        counts = np.bincount(kind_codes, minlength=256).tolist() if count > 16 else None
        for kind in set(kinds):
            self.kind_counts[kind] += counts[kind] if counts is not None else kinds.count(kind)
            if kind not in self.kind_first:
                self.kind_first[kind] = first + list(kinds).index(kind)
        if len(self._pending) >= MERGE_AT:
            self.merge()
        return first

    def merge(self) -> None:
        """Take every id into the sorted arrays (pending keys leave their dict)."""
        if self._merged == self.n:
            return
        fresh = np.arange(self._merged, self.n, dtype=np.int32)
        packed = self._keys.values[fresh]
        raw = np.ascontiguousarray(packed).view(np.uint8).reshape(len(fresh), 12)
        high = prefixes(packed)
        low = np.ascontiguousarray(raw[:, 8:]).view(">u4").ravel().astype(np.uint32)
        by_key = np.argsort(high)
        high = high[by_key]
        tied = np.flatnonzero(high[1:] == high[:-1])
        if len(tied):  # equal 8-byte prefixes (rare, and every hand-made key): order them by the rest
            starts = tied[np.r_[True, tied[1:] != tied[:-1] + 1]]
            for start in starts.tolist():
                end = start + 1
                while end < len(high) and high[end] == high[start]:
                    end += 1
                run = by_key[start:end]
                by_key[start:end] = run[np.argsort(low[run], kind="stable")]
        fresh, low = fresh[by_key], low[by_key]
        if not self._merged:  # everything at once (a rebuild): already in order
            self._order, self._prefix = fresh, high
            self._merged = self.n
            self._sorted_views = None
            self._pending.clear()
            return
        at = np.searchsorted(self._prefix, high)
        # equal prefixes (rare): order by the rest of the key, so the order is the keys' order
        clash = (self._prefix[np.minimum(at, self._merged - 1)] == high) if self._merged else np.zeros(len(at), bool)
        clash &= (high != 0) | (low != 0)  # blanks (odd keys) are skipped by every search
        keys = self._keys.values
        for j in np.flatnonzero(clash).tolist():
            pos = int(at[j])
            while (
                pos < self._merged
                and self._prefix[pos] == high[j]
                and bytes(keys[self._order[pos]]) < bytes(packed[by_key[j]])
            ):
                pos += 1
            at[j] = pos
        self._order = np.insert(self._order, at, fresh)
        self._prefix = np.insert(self._prefix, at, high)
        self._sorted_views = None
        self._merged = self.n
        self._pending.clear()

    def sorted_below(self, bound: str) -> list[str]:
        """Every key that sorts below ``bound``, sorted."""
        self.merge()
        order = self._order
        if self._odd_name:
            order = order[~np.isin(order, np.fromiter(self._odd_name, np.int64, len(self._odd_name)))]
        cut = bisect_left(range(len(order)), bound, key=lambda p: self.key(int(order[p])))
        out = self.keys_of(order[:cut])
        out.extend(k for k in self._odd_name.values() if k < bound)
        return sorted(out) if self._odd_name else out

    # -- persistence -----------------------------------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        self.merge()
        blob, offsets = self.displays.arrays()
        return {
            "keys": self._keys.values,
            "kinds": self._kinds.values,
            "order": self._order,
            "prefix": self._prefix,
            "display_blob": blob,
            "display_offsets": offsets,
        }

    def meta(self) -> dict[str, Any]:
        return {
            "odd": [[i, self.kind(i), key] for i, key in self._odd_name.items()],
            "changed_displays": [[i, text] for i, text in self.displays.changed.items()],
        }

    @classmethod
    def restore(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> KeyTable:
        """The table saved by :meth:`arrays` and :meth:`meta` (arrays may be memory maps)."""
        table = cls()
        table._keys = Column(PACKED, arrays["keys"])
        table._kinds = Column(np.uint8, arrays["kinds"])
        table._order = arrays["order"]
        table._prefix = arrays["prefix"]
        table._merged = len(table._order)
        table.displays = Displays(arrays["display_blob"], arrays["display_offsets"])
        for i, kind, key in meta["odd"]:
            table._odd[(kind, key)] = i
            table._odd_name[i] = key
        table.displays.changed = {int(i): text for i, text in meta["changed_displays"]}
        kinds = table._kinds.values
        counts = np.bincount(kinds, minlength=256)
        table.kind_counts = counts.tolist()
        for kind in np.flatnonzero(counts).tolist():
            table.kind_first[kind] = int(np.argmax(kinds == kind))
        return table

    def check(self) -> None:
        """Raise ValueError if the saved arrays do not fit together."""
        n = self.n
        if len(self._kinds.values) != n or len(self.displays) != n:
            raise ValueError("key, kind and display counts differ")
        if len(self._order) != n or len(self._prefix) != n or self._merged != n:
            raise ValueError("the sorted keys do not cover the table")
        if n and (int(self._order.min()) < 0 or int(self._order.max()) >= n):
            raise ValueError("sorted key ids out of range")
        blob, offsets = self.displays.arrays()
        if int(offsets[-1]) != len(blob):
            raise ValueError("display offsets do not match the display bytes")
