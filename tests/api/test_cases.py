"""Casework over HTTP: a case opened from an alert, layered review under four eyes, an
outcome that acts on the graph, an appeal that undoes it, and the alert lifecycle."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.casework import ADMIN, ANALYST_2, COMMITTEE, INVESTIGATOR, SCORER, SENIOR
from tests.api.settle import settle


def _alert_of(client: TestClient, applicant: str, status: str | None = None) -> list[dict[str, Any]]:
    params = {"status": status} if status else {}
    settle(client)  # what a label or a decision queued is done first
    return [
        a
        for a in client.get("/v1/alerts", params=params, headers=INVESTIGATOR).json()
        if a["applicant_id"] == applicant
    ]


def test_a_case_from_an_alert_through_review_appeal_and_back(case_client: TestClient, chain: list[str]) -> None:
    first, second, third = chain
    (alert,) = _alert_of(case_client, second)
    assert alert["status"] == "open" and alert["trigger"] == f"label:confirmed_fraud:{first}"

    opened = case_client.post(
        "/v1/cases", json={"reason": "linked to a confirmed fraud", "alert_id": alert["alert_id"]}, headers=INVESTIGATOR
    )
    assert opened.status_code == 201, opened.text
    case = opened.json()
    case_id = case["case_id"]
    assert (case["status"], case["layer"], case["subject"], case["source"]) == ("open", "analyst", second, "alert")
    assert case["evidence"]["alert"]["alert_id"] == alert["alert_id"]
    assert case["evidence"]["decision"]["reasons"], "the decision's reasons are frozen in the evidence"
    assert opened.headers["location"] == f"/v1/cases/{case_id}"
    assert _alert_of(case_client, second)[0]["status"] == "in_case"
    assert _alert_of(case_client, second)[0]["case_id"] == case_id
    again = case_client.post("/v1/cases", json={"reason": "twice", "alert_id": alert["alert_id"]}, headers=INVESTIGATOR)
    assert again.status_code == 409

    step = f"/v1/cases/{case_id}/steps"
    rec = case_client.post(
        step,
        json={"action": "recommend", "outcome": "freeze", "reason": "same device as a fraudster"},
        headers=INVESTIGATOR,
    )
    assert rec.status_code == 200, rec.text
    assert (rec.json()["status"], rec.json()["layer"]) == ("recommended", "committee")
    assert "decide" not in rec.json()["actions"], "the recommender may not decide"

    own = case_client.post(
        step, json={"action": "decide", "outcome": "freeze", "reason": "agree"}, headers=INVESTIGATOR
    )
    assert own.status_code == 403 and own.json()["rule"] == "four_eyes"
    low = case_client.post(step, json={"action": "decide", "outcome": "freeze", "reason": "agree"}, headers=SENIOR)
    assert low.status_code == 403 and low.json()["rule"] == "layer"
    assert "committee" in low.json()["detail"]

    decided = case_client.post(
        step, json={"action": "decide", "outcome": "freeze", "reason": "committee agrees"}, headers=COMMITTEE
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert (body["status"], body["outcome"]) == ("decided", "freeze")
    detail = body["timeline"][-1]["detail"]
    assert detail["customer_action"] == {"action": "freeze", "applicants": [second]}
    assert detail["labels_set"] == {second: "confirmed_fraud"}
    label = case_client.get(f"/v1/nodes/{second}", headers=INVESTIGATOR).json()["label"]
    assert label["status"] == "confirmed_fraud"
    assert _alert_of(case_client, second)[0]["status"] == "resolved"
    raised = _alert_of(case_client, third, "open")
    assert raised and raised[0]["trigger"] == f"label:confirmed_fraud:{second}", "3 shares a phone with 2"
    decisions_before = len(case_client.get("/v1/applications/APP-000003", headers=INVESTIGATOR).json()["decisions"])

    appeal = case_client.post(
        step,
        json={"action": "appeal", "reason": "customer appeals", "evidence": "police report: device stolen in June"},
        headers=INVESTIGATOR,
    )
    assert appeal.status_code == 200, appeal.text
    assert appeal.json()["status"] == "appealed"
    reevaluated = appeal.json()["timeline"][-1]["detail"]["reevaluated"]
    assert [r["applicant_id"] for r in reevaluated] == [second]
    filer = case_client.post(
        step, json={"action": "decide", "outcome": "upheld", "reason": "x" * 5}, headers=INVESTIGATOR
    )
    assert filer.status_code == 403 and filer.json()["rule"] == "four_eyes"
    bad = case_client.post(step, json={"action": "decide", "outcome": "freeze", "reason": "hmm"}, headers=COMMITTEE)
    assert bad.status_code == 422 and bad.json()["field"] == "outcome"

    upheld = case_client.post(
        step, json={"action": "decide", "outcome": "upheld", "reason": "report checks out"}, headers=COMMITTEE
    )
    assert upheld.status_code == 200, upheld.text
    body = upheld.json()
    assert (body["status"], body["outcome"]) == ("closed", "appeal_upheld")
    assert body["timeline"][-1]["detail"]["labels_cleared"] == [second]
    assert body["timeline"][-1]["detail"]["customer_action_withdrawn"] == "freeze"
    assert case_client.get(f"/v1/nodes/{second}", headers=INVESTIGATOR).json()["label"]["status"] == "cleared"
    assert _alert_of(case_client, third, "open") == [], "the alert the case's label raised is resolved"
    resolved = [a for a in _alert_of(case_client, third) if a["trigger"] == f"label:confirmed_fraud:{second}"]
    assert resolved[0]["status"] == "resolved" and "cause withdrawn" in resolved[0]["note"]
    decisions_after = case_client.get("/v1/applications/APP-000003", headers=INVESTIGATOR).json()["decisions"]
    assert len(decisions_after) > decisions_before and decisions_after[-1]["trigger"] == "monitoring"

    timeline = case_client.get(f"/v1/cases/{case_id}", headers=INVESTIGATOR).json()["timeline"]
    assert [s["action"] for s in timeline] == ["open", "recommend", "decide", "appeal", "decide"]
    audit = case_client.get("/v1/audit", params={"subject": case_id}, headers=ADMIN).json()
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


def test_layers_decide_what_they_may(case_client: TestClient, chain: list[str]) -> None:
    second = chain[1]
    case_id = case_client.post("/v1/cases", json={"subject": second, "reason": "by hand"}, headers=INVESTIGATOR).json()[
        "case_id"
    ]
    step = f"/v1/cases/{case_id}/steps"
    # An analyst decides a watch directly; a senior outcome needs a recommendation first.
    direct = case_client.post(
        step, json={"action": "decide", "outcome": "confirmed_fraud", "reason": "sure"}, headers=SENIOR
    )
    assert direct.status_code == 403 and direct.json()["rule"] == "layered_review"
    rec = case_client.post(
        step,
        json={"action": "recommend", "outcome": "limit_reduce", "limit_share": 0.8, "reason": "cut"},
        headers=INVESTIGATOR,
    )
    assert rec.json()["layer"] == "committee", "a cut above the committee share goes to the committee"
    senior = case_client.post(
        step, json={"action": "decide", "outcome": "limit_reduce", "reason": "agreed"}, headers=SENIOR
    )
    assert senior.status_code == 403 and senior.json()["rule"] == "layer"
    small = case_client.post(
        step,
        json={"action": "decide", "outcome": "limit_reduce", "limit_share": 0.2, "reason": "smaller cut"},
        headers=SENIOR,
    )
    assert small.status_code == 200, small.text
    assert small.json()["timeline"][-1]["detail"]["customer_action"]["limit_share"] == 0.2
    assert case_client.get(f"/v1/nodes/{second}", headers=INVESTIGATOR).json()["label"] is None, (
        "a limit cut labels nobody"
    )
    closed = case_client.post(step, json={"action": "close", "reason": "done"}, headers=ANALYST_2)
    assert closed.json()["status"] == "closed"
    late = case_client.post(
        step, json={"action": "recommend", "outcome": "watch", "reason": "late"}, headers=INVESTIGATOR
    )
    assert late.status_code == 409


def test_the_queue_assign_escalate_and_roles(case_client: TestClient, chain: list[str]) -> None:
    second, third = chain[1], chain[2]
    a = case_client.post("/v1/cases", json={"subject": second, "reason": "one"}, headers=INVESTIGATOR).json()["case_id"]
    b = case_client.post(
        "/v1/cases", json={"subject": "application:APP-000003", "reason": "review decision"}, headers=INVESTIGATOR
    ).json()
    assert (
        b["subject"] == third
        and b["source"] == "decision"
        and b["evidence"]["decision"]["application_id"] == "APP-000003"
    )
    me = case_client.get("/v1/whoami", headers=INVESTIGATOR).json()["actor"]
    case_client.post(f"/v1/cases/{a}/steps", json={"action": "assign", "reason": "mine"}, headers=INVESTIGATOR)
    assert [c["case_id"] for c in case_client.get("/v1/cases", params={"owner": me}, headers=INVESTIGATOR).json()] == [
        a
    ]
    assert [c["case_id"] for c in case_client.get("/v1/cases", params={"owner": ""}, headers=INVESTIGATOR).json()] == [
        b["case_id"]
    ]
    up = case_client.post(
        f"/v1/cases/{a}/steps", json={"action": "escalate", "reason": "needs a senior"}, headers=INVESTIGATOR
    )
    assert up.json()["layer"] == "senior"
    assert [c["case_id"] for c in case_client.get("/v1/cases", params={"layer": "senior"}, headers=SENIOR).json()] == [
        a
    ]
    assert case_client.get("/v1/cases", params={"status": "banana"}, headers=INVESTIGATOR).status_code == 422
    assert case_client.get("/v1/cases", headers=SCORER).status_code == 403
    closed = case_client.post(f"/v1/cases/{a}/steps", json={"action": "close", "reason": "tidy up"}, headers=ADMIN)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    denied = case_client.post(
        f"/v1/cases/{b['case_id']}/steps", json={"action": "close", "reason": "no"}, headers=SCORER
    )
    assert denied.status_code == 403
    assert case_client.get("/v1/cases/CS-NOPE", headers=INVESTIGATOR).status_code == 404
    bad = case_client.post("/v1/cases", json={"subject": "applicant:nobody", "reason": "x y"}, headers=INVESTIGATOR)
    assert bad.status_code == 404
    missing = case_client.post("/v1/cases", json={"reason": "x y"}, headers=INVESTIGATOR)
    assert missing.status_code == 422 and missing.json()["field"] == "subject"


def test_alert_lifecycle_by_hand(case_client: TestClient, chain: list[str]) -> None:
    (alert,) = _alert_of(case_client, chain[1])
    url = f"/v1/alerts/{alert['alert_id']}"
    assert case_client.post(url, json={"status": "in_case", "reason": "x y"}, headers=INVESTIGATOR).status_code == 422
    ack = case_client.post(url, json={"status": "acknowledged", "reason": "looking"}, headers=INVESTIGATOR)
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    one = case_client.get(url, headers=INVESTIGATOR).json()
    assert one["updated_by"].startswith("investigator:") and one["note"] == "looking"
    done = case_client.post(url, json={"status": "resolved", "reason": "benign: family device"}, headers=INVESTIGATOR)
    assert done.json()["status"] == "resolved"
    back = case_client.post(url, json={"status": "acknowledged", "reason": "again"}, headers=INVESTIGATOR)
    assert back.status_code == 409
    audit = case_client.get("/v1/audit", params={"subject": alert["alert_id"]}, headers=ADMIN).json()
    assert [e["action"] for e in reversed(audit)] == ["alert:acknowledged", "alert:resolved"]


def test_removing_a_label_resolves_the_alerts_it_raised(case_client: TestClient, chain: list[str]) -> None:
    first, second = chain[0], chain[1]
    assert _alert_of(case_client, second, "open")
    r = case_client.post(
        f"/v1/labels/{first}/remove", json={"reason": "entered on the wrong person"}, headers=INVESTIGATOR
    )
    assert r.status_code == 200
    assert _alert_of(case_client, second, "open") == []
    assert "cause withdrawn" in _alert_of(case_client, second)[0]["note"]
