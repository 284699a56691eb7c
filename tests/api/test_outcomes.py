"""POST/GET /v1/outcomes: recorded, audited, and a fraud outcome labels the applicant
confirmed fraud so that whom it links to is alerted (as an investigator's label does)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.http.app import create_app
from api.settings import Settings
from graph.store.embedded.store import EmbeddedStore
from tests.api.casework import INVESTIGATOR, SCORER, application
from tests.api.settle import settle


def _three(client: TestClient) -> list[str]:
    """Applicants 1 -device- 2 -phone- 3, months apart (all low, no alerts yet)."""
    ids = []
    for n, month, device, phone in (
        (1, "05", "dfp-shared", "+86 138 0000 0001"),
        (2, "07", "dfp-shared", "+86 138 0000 0022"),
        (3, "09", "dfp-own-3", "+86 138 0000 0022"),
    ):
        r = client.post("/v1/applications", json=application(n, month, device, phone), headers=SCORER)
        assert r.status_code == 200, r.text
        ids.append(r.json()["applicant_id"])
    settle(client)  # their own monitoring first, so an outcome's label is what alerts
    return ids


def _post(client: TestClient, outcome: str, app_id: str = "APP-000001", **extra: Any) -> Any:
    body = {"application_id": app_id, "outcome": outcome, "known_at": "2026-06-15T00:00:00Z", **extra}
    return client.post("/v1/outcomes", json=body, headers=INVESTIGATOR)


def test_fraud_outcome_labels_the_applicant_and_alerts_who_it_links_to(client: TestClient) -> None:
    ids = _three(client)
    r = _post(client, "first_payment_default", reason="no payment after 30 days")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["counts_as_fraud"] is True and body["labelled"] is True
    assert body["outcome"]["known_at"].startswith("2026-06-15T00:00:00")
    # Re-scoring whom it reaches is queued with the label; once the worker has done it, the
    # applicant itself and applicant 2 (its device) are alerted; 3 shares nothing with 1.
    assert (body["rescore"], body["alerts"]) == ("queued", [])
    settle(client)
    alerts = client.get("/v1/alerts", headers=INVESTIGATOR).json()
    raised = [a for a in alerts if a["trigger"] == f"label:confirmed_fraud:{ids[0]}"]
    assert sorted(a["applicant_id"] for a in raised) == sorted(ids[:2])
    labels = client.get("/v1/labels", headers=INVESTIGATOR).json()
    assert [(lab["node_id"], lab["status"]) for lab in labels] == [(ids[0], "confirmed_fraud")]
    assert "first_payment_default on application APP-000001" in labels[0]["reason"]
    desk = client.app.state.desk  # type: ignore[attr-defined]
    actions = [e.action for e in desk.store.audit("application:APP-000001")]
    assert "outcome:first_payment_default" in actions
    assert "label:confirmed_fraud" in [e.action for e in desk.store.audit(ids[0])]
    # A second fraud outcome of a labelled applicant labels nothing again.
    again = _post(client, "fraud_confirmed").json()
    assert again["counts_as_fraud"] is True and again["labelled"] is False and again["rescore"] is None
    listed = client.get("/v1/outcomes", params={"application_id": "APP-000001"}, headers=INVESTIGATOR).json()
    assert [o["outcome"] for o in listed] == ["first_payment_default", "fraud_confirmed"]
    assert listed[0]["by"] == listed[1]["by"] != ""
    assert client.get("/v1/outcomes", params={"application_id": "APP-000002"}, headers=INVESTIGATOR).json() == []


def test_outcomes_that_are_not_fraud_label_nothing(client: TestClient) -> None:
    _three(client)
    for outcome in ("repaid", "charged_off", "chargeback"):
        body = _post(client, outcome).json()
        assert body["counts_as_fraud"] is False and body["labelled"] is False, outcome
    assert client.get("/v1/labels", headers=INVESTIGATOR).json() == []
    assert len(client.get("/v1/outcomes", headers=INVESTIGATOR).json()) == 3


def test_which_outcomes_count_as_fraud_is_configuration() -> None:
    settings = Settings(graph_url="memory://", fraud_outcomes='["charged_off"]')
    with TestClient(create_app(settings, EmbeddedStore("memory://"))) as client:
        _three(client)
        assert _post(client, "first_payment_default").json()["counts_as_fraud"] is False
        assert _post(client, "charged_off").json()["labelled"] is True


def test_outcomes_are_refused_when_wrong(client: TestClient) -> None:
    _three(client)
    assert _post(client, "repaid", app_id="APP-999999").status_code == 404
    assert _post(client, "lost").status_code == 422
    early = {"known_at": "2026-04-01T00:00:00Z"}  # before APP-000001 was submitted (May)
    assert _post(client, "repaid", **early).status_code == 422
    assert _post(client, "repaid", known_at="2099-01-01T00:00:00Z").status_code == 422
    assert _post(client, "repaid", known_at="2026-06-15T00:00:00").status_code == 422  # no zone
    body = {"application_id": "APP-000001", "outcome": "repaid", "known_at": "2026-06-15T00:00:00Z"}
    assert client.post("/v1/outcomes", json=body, headers=SCORER).status_code == 403
    assert client.get("/v1/outcomes", headers=SCORER).status_code == 403
    assert client.get("/v1/outcomes", headers=INVESTIGATOR).json() == []
