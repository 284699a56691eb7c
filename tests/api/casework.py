"""Casework test data: the keys of every role (and a second analyst), an application
builder, and a chain of three applicants that yields one alert."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.routes.scoring import EXAMPLE
from api.settings import Settings
from graph.store.embedded.store import EmbeddedStore
from tests.api.settle import settle

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
def case_client() -> Any:
    """An app on an in-memory store with the development keys and a second analyst's."""
    with TestClient(create_app(Settings(graph_url="memory://", api_keys=KEYS), EmbeddedStore("memory://"))) as c:
        yield c


@pytest.fixture()
def chain(case_client: TestClient) -> list[str]:
    """Applicants 1 -device- 2 -phone- 3, months apart (all low); 1 is then confirmed as
    fraud, which alerts 2 (1 and 3 share nothing)."""
    ids = []
    for n, month, device, phone in (
        (1, "05", "dfp-shared", "+86 138 0000 0001"),
        (2, "07", "dfp-shared", "+86 138 0000 0022"),
        (3, "09", "dfp-own-3", "+86 138 0000 0022"),
    ):
        answer = case_client.post("/v1/applications", json=application(n, month, device, phone), headers=SCORER).json()
        ids.append(answer["applicant_id"])
    settle(case_client)  # their own monitoring first, so the label's re-score is what alerts 2
    r = case_client.post(
        "/v1/labels",
        json={"node_id": ids[0], "status": "confirmed_fraud", "reason": "chargeback confirmed"},
        headers=INVESTIGATOR,
    )
    assert r.status_code == 200, r.text
    settle(case_client)
    return ids
