"""What every backend promises through the store seams, run on each of them.

The parity suite (tests/test_parity.py) compares the two backends on a generated
population; these cases pin the promises themselves on small, hand-made data:
one transaction per write, idempotent and concurrent-safe stores of an assessed
application, the snapshot's definition, and the case log's ordering.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from graph.errors import Conflict
from graph.normalise import Identifier, NormalisedApplication
from graph.store import Alert, AuditEntry, Decision, GraphStore, Label
from graph.store.snapshot import assemble
from tests.contract.conftest import Reopen

T0 = 1_760_000_000.0
DAY = 86400.0


def app(app_id: str, who: str, ts: float, *identifiers: str, **props: object) -> NormalisedApplication:
    idents = tuple(Identifier(n.split(":")[0], n.split(":")[1], n.split(":")[1][:2] + "**") for n in identifiers)
    return NormalisedApplication(app_id, ts, who * 12, f"{who}**", idents, **props)  # type: ignore[arg-type]


def decision(app_id: str, score: float = 0.3) -> Decision:
    return Decision(app_id, T0, score, "medium", "step_up", [{"code": "ring_size", "strength": 0.5}], "m1")


def audit(app_id: str) -> AuditEntry:
    return AuditEntry(T0, "scorer:test", "score", f"application:{app_id}", {"band": "medium"})


def test_an_assessed_application_is_stored_once_with_its_decision_and_audit(
    backend: tuple[GraphStore, Reopen],
) -> None:
    store, reopen = backend
    first = store.record_assessment(app("A1", "aa", T0, "device:d1"), decision("A1"), audit("A1"))
    again = store.record_assessment(app("A1", "aa", T0, "device:d1"), decision("A1", 0.9), audit("A1"))
    assert first.stored and first.first is None
    assert not again.stored and again.first == decision("A1")
    with pytest.raises(Conflict):
        store.record_assessment(app("A1", "bb", T0, "device:d1"), decision("A1"), audit("A1"))
    store = reopen()
    assert store.decisions("A1") == [decision("A1")]
    assert [(e.action, e.subject) for e in store.audit("application:A1")] == [("score", "application:A1")]
    assert store.stats()["applications"] == 1


def test_sixteen_concurrent_sends_of_one_id_store_one_decision(backend: tuple[GraphStore, Reopen]) -> None:
    store, _ = backend
    store.upsert([app("A0", "zz", T0 - DAY, "device:shared")])  # a node all sends merge into

    def send(n: int) -> bool:
        return store.record_assessment(
            app("A1", "aa", T0, "device:shared", f"phone:p{n % 2}"), decision("A1", n / 100), audit("A1")
        ).stored

    with ThreadPoolExecutor(16) as pool:
        stored = list(pool.map(send, range(16)))
    assert stored.count(True) == 1
    assert len(store.decisions("A1")) == 1
    assert len(store.audit("application:A1")) == 1
    assert store.stats()["applications"] == 2
    assert store.stats()["device"] == 1


def test_a_failed_write_leaves_nothing_and_later_writes_survive_a_restart(
    backend: tuple[GraphStore, Reopen],
) -> None:
    store, reopen = backend
    poisoned = app("BAD", "aa", T0, "device:d1", field_edits=2**64)  # no 64-bit integer holds it
    with pytest.raises(Exception):  # noqa: B017 - each backend names the overflow its own way
        store.record_assessment(poisoned, decision("BAD"), audit("BAD"))
    with pytest.raises(Exception):  # noqa: B017
        store.upsert([app("OK0", "cc", T0, "device:d0"), poisoned])
    assert store.application("BAD") is None and store.application("OK0") is None
    # Acknowledged after the failure: none of them may be lost or rolled back with it.
    assert store.record_assessment(app("A2", "bb", T0, "device:d1"), decision("A2"), audit("A2")).stored
    store.set_label(Label("device:d1", "confirmed_fraud", "analyst", T0, "listed"))
    store.add_alert(Alert("AL-1", "bb" * 12, "watch", T0, "label", 0.4, 0.1))
    store = reopen()
    assert store.application("BAD") is None
    assert store.application("A2") is not None
    assert store.decisions("A2") == [decision("A2")] and store.decisions("BAD") == []
    assert list(store.labels(["device:d1"])) == ["device:d1"]
    assert [a.alert_id for a in store.alerts()] == ["AL-1"]
    assert [e.subject for e in store.audit()] == ["application:A2"]


def _graph(store: GraphStore) -> None:
    """A subject's neighbourhood to four hops, with a hub at hop 3, labels, and a later
    application that no snapshot as of T0 may see."""
    store.upsert(
        [
            app("S0", "ss", T0 - 40 * DAY, "device:own", "phone:old", amount=100.0),
            app("A1", "aa", T0 - 2 * DAY, "device:own", "email:a1"),
            app("B1", "bb", T0 - 20 * DAY, "email:a1", "phone:b1"),
            app("C1", "cc", T0 - DAY, "phone:old", "employer:big"),
            *(app(f"H{n}", f"h{n:02d}", T0 - n * 3600, "employer:big") for n in range(35)),
            app("LATE", "ll", T0 + DAY, "device:own"),
        ]
    )
    store.set_label(Label("applicant:" + "bb" * 12, "confirmed_fraud", "analyst", T0, "ID theft"))
    store.set_label(Label("employer:big", "allow_listed", "analyst", T0, "employer"))
    store.set_label(Label("phone:new", "confirmed_fraud", "import", T0, "bad-actor list"))


def test_the_snapshot_is_its_definition(backend: tuple[GraphStore, Reopen]) -> None:
    store, _ = backend
    _graph(store)
    subject = app("S1", "ss", T0, "device:own", "phone:new")
    for as_of, limit in ((T0, 30), (T0, 2), (T0 + 2 * DAY, 30)):
        snap = store.snapshot(subject, as_of, limit)
        assert snap == assemble(store, store.labels, subject, as_of, limit)
    snap = store.snapshot(subject, T0, 30)
    assert snap.identifiers == ("device:own", "phone:new", "phone:old")
    assert sorted(snap.neighbours) == ["aa" * 12, "cc" * 12]
    assert sorted(snap.far_usage) == ["email:a1"]  # the employer is a hub: left out
    assert snap.far_usage["email:a1"].members == ("aa" * 12, "bb" * 12)
    assert sorted(snap.labels) == ["applicant:" + "bb" * 12, "employer:big", "phone:new"]
    assert [a.application_id for a in snap.history] == ["S0"]
    assert snap.usage["device:own"].members == ("aa" * 12, "ss" * 12)  # LATE is after as_of


def test_the_case_log_keeps_order(backend: tuple[GraphStore, Reopen]) -> None:
    store, _ = backend
    store.upsert([app("A1", "aa", T0, "device:d1")])
    for n in range(3):
        store.record_decision(decision("A1", n / 10))
    assert [d.score for d in store.decisions("A1")] == [0.0, 0.1, 0.2]
    seqs = [store.append_audit(T0 + n, "analyst", "lookup", "device:d1", {"n": n}) for n in range(3)]
    assert seqs == sorted(seqs)
    assert [e.detail["n"] for e in store.audit("device:d1", limit=2)] == [2, 1]
    store.set_label(Label("device:d1", "cleared", "a", T0, "household"))
    store.set_label(Label("device:d1", "confirmed_fraud", "b", T0 + 1, "changed"))
    assert store.labels(["device:d1"])["device:d1"].status == "confirmed_fraud"
    store.remove_label("device:d1")
    assert store.labels() == {}
    store.put_setting("x", "1")
    store.put_setting("x", "2")
    assert store.setting("x") == "2" and store.setting("nothing") is None
