"""Casework over HTTP: a case opened from an alert, layered review under four eyes, an
outcome that acts on the graph, an appeal that undoes it, and the alert lifecycle."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes import EXAMPLE
from api.settings import Settings
from graph.store.embedded.store import EmbeddedStore

INVESTIGATOR = {"X-API-Key": "dev-investigator"}
ANALYST_2 = {"X-API-Key": "analyst-2"}
SENIOR = {"X-API-Key": "dev-senior"}
COMMITTEE = {"X-API-Key": "dev-committee"}
ADMIN = {"X-API-Key": "dev-admin"}
SCORER = {"X-API-Key": "dev-scorer"}
KEYS = {
    "dev-scorer": "scorer",
    "dev-investigator": "investigator",
    "analyst-2": "investigator",
    "dev-senior": "senior",
    "dev-committee": "committee",
    "dev-admin": "admin",
}


def application(n: int, month: str, device: str, phone: str) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["application_id"] = f"APP-{n:06d}"
    body["applicant"]["national_id"] = f"1101011990030{n:05d}"
    body["applicant"]["account_created_at"] = "2025-01-01T00:00:00Z"
    body["submitted_at"] = f"2026-{month}-02T10:00:00Z"
    body["email"] = f"person{n}@example.com"
    body["phone"] = phone
    body["device"] = {"fingerprint": device, "ip": f"198.51.100.{n}"}
    return body


@pytest.fixture()
def store() -> EmbeddedStore:
    return EmbeddedStore("memory://")


@pytest.fixture()
def client(store: EmbeddedStore) -> Any:
    with TestClient(create_app(Settings(graph_url="memory://", api_keys=KEYS), store)) as c:
        yield c


@pytest.fixture()
def chain(client: TestClient) -> list[str]:
    """Applicants 1 -device- 2 -phone- 3, months apart (all low); 1 is then confirmed as
    fraud, which alerts 2 (1 and 3 share nothing)."""
    ids = []
    for n, month, device, phone in (
        (1, "05", "dfp-shared", "+86 138 0000 0001"),
        (2, "07", "dfp-shared", "+86 138 0000 0022"),
        (3, "09", "dfp-own-3", "+86 138 0000 0022"),
    ):
        answer = client.post("/v1/applications", json=application(n, month, device, phone), headers=SCORER).json()
        ids.append(answer["applicant_id"])
    r = client.post(
        "/v1/labels",
        json={"node_id": ids[0], "status": "confirmed_fraud", "reason": "chargeback confirmed"},
        headers=INVESTIGATOR,
    )
    assert r.status_code == 200, r.text
    return ids


def _alert_of(client: TestClient, applicant: str, status: str | None = None) -> list[dict[str, Any]]:
    params = {"status": status} if status else {}
    return [
        a
        for a in client.get("/v1/alerts", params=params, headers=INVESTIGATOR).json()
        if a["applicant_id"] == applicant
    ]


def test_a_case_from_an_alert_through_review_appeal_and_back(client: TestClient, chain: list[str]) -> None:
    first, second, third = chain
    (alert,) = _alert_of(client, second)
    assert alert["status"] == "open" and alert["trigger"] == f"label:confirmed_fraud:{first}"

    opened = client.post(
        "/v1/cases", json={"reason": "linked to a confirmed fraud", "alert_id": alert["alert_id"]}, headers=INVESTIGATOR
    )
    assert opened.status_code == 201, opened.text
    case = opened.json()
    case_id = case["case_id"]
    assert (case["status"], case["layer"], case["subject"], case["source"]) == ("open", "analyst", second, "alert")
    assert case["evidence"]["alert"]["alert_id"] == alert["alert_id"]
    assert case["evidence"]["decision"]["reasons"], "the decision's reasons are frozen in the evidence"
    assert opened.headers["location"] == f"/v1/cases/{case_id}"
    assert _alert_of(client, second)[0]["status"] == "in_case"
    assert _alert_of(client, second)[0]["case_id"] == case_id
    again = client.post("/v1/cases", json={"reason": "twice", "alert_id": alert["alert_id"]}, headers=INVESTIGATOR)
    assert again.status_code == 409

    step = f"/v1/cases/{case_id}/steps"
    rec = client.post(
        step,
        json={"action": "recommend", "outcome": "freeze", "reason": "same device as a fraudster"},
        headers=INVESTIGATOR,
    )
    assert rec.status_code == 200, rec.text
    assert (rec.json()["status"], rec.json()["layer"]) == ("recommended", "committee")
    assert "decide" not in rec.json()["actions"], "the recommender may not decide"

    own = client.post(step, json={"action": "decide", "outcome": "freeze", "reason": "agree"}, headers=INVESTIGATOR)
    assert own.status_code == 403 and own.json()["rule"] == "four_eyes"
    low = client.post(step, json={"action": "decide", "outcome": "freeze", "reason": "agree"}, headers=SENIOR)
    assert low.status_code == 403 and low.json()["rule"] == "layer"
    assert "committee" in low.json()["detail"]

    decided = client.post(
        step, json={"action": "decide", "outcome": "freeze", "reason": "committee agrees"}, headers=COMMITTEE
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert (body["status"], body["outcome"]) == ("decided", "freeze")
    detail = body["timeline"][-1]["detail"]
    assert detail["customer_action"] == {"action": "freeze", "applicants": [second]}
    assert detail["labels_set"] == {second: "confirmed_fraud"}
    label = client.get(f"/v1/nodes/{second}", headers=INVESTIGATOR).json()["label"]
    assert label["status"] == "confirmed_fraud"
    assert _alert_of(client, second)[0]["status"] == "resolved"
    raised = _alert_of(client, third, "open")
    assert raised and raised[0]["trigger"] == f"label:confirmed_fraud:{second}", "3 shares a phone with 2"
    decisions_before = len(client.get("/v1/applications/APP-000003", headers=INVESTIGATOR).json()["decisions"])

    appeal = client.post(
        step,
        json={"action": "appeal", "reason": "customer appeals", "evidence": "police report: device stolen in June"},
        headers=INVESTIGATOR,
    )
    assert appeal.status_code == 200, appeal.text
    assert appeal.json()["status"] == "appealed"
    reevaluated = appeal.json()["timeline"][-1]["detail"]["reevaluated"]
    assert [r["applicant_id"] for r in reevaluated] == [second]
    filer = client.post(step, json={"action": "decide", "outcome": "upheld", "reason": "x" * 5}, headers=INVESTIGATOR)
    assert filer.status_code == 403 and filer.json()["rule"] == "four_eyes"
    bad = client.post(step, json={"action": "decide", "outcome": "freeze", "reason": "hmm"}, headers=COMMITTEE)
    assert bad.status_code == 422 and bad.json()["field"] == "outcome"

    upheld = client.post(
        step, json={"action": "decide", "outcome": "upheld", "reason": "report checks out"}, headers=COMMITTEE
    )
    assert upheld.status_code == 200, upheld.text
    body = upheld.json()
    assert (body["status"], body["outcome"]) == ("closed", "appeal_upheld")
    assert body["timeline"][-1]["detail"]["labels_cleared"] == [second]
    assert body["timeline"][-1]["detail"]["customer_action_withdrawn"] == "freeze"
    assert client.get(f"/v1/nodes/{second}", headers=INVESTIGATOR).json()["label"]["status"] == "cleared"
    assert _alert_of(client, third, "open") == [], "the alert the case's label raised is resolved"
    resolved = [a for a in _alert_of(client, third) if a["trigger"] == f"label:confirmed_fraud:{second}"]
    assert resolved[0]["status"] == "resolved" and "cause withdrawn" in resolved[0]["note"]
    decisions_after = client.get("/v1/applications/APP-000003", headers=INVESTIGATOR).json()["decisions"]
    assert len(decisions_after) > decisions_before and decisions_after[-1]["trigger"] == "monitoring"

    timeline = client.get(f"/v1/cases/{case_id}", headers=INVESTIGATOR).json()["timeline"]
    assert [s["action"] for s in timeline] == ["open", "recommend", "decide", "appeal", "decide"]
    audit = client.get("/v1/audit", params={"subject": case_id}, headers=ADMIN).json()
    assert [e["action"] for e in reversed(audit)] == [
        "case:open",
        "case:recommend",
        "case:decide",
        "case:appeal",
        "case:decide",
    ]
    assert [e["actor"].split(":")[0] for e in reversed(audit)] == [
        "investigator",
        "investigator",
        "committee",
        "investigator",
        "committee",
    ]


def test_layers_decide_what_they_may(client: TestClient, chain: list[str]) -> None:
    second = chain[1]
    case_id = client.post("/v1/cases", json={"subject": second, "reason": "by hand"}, headers=INVESTIGATOR).json()[
        "case_id"
    ]
    step = f"/v1/cases/{case_id}/steps"
    # An analyst decides a watch directly; a senior outcome needs a recommendation first.
    direct = client.post(
        step, json={"action": "decide", "outcome": "confirmed_fraud", "reason": "sure"}, headers=SENIOR
    )
    assert direct.status_code == 403 and direct.json()["rule"] == "layered_review"
    rec = client.post(
        step,
        json={"action": "recommend", "outcome": "limit_reduce", "limit_share": 0.8, "reason": "cut"},
        headers=INVESTIGATOR,
    )
    assert rec.json()["layer"] == "committee", "a cut above the committee share goes to the committee"
    senior = client.post(step, json={"action": "decide", "outcome": "limit_reduce", "reason": "agreed"}, headers=SENIOR)
    assert senior.status_code == 403 and senior.json()["rule"] == "layer"
    small = client.post(
        step,
        json={"action": "decide", "outcome": "limit_reduce", "limit_share": 0.2, "reason": "smaller cut"},
        headers=SENIOR,
    )
    assert small.status_code == 200, small.text
    assert small.json()["timeline"][-1]["detail"]["customer_action"]["limit_share"] == 0.2
    assert client.get(f"/v1/nodes/{second}", headers=INVESTIGATOR).json()["label"] is None, "a limit cut labels nobody"
    closed = client.post(step, json={"action": "close", "reason": "done"}, headers=ANALYST_2)
    assert closed.json()["status"] == "closed"
    late = client.post(step, json={"action": "recommend", "outcome": "watch", "reason": "late"}, headers=INVESTIGATOR)
    assert late.status_code == 409


def test_the_queue_assign_escalate_and_roles(client: TestClient, chain: list[str]) -> None:
    second, third = chain[1], chain[2]
    a = client.post("/v1/cases", json={"subject": second, "reason": "one"}, headers=INVESTIGATOR).json()["case_id"]
    b = client.post(
        "/v1/cases", json={"subject": "application:APP-000003", "reason": "review decision"}, headers=INVESTIGATOR
    ).json()
    assert (
        b["subject"] == third
        and b["source"] == "decision"
        and b["evidence"]["decision"]["application_id"] == "APP-000003"
    )
    me = client.get("/v1/whoami", headers=INVESTIGATOR).json()["actor"]
    client.post(f"/v1/cases/{a}/steps", json={"action": "assign", "reason": "mine"}, headers=INVESTIGATOR)
    assert [c["case_id"] for c in client.get("/v1/cases", params={"owner": me}, headers=INVESTIGATOR).json()] == [a]
    assert [c["case_id"] for c in client.get("/v1/cases", params={"owner": ""}, headers=INVESTIGATOR).json()] == [
        b["case_id"]
    ]
    up = client.post(
        f"/v1/cases/{a}/steps", json={"action": "escalate", "reason": "needs a senior"}, headers=INVESTIGATOR
    )
    assert up.json()["layer"] == "senior"
    assert [c["case_id"] for c in client.get("/v1/cases", params={"layer": "senior"}, headers=SENIOR).json()] == [a]
    assert client.get("/v1/cases", params={"status": "banana"}, headers=INVESTIGATOR).status_code == 422
    assert client.get("/v1/cases", headers=SCORER).status_code == 403
    closed = client.post(f"/v1/cases/{a}/steps", json={"action": "close", "reason": "tidy up"}, headers=ADMIN)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    denied = client.post(f"/v1/cases/{b['case_id']}/steps", json={"action": "close", "reason": "no"}, headers=SCORER)
    assert denied.status_code == 403
    assert client.get("/v1/cases/CS-NOPE", headers=INVESTIGATOR).status_code == 404
    bad = client.post("/v1/cases", json={"subject": "applicant:nobody", "reason": "x y"}, headers=INVESTIGATOR)
    assert bad.status_code == 404
    missing = client.post("/v1/cases", json={"reason": "x y"}, headers=INVESTIGATOR)
    assert missing.status_code == 422 and missing.json()["field"] == "subject"


def test_alert_lifecycle_by_hand(client: TestClient, chain: list[str]) -> None:
    (alert,) = _alert_of(client, chain[1])
    url = f"/v1/alerts/{alert['alert_id']}"
    assert client.post(url, json={"status": "in_case", "reason": "x y"}, headers=INVESTIGATOR).status_code == 422
    ack = client.post(url, json={"status": "acknowledged", "reason": "looking"}, headers=INVESTIGATOR)
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    one = client.get(url, headers=INVESTIGATOR).json()
    assert one["updated_by"].startswith("investigator:") and one["note"] == "looking"
    done = client.post(url, json={"status": "resolved", "reason": "benign: family device"}, headers=INVESTIGATOR)
    assert done.json()["status"] == "resolved"
    back = client.post(url, json={"status": "acknowledged", "reason": "again"}, headers=INVESTIGATOR)
    assert back.status_code == 409
    audit = client.get("/v1/audit", params={"subject": alert["alert_id"]}, headers=ADMIN).json()
    assert [e["action"] for e in reversed(audit)] == ["alert:acknowledged", "alert:resolved"]


def test_removing_a_label_resolves_the_alerts_it_raised(client: TestClient, chain: list[str]) -> None:
    first, second = chain[0], chain[1]
    assert _alert_of(client, second, "open")
    r = client.post(f"/v1/labels/{first}/remove", json={"reason": "entered on the wrong person"}, headers=INVESTIGATOR)
    assert r.status_code == 200
    assert _alert_of(client, second, "open") == []
    assert "cause withdrawn" in _alert_of(client, second)[0]["note"]
