"""Every error is a problem+json answer: malformed or undecodable bodies name the body,
a 405 names every documented method of the path, and an unexpected error is a 500 problem."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.settings import Settings
from graph.store.embedded.store import EmbeddedStore
from tests.api.conftest import ADMIN, SCORER

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    "body",
    [b'{"application_id": ', b'{"a": 1,}', b"\xff\xfe{}", b'{"a": "\xc3"}'],
    ids=["truncated", "trailing-comma", "utf-16-bom", "bad-utf-8"],
)
def test_a_body_that_is_not_json_is_a_422_on_the_body(client: TestClient, body: bytes) -> None:
    r = client.post("/v1/applications", content=body, headers={**SCORER, **JSON})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == "body" and [e["field"] for e in r.json()["errors"]] == ["body"]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/v1/labels", "GET, POST"),
        ("/v1/rings/runs", "POST"),
        ("/v1/rings/R-1", "GET"),
        ("/v1/alerts/AL-1", "GET, POST"),
    ],
)
def test_a_405_names_every_documented_method(client: TestClient, path: str, allowed: str) -> None:
    r = client.delete(path, headers=ADMIN)
    assert r.status_code == 405
    assert r.headers["allow"] == allowed
    assert r.headers["content-type"] == "application/problem+json"


def test_an_unexpected_error_is_a_500_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(Settings(graph_url="memory://"), EmbeddedStore("memory://"))
    with TestClient(app, raise_server_exceptions=False) as client:

        def broken() -> dict[str, int]:
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(app.state.desk, "store_counts", broken)
        r = client.get("/v1/stats", headers=ADMIN)
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["title"] == "Server error" and "disk on fire" not in r.text
