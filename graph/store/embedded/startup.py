"""How the store gets its index at open: the saved one, checked against the database
and caught up with the rows written after it, or a rebuild from SQLite.

A saved index is a prefix of the database (applications, applicants and identifiers
are only ever appended), so rows past its watermark are simply read and appended:
a process killed after acknowledged writes costs a short catch-up, not a rebuild.
An index that does not belong to the database, claims more than the database holds,
or disagrees with it on sampled rows is thrown away and rebuilt.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from graph.errors import StoreUnavailable
from graph.memory import collector_paused
from graph.store.embedded import persist, rows
from graph.store.embedded.index import GraphIndex
from graph.store.embedded.keys import KeyTable
from graph.store.embedded.persist import IndexUnusable
from graph.vocabulary import IDENTIFIER_KINDS

log = logging.getLogger("ringsight.embedded")
SAMPLES = 16
"""Rows, identifiers and applicants compared between a saved index and the database."""


@dataclass(frozen=True, slots=True)
class Opened:
    """How an index was obtained: ``how`` is ``loaded``, ``rebuilt`` or ``built`` (memory),
    ``caught_up`` the rows appended from SQLite, ``reason`` why a saved one was not used."""

    how: str
    caught_up: int
    seconds: float
    reason: str = ""


def build(db: sqlite3.Connection) -> GraphIndex:
    """The index of everything in the database, read in bulk."""
    index = GraphIndex(KeyTable(), KeyTable())
    catch_up(db, index)
    return index


def catch_up(db: sqlite3.Connection, index: GraphIndex) -> int:
    """Append what the database holds past the index; return how many applications."""
    with collector_paused():
        known_applicants = index.applicants.n
        rows.read_keys(db, "applicants", known_applicants, index.applicants)
        rows.read_keys(db, "identifiers", index.identifiers.n, index.identifiers)
        start = index.rows
        touched: list[np.ndarray] = []
        for ts, who, ptr, idents in rows.read_graph(db, start):
            if int(who.max(initial=-1)) >= index.applicants.n or int(idents.max(initial=-1)) >= index.identifiers.n:
                raise ValueError("an application row names an applicant or identifier the database does not hold")
            index.append_arrays(ts, who, ptr, idents)
            touched.append(who[who < known_applicants])
        caught = index.rows - start
        if caught and known_applicants:
            # an applicant's display is that of its latest application: re-read the changed ones
            older = np.unique(np.concatenate(touched)).tolist()
            for person, display in rows.read_displays(db, older).items():
                if index.applicants.display(person) != display:
                    index.applicants.set_display(person, display)
        index.settle()
    return caught


def _check(db: sqlite3.Connection, index: GraphIndex, manifest: dict[str, Any]) -> None:
    """Raise IndexUnusable unless the index is a prefix of this database."""
    held = {t: rows.count(db, t) for t in ("applications", "applicants", "identifiers")}
    covered = {"applications": index.rows, "applicants": index.applicants.n, "identifiers": index.identifiers.n}
    for table, n in covered.items():
        if manifest.get(table) != n:
            raise IndexUnusable(f"the manifest says {manifest.get(table)} {table}, the arrays hold {n}")
        if n > held[table]:
            raise IndexUnusable(f"the index covers {n} {table}, the database holds {held[table]}")
    pick = random.Random()
    f = index.frozen
    for row in {*(pick.randrange(f.n) for _ in range(SAMPLES) if f.n), f.n - 1} - {-1}:
        start, end = f.app_ptr[row : row + 2].tolist()
        mine = (int(f.app_applicant[row]), float(f.app_ts[row]), tuple(f.app_ident[start:end].tolist()))
        if rows.read_row(db, row) != mine:
            raise IndexUnusable(f"application row {row} differs from the database")
    for table, keys in (("applicants", index.applicants), ("identifiers", index.identifiers)):
        for i in {*(pick.randrange(keys.n) for _ in range(SAMPLES) if keys.n), keys.n - 1} - {-1}:
            kind = IDENTIFIER_KINDS[keys.kind(i)] if table == "identifiers" else ""
            if rows.read_key(db, table, i) != (kind, keys.key(i)):
                raise IndexUnusable(f"{table} id {i} differs from the database")


def open_index(db: sqlite3.Connection, path: str | None, identity: str) -> tuple[GraphIndex, Opened]:
    """The index of the database at ``path`` (None: in memory, always built)."""
    started = time.perf_counter()
    if path is None:
        index = build(db)
        return index, Opened("built", index.rows, time.perf_counter() - started)
    reason: str
    try:
        manifest, arrays = persist.load(persist.index_dir(path), identity)
        index = GraphIndex.restore(arrays, manifest["meta"])
        _check(db, index, manifest)
        caught = catch_up(db, index)
        opened = Opened("loaded", caught, time.perf_counter() - started)
        log.info("embedded index loaded in %.2f s (%d applications caught up)", opened.seconds, caught)
        return index, opened
    except (IndexUnusable, ValueError, KeyError, TypeError) as exc:
        reason = str(exc)
    try:
        index = build(db)
    except ValueError as exc:
        raise StoreUnavailable(f"the database at {path} is inconsistent: {exc}") from exc
    opened = Opened("rebuilt", index.rows, time.perf_counter() - started, reason)
    log.info("embedded index rebuilt in %.2f s (%s)", opened.seconds, reason)
    return index, opened
