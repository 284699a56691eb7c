"""The defined behaviour when the store cannot answer: readiness fails and scoring
follows the configured policy. (The same behaviour against a real Neo4j that is
stopped and restarted is in tests/test_neo4j_store.py.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.routes.scoring import EXAMPLE
from api.settings import Settings
from graph.errors import StoreUnavailable
from graph.store import IdentifierUsage
from graph.store.embedded.store import EmbeddedStore

SCORER = {"X-API-Key": "dev-scorer"}


class UnreachableStore(EmbeddedStore):
    """An embedded store whose connection has gone away (reads and pings time out)."""

    down = True

    def ping(self) -> None:
        if self.down:
            raise StoreUnavailable("timed out after 5.0 s")
        super().ping()

    def identifier_usage(self, node_ids: Sequence[str], *args: Any) -> dict[str, IdentifierUsage]:
        if self.down:
            raise StoreUnavailable("timed out after 5.0 s")
        return super().identifier_usage(node_ids, *args)


@pytest.mark.parametrize("policy", ["fail_closed", "fail_open"])
def test_outage_policy(policy: str) -> None:
    store = UnreachableStore("memory://")
    settings = Settings(graph_url="memory://", store_outage_policy=policy)  # type: ignore[arg-type]
    with TestClient(create_app(settings, store)) as client:
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
        r = client.post("/v1/applications", json=EXAMPLE, headers=SCORER)
        if policy == "fail_closed":
            assert r.status_code == 503
            assert r.headers["retry-after"] == "5"
            assert r.json()["title"] == "Store unavailable"
        else:
            assert r.status_code == 200
            body = r.json()
            assert body["degraded"] is True and body["band"] == "unscored" and body["action"] == "review"
            assert body["score"] is None
        assert store.stats()["applications"] == 0
        store.down = False
        assert client.get("/readyz").status_code == 200
        assert client.post("/v1/applications", json=EXAMPLE, headers=SCORER).json()["degraded"] is False
