"""The investigator console's reads on each backend: who used an identifier (latest first,
also for a hub and across the embedded index's frozen arrays and tail), the overview's
counts made in the store (decisions by day, band, action, channel and product; alerts and
cases by group, status and age; audited ring runs), and the desk's reach view built on
the reader seam (hubs, blocking labels and the root left out of the walk)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

import api.service.reach as reach_module
from api.service.desk import FraudDesk
from detectors.score import Scorer
from graph.errors import InvalidInput, NotFound
from graph.normalise import Identifier, NormalisedApplication, Normaliser
from graph.store import Alert, AuditEntry, Decision, DecisionCount, GraphStore, IdentifierUser, Label, WorkCount
from graph.store.records import Case, CaseStep
from tests.contract.conftest import Reopen

T0 = 1_760_000_000.0
DAY = 86400.0
NOW = T0 + 100 * DAY


def app(app_id: str, who: str, ts: float, *identifiers: str, **props: object) -> NormalisedApplication:
    idents = tuple(Identifier(n.split(":")[0], n.split(":")[1], n.split(":")[1][:2] + "**") for n in identifiers)
    return NormalisedApplication(app_id, ts, who * 12, f"{who}**", idents, **props)  # type: ignore[arg-type]


def person(who: str) -> str:
    return "applicant:" + who * 12


def decision(app_id: str, at: float, band: str, action: str, trigger: str = "application") -> Decision:
    return Decision(app_id, at, 0.5, band, action, [], "m1", trigger)


def audit(app_id: str) -> AuditEntry:
    return AuditEntry(T0, "scorer:test", "score", f"application:{app_id}", {})


def day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


# -- who used an identifier --------------------------------------------------------------------------
def test_the_applicants_of_an_identifier_come_latest_first_also_for_a_hub(backend: tuple[GraphStore, Reopen]) -> None:
    store, reopen = backend
    # 300 users written in bulk (compacted into the embedded index's arrays) ...
    store.upsert([app(f"H{i:03d}", f"h{i:03d}", T0 + 10 * i, "phone:ph", f"device:d{i}") for i in range(300)])
    # ... and online writes after them (the embedded index's tail): a user coming back, and two
    # new users at the same moment (ordered by key).
    store.record_assessment(app("B1", "h005", T0 + 5000, "phone:ph"), decision("B1", T0, "low", "approve"), audit("B1"))
    for app_id, who in (("Z2", "zb"), ("Z1", "za")):
        store.record_assessment(
            app(app_id, who, T0 + 6000, "phone:ph"), decision(app_id, T0, "low", "approve"), audit(app_id)
        )

    def users(limit: int) -> list[IdentifierUser]:
        return store.identifier_applicants("phone:ph", limit)

    latest = [
        IdentifierUser("za" * 12, 1, T0 + 6000, T0 + 6000, "za**"),
        IdentifierUser("zb" * 12, 1, T0 + 6000, T0 + 6000, "zb**"),
        IdentifierUser("h005" * 12, 2, T0 + 50, T0 + 5000, "h005**"),
        IdentifierUser("h299" * 12, 1, T0 + 2990, T0 + 2990, "h299**"),
    ]
    assert users(4) == latest
    assert users(1) == latest[:1]
    every = users(1000)
    assert len(every) == 302 and sum(u.applications for u in every) == 303
    assert [u.last_ts for u in every] == sorted((u.last_ts for u in every), reverse=True)
    assert every[-1] == IdentifierUser("h000" * 12, 1, T0, T0, "h000**")
    assert store.identifier_applicants("device:d7", 10) == [IdentifierUser("h007" * 12, 1, T0 + 70, T0 + 70, "h007**")]
    assert store.identifier_applicants("phone:nobody", 10) == []
    assert store.identifier_applicants(person("h001"), 10) == []
    assert store.identifier_applicants("application:H001", 10) == []
    assert store.identifier_applicants("phone:ph", 0) == []
    store = reopen()
    assert store.identifier_applicants("phone:ph", 4) == latest


# -- the overview's counts -----------------------------------------------------------------------------
def test_decisions_are_counted_by_day_band_action_channel_and_product(backend: tuple[GraphStore, Reopen]) -> None:
    store, _ = backend
    store.upsert(
        [
            app("A1", "aa", T0, "device:d1", channel="app", product="cash_loan"),
            app("A2", "bb", T0, "device:d2", channel="web"),
            app("A3", "cc", T0, "device:d3", product="cash_loan"),
        ]
    )
    first, second = T0 + 10 * DAY, T0 + 11 * DAY
    for d in (
        decision("A1", T0, "critical", "decline"),  # before the window
        decision("A1", first, "high", "review"),
        decision("A1", first + 60, "high", "review", trigger="monitoring"),  # not the scoring flow's
        decision("A2", first + 120, "low", "approve"),
        decision("A2", second, "low", "approve"),
        decision("A3", second + 1, "critical", "decline"),
        decision("GHOST", second + 2, "low", "approve"),  # no stored application
    ):
        store.record_decision(d)
    since = first - 1
    assert store.decision_summary(since) == [
        DecisionCount(day(first), "high", "review", "app", "cash_loan", 1),
        DecisionCount(day(first), "low", "approve", "web", None, 1),
        DecisionCount(day(second), "critical", "decline", None, "cash_loan", 1),
        DecisionCount(day(second), "low", "approve", None, None, 1),
        DecisionCount(day(second), "low", "approve", "web", None, 1),
    ]
    assert store.decision_summary(since, trigger="monitoring") == [
        DecisionCount(day(first), "high", "review", "app", "cash_loan", 1)
    ]
    assert sum(c.count for c in store.decision_summary(0.0)) == 6
    assert store.decision_summary(second + 3) == []


def alert(alert_id: str, who: str, tier: str, at: float) -> Alert:
    return Alert(alert_id, who * 12, tier, at, "label:confirmed_fraud:device:d1", 0.7, 0.1)


def case(case_id: str, layer: str, status: str, opened_at: float) -> Case:
    step = CaseStep(1, opened_at, "investigator:k1", "open", None, "by hand", status, layer)
    return Case(
        case_id,
        person("aa"),
        "manual",
        opened_at,
        "investigator:k1",
        "by hand",
        {},
        status,
        layer,
        None,
        None,
        opened_at,
        1,
        steps=(step,),
    )


def test_alerts_and_cases_are_counted_by_group_status_and_age(backend: tuple[GraphStore, Reopen]) -> None:
    store, reopen = backend
    for a in (
        alert("AL-1", "a1", "watch", NOW - 0.5 * DAY),
        alert("AL-2", "a2", "watch", NOW - 3 * DAY),
        alert("AL-3", "a3", "watch", NOW - 1 * DAY),  # exactly a day old: 1-7 days
        alert("AL-4", "a4", "investigate", NOW - 20 * DAY),
        alert("AL-5", "a5", "investigate", NOW - 40 * DAY),
    ):
        assert store.add_alert(a)
    store.set_alert_status("AL-2", "acknowledged", "investigator:k1", NOW, "seen")
    store.set_alert_status("AL-4", "resolved", "investigator:k1", NOW, "done")
    cutoffs = [NOW - DAY, NOW - 7 * DAY, NOW - 30 * DAY]
    since = NOW - 10 * DAY
    expected_alerts = [
        WorkCount("investigate", "open", 3, False, 1),
        WorkCount("investigate", "resolved", 2, False, 1),
        WorkCount("watch", "acknowledged", 1, True, 1),
        WorkCount("watch", "open", 0, True, 1),
        WorkCount("watch", "open", 1, True, 1),
    ]
    assert store.alert_summary(since, cutoffs) == expected_alerts

    for c in (
        case("CS-1", "analyst", "open", NOW - 2 * DAY),
        case("CS-2", "analyst", "open", NOW - 5 * DAY),
        case("CS-3", "committee", "recommended", NOW - 12 * DAY),
        case("CS-4", "senior", "closed", NOW - 0.1 * DAY),
    ):
        store.open_case(c, AuditEntry(c.opened_at, "investigator:k1", "case:open", c.case_id, {}))
    expected_cases = [
        WorkCount("analyst", "open", 1, True, 2),
        WorkCount("committee", "recommended", 2, False, 1),
        WorkCount("senior", "closed", 0, True, 1),
    ]
    assert store.case_summary(since, cutoffs) == expected_cases
    # Without cutoffs every age is 0: the two open watch alerts fall together.
    assert store.alert_summary(since, []) == sorted_counts([replace(w, age=0) for w in expected_alerts])
    store = reopen()
    assert store.case_summary(since, cutoffs) == expected_cases


def sorted_counts(counts: list[WorkCount]) -> list[WorkCount]:
    """Counts of equal fields summed, in the seam's order."""
    total: dict[tuple[str, str, int, bool], int] = {}
    for c in counts:
        key = (c.group, c.status, c.age, c.recent)
        total[key] = total.get(key, 0) + c.count
    return [WorkCount(*k, n) for k, n in sorted(total.items())]


def test_audit_events_of_one_action_come_newest_first(backend: tuple[GraphStore, Reopen]) -> None:
    store, _ = backend
    for n in range(5):
        store.append_audit(T0 + n, "cli", "rings:run", f"RUN-{n}", {"rings": n, "critical": n // 2})
        store.append_audit(T0 + n, "cli", "score", f"application:A{n}", {})
    runs = store.audit_by_action("rings:run", 3)
    assert [(e.subject, e.detail) for e in runs] == [
        ("RUN-4", {"rings": 4, "critical": 2}),
        ("RUN-3", {"rings": 3, "critical": 1}),
        ("RUN-2", {"rings": 2, "critical": 1}),
    ]
    assert len(store.audit_by_action("score", 100)) == 5
    assert store.audit_by_action("nothing") == []


# -- the reach view on each backend ------------------------------------------------------------------
def desk_on(store: GraphStore) -> FraudDesk:
    return FraudDesk(store, Normaliser(b"contract-test-key-0123456789"), Scorer.default(), clock=lambda: NOW)


@pytest.fixture()
def neighbourhood(backend: tuple[GraphStore, Reopen]) -> FraudDesk:
    """The root ``r0`` (itself confirmed fraud: never counted) uses device dA, phone pB, the
    kiosk address kq and the hub employer eh::

        dA: r0, a1 (fraud), a2 --a2's phone pC: b1 (fraud) --b1's device dD: c1 (fraud)
        pB: r0, x1 (cleared: not walked through) --x1's device dX: y1 (fraud)
        kq (allow-listed): r0, k1 (fraud)
        eh (hub): r0 and hub_limit others, h0 (fraud) among them
    """
    store, _ = backend
    desk = desk_on(store)
    hub = desk.scorer.config.params.hub_limit
    t = iter(range(10_000))
    apps = [
        app("R0", "r0", T0 + next(t), "device:dA", "phone:pB", "address:kq", "employer:eh"),
        app("A1", "a1", T0 + next(t), "device:dA"),
        app("A2", "a2", T0 + next(t), "device:dA", "phone:pC"),
        app("B1", "b1", T0 + next(t), "phone:pC", "device:dD"),
        app("C1", "c1", T0 + next(t), "device:dD"),
        app("X1", "x1", T0 + next(t), "phone:pB", "device:dX"),
        app("Y1", "y1", T0 + next(t), "device:dX"),
        app("K1", "k1", T0 + next(t), "address:kq"),
        *(app(f"H{n}", f"h{n}", T0 + next(t), "employer:eh") for n in range(hub)),
    ]
    store.upsert(apps)
    for node, status in (
        (person("r0"), "confirmed_fraud"),
        (person("a1"), "confirmed_fraud"),
        (person("b1"), "confirmed_fraud"),
        (person("c1"), "confirmed_fraud"),
        (person("y1"), "confirmed_fraud"),
        (person("k1"), "confirmed_fraud"),
        (person("h0"), "confirmed_fraud"),
        (person("x1"), "cleared"),
        ("address:kq", "allow_listed"),
    ):
        store.set_label(Label(node, status, "investigator:k1", T0, "contract"))
    return desk


def _rows(desk: FraudDesk, node_id: str, hops: int) -> list[tuple[str, int, int, int | None, bool]]:
    found = desk.reach(node_id, hops)
    assert (found.root, found.hops, found.truncated) == (node_id, hops, False)
    return [(i.node_id, i.applicants, i.confirmed_fraud, i.nearest, i.hub) for i in found.identifiers]


def test_reach_counts_confirmed_fraud_per_identifier_of_an_applicant(neighbourhood: FraudDesk) -> None:
    desk = neighbourhood
    hub = desk.scorer.config.params.hub_limit
    rest = [("address:kq", 2, 0, None, False), ("employer:eh", hub + 1, 0, None, True), ("phone:pB", 2, 0, None, False)]
    assert _rows(desk, person("r0"), 1) == [("device:dA", 3, 1, 1, False), *rest]
    assert _rows(desk, person("r0"), 2) == [("device:dA", 3, 2, 1, False), *rest]
    assert _rows(desk, person("r0"), 3) == [("device:dA", 3, 3, 1, False), *rest]
    display = {i.node_id: (i.kind, i.display) for i in desk.reach(person("r0"), 1).identifiers}
    assert display["device:dA"] == ("device", "dA**")


def test_reach_of_an_identifier_walks_from_it_and_counts_everyone_it_reaches(neighbourhood: FraudDesk) -> None:
    desk = neighbourhood
    assert _rows(desk, "phone:pC", 1) == [("phone:pC", 2, 1, 1, False)]
    # Two links: a2's device (r0 and a1, both fraud: r0 is not the root here) and b1's (c1).
    assert _rows(desk, "phone:pC", 2) == [("phone:pC", 2, 4, 1, False)]
    assert _rows(desk, "address:kq", 3) == [("address:kq", 2, 0, None, False)]
    hub = desk.scorer.config.params.hub_limit
    assert _rows(desk, "employer:eh", 1) == [("employer:eh", hub + 1, 0, None, True)]


def test_reach_refuses_what_it_cannot_answer(neighbourhood: FraudDesk, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = neighbourhood
    with pytest.raises(NotFound):
        desk.reach("device:nobody", 2)
    with pytest.raises(NotFound):
        desk.reach(person("zz"), 2)
    with pytest.raises(InvalidInput):
        desk.reach("application:R0", 2)
    with pytest.raises(InvalidInput):
        desk.reach(person("r0"), 4)
    monkeypatch.setattr(reach_module, "REACH_BUDGET", 1)
    short = desk.reach("phone:pC", 3)
    assert short.truncated and [(i.confirmed_fraud, i.nearest) for i in short.identifiers] == [(1, 1)]


def test_the_applicants_of_an_identifier_carry_their_labels(neighbourhood: FraudDesk) -> None:
    desk = neighbourhood
    found = desk.identifier_users("device:dA", 10)
    assert [(u.applicant_key, label.status if label else None) for u, label in found] == [
        ("a2" * 12, None),
        ("a1" * 12, "confirmed_fraud"),
        ("r0" * 12, "confirmed_fraud"),
    ]
    with pytest.raises(InvalidInput):
        desk.identifier_users(person("r0"), 10)
    with pytest.raises(NotFound):
        desk.identifier_users("device:nobody", 10)
