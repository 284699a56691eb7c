"""The case log's promises on each backend: labels written with their audit event and
follow-up work or not at all, the alert lifecycle with one unresolved alert per applicant
and tier (also under concurrent writers), and cases whose steps are written with their
audit event, in order, onto the version they were decided on."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from graph.errors import Conflict, NotFound
from graph.store import Alert, AuditEntry, GraphStore
from graph.store.records import Case, CaseStep, Label
from graph.store.work_queue import RELABEL, FollowUp
from tests.contract.conftest import Reopen

T0 = 1_760_000_000.0


def alert(
    alert_id: str, who: str = "aa", tier: str = "watch", trigger: str = "label:confirmed_fraud:device:d1"
) -> Alert:
    return Alert(alert_id, who, tier, T0, trigger, 0.4, 0.1, detail={"band": "medium"})


def test_an_alert_moves_through_its_life_and_survives_a_restart(backend: tuple[GraphStore, Reopen]) -> None:
    store, reopen = backend
    assert store.add_alert(alert("AL-1"))
    moved = store.set_alert_status("AL-1", "acknowledged", "investigator:k1", T0 + 5, "looking")
    assert (moved.status, moved.updated_by, moved.updated_at, moved.note) == (
        "acknowledged",
        "investigator:k1",
        T0 + 5,
        "looking",
    )
    store.set_alert_status("AL-1", "in_case", "investigator:k1", T0 + 6, "case opened", case_id="CS-1")
    store = reopen()
    found = store.alert("AL-1")
    assert found is not None and found.status == "in_case" and found.case_id == "CS-1"
    assert found.detail == {"band": "medium"}
    assert store.alert("AL-404") is None
    with pytest.raises(NotFound):
        store.set_alert_status("AL-404", "resolved", "x", T0, "n")


def test_one_unresolved_alert_per_applicant_and_tier(backend: tuple[GraphStore, Reopen]) -> None:
    store, _ = backend
    assert store.add_alert(alert("AL-1"))
    assert not store.add_alert(alert("AL-2"))  # same applicant and tier, AL-1 unresolved
    assert store.add_alert(alert("AL-3", tier="investigate"))
    assert store.add_alert(alert("AL-4", who="bb"))
    store.set_alert_status("AL-1", "resolved", "x", T0 + 1, "done")
    assert store.add_alert(alert("AL-5"))  # once resolved, a new one may be raised
    assert sorted(a.alert_id for a in store.alerts()) == ["AL-1", "AL-3", "AL-4", "AL-5"]
    assert [a.alert_id for a in store.alerts(status="resolved")] == ["AL-1"]
    assert sorted(a.alert_id for a in store.alerts(applicant_key="aa")) == ["AL-1", "AL-3", "AL-5"]


def test_concurrent_writers_raise_one_alert(backend: tuple[GraphStore, Reopen]) -> None:
    store, _ = backend
    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(lambda n: store.add_alert(alert(f"AL-{n}")), range(8)))
    assert created.count(True) == 1
    assert len(store.alerts(applicant_key="aa")) == 1


def test_withdrawing_a_cause_resolves_only_its_unresolved_alerts(backend: tuple[GraphStore, Reopen]) -> None:
    store, _ = backend
    store.add_alert(alert("AL-1", who="aa"))
    store.add_alert(alert("AL-2", who="bb"))
    store.add_alert(alert("AL-3", who="cc", trigger="joined:APP-9"))
    resolved = store.resolve_alerts(["label:confirmed_fraud:device:d1"], "investigator:k1", T0 + 9, "label cleared")
    assert sorted(a.alert_id for a in resolved) == ["AL-1", "AL-2"]
    assert all(a.status == "resolved" and a.note == "label cleared" and a.updated_at == T0 + 9 for a in resolved)
    assert [a.alert_id for a in store.alerts(status="open")] == ["AL-3"]
    assert store.resolve_alerts(["label:confirmed_fraud:device:d1"], "x", T0, "again") == []
    assert store.add_alert(alert("AL-4", who="aa"))  # the resolved one no longer blocks


def opened(case_id: str = "CS-1", subject: str = "applicant:" + "aa" * 12) -> Case:
    step = CaseStep(1, T0, "investigator:k1", "open", None, "alert", "open", "analyst", {"source": "alert"})
    return Case(
        case_id,
        subject,
        "alert",
        T0,
        "investigator:k1",
        "alert",
        {"alert": {"alert_id": "AL-1", "tier": "watch"}, "reasons": [{"code": "ring_size"}]},
        "open",
        "analyst",
        None,
        None,
        T0,
        1,
        "AL-1",
        (step,),
    )


def stepped(case: Case, actor: str, action: str, outcome: str | None, status: str, layer: str, at: float) -> Case:
    step = CaseStep(case.version + 1, at, actor, action, outcome, f"{action} because", status, layer, {"n": 1})
    return replace(
        case,
        status=status,
        layer=layer,
        outcome=outcome if action == "decide" else case.outcome,
        updated_at=at,
        version=case.version + 1,
        steps=(*case.steps, step),
    )


def entry(case: Case) -> AuditEntry:
    last = case.steps[-1]
    return AuditEntry(last.at, last.actor, f"case:{last.action}", case.case_id, {"outcome": last.outcome})


def test_a_case_keeps_its_steps_and_audit_in_order(backend: tuple[GraphStore, Reopen]) -> None:
    store, reopen = backend
    case = opened()
    store.open_case(case, entry(case))
    with pytest.raises(Conflict):
        store.open_case(case, entry(case))
    rec = stepped(case, "investigator:k1", "recommend", "freeze", "recommended", "committee", T0 + 10)
    store.add_case_step(rec, entry(rec))
    dec = stepped(rec, "committee:k2", "decide", "freeze", "decided", "committee", T0 + 20)
    store.add_case_step(dec, entry(dec))
    store = reopen()
    found = store.case("CS-1")
    assert found == dec
    assert [s.action for s in found.steps] == ["open", "recommend", "decide"]
    assert [(e.action, e.actor) for e in reversed(store.audit("CS-1"))] == [
        ("case:open", "investigator:k1"),
        ("case:recommend", "investigator:k1"),
        ("case:decide", "committee:k2"),
    ]
    assert store.case("CS-404") is None


def test_a_step_onto_a_stale_version_is_refused_and_writes_nothing(backend: tuple[GraphStore, Reopen]) -> None:
    store, _ = backend
    case = opened()
    store.open_case(case, entry(case))
    first = stepped(case, "investigator:k1", "assign", "investigator:k1", "open", "analyst", T0 + 1)
    second = stepped(case, "investigator:k3", "assign", "investigator:k3", "open", "analyst", T0 + 2)
    store.add_case_step(first, entry(first))
    with pytest.raises(Conflict):
        store.add_case_step(second, entry(second))
    found = store.case("CS-1")
    assert found is not None and found.version == 2 and found.steps[-1].actor == "investigator:k1"
    assert [e.action for e in store.audit("CS-1")] == ["case:assign", "case:open"]


def test_of_concurrent_steps_on_one_version_exactly_one_lands(backend: tuple[GraphStore, Reopen]) -> None:
    store, _ = backend
    case = opened()
    store.open_case(case, entry(case))
    attempts = [
        stepped(case, f"investigator:k{n}", "recommend", "watch", "recommended", "analyst", T0 + n) for n in range(6)
    ]

    def attempt(c: Case) -> bool:
        try:
            store.add_case_step(c, entry(c))
            return True
        except Conflict:
            return False

    with ThreadPoolExecutor(6) as pool:
        landed = list(pool.map(attempt, attempts))
    assert landed.count(True) == 1
    found = store.case("CS-1")
    assert found is not None and found.version == 2 and len(found.steps) == 2
    assert len(store.audit("CS-1")) == 2


def test_the_queue_filters_by_status_layer_owner_and_subject(backend: tuple[GraphStore, Reopen]) -> None:
    store, _ = backend
    a = opened("CS-A")
    b = opened("CS-B", subject="RING-00000001")
    store.open_case(a, entry(a))
    store.open_case(b, entry(b))
    mine = replace(
        stepped(b, "senior:k2", "assign", "senior:k2", "open", "senior", T0 + 5),
        owner="senior:k2",
    )
    store.add_case_step(mine, entry(mine))
    assert [c.case_id for c in store.cases()] == ["CS-B", "CS-A"]
    assert [c.case_id for c in store.cases(owner="")] == ["CS-A"]
    assert [c.case_id for c in store.cases(owner="senior:k2")] == ["CS-B"]
    assert [c.case_id for c in store.cases(layer="senior")] == ["CS-B"]
    assert [c.case_id for c in store.cases(status="open", subject="RING-00000001")] == ["CS-B"]
    assert store.cases(status="closed") == []
    assert [c.case_id for c in store.cases(limit=1)] == ["CS-B"]
    listed = store.cases(subject="RING-00000001")[0]
    assert listed.steps == () and listed.version == 2 and listed.evidence == b.evidence


def test_a_label_is_written_with_its_audit_event_and_follow_up_or_not_at_all(
    backend: tuple[GraphStore, Reopen],
) -> None:
    """Issue 11: a label and the re-scoring it causes are one transaction, so neither a
    crash nor a failed write leaves a label without its audit event or its monitoring."""
    store, reopen = backend
    node = "device:d1"
    label = Label(node, "confirmed_fraud", "investigator:k1", T0, "chargeback")
    audit = AuditEntry(T0, "investigator:k1", "label:confirmed_fraud", node, {"reason": "chargeback"})
    follow = FollowUp(RELABEL, '{"node": "device:d1"}', T0)
    looped: dict[str, object] = {}
    looped["self"] = looped  # no JSON for it: the audit write fails after the label's
    unwritable = AuditEntry(T0, "investigator:k1", "label:confirmed_fraud", node, looped)
    with pytest.raises(ValueError):
        store.set_label(label, unwritable, follow)
    assert store.labels([node]) == {} and store.audit(node) == [] and store.pending_work() == 0
    store.set_label(label, audit, follow)
    store = reopen()
    assert store.labels([node])[node].status == "confirmed_fraud"
    assert [e.action for e in store.audit(node)] == ["label:confirmed_fraud"]
    (item,) = store.claim("w1", T0, 60.0, 10)
    assert (item.kind, item.subject) == (RELABEL, follow.subject)
    store.finish("w1", [item.seq])
    removal = AuditEntry(T0 + 1, "senior:k2", "label:removed", node, {"reason": "appeal upheld"})
    with pytest.raises(ValueError):
        store.remove_label(node, replace(removal, detail=looped), follow)
    assert node in store.labels([node]) and store.pending_work() == 0
    store.remove_label(node, removal, FollowUp(RELABEL, "removed", T0 + 1))
    store = reopen()
    assert store.labels([node]) == {} and store.pending_work() == 1
    assert [e.action for e in store.audit(node)] == ["label:removed", "label:confirmed_fraud"]
