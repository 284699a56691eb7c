"""The HTTP service on the embedded store: scoring, validation, idempotency, roles,
investigation and durability across a killed process."""

from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.routes.scoring import EXAMPLE
from api.settings import Settings
from graph.store.embedded.store import EmbeddedStore
from tests import servers
from tests.api.settle import settle

SCORER = {"X-API-Key": "dev-scorer"}
INVESTIGATOR = {"X-API-Key": "dev-investigator"}
ADMIN = {"X-API-Key": "dev-admin"}


def application(n: int, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["application_id"] = f"APP-{n:06d}"
    body["applicant"]["national_id"] = f"1101011990030{n:05d}"
    body["submitted_at"] = f"2026-11-20T10:{n % 60:02d}:00Z"
    body["email"] = f"person{n}@example.com"
    body["phone"] = f"+86 138 0000 {n:04d}"
    body["device"] = {"fingerprint": f"dfp-{n}", "ip": f"198.51.100.{n % 250}"}
    body.update(changes)
    applicant = body["applicant"]  # an account is opened no later than its application (the input rules)
    if "account_created_at" in applicant:
        applicant["account_created_at"] = min(applicant["account_created_at"], body["submitted_at"])
    return body


@pytest.fixture()
def store() -> EmbeddedStore:
    return EmbeddedStore("memory://")


@pytest.fixture()
def client(store: EmbeddedStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(graph_url="memory://"), store)) as c:
        yield c


def test_score_has_band_action_and_explained_reasons(client: TestClient) -> None:
    r = client.post("/v1/applications", json=EXAMPLE, headers=SCORER)
    assert r.status_code == 200
    body = r.json()
    assert 0 <= body["score"] <= 1
    assert body["band"] in ("low", "medium", "high", "critical")
    assert body["action"] in ("approve", "step_up", "review", "decline")
    assert body["applicant_id"].startswith("applicant:") and "110101199003077777" not in r.text
    for reason in body["reasons"]:
        assert reason["sentence"] and reason["evidence"] is not None


def test_resent_application_is_not_duplicated(client: TestClient, store: EmbeddedStore) -> None:
    first = client.post("/v1/applications", json=EXAMPLE, headers=SCORER).json()
    again = client.post("/v1/applications", json=EXAMPLE, headers=SCORER).json()
    assert again["replayed"] and not again["stored"] and again["score"] == first["score"]
    assert again["reasons"] == first["reasons"] and again["band"] == first["band"]
    assert store.stats()["applications"] == 1
    assert len(store.decisions(EXAMPLE["application_id"])) == 1


def test_reused_id_for_another_person_conflicts_and_writes_nothing(client: TestClient, store: EmbeddedStore) -> None:
    client.post("/v1/applications", json=EXAMPLE, headers=SCORER)
    other = copy.deepcopy(EXAMPLE)
    other["applicant"]["national_id"] = "220101199003077777"
    r = client.post("/v1/applications", json=other, headers=SCORER)
    assert r.status_code == 409
    assert store.stats()["applicants"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({k: v for k, v in EXAMPLE.items() if k != "submitted_at"}, "submitted_at"),
        ({**EXAMPLE, "applicant": {"name": "x"}}, "applicant.national_id"),
        ({**EXAMPLE, "phone": "call me maybe"}, "phone"),
        ({**EXAMPLE, "email": "nobody"}, "email"),
        ({**EXAMPLE, "amount": -5}, "amount"),
        ({**EXAMPLE, "behaviour": {"form_fill_seconds": "fast"}}, "behaviour.form_fill_seconds"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(
    client: TestClient, store: EmbeddedStore, body: dict[str, Any], field: str
) -> None:
    r = client.post("/v1/applications", json=body, headers=SCORER)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field
    assert store.stats()["applications"] == 0
    assert store.audit() == []


def test_malformed_json_is_a_422(client: TestClient, store: EmbeddedStore) -> None:
    r = client.post(
        "/v1/applications", content=b'{"application_id": ', headers={**SCORER, "content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["field"]
    assert store.stats()["applications"] == 0


def test_dry_run_writes_nothing(client: TestClient, store: EmbeddedStore) -> None:
    r = client.post("/v1/score", json=EXAMPLE, headers=SCORER)
    assert r.status_code == 200 and r.json()["stored"] is False
    assert store.stats()["applications"] == 0 and store.audit() == []


def test_roles_are_enforced(client: TestClient) -> None:
    assert client.post("/v1/applications", json=EXAMPLE).status_code == 401
    assert client.post("/v1/applications", json=EXAMPLE, headers={"X-API-Key": "nope"}).status_code == 401
    assert client.get("/v1/alerts", headers=SCORER).status_code == 403
    assert client.get("/v1/alerts", headers=INVESTIGATOR).status_code == 200
    assert client.get("/v1/audit", headers=INVESTIGATOR).status_code == 403
    assert client.get("/v1/audit", headers=ADMIN).status_code == 200


def test_shared_device_ring_scores_higher_and_network_shows_it(client: TestClient) -> None:
    lone = client.post(
        "/v1/applications", json=application(1, device={"fingerprint": "dfp-alone"}), headers=SCORER
    ).json()
    ring = []
    for n in range(2, 9):
        body = application(
            n,
            device={"fingerprint": "dfp-shared"},
            phone="+86 139 0000 0001",
            behaviour={"form_fill_seconds": 6, "paste_events": 4},
        )
        ring.append(client.post("/v1/applications", json=body, headers=SCORER).json())
    assert ring[-1]["score"] > lone["score"]
    assert {r["code"] for r in ring[-1]["reasons"]} & {"shared_identifier", "ring_size", "velocity_device"}
    net = client.get(f"/v1/applicants/{ring[-1]['applicant_id']}/network?depth=2", headers=INVESTIGATOR).json()
    kinds = {n["kind"] for n in net["nodes"]}
    assert {"applicant", "device", "phone"} <= kinds
    # Seven share the device; the lone applicant appears only through the shared employer.
    device = next(n["id"] for n in net["nodes"] if n["kind"] == "device" and n["props"]["applicants"] == 7)
    assert sum(e["target"] == device for e in net["edges"]) == 7
    assert sum(n["kind"] == "applicant" for n in net["nodes"]) == 8
    assert all(
        e["type"] in ("USED_DEVICE", "GAVE_PHONE", "GAVE_EMAIL", "GAVE_EMPLOYER", "USED_IP") for e in net["edges"]
    )


def test_confirming_fraud_raises_alerts_and_is_audited(client: TestClient, store: EmbeddedStore) -> None:
    # Three people who shared a device months apart score low at application time...
    ids, first = [], []
    for n, month in ((1, "06"), (2, "08"), (3, "10")):
        body = application(n, device={"fingerprint": "dfp-family"}, submitted_at=f"2026-{month}-02T10:00:00Z")
        body["applicant"]["account_created_at"] = "2025-01-01T00:00:00Z"
        answer = client.post("/v1/applications", json=body, headers=SCORER).json()
        ids.append(answer["applicant_id"])
        first.append(answer["band"])
    assert first == ["low", "low", "low"]
    settle(client)  # their own monitoring first
    # ...until one of them is confirmed as fraud: the others are re-scored and alerted.
    r = client.post(
        "/v1/labels",
        json={"node_id": ids[0], "status": "confirmed_fraud", "reason": "chargeback confirmed"},
        headers=INVESTIGATOR,
    )
    assert r.status_code == 200 and r.json()["rescore"] == "queued"
    settle(client)
    alerts = client.get("/v1/alerts", headers=INVESTIGATOR).json()
    assert {a["applicant_id"] for a in alerts} >= set(ids[1:])
    assert all(a["tier"] in ("watch", "investigate", "freeze_recommended") for a in alerts)
    assert {a["trigger"] for a in alerts} == {f"label:confirmed_fraud:{ids[0]}"}
    audit = client.get("/v1/audit", params={"subject": ids[0]}, headers=ADMIN).json()
    labelled = [e for e in audit if e["action"] == "label:confirmed_fraud"]
    assert labelled and labelled[0]["actor"].startswith("investigator")
    assert labelled[0]["detail"]["reason"] == "chargeback confirmed"
    cleared = client.post(
        "/v1/labels",
        json={"node_id": ids[0], "status": "cleared", "reason": "appeal upheld: stolen identity"},
        headers=INVESTIGATOR,
    )
    assert cleared.status_code == 200
    assert store.labels([ids[0]])[ids[0]].status == "cleared"
    assert [e.action for e in store.audit(ids[0]) if e.action.startswith("label:")] == [
        "label:cleared",
        "label:confirmed_fraud",
    ]


def test_lookup_by_raw_identifier(client: TestClient) -> None:
    client.post("/v1/applications", json=EXAMPLE, headers=SCORER)
    r = client.post("/v1/lookup", json={"kind": "phone", "value": "13800138000"}, headers=INVESTIGATOR)
    assert r.status_code == 200
    assert r.json()["applicants"] == 1 and "13800138000" not in r.text
    assert (
        client.post("/v1/lookup", json={"kind": "phone", "value": "13900000000"}, headers=INVESTIGATOR).status_code
        == 404
    )


def test_health_readiness_docs_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    assert "/v1/applications" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200
    client.post("/v1/applications", json=EXAMPLE, headers=SCORER)
    assert "ringsight_score_seconds" in client.get("/metrics").text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: Path, port: int) -> subprocess.Popen[bytes]:
    proc = servers.start(port, {"RINGSIGHT_GRAPH_URL": f"sqlite:///{db}"})
    if servers.ready(proc, f"http://127.0.0.1:{port}", 30):
        return proc
    servers.stop(proc, grace=0)
    raise AssertionError("service did not become ready")


def test_acknowledged_write_survives_kill_and_restart(tmp_path: Path) -> None:
    db, port = tmp_path / "ringsight.db", _free_port()
    proc = _serve(db, port)
    try:
        r = httpx.post(f"http://127.0.0.1:{port}/v1/applications", json=EXAMPLE, headers=SCORER, timeout=10)
        assert r.status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    proc = _serve(db, port)
    try:
        got = httpx.get(
            f"http://127.0.0.1:{port}/v1/applications/{EXAMPLE['application_id']}", headers=INVESTIGATOR, timeout=10
        )
        assert got.status_code == 200
        assert got.json()["decisions"][0]["score"] == pytest.approx(r.json()["score"], abs=1e-6)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_node_summary_whoami_and_applicant_identifiers(client: TestClient) -> None:
    body = client.post("/v1/applications", json=EXAMPLE, headers=SCORER).json()
    phone = client.post(
        "/v1/lookup", json={"kind": "phone", "value": "+86 138 0013 8000"}, headers=INVESTIGATOR
    ).json()["node_id"]
    node = client.get(f"/v1/nodes/{phone}", headers=INVESTIGATOR).json()
    assert node["applicants"] == 1 and node["hub"] is False and node["label"] is None
    assert client.get("/v1/nodes/phone:nope", headers=INVESTIGATOR).status_code == 404
    assert client.get("/v1/whoami", headers=INVESTIGATOR).json()["role"] == "investigator"
    person = client.get(f"/v1/applicants/{body['applicant_id']}", headers=INVESTIGATOR).json()
    assert phone in {i["node_id"] for i in person["identifiers"]}
