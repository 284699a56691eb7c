"""The investigator console's read endpoints over HTTP: who used an identifier, the reach
of a node, and the risk managers' overview, checked against what the other endpoints
say about the same applications, alerts, cases and ring runs."""

from __future__ import annotations

import copy
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.routes.scoring import EXAMPLE
from tests.api.settle import settle

SCORER = {"X-API-Key": "dev-scorer"}
INVESTIGATOR = {"X-API-Key": "dev-investigator"}
ADMIN = {"X-API-Key": "dev-admin"}


def application(n: int, device: str, phone: str, channel: str = "app") -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(EXAMPLE)
    body["application_id"] = f"APP-{n:06d}"
    body["applicant"]["national_id"] = f"1101011990030{n:05d}"
    body["applicant"]["account_created_at"] = "2025-01-01T00:00:00Z"
    body["submitted_at"] = f"2026-0{n}-02T10:00:00Z"
    body["email"] = f"person{n}@example.com"
    body["phone"] = phone
    body["device"] = {"fingerprint": device, "ip": f"198.51.100.{n}"}
    body["channel"] = channel
    body["employer"] = {"name": f"Employer Number {n} Ltd."}
    return body


@pytest.fixture()
def people(client: TestClient) -> list[dict[str, Any]]:
    """Applicants 1, 2, 3 on one device (3 also on phone 22 with 4); 1 is then confirmed as fraud."""
    answers = []
    for n, device, phone, channel in (
        (1, "dfp-shared", "+86 138 0000 0001", "app"),
        (2, "dfp-shared", "+86 138 0000 0002", "web"),
        (3, "dfp-shared", "+86 138 0000 0022", "app"),
        (4, "dfp-own-4", "+86 138 0000 0022", "app"),
    ):
        r = client.post("/v1/applications", json=application(n, device, phone, channel), headers=SCORER)
        assert r.status_code == 200, r.text
        answers.append(r.json())
    settle(client)
    r = client.post(
        "/v1/labels",
        json={"node_id": answers[0]["applicant_id"], "status": "confirmed_fraud", "reason": "chargeback confirmed"},
        headers=INVESTIGATOR,
    )
    assert r.status_code == 200, r.text
    settle(client)
    return answers


def _device_of(client: TestClient, applicant_id: str) -> str:
    view = client.get(f"/v1/applicants/{applicant_id}", headers=INVESTIGATOR).json()
    return next(i["node_id"] for i in view["identifiers"] if i["kind"] == "device")


def test_the_applicants_of_an_identifier_latest_first(client: TestClient, people: list[dict[str, Any]]) -> None:
    device = _device_of(client, people[0]["applicant_id"])
    r = client.get(f"/v1/nodes/{device}/applicants", headers=INVESTIGATOR)
    assert r.status_code == 200, r.text
    found = r.json()
    assert [u["applicant_id"] for u in found] == [p["applicant_id"] for p in people[2::-1]]
    assert set(found[0]) == {"applicant_id", "display", "applications", "first_at", "last_at", "label"}
    shown = client.get(f"/v1/applicants/{people[2]['applicant_id']}", headers=INVESTIGATOR).json()
    assert found[0]["display"] == shown["display"] and "*" in found[0]["display"]
    submitted = datetime.fromisoformat(shown["applications"][0]["submitted_at"]).timestamp()
    assert found[0]["first_at"] == found[0]["last_at"] == submitted and found[0]["applications"] == 1
    assert found[2]["label"]["status"] == "confirmed_fraud" and found[0]["label"] is None
    assert [
        u["applicant_id"]
        for u in client.get(f"/v1/nodes/{device}/applicants", params={"limit": 1}, headers=INVESTIGATOR).json()
    ] == [people[2]["applicant_id"]]


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/v1/nodes/device:0000/applicants", {}, 404),
        ("/v1/nodes/{applicant}/applicants", {}, 422),
        ("/v1/nodes/application:APP-000001/applicants", {}, 422),
        ("/v1/nodes/{device}/applicants", {"limit": 0}, 422),
        ("/v1/nodes/{device}/applicants", {"limit": 1001}, 422),
        ("/v1/nodes/device:0000/reach", {}, 404),
        ("/v1/nodes/application:APP-000001/reach", {}, 422),
        ("/v1/nodes/{device}/reach", {"hops": 0}, 422),
        ("/v1/nodes/{device}/reach", {"hops": 4}, 422),
        ("/v1/overview", {"days": 0}, 422),
        ("/v1/overview", {"days": 367}, 422),
    ],
)
def test_what_the_reads_refuse(
    client: TestClient, people: list[dict[str, Any]], path: str, params: dict[str, int], status: int
) -> None:
    url = path.format(applicant=people[0]["applicant_id"], device=_device_of(client, people[0]["applicant_id"]))
    r = client.get(url, params=params, headers=INVESTIGATOR)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if status == 422:
        assert r.json()["field"] in ("node_id", "limit", "hops", "days")


def test_the_reads_are_for_investigators(client: TestClient, people: list[dict[str, Any]]) -> None:
    device = _device_of(client, people[0]["applicant_id"])
    for url in (f"/v1/nodes/{device}/applicants", f"/v1/nodes/{device}/reach", "/v1/overview"):
        assert client.get(url, headers=SCORER).status_code == 403
        assert client.get(url).status_code == 401


def test_the_reach_of_an_applicant(client: TestClient, people: list[dict[str, Any]]) -> None:
    fourth = people[3]["applicant_id"]
    view = client.get(f"/v1/applicants/{fourth}", headers=INVESTIGATOR).json()
    phone = next(i["node_id"] for i in view["identifiers"] if i["kind"] == "phone")
    one = client.get(f"/v1/nodes/{fourth}/reach", params={"hops": 1}, headers=INVESTIGATOR).json()
    assert (one["root"], one["hops"]) == (fourth, 1)
    assert {i["node_id"] for i in one["identifiers"]} == {i["node_id"] for i in view["identifiers"]}
    assert all(i["confirmed_fraud"] == 0 and i["nearest"] is None for i in one["identifiers"])
    # Two links: 4 shares the phone with 3, who shares the device with 1 (confirmed fraud).
    two = client.get(f"/v1/nodes/{fourth}/reach", headers=INVESTIGATOR).json()
    top = two["identifiers"][0]
    assert {k: top[k] for k in ("node_id", "kind", "applicants", "confirmed_fraud", "nearest", "hub")} == {
        "node_id": phone,
        "kind": "phone",
        "applicants": 2,
        "confirmed_fraud": 1,
        "nearest": 2,
        "hub": False,
    }
    assert top["display"] and "*" in top["display"]
    assert [i["confirmed_fraud"] for i in two["identifiers"]] == sorted(
        (i["confirmed_fraud"] for i in two["identifiers"]), reverse=True
    )


def _counts(rows: list[dict[str, Any]], *keys: str) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    for row in rows:
        out[tuple(row[k] for k in keys)] += row["count"]
    return out


def test_the_overview_counts_what_the_desk_did(client: TestClient, people: list[dict[str, Any]]) -> None:
    alerts = client.get("/v1/alerts", headers=INVESTIGATOR).json()
    assert alerts, "confirming 1 as fraud alerted the applicants linked to it"
    opened = client.post(
        "/v1/cases", json={"reason": "linked to a fraudster", "alert_id": alerts[0]["alert_id"]}, headers=INVESTIGATOR
    )
    assert opened.status_code == 201, opened.text
    run = client.post("/v1/rings/runs", json={}, headers=ADMIN)
    assert run.status_code == 200, run.text

    r = client.get("/v1/overview", headers=INVESTIGATOR)
    assert r.status_code == 200, r.text
    view = r.json()
    assert set(view) == {"since", "decisions", "alerts", "cases", "rings"}

    # Decisions: the scoring flow's, as each application's file shows them (monitoring re-scores are not counted).
    by_day: Counter[tuple[Any, ...]] = Counter()
    by_channel: Counter[tuple[Any, ...]] = Counter()
    by_product: Counter[tuple[Any, ...]] = Counter()
    times = []
    for n, channel in ((1, "app"), (2, "web"), (3, "app"), (4, "app")):
        file = client.get(f"/v1/applications/APP-{n:06d}", headers=INVESTIGATOR).json()
        (first,) = [d for d in file["decisions"] if d["trigger"] == "application"]
        day = datetime.fromtimestamp(first["at"], UTC).date().isoformat()
        by_day[(day, first["band"], first["action"])] += 1
        by_channel[(channel, first["band"])] += 1
        by_product[("cash_loan", first["band"])] += 1
        times.append(first["at"])
    decisions = view["decisions"]
    assert _counts(decisions["by_day"], "day", "band", "action") == by_day
    assert _counts(decisions["by_channel"], "channel", "band") == by_channel
    assert _counts(decisions["by_product"], "product", "band") == by_product
    assert view["since"] <= min(times)

    # Alerts: one moved in_case by the case; all raised just now.
    listed = client.get("/v1/alerts", headers=INVESTIGATOR).json()
    assert _counts(view["alerts"]["by_tier_status"], "tier", "status") == Counter(
        (a["tier"], a["status"]) for a in listed
    )
    assert _counts(view["alerts"]["open_by_age"], "age", "tier") == Counter(
        ("<1d", a["tier"]) for a in listed if a["status"] != "resolved"
    )
    assert view["cases"] == {
        "by_status_layer": [{"status": "open", "layer": "analyst", "count": 1}],
        "open_by_age": [{"age": "<1d", "layer": "analyst", "count": 1}],
    }
    summary = run.json()
    assert view["rings"]["runs"][0] == {
        "run_id": summary["run_id"],
        "at": pytest.approx(datetime.fromisoformat(summary["at"]).timestamp(), abs=1.0),
        "rings": summary["rings"],
        "critical": summary["critical"],
    }
    assert view["rings"]["active"] == len(client.get("/v1/rings", headers=INVESTIGATOR).json())


def test_an_empty_desk_has_an_empty_overview(client: TestClient) -> None:
    before = datetime.now(UTC).date()
    view = client.get("/v1/overview", params={"days": 7}, headers=INVESTIGATOR).json()
    after = datetime.now(UTC).date()
    assert view["decisions"] == {"by_day": [], "by_channel": [], "by_product": []}
    assert view["alerts"] == {"by_tier_status": [], "open_by_age": []}
    assert view["cases"] == {"by_status_layer": [], "open_by_age": []}
    assert view["rings"] == {"runs": [], "active": 0}
    since = datetime.fromtimestamp(view["since"], UTC)
    assert (since.hour, since.minute, since.second) == (0, 0, 0)
    assert (before - since.date()).days == 6 or (after - since.date()).days == 6, "7 days, today included"
