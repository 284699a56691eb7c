"""A Neo4j that goes away while the service runs, and comes back.

Starts a second, private Neo4j (the same Maven-built launcher) on its own port,
serves the API against it, kills the server, and checks that readiness fails,
scoring follows the outage policy, and everything recovers once Neo4j is back,
without restarting the service.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.routes.scoring import EXAMPLE
from api.settings import Settings
from graph.store import open_store

pytestmark = pytest.mark.neo4j
SCORER = {"X-API-Key": "dev-scorer"}


def _wait(predicate: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.5)
    return False


@pytest.mark.parametrize("policy", ["fail_closed", "fail_open"])
def test_service_survives_a_neo4j_outage(private_neo4j: Any, policy: str) -> None:
    url = private_neo4j.url
    server = private_neo4j.start()
    settings = Settings(graph_url=url, neo4j_timeout_seconds=5.0, store_outage_policy=policy)  # type: ignore[arg-type]
    store = open_store(url, **settings.neo4j_options())
    try:
        with TestClient(create_app(settings, store)) as client:
            assert client.get("/readyz").status_code == 200
            first = client.post("/v1/applications", json=EXAMPLE, headers=SCORER)
            assert first.status_code == 200, first.text

            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
            started = time.monotonic()
            assert client.get("/readyz").status_code == 503
            r = client.post("/v1/score", json={**EXAMPLE, "application_id": "APP-OUTAGE"}, headers=SCORER)
            assert time.monotonic() - started < 45, "outage answers must be bounded by the timeouts"
            if policy == "fail_closed":
                assert r.status_code == 503 and r.json()["title"] == "Store unavailable"
            else:
                assert r.status_code == 200 and r.json()["degraded"] is True and r.json()["band"] == "unscored"

            server = private_neo4j.start()
            assert _wait(lambda: client.get("/readyz").status_code == 200, 60), "no recovery after restart"
            again = client.post("/v1/applications", json={**EXAMPLE, "application_id": "APP-AFTER"}, headers=SCORER)
            assert again.status_code == 200 and again.json()["degraded"] is False
    finally:
        store.close()
