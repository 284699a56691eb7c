"""The embedded store's SQLite database: connection, schema, migration and transactions.

SQLite is the source of truth; the in-memory index (:mod:`.index`) is derived
from it. Applications, applicants and identifiers have dense integer ids
(0, 1, 2 ... in the order they were first stored), which are also their
positions in the index arrays::

    applicants   (id, key, display)                  display: of the applicant's latest application
    identifiers  (id, kind, key, display)            display: of its first use
    applications (id, application_id UNIQUE, applicant, applicant_display, ts,
                  identifiers BLOB (little-endian int32 identifier ids, in the application's order),
                  scalar properties ...)

plus the case log (labels, decisions, alerts, cases and their append-only steps,
the append-only audit log, rings, settings); the first schema's alerts table is
given the lifecycle columns on open (:func:`_upgrade_alerts`). ``PRAGMA user_version`` is
the schema version: 0 is the wave-1 schema (identifiers packed as text in each
application row), migrated in one transaction on first open.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from graph.errors import InvalidInput, StoreUnavailable
from graph.normalise import SCALAR_PROPS
from graph.store.records import AuditEntry
from graph.vocabulary import KIND_CODE

SCHEMA_VERSION = 2
IDENTITY_SETTING = "embedded_index_identity"
"""The settings row holding a random token that names this database; the persisted index
carries the same token, so an index copied from another database is never trusted."""

APPLICATION_COLUMNS: tuple[str, ...] = (
    "id",
    "application_id",
    "applicant",
    "applicant_display",
    "ts",
    "identifiers",
    *SCALAR_PROPS,
)

_CASE_LOG = (
    """CREATE TABLE IF NOT EXISTS labels (
        node_id TEXT PRIMARY KEY, status TEXT NOT NULL, by TEXT NOT NULL,
        at REAL NOT NULL, reason TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS rings (
        ring_id TEXT PRIMARY KEY, run_id TEXT NOT NULL, at REAL NOT NULL, active INTEGER NOT NULL,
        score REAL NOT NULL, features TEXT NOT NULL, identifiers TEXT NOT NULL,
        lineage TEXT NOT NULL, members TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS decisions (
        id INTEGER PRIMARY KEY AUTOINCREMENT, application_id TEXT NOT NULL, at REAL NOT NULL,
        score REAL NOT NULL, band TEXT NOT NULL, action TEXT NOT NULL, reasons TEXT NOT NULL,
        model_version TEXT NOT NULL, trigger TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS decisions_by_application ON decisions(application_id)",
    "CREATE INDEX IF NOT EXISTS decisions_by_time ON decisions(trigger, at)",
    """CREATE TABLE IF NOT EXISTS alerts (
        alert_id TEXT PRIMARY KEY, applicant_key TEXT NOT NULL, tier TEXT NOT NULL, at REAL NOT NULL,
        trigger TEXT NOT NULL, score REAL NOT NULL, previous_score REAL, status TEXT NOT NULL,
        detail TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS cases (
        case_id TEXT PRIMARY KEY, subject TEXT NOT NULL, source TEXT NOT NULL, opened_at REAL NOT NULL,
        opened_by TEXT NOT NULL, reason TEXT NOT NULL, evidence TEXT NOT NULL, status TEXT NOT NULL,
        layer TEXT NOT NULL, owner TEXT, outcome TEXT, updated_at REAL NOT NULL, version INTEGER NOT NULL,
        alert_id TEXT)""",
    "CREATE INDEX IF NOT EXISTS cases_by_update ON cases(updated_at)",
    "CREATE INDEX IF NOT EXISTS cases_by_subject ON cases(subject)",
    """CREATE TABLE IF NOT EXISTS case_steps (
        case_id TEXT NOT NULL, seq INTEGER NOT NULL, at REAL NOT NULL, actor TEXT NOT NULL,
        action TEXT NOT NULL, outcome TEXT, reason TEXT NOT NULL, status TEXT NOT NULL, layer TEXT NOT NULL,
        detail TEXT NOT NULL, PRIMARY KEY (case_id, seq))""",
    """CREATE TRIGGER IF NOT EXISTS case_steps_no_replace BEFORE INSERT ON case_steps
        WHEN EXISTS (SELECT 1 FROM case_steps WHERE case_id = NEW.case_id AND seq = NEW.seq)
        BEGIN SELECT RAISE(ABORT, 'case steps are append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS case_steps_append_only_update BEFORE UPDATE ON case_steps
        BEGIN SELECT RAISE(ABORT, 'case steps are append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS case_steps_append_only_delete BEFORE DELETE ON case_steps
        BEGIN SELECT RAISE(ABORT, 'case steps are append-only'); END""",
    """CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, actor TEXT NOT NULL,
        action TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS audit_by_subject ON audit(subject)",
    "CREATE INDEX IF NOT EXISTS audit_by_action ON audit(action, seq)",
    "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TRIGGER IF NOT EXISTS audit_no_replace BEFORE INSERT ON audit
        WHEN NEW.seq IS NOT NULL AND EXISTS (SELECT 1 FROM audit WHERE seq = NEW.seq)
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TABLE IF NOT EXISTS work (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, subject TEXT NOT NULL, at REAL NOT NULL,
        holder TEXT, until REAL, attempts INTEGER NOT NULL DEFAULT 0)""",
    "CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, holder TEXT NOT NULL, until REAL NOT NULL)",
    """CREATE TABLE IF NOT EXISTS audit_seals (
        n INTEGER PRIMARY KEY, upto INTEGER NOT NULL, count INTEGER NOT NULL, chain TEXT NOT NULL,
        mac TEXT NOT NULL, at REAL NOT NULL)""",
    """CREATE TRIGGER IF NOT EXISTS audit_seals_no_replace BEFORE INSERT ON audit_seals
        WHEN EXISTS (SELECT 1 FROM audit_seals WHERE n = NEW.n)
        BEGIN SELECT RAISE(ABORT, 'audit seals are append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_seals_append_only_update BEFORE UPDATE ON audit_seals
        BEGIN SELECT RAISE(ABORT, 'audit seals are append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_seals_append_only_delete BEFORE DELETE ON audit_seals
        BEGIN SELECT RAISE(ABORT, 'audit seals are append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
)

_ALERT_LIFECYCLE = {
    "updated_at": "REAL",
    "updated_by": "TEXT NOT NULL DEFAULT ''",
    "note": "TEXT NOT NULL DEFAULT ''",
    "case_id": "TEXT",
}
"""Columns the alert lifecycle added to the first schema's alerts table."""


def _upgrade_alerts(db: sqlite3.Connection) -> None:
    """Give an older alerts table the lifecycle columns and the rule of one unresolved
    alert per applicant and tier (duplicates an older version raised are resolved first,
    the newest kept, so the rule can be created)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(alerts)")}
    for name, kind in _ALERT_LIFECYCLE.items():
        if name not in columns:
            db.execute(f"ALTER TABLE alerts ADD COLUMN {name} {kind}")  # names from the constant above
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'alerts_one_unresolved'").fetchone():
        return
    db.execute(
        """UPDATE alerts SET status = 'resolved', note = 'duplicate of a newer unresolved alert'
           WHERE status != 'resolved' AND EXISTS (
             SELECT 1 FROM alerts newer WHERE newer.applicant_key = alerts.applicant_key
               AND newer.tier = alerts.tier AND newer.status != 'resolved'
               AND (newer.at > alerts.at OR (newer.at = alerts.at AND newer.alert_id > alerts.alert_id)))"""
    )
    db.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_unresolved ON alerts(applicant_key, tier) "
        "WHERE status != 'resolved'"
    )
    db.execute("CREATE INDEX IF NOT EXISTS alerts_by_trigger ON alerts(trigger)")


_GRAPH = (
    "CREATE TABLE IF NOT EXISTS applicants (id INTEGER PRIMARY KEY, key TEXT NOT NULL, display TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS identifiers (
        id INTEGER PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL, display TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS applications (
        id INTEGER PRIMARY KEY, application_id TEXT NOT NULL UNIQUE, applicant INTEGER NOT NULL,
        applicant_display TEXT NOT NULL, ts REAL NOT NULL, identifiers BLOB NOT NULL,
        account_created_ts REAL, amount REAL, income REAL, product TEXT, channel TEXT, device_os TEXT,
        lat REAL, lon REAL, form_fill_seconds REAL, field_edits INTEGER, paste_events INTEGER,
        session_seconds REAL)""",
)

_V1_ITEM, _V1_FIELD = "\x1e", "\x1f"


def path_of(url: str) -> str | None:
    """The database file of a ``sqlite:///path`` URL, None for ``memory://``."""
    if url.startswith("memory://"):
        return None
    if not url.startswith("sqlite:///"):
        raise InvalidInput("graph_url", "embedded store URLs are sqlite:///path or memory://")
    path = url[len("sqlite:///") :]
    if not path:
        raise InvalidInput("graph_url", "sqlite:/// needs a file path")
    return path


def connect(path: str | None) -> sqlite3.Connection:
    """An autocommit connection (transactions are explicit, see :func:`transaction`) in WAL mode."""
    try:
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    except (sqlite3.Error, OSError) as exc:
        raise StoreUnavailable(f"cannot open {path or 'memory://'}: {exc}") from exc
    return db


class StoreReadOnly(StoreUnavailable):
    """A write through a store opened read-only."""


class _ReadOnlyConnection(sqlite3.Connection):
    """Says a refused write is one (SQLite's own error names no store and no remedy)."""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.OperationalError as exc:
            raise _refused(exc) from exc

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        try:
            return super().executemany(sql, parameters)
        except sqlite3.OperationalError as exc:
            raise _refused(exc) from exc


def _refused(exc: sqlite3.OperationalError) -> Exception:
    if "readonly" not in str(exc):
        return exc
    return StoreReadOnly(
        "this store is open read-only (beside the process that owns it): writes go through that process"
    )


def connect_read_only(path: str) -> sqlite3.Connection:
    """A connection that cannot write (SQLite's ``mode=ro``), for a tool that reads a store
    another process owns; it never creates the file."""
    if not Path(path).is_file():
        raise StoreUnavailable(f"{path} does not exist (a read-only open never creates a store)")
    try:
        return sqlite3.connect(
            f"{Path(path).resolve().as_uri()}?mode=ro",
            uri=True,
            check_same_thread=False,
            isolation_level=None,
            factory=_ReadOnlyConnection,
        )
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot open {path} read-only: {exc}") from exc


def identity_of(db: sqlite3.Connection) -> str:
    """The identity token of a database prepared by this ringsight's schema (read-only opens:
    nothing is created or migrated)."""
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        row = db.execute("SELECT value FROM settings WHERE name = ?", (IDENTITY_SETTING,)).fetchone()
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot read the database: {exc}") from exc
    if version != SCHEMA_VERSION or row is None:
        raise StoreUnavailable(
            f"the database has schema version {version} (this ringsight: {SCHEMA_VERSION}); a read-only open "
            "cannot migrate it: open it once for writing (e.g. `ringsight serve`)"
        )
    return str(row[0])


@contextmanager
def read_snapshot(db: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: every statement inside sees the same committed state (a
    read-only store catching up while the writer process commits)."""
    db.execute("BEGIN")
    try:
        yield
    finally:
        db.execute("COMMIT")


@contextmanager
def transaction(db: sqlite3.Connection, what: str) -> Iterator[None]:
    """One write transaction: committed whole, or rolled back on any error (so nothing of a
    failed write stays pending for a later write to commit). SQLite errors become
    :class:`StoreUnavailable`; anything else (a Conflict, an OverflowError ...) is re-raised."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"{what} failed: {exc}") from exc
    try:
        yield
        db.execute("COMMIT")
    except BaseException as exc:
        if db.in_transaction:
            db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise StoreUnavailable(f"{what} failed: {exc}") from exc
        raise


def insert_audit(db: sqlite3.Connection, entry: AuditEntry) -> int:
    """Append one audit event (inside the caller's transaction); return its sequence number."""
    cur = db.execute(
        "INSERT INTO audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
        (entry.at, entry.actor, entry.action, entry.subject, json.dumps(entry.detail, sort_keys=True, default=str)),
    )
    return int(cur.lastrowid or 0)


def prepare(db: sqlite3.Connection) -> str:
    """Create or migrate the schema; return the database's identity token."""
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StoreUnavailable(
                f"the database has schema version {version}; this ringsight reads up to {SCHEMA_VERSION}"
            )
        with transaction(db, "schema"):
            for statement in _CASE_LOG:
                db.execute(statement)
            _upgrade_alerts(db)
            if version < SCHEMA_VERSION:
                if _has_wave1_applications(db):
                    _migrate_wave1(db)
                for statement in _GRAPH:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            row = db.execute("SELECT value FROM settings WHERE name = ?", (IDENTITY_SETTING,)).fetchone()
            if row is None:
                token = secrets.token_hex(16)
                db.execute("INSERT INTO settings VALUES (?, ?)", (IDENTITY_SETTING, token))
            else:
                token = str(row[0])
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot prepare the database: {exc}") from exc
    return token


def _has_wave1_applications(db: sqlite3.Connection) -> bool:
    columns = {row[1] for row in db.execute("PRAGMA table_info(applications)")}
    return "applicant_key" in columns


def _migrate_wave1(db: sqlite3.Connection) -> None:
    """Rewrite wave-1 application rows (identifiers packed as text) into the id tables, inside
    the caller's transaction. Rows are numbered in (ts, application_id) order, the order the
    wave-1 store read them in, so displays and orders come out as that store showed them."""
    from graph.store.embedded.keys import KeyTable

    db.execute("ALTER TABLE applications RENAME TO applications_wave1")
    for statement in _GRAPH:
        db.execute(statement)
    applicants, identifiers = KeyTable(), KeyTable()
    scalars = ", ".join(SCALAR_PROPS)
    cursor = db.execute(
        f"SELECT application_id, applicant_key, applicant_display, ts, identifiers, {scalars} "
        "FROM applications_wave1 ORDER BY ts, application_id"
    )
    marks = ", ".join("?" * len(APPLICATION_COLUMNS))
    row_id = 0
    while batch := cursor.fetchmany(20_000):
        keys = [row[1] for row in batch]
        people, first_people = applicants.resolve([0] * len(keys), keys)
        last_display = {person: row[2] for person, row in zip(people, batch, strict=True)}
        items = [[item.split(_V1_FIELD) for item in row[4].split(_V1_ITEM)] if row[4] else [] for row in batch]
        flat = [item for app_items in items for item in app_items]
        for app_id, app_items in zip((row[0] for row in batch), items, strict=True):
            unknown = [kind for kind, *_ in app_items if kind not in KIND_CODE]
            if unknown:
                raise StoreUnavailable(f"cannot migrate application {app_id!r}: unknown identifier kind {unknown[0]!r}")
        kinds = [KIND_CODE[kind] for kind, _, _ in flat]
        ident_ids, first_idents = identifiers.resolve(kinds, [key for _, key, _ in flat])
        db.executemany(
            "INSERT INTO applicants VALUES (?, ?, ?)", [(people[j], keys[j], batch[j][2]) for j in first_people]
        )
        db.executemany("UPDATE applicants SET display = ? WHERE id = ?", [(d, p) for p, d in last_display.items()])
        db.executemany("INSERT INTO identifiers VALUES (?, ?, ?, ?)", [(ident_ids[j], *flat[j]) for j in first_idents])
        rows = []
        start = 0
        for person, row, app_items in zip(people, batch, items, strict=True):
            ids = ident_ids[start : start + len(app_items)]
            start += len(app_items)
            rows.append((row_id, row[0], person, row[2], row[3], pack_ids(ids), *row[5:]))
            row_id += 1
        applicants.add_many([0] * len(first_people), [keys[j] for j in first_people], [""] * len(first_people))
        identifiers.add_many(
            [kinds[j] for j in first_idents], [flat[j][1] for j in first_idents], [""] * len(first_idents)
        )
        db.executemany(f"INSERT INTO applications ({', '.join(APPLICATION_COLUMNS)}) VALUES ({marks})", rows)
    db.execute("DROP TABLE applications_wave1")


_PACKERS: dict[int, struct.Struct] = {}


def pack_ids(ids: list[int]) -> bytes:
    """Identifier ids of one application as its ``identifiers`` blob."""
    packer = _PACKERS.get(len(ids))
    if packer is None:
        packer = _PACKERS[len(ids)] = struct.Struct(f"<{len(ids)}i")
    return packer.pack(*ids)


def unpack_ids(blob: bytes) -> tuple[int, ...]:
    """The identifier ids of an ``identifiers`` blob."""
    count = len(blob) // 4
    packer = _PACKERS.get(count)
    if packer is None:
        packer = _PACKERS[count] = struct.Struct(f"<{count}i")
    return packer.unpack(blob)
