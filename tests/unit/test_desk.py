"""The fraud desk on the fake store: one write per stored application, replays,
labels with their audit trail, and monitoring that alerts only whom a change reaches."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from api.http.routes.scoring import EXAMPLE
from api.service.desk import ALERT_TIERS, FraudDesk
from api.service.monitoring_worker import MonitoringWorker
from detectors.score import Scorer
from graph.errors import Conflict, InvalidInput, NotFound, StoreUnavailable
from graph.normalise import Normaliser
from graph.records import ApplicationRecord, parse_record
from graph.store.work_queue import RELABEL
from tests.unit.fakes import FakeStore

NOW = 1_795_300_000.0  # a day after the applications below
BANDS = ("low", "medium", "high", "critical")


def record(n: int, **changes: Any) -> ApplicationRecord:
    body = copy.deepcopy(EXAMPLE)
    body["application_id"] = f"APP-{n:06d}"
    body["applicant"]["national_id"] = f"1101011990030{n:05d}"
    body["email"] = f"person{n}@example.com"
    body["phone"] = f"+86 138 0000 {n:04d}"
    body["device"] = {"fingerprint": f"dfp-{n}"}
    body["submitted_at"] = f"2026-11-20T10:{n:02d}:00Z"
    body.update(changes)
    applicant = body["applicant"]  # an account is opened no later than its application (the input rules)
    if "account_created_at" in applicant:
        applicant["account_created_at"] = min(applicant["account_created_at"], body["submitted_at"])
    return parse_record(body)


@pytest.fixture()
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture()
def desk(store: FakeStore) -> FraudDesk:
    return FraudDesk(store, Normaliser(b"unit-test-key-0123456789"), Scorer.default(), clock=lambda: NOW)


def test_a_stored_application_is_one_read_and_one_write(desk: FraudDesk, store: FakeStore) -> None:
    done = desk.assess(record(1), persist=True, actor="scorer:test")
    assert done.stored and not done.replayed
    assert store.calls == ["snapshot", "record_assessment", "append_audit"]  # the audit is inside the write
    assert [d.trigger for d in store.decision_log] == ["application"]
    (event,) = store.audit_log
    assert (event.actor, event.action, event.subject) == ("scorer:test", "score", "application:APP-000001")
    assert event.detail["band"] == done.result.band


def test_a_resent_application_replays_its_first_decision(desk: FraudDesk, store: FakeStore) -> None:
    first = desk.assess(record(1), persist=True, actor="scorer:test")
    desk.assess(record(2, device={"fingerprint": "dfp-1"}), persist=True, actor="scorer:test")
    again = desk.assess(record(1), persist=True, actor="scorer:test")
    assert again.replayed and not again.stored
    assert again.result.score == first.result.score
    assert [r.code for r in again.result.reasons] == [r.code for r in first.result.reasons]
    assert len([d for d in store.decision_log if d.application_id == "APP-000001"]) == 1
    assert len([e for e in store.audit_log if e.subject == "application:APP-000001"]) == 1


def test_an_id_reused_for_another_applicant_is_a_conflict(desk: FraudDesk, store: FakeStore) -> None:
    desk.assess(record(1), persist=True, actor="scorer:test")
    other = record(1, applicant={"national_id": "220101199003070000"})
    with pytest.raises(Conflict):
        desk.assess(other, persist=True, actor="scorer:test")
    assert len(store.apps) == 1 and len(store.decision_log) == 1


def test_a_dry_run_writes_nothing(desk: FraudDesk, store: FakeStore) -> None:
    desk.assess(record(1), persist=False, actor="scorer:test")
    assert store.calls == ["snapshot"]
    assert not store.apps and not store.decision_log and not store.audit_log


def test_a_failed_write_is_reported_not_swallowed(desk: FraudDesk, store: FakeStore) -> None:
    store.fail_writes = True
    with pytest.raises(StoreUnavailable):
        desk.assess(record(1), persist=True, actor="scorer:test")
    assert not store.apps and not store.audit_log


def test_confirming_fraud_alerts_the_linked_applicant_only(desk: FraudDesk, store: FakeStore) -> None:
    fraudster = desk.assess(record(1, device={"fingerprint": "shared-kit"}), persist=True, actor="s")
    # Their kit's earlier user applied two months before: scored as nobody's ring then.
    early = {"submitted_at": "2026-09-20T10:00:00Z", "device": {"fingerprint": "shared-kit"}}
    linked = desk.assess(record(2, **early), persist=True, actor="s")
    desk.assess(record(3, employer={"name": "Other Co"}), persist=True, actor="s")  # a stranger
    change = desk.label(f"applicant:{fraudster.result.applicant_key}", "confirmed_fraud", "analyst:ana", "ID theft")
    assert change.rescore == "done"  # a desk of tools and replays re-scores in the call
    alerts = change.alerts
    by_whom = {a.applicant_key: a for a in alerts}
    # The fraudster (an existing customer now confirmed) and the one who shares their kit.
    assert sorted(by_whom) == sorted([fraudster.result.applicant_key, linked.result.applicant_key])
    assert by_whom[fraudster.result.applicant_key].tier == "freeze_recommended"
    alert = by_whom[linked.result.applicant_key]
    assert BANDS.index(alert.detail["band"]) > BANDS.index(linked.result.band)
    assert alert.tier == ALERT_TIERS[alert.detail["band"]]
    assert alert.score > linked.result.score
    actions = [e.action for e in store.audit_log]
    assert "label:confirmed_fraud" in actions and f"alert:{alert.tier}" in actions
    rescored = [d for d in store.decision_log if d.trigger == "monitoring"]
    assert {d.application_id for d in rescored} == {"APP-000001", "APP-000002"}


def test_labels_are_checked_before_anything_is_written(desk: FraudDesk, store: FakeStore) -> None:
    done = desk.assess(record(1), persist=True, actor="s")
    node = f"applicant:{done.result.applicant_key}"
    before = len(store.audit_log)
    with pytest.raises(InvalidInput):
        desk.label(node, "banana", "analyst:ana", "why")
    with pytest.raises(InvalidInput):
        desk.label(node, "allow_listed", "analyst:ana", "applicants cannot be allow-listed")
    with pytest.raises(InvalidInput):
        desk.label(node, "confirmed_fraud", "analyst:ana", "  ")
    with pytest.raises(NotFound):
        desk.label("applicant:nobody", "confirmed_fraud", "analyst:ana", "why")
    with pytest.raises(NotFound):
        desk.remove_label(node, "analyst:ana", "nothing to remove")
    assert len(store.audit_log) == before and not store.label_book


def test_removing_a_label_is_audited(desk: FraudDesk, store: FakeStore) -> None:
    done = desk.assess(record(1), persist=True, actor="s")
    node = f"applicant:{done.result.applicant_key}"
    raised = desk.label(node, "confirmed_fraud", "analyst:ana", "ID theft").alerts
    assert raised, "the customer confirmed as fraud is alerted (freeze recommended)"
    desk.remove_label(node, "senior:sam", "appeal upheld")
    assert node not in store.label_book
    removed = next(e for e in reversed(store.audit_log) if e.action == "label:removed")
    assert (removed.actor, removed.detail) == ("senior:sam", {"reason": "appeal upheld", "previous": "confirmed_fraud"})
    # The label was the alerts' cause: withdrawing it resolves them, audited after the removal.
    assert all(store.alert_book[a.alert_id].status == "resolved" for a in raised)
    after = store.audit_log[store.audit_log.index(removed) + 1 :]
    assert {e.subject for e in after if e.action == "alert:resolved"} == {a.alert_id for a in raised}


def _linked_three(desk: FraudDesk) -> tuple[str, str]:
    """A fraudster, the earlier user of their kit, and a stranger; the fraudster's node and
    the linked applicant's key."""
    fraudster = desk.assess(record(1, device={"fingerprint": "shared-kit"}), persist=True, actor="s")
    early = {"submitted_at": "2026-09-20T10:00:00Z", "device": {"fingerprint": "shared-kit"}}
    linked = desk.assess(record(2, **early), persist=True, actor="s")
    desk.assess(record(3, employer={"name": "Other Co"}), persist=True, actor="s")
    return f"applicant:{fraudster.result.applicant_key}", linked.result.applicant_key


def test_a_label_in_the_service_queues_its_rescoring_in_its_own_write(desk: FraudDesk, store: FakeStore) -> None:
    """Issue 11: the re-scores a label triggers are queued with the label (one store call
    writes the label, its audit event and the work) and done by the worker, not the call."""
    desk.monitoring = "off"  # stored without their own monitoring: the label is what alerts
    node, linked = _linked_three(desk)
    desk.monitoring = "queued"
    woken: list[bool] = []
    desk.work_queued = lambda: woken.append(True)
    worker = MonitoringWorker(store, desk.follow_ups(), start=False)
    decisions, calls, earlier = len(store.decision_log), len(store.calls), set(store.alert_book)
    change = desk.label(node, "confirmed_fraud", "analyst:ana", "ID theft")
    assert (change.rescore, change.alerts) == ("queued", [])
    assert len(store.decision_log) == decisions and set(store.alert_book) == earlier, "nothing re-scored in the call"
    writes = [c for c in store.calls[calls:] if c not in ("labels", "applicants_exist")]
    assert writes == ["set_label"], "the label, its audit event and its follow-up are one write"
    assert store.audit_log[-1].action == "label:confirmed_fraud"
    (item,) = store.work_log
    assert item.kind == RELABEL and woken == [True]
    assert worker.run_all() == 1 and store.pending_work() == 0
    raised = [a for a in store.alert_book.values() if a.alert_id not in earlier]
    assert {a.applicant_key for a in raised} == {node.partition(":")[2], linked}
    assert {a.trigger for a in raised} == {f"label:confirmed_fraud:{node}"}


def test_a_queued_rescore_of_a_label_changed_since_is_skipped(desk: FraudDesk, store: FakeStore) -> None:
    """A label confirmed then withdrawn before the worker looks: the confirmation's item
    is skipped (its cause is gone); the withdrawal's re-scores and raises nothing."""
    desk.monitoring = "queued"
    node, _ = _linked_three(desk)
    worker = MonitoringWorker(store, desk.follow_ups(), start=False)
    worker.run_all()
    before, earlier = len(store.decision_log), set(store.alert_book)
    desk.label(node, "confirmed_fraud", "analyst:ana", "ID theft")
    desk.remove_label(node, "senior:sam", "appeal upheld")
    assert [w.kind for w in store.work_log] == [RELABEL, RELABEL]
    assert worker.run_all() == 2
    assert set(store.alert_book) == earlier
    assert len(store.decision_log) - before == 2, "only the withdrawal re-scored (the applicant and its kit-mate)"


def test_labels_with_monitoring_off_rescore_nobody(desk: FraudDesk, store: FakeStore) -> None:
    desk.monitoring = "off"
    node, _ = _linked_three(desk)
    before = len(store.decision_log)
    assert desk.label(node, "confirmed_fraud", "analyst:ana", "ID theft").rescore == "off"
    assert len(store.decision_log) == before and not store.work_log


def test_a_household_member_applying_months_later_alerts_nobody(desk: FraudDesk, store: FakeStore) -> None:
    """Monitoring re-scores the first member with today's graph, but measures its own
    behaviour (velocity, ring members active before it) around its own submission: the
    second member's application today is no burst of the first's. (Measured around now, the
    first member was re-scored critical and alerted freeze_recommended.)"""
    first = desk.assess(
        record(1, submitted_at="2026-08-20T10:00:00Z", device={"fingerprint": "home-kit"}), persist=True, actor="s"
    )
    desk.assess(record(2, device={"fingerprint": "home-kit"}), persist=True, actor="s")
    alerts = desk.on_new_application("APP-000002")
    assert alerts == [], [(a.tier, a.detail["reasons"]) for a in alerts]
    rescored = [d for d in store.decision_log if d.trigger == "monitoring"]
    assert [d.application_id for d in rescored] == ["APP-000001"]
    velocity = [r for r in rescored[0].reasons if r["code"] == "velocity_device"]
    assert all(r["evidence"]["windows"]["24h"] == 1 for r in velocity)
    assert BANDS.index(rescored[0].band) <= BANDS.index("medium") and first.result.band == "low"
