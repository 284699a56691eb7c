"""The audit log is append-only and tamper-evident on each backend: SQLite refuses to
replace or change a row; on Neo4j (which cannot refuse a ``SET``) the seals catch any
event changed, deleted or slipped in, and a seal rewritten to match."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import neo4j
import pytest

from api.service.desk import FraudDesk
from detectors.score import Scorer
from graph.errors import Conflict
from graph.normalise import Normaliser
from graph.store import GraphStore
from graph.store.records import AuditSeal
from tests.contract.conftest import Reopen

T0 = 1_760_000_000.0


def desk_of(store: GraphStore, key: bytes = b"audit-test-key-0123456789") -> FraudDesk:
    return FraudDesk(store, Normaliser(key), Scorer.default(), clock=lambda: T0)


def fill(store: GraphStore, n: int, first: int = 0) -> None:
    for i in range(first, first + n):
        store.append_audit(T0 + i, "investigator:k1", "lookup", f"device:d{i}", {"kind": "device", "i": i})


def test_sealed_events_verify_and_new_ones_wait_for_the_next_seal(
    backend: tuple[GraphStore, Reopen], monkeypatch: pytest.MonkeyPatch
) -> None:
    from graph.store.neo4j import audit_seals

    # On Neo4j an event settles two minutes after it is numbered; here, at once.
    monkeypatch.setattr(audit_seals, "SETTLE_SECONDS", 0.0)
    store, reopen = backend
    fill(store, 7)
    desk = desk_of(store)
    first = desk.seal()
    assert first is not None and (first.n, first.count) == (1, 7)
    assert desk.seal() is None, "nothing new to seal"
    fill(store, 3, first=7)
    store = reopen()
    desk = desk_of(store)
    assert desk.verify().unsealed_events == 3
    second = desk.seal()
    assert second is not None and (second.n, second.count) == (2, 3)
    check = desk.verify()
    assert check.intact and (check.seals, check.sealed_events, check.unsealed_events) == (2, 10, 0)
    # A process holding another key cannot vouch for these seals.
    assert not desk_of(store, b"another-key-0123456789").verify().intact
    with pytest.raises(Conflict):
        store.add_audit_seal(AuditSeal(2, 1, 1, "00", "00", T0))


def test_sqlite_refuses_replace_update_and_delete(tmp_path: Path) -> None:
    from graph.store import open_store

    path = tmp_path / "audit.db"
    store = open_store(f"sqlite:///{path}")
    fill(store, 2)
    desk_of(store).seal()
    store.close()
    db = sqlite3.connect(path)
    for statement in (
        "INSERT OR REPLACE INTO audit (seq, at, actor, action, subject, detail) VALUES (1, 0, 'x', 'x', 'x', '{}')",
        "REPLACE INTO audit (seq, at, actor, action, subject, detail) VALUES (1, 0, 'x', 'x', 'x', '{}')",
        "UPDATE audit SET actor = 'x' WHERE seq = 1",
        "DELETE FROM audit WHERE seq = 1",
        "INSERT OR REPLACE INTO audit_seals VALUES (1, 0, 0, 'x', 'x', 0)",
        "UPDATE audit_seals SET chain = 'x'",
        "DELETE FROM audit_seals",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(statement)
    assert db.execute("SELECT actor FROM audit WHERE seq = 1").fetchone() == ("investigator:k1",)
    db.close()


@pytest.mark.neo4j
def test_neo4j_tampering_is_found(neo4j_url: str, wipe_neo4j: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from graph.store import open_store
    from graph.store.neo4j import audit_seals

    wipe_neo4j()  # type: ignore[operator]
    monkeypatch.setattr(audit_seals, "SETTLE_SECONDS", 0.0)  # every event numbered so far is settled
    store = open_store(neo4j_url, timeout=20.0)
    try:
        fill(store, 6)
        desk = desk_of(store)
        assert desk.seal() is not None and desk.verify().intact
        events = sorted(store.audit(limit=100), key=lambda e: e.seq)
        with neo4j.GraphDatabase.driver(neo4j_url) as driver, driver.session() as session:
            session.run("MATCH (e:AuditEvent {seq: $seq}) SET e.actor = 'admin:cover-up'", seq=events[1].seq).consume()
            assert any("were changed" in p for p in desk.verify().problems)
            session.run("MATCH (e:AuditEvent {seq: $seq}) DETACH DELETE e", seq=events[1].seq).consume()
            assert any("events deleted or inserted" in p for p in desk.verify().problems)
            # Rewriting the seal to match the doctored log needs the key the database lacks.
            rechained = desk.verify()
            assert rechained.problems
            session.run("MATCH (s:AuditSeal) SET s.count = 5").consume()
            problems = desk.verify().problems
            assert any("MAC does not match" in p for p in problems)
    finally:
        store.close()
