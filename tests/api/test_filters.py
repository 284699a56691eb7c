"""Filter values outside their vocabulary are a 422 naming the parameter, never ignored."""

from __future__ import annotations

import copy

import pytest
from fastapi.testclient import TestClient

from api.http.routes.scoring import EXAMPLE
from tests.api.conftest import ADMIN, INVESTIGATOR, SCORER


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/v1/alerts?status=banana", "status"),
        ("/v1/alerts?status=OPEN", "status"),
        ("/v1/labels?status=zzz", "status"),
        ("/v1/alerts?limit=0", "limit"),
        ("/v1/rings?min_score=2", "min_score"),
        ("/v1/rings?min_score=nan", "min_score"),
        ("/v1/audit?limit=banana", "limit"),
        ("/v1/nodes/phone:x/network?depth=9", "depth"),
    ],
)
def test_an_unknown_filter_value_is_a_422_naming_the_parameter(client: TestClient, path: str, parameter: str) -> None:
    r = client.get(path, headers=ADMIN)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["field"] == parameter
    assert [e["field"] for e in body["errors"]] == [parameter]


def _two_labelled(client: TestClient) -> tuple[str, str]:
    ids = []
    for n in (1, 2):
        body = copy.deepcopy(EXAMPLE)
        body["application_id"] = f"APP-F{n}"
        body["applicant"]["national_id"] = f"11010119900307{n:04d}"
        ids.append(client.post("/v1/applications", json=body, headers=SCORER).json()["applicant_id"])
    for node, status in zip(ids, ("confirmed_fraud", "cleared"), strict=True):
        r = client.post(
            "/v1/labels", json={"node_id": node, "status": status, "reason": "case 7"}, headers=INVESTIGATOR
        )
        assert r.status_code == 200, r.text
    return ids[0], ids[1]


def test_labels_filter_by_status(client: TestClient) -> None:
    fraud, cleared = _two_labelled(client)
    everything = client.get("/v1/labels", headers=INVESTIGATOR).json()
    assert {lab["node_id"] for lab in everything} == {fraud, cleared}
    only = client.get("/v1/labels", params={"status": "cleared"}, headers=INVESTIGATOR).json()
    assert [(lab["node_id"], lab["status"]) for lab in only] == [(cleared, "cleared")]
    assert client.get("/v1/labels", params={"status": "allow_listed"}, headers=INVESTIGATOR).json() == []


def test_alerts_filter_by_status(client: TestClient) -> None:
    # Two applicants sharing a device; confirming one raises an alert on the other.
    for n, month in ((1, "06"), (2, "08")):
        body = copy.deepcopy(EXAMPLE)
        body.update(application_id=f"APP-A{n}", submitted_at=f"2026-{month}-02T10:00:00Z")
        body["applicant"] = {"national_id": f"22010119900307{n:04d}", "account_created_at": "2025-01-01T00:00:00Z"}
        body["device"] = {"fingerprint": "dfp-shared-home"}
        first = client.post("/v1/applications", json=body, headers=SCORER).json()
        if n == 1:
            confirmed = first["applicant_id"]
    client.post(
        "/v1/labels",
        json={"node_id": confirmed, "status": "confirmed_fraud", "reason": "chargeback"},
        headers=INVESTIGATOR,
    )
    open_alerts = client.get("/v1/alerts", params={"status": "open"}, headers=INVESTIGATOR).json()
    assert open_alerts and {a["status"] for a in open_alerts} == {"open"}
    alert_id = open_alerts[0]["alert_id"]
    r = client.post(f"/v1/alerts/{alert_id}", json={"status": "resolved", "reason": "handled"}, headers=INVESTIGATOR)
    assert r.status_code == 200 and r.json() == {"alert_id": alert_id, "status": "resolved"}
    resolved = client.get("/v1/alerts", params={"status": "resolved"}, headers=INVESTIGATOR).json()
    assert [a["alert_id"] for a in resolved] == [alert_id]
    assert alert_id not in {
        a["alert_id"] for a in client.get("/v1/alerts", params={"status": "open"}, headers=INVESTIGATOR).json()
    }
