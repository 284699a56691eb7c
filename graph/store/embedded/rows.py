"""Application, applicant and identifier rows in SQLite: writing a batch of new ones,
reading applications back, and reading everything after a row for the index.

The index (:mod:`.index`, :mod:`.keys`) knows integer ids; this module turns rows
into :class:`NormalisedApplication` records with the key tables' help.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any

import numpy as np

from graph.errors import Conflict, InvalidInput
from graph.normalise import SCALAR_PROPS, Identifier, NormalisedApplication
from graph.store.embedded.database import APPLICATION_COLUMNS, pack_ids, unpack_ids
from graph.store.embedded.keys import KeyTable
from graph.vocabulary import IDENTIFIER_KINDS, KIND_CODE

_SELECT = f"SELECT {', '.join(APPLICATION_COLUMNS)} FROM applications"
_INSERT = (
    f"INSERT INTO applications ({', '.join(APPLICATION_COLUMNS)}) VALUES ({', '.join('?' * len(APPLICATION_COLUMNS))})"
)
_PROPS = attrgetter(*SCALAR_PROPS)
_CHUNK = 30_000
"""Parameters per ``IN (...)`` query (SQLite allows 32766)."""


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


# -- writing ---------------------------------------------------------------------------------------
@dataclass(slots=True)
class NewRows:
    """A batch of new applications resolved to ids, with the applicants and identifiers it
    adds: what is written to SQLite in one transaction, then to the index."""

    first_row: int
    apps: list[NormalisedApplication]
    applicants: list[int]
    identifiers: list[list[int]]
    new_applicants: list[tuple[str, str]] = field(default_factory=list)
    new_identifiers: list[tuple[int, str, str]] = field(default_factory=list)
    displays: dict[int, str] = field(default_factory=dict)
    """Applicants known before whose latest display changes."""


def check_kinds(apps: Sequence[NormalisedApplication]) -> None:
    for app in apps:
        for ident in app.identifiers:
            if ident.kind not in KIND_CODE:
                raise InvalidInput("identifiers.kind", f"unknown identifier kind {ident.kind!r}")


def resolve(
    apps: Sequence[NormalisedApplication], applicants: KeyTable, identifiers: KeyTable, first_row: int
) -> NewRows:
    """Ids for the applicants and identifiers of new applications; unknown ones get the ids
    the key tables will give them once the batch is committed (nothing is added here)."""
    keys = [a.applicant_key for a in apps]
    people, fresh_people = applicants.resolve([0] * len(keys), keys)
    known = applicants.n
    latest: dict[int, str] = {}
    for person, app in zip(people, apps, strict=True):
        latest[person] = app.applicant_display
    new_applicants = [(keys[j], latest[people[j]]) for j in fresh_people]
    displays = {p: d for p, d in latest.items() if p < known and applicants.display(p) != d}
    kinds = [KIND_CODE[i.kind] for a in apps for i in a.identifiers]
    ident_keys = [i.key for a in apps for i in a.identifiers]
    ids, fresh_idents = identifiers.resolve(kinds, ident_keys)
    flat = [i for a in apps for i in a.identifiers]
    per_app: list[list[int]] = []
    start = 0
    for app in apps:
        per_app.append(ids[start : start + len(app.identifiers)])
        start += len(app.identifiers)
    new_identifiers = [(kinds[j], ident_keys[j], flat[j].display) for j in fresh_idents]
    return NewRows(first_row, list(apps), people, per_app, new_applicants, new_identifiers, displays)


def write(db: sqlite3.Connection, rows: NewRows, applicants_before: int, identifiers_before: int) -> None:
    """Insert a resolved batch (inside the caller's transaction)."""
    db.executemany(
        "INSERT INTO applicants VALUES (?, ?, ?)",
        [(applicants_before + j, key, display) for j, (key, display) in enumerate(rows.new_applicants)],
    )
    db.executemany("UPDATE applicants SET display = ? WHERE id = ?", [(d, p) for p, d in rows.displays.items()])
    db.executemany(
        "INSERT INTO identifiers VALUES (?, ?, ?, ?)",
        [
            (identifiers_before + j, IDENTIFIER_KINDS[kind], key, display)
            for j, (kind, key, display) in enumerate(rows.new_identifiers)
        ],
    )
    db.executemany(
        _INSERT,
        [
            (
                rows.first_row + j,
                a.application_id,
                person,
                a.applicant_display,
                a.ts,
                pack_ids(ids),
                *_PROPS(a),
            )
            for j, (a, person, ids) in enumerate(zip(rows.apps, rows.applicants, rows.identifiers, strict=True))
        ],
    )


def stored_applicants(db: sqlite3.Connection, application_ids: Sequence[str]) -> dict[str, int]:
    """Applicant id of each of these applications that is stored."""
    out: dict[str, int] = {}
    for chunk in _chunks(application_ids):
        marks = ", ".join("?" * len(chunk))
        out.update(
            db.execute(
                f"SELECT application_id, applicant FROM applications WHERE application_id IN ({marks})", list(chunk)
            ).fetchall()
        )
    return out


def new_applications(
    db: sqlite3.Connection, apps: Sequence[NormalisedApplication], applicants: KeyTable
) -> list[NormalisedApplication]:
    """The applications of a batch not stored yet, first send of each id; Conflict for an id
    stored (or sent earlier in the batch) for another applicant. Nothing is written."""
    stored = stored_applicants(db, list({a.application_id: None for a in apps}))
    fresh: dict[str, NormalisedApplication] = {}
    for app in apps:
        earlier = fresh.get(app.application_id)
        if earlier is not None:
            owner = earlier.applicant_key
        elif app.application_id in stored:
            owner = applicants.key(stored[app.application_id])
        else:
            fresh[app.application_id] = app
            continue
        if owner != app.applicant_key:
            raise Conflict(f"application {app.application_id!r} is already stored for another applicant")
    return list(fresh.values())


# -- reading ---------------------------------------------------------------------------------------
def decode(row: Sequence[Any], applicants: KeyTable, identifiers: KeyTable) -> NormalisedApplication:
    """The application of a row selected with :data:`APPLICATION_COLUMNS`."""
    _row, app_id, person, display, ts, blob, *props = row
    idents = tuple(
        Identifier(IDENTIFIER_KINDS[identifiers.kind(i)], identifiers.key(i), identifiers.display(i))
        for i in unpack_ids(blob)
    )
    return NormalisedApplication(app_id, ts, applicants.key(person), display, idents, *props)


def application_by_id(db: sqlite3.Connection, application_id: str) -> tuple[Any, ...] | None:
    row = db.execute(f"{_SELECT} WHERE application_id = ?", (application_id,)).fetchone()
    return None if row is None else tuple(row)


def row_of(db: sqlite3.Connection, application_id: str) -> tuple[int, int] | None:
    """(row, applicant id) of a stored application."""
    found = db.execute("SELECT id, applicant FROM applications WHERE application_id = ?", (application_id,)).fetchone()
    return None if found is None else (int(found[0]), int(found[1]))


def existing(db: sqlite3.Connection, application_ids: Sequence[str]) -> set[str]:
    return set(stored_applicants(db, application_ids))


def applications_at(db: sqlite3.Connection, rows: Sequence[int]) -> list[tuple[Any, ...]]:
    """The rows with these ids (in no particular order)."""
    out: list[tuple[Any, ...]] = []
    for chunk in _chunks(rows):
        marks = ", ".join("?" * len(chunk))
        out.extend(db.execute(f"{_SELECT} WHERE id IN ({marks})", list(chunk)).fetchall())
    return out


def by_time(apps: list[NormalisedApplication]) -> list[NormalisedApplication]:
    """Oldest first, ties by application id (the order every backend lists them in)."""
    return sorted(apps, key=lambda a: (a.ts, a.application_id))


# -- everything after a row, for the index ----------------------------------------------------------
def count(db: sqlite3.Connection, table: str) -> int:
    """Rows of an id table (ids are dense from 0, so this is also the next id)."""
    row = db.execute(f"SELECT max(id) FROM {table}").fetchone()
    return 0 if row[0] is None else int(row[0]) + 1


def read_keys(db: sqlite3.Connection, table: str, since: int, into: KeyTable, batch: int = 500_000) -> None:
    """Add the applicants or identifiers with id >= ``since`` to a key table (which holds ``since``),
    sorting them into its lookup order once, at the end."""
    held, last = db.execute(f"SELECT count(*), max(id) FROM {table} WHERE id >= ?", (since,)).fetchone()
    if not held:
        return
    if since != into.n or last != since + held - 1:
        raise ValueError(f"{table} ids are not dense from {into.n}")
    columns = "kind, key, display" if table == "identifiers" else "key, display"
    cursor = db.execute(f"SELECT {columns} FROM {table} WHERE id >= ? ORDER BY id", (since,))
    while part := cursor.fetchmany(batch):
        kinded = table == "identifiers"
        keys = list(map(itemgetter(1 if kinded else 0), part))
        displays = list(map(itemgetter(2 if kinded else 1), part))
        codes = list(map(KIND_CODE.__getitem__, map(itemgetter(0), part))) if kinded else [0] * len(part)
        into.add_many(codes, keys, displays, sort=False)
    into.merge()


def read_displays(db: sqlite3.Connection, applicant_ids: Sequence[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for chunk in _chunks(applicant_ids):
        marks = ", ".join("?" * len(chunk))
        out.update(db.execute(f"SELECT id, display FROM applicants WHERE id IN ({marks})", list(chunk)).fetchall())
    return out


def read_graph(
    db: sqlite3.Connection, since: int, batch: int = 200_000
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Applications with row >= ``since`` in row order, as index arrays per batch:
    (times, applicant ids, identifier pointers, identifier ids)."""
    cursor = db.execute("SELECT id, applicant, ts, identifiers FROM applications WHERE id >= ? ORDER BY id", (since,))
    expected = since
    while part := cursor.fetchmany(batch):
        if part[0][0] != expected or part[-1][0] != expected + len(part) - 1:
            raise ValueError(f"application rows are not dense from {expected}")
        expected += len(part)
        ts = np.fromiter((r[2] for r in part), np.float64, len(part))
        who = np.fromiter((r[1] for r in part), np.int32, len(part))
        blobs = [r[3] for r in part]
        ptr = np.zeros(len(part) + 1, np.int64)
        np.cumsum(np.fromiter((len(b) for b in blobs), np.int64, len(part)) // 4, out=ptr[1:])
        idents = np.frombuffer(b"".join(blobs), "<i4").astype(np.int32)
        yield ts, who, ptr, idents


def read_row(db: sqlite3.Connection, row: int) -> tuple[int, float, tuple[int, ...]] | None:
    """(applicant id, time, identifier ids) of one row, for checking a saved index."""
    found = db.execute("SELECT applicant, ts, identifiers FROM applications WHERE id = ?", (row,)).fetchone()
    return None if found is None else (int(found[0]), float(found[1]), unpack_ids(found[2]))


def read_key(db: sqlite3.Connection, table: str, key_id: int) -> tuple[str, str] | None:
    """(kind, key) of one applicant or identifier, for checking a saved index."""
    kind = "kind" if table == "identifiers" else "''"
    found = db.execute(f"SELECT {kind}, key FROM {table} WHERE id = ?", (key_id,)).fetchone()
    return None if found is None else (str(found[0]), str(found[1]))
