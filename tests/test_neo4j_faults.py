"""Neo4j faults the service must ride out, against a real private server:

- a server that hangs (``SIGSTOP``: connections stay open, nothing answers): scoring
  follows the outage policy within the timeout plus a small margin, readiness answers in
  under a second, and everything recovers when it resumes;
- a server restarted onto an empty database: the constraints, indexes and the PII key's
  fingerprint come back without restarting the service;
- duplicates written while a rule was missing: identifiers are merged, anything else is
  reported by name while the store keeps serving.
"""

from __future__ import annotations

import copy
import os
import signal
import time
from typing import Any

import neo4j
import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.routes.scoring import EXAMPLE
from api.settings import Settings
from graph.store import PII_KEY_SETTING, open_store
from graph.store.neo4j import queries as q

pytestmark = pytest.mark.neo4j
SCORER = {"X-API-Key": "dev-scorer"}
INVESTIGATOR = {"X-API-Key": "dev-investigator"}
TIMEOUT = 2.0


def _wait(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def _timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def _stored(client: TestClient, body: dict[str, Any]) -> None:
    """Store one application, retrying while a cold server (a fresh JVM on a busy machine)
    answers the first queries slower than the short timeout these tests run with."""
    answer = None
    for _ in range(10):
        answer = client.post("/v1/applications", json=body, headers=SCORER)
        if answer.status_code == 200 and not answer.json()["degraded"]:
            return
        time.sleep(1.0)
    raise AssertionError(answer.text if answer is not None else "no answer")


def _app(n: int) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["application_id"] = f"APP-F{n:05d}"
    return body


@pytest.mark.parametrize("policy", ["fail_closed", "fail_open"])
def test_a_hung_neo4j_is_an_outage_within_the_deadline(private_neo4j: Any, policy: str) -> None:
    server = private_neo4j.start()
    settings = Settings(graph_url=private_neo4j.url, neo4j_timeout_seconds=TIMEOUT, store_outage_policy=policy)  # type: ignore[arg-type]
    store = open_store(private_neo4j.url, **settings.neo4j_options())
    stopped = False
    try:
        with TestClient(create_app(settings, store)) as client:
            assert client.get("/readyz").status_code == 200
            _stored(client, _app(1))

            os.killpg(server.pid, signal.SIGSTOP)
            stopped = True
            ready, took = _timed(lambda: client.get("/readyz"))
            assert ready.status_code == 503 and took < 1.5, f"readiness took {took:.2f} s"
            for n in (2, 3):  # the second finds the worker threads of the first still stuck
                scored, took = _timed(lambda n=n: client.post("/v1/applications", json=_app(n), headers=SCORER))
                assert took < TIMEOUT + 2.0, f"the outage policy answered after {took:.2f} s"
                if policy == "fail_closed":
                    assert scored.status_code == 503, scored.text
                else:
                    assert scored.status_code == 200 and scored.json()["band"] == "unscored", scored.text
            read, took = _timed(lambda: client.get("/v1/applications/APP-F00001", headers=INVESTIGATOR))
            assert read.status_code == 503 and took < 3 * (TIMEOUT + 1.0)

            os.killpg(server.pid, signal.SIGCONT)
            stopped = False
            assert _wait(lambda: client.get("/readyz").status_code == 200, 60), "no recovery after the hang"
            # The resumed JVM answers its first queries slowly on a busy machine: within a few tries.
            _stored(client, _app(4))
            assert client.get("/v1/applications/APP-F00004", headers=INVESTIGATOR).status_code == 200
    finally:
        if stopped:
            os.killpg(server.pid, signal.SIGCONT)
        store.close()


def _schema_names(url: str) -> set[str]:
    with neo4j.GraphDatabase.driver(url) as driver, driver.session() as session:
        return {
            r["name"] for r in session.run("SHOW INDEXES YIELD name WHERE name STARTS WITH 'ringsight_' RETURN name")
        }


def test_a_neo4j_restarted_empty_gets_its_schema_and_key_back(private_neo4j: Any) -> None:
    server = private_neo4j.start()
    settings = Settings(graph_url=private_neo4j.url, neo4j_timeout_seconds=TIMEOUT)
    store = open_store(private_neo4j.url, **settings.neo4j_options())
    try:
        with TestClient(create_app(settings, store)) as client:
            _stored(client, _app(1))
            fingerprint = store.setting(PII_KEY_SETTING)
            assert fingerprint
            expected = _schema_names(private_neo4j.url)
            assert len(expected) == len(q.SCHEMA)

            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
            server = private_neo4j.start()  # a fresh, empty data folder
            assert _schema_names(private_neo4j.url) == set()
            assert _wait(lambda: client.get("/readyz").status_code == 200, 90), "not ready after the empty restart"
            assert _schema_names(private_neo4j.url) == expected
            assert store.setting(PII_KEY_SETTING) == fingerprint
            # Two clients writing the same identifier now make one node, as before the restart.
            for n in (2, 3):
                _stored(client, _app(n))
            with neo4j.GraphDatabase.driver(private_neo4j.url) as driver, driver.session() as session:
                assert session.run("MATCH (d:Device) RETURN count(d) AS n").single()["n"] == 1
    finally:
        store.close()


def test_duplicates_are_merged_or_named_while_the_store_serves(private_neo4j: Any) -> None:
    private_neo4j.start()
    settings = Settings(graph_url=private_neo4j.url, neo4j_timeout_seconds=TIMEOUT)
    store = open_store(private_neo4j.url, **settings.neo4j_options())
    try:
        with TestClient(create_app(settings, store)) as client:
            for n in (1, 2):
                _stored(client, _app(n))
            with neo4j.GraphDatabase.driver(private_neo4j.url) as driver, driver.session() as session:
                # As if written while the rules were missing: a second Device node for the
                # same key, holding one of the links, and two nodes for one application id.
                session.run("DROP CONSTRAINT ringsight_device_key").consume()
                session.run("DROP CONSTRAINT ringsight_application_application_id").consume()
                session.run(
                    "MATCH (a:Application {application_id: 'APP-F00002'})-[r:USED_DEVICE]->(d:Device) "
                    "CREATE (twin:Device {key: d.key, display: d.display}) "
                    "CREATE (a)-[r2:USED_DEVICE]->(twin) SET r2 = properties(r) DELETE r"
                ).consume()
                session.run("CREATE (:Application {application_id: 'APP-F00001', ts: 0.0})").consume()
                assert session.run("MATCH (d:Device) RETURN count(d) AS n").single()["n"] == 2

            store._schema_checked = 0.0  # the next readiness check looks now, not in 10 s
            store._conflicts_checked = 0.0

            def settled() -> bool:
                ready = client.get("/readyz")
                return ready.status_code == 200 and bool(ready.json()["problems"])

            assert _wait(settled, 60)
            (problem,) = client.get("/readyz").json()["problems"]
            assert "Application.application_id" in problem and "'APP-F00001' x2" in problem
            with neo4j.GraphDatabase.driver(private_neo4j.url) as driver, driver.session() as session:
                assert session.run("MATCH (d:Device) RETURN count(d) AS n").single()["n"] == 1
                links = session.run("MATCH (:Application)-[r:USED_DEVICE]->(:Device) RETURN count(r) AS n").single()
                assert links["n"] == 2, "the twin's link moved to the kept node"
            assert "ringsight_device_key" in _schema_names(private_neo4j.url)
            # The store keeps serving while the application duplicate waits for a person.
            _stored(client, _app(3))
    finally:
        store.close()
