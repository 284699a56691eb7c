"""Two API processes on one Neo4j behave like one: one ring run at a time, one alert per
applicant and tier, and the monitoring queue drained once (real uvicorn processes)."""

from __future__ import annotations

import copy
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from api.http.routes.scoring import EXAMPLE
from graph.store import GraphStore, open_store
from tests import servers
from tests.api.conftest import free_port

pytestmark = pytest.mark.neo4j
SCORER = {"X-API-Key": "dev-scorer"}
INVESTIGATOR = {"X-API-Key": "dev-investigator"}
ADMIN = {"X-API-Key": "dev-admin"}


def _serve(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = servers.start(port, {"RINGSIGHT_GRAPH_URL": url, "RINGSIGHT_NEO4J_TIMEOUT_SECONDS": "20"})
    base = f"http://127.0.0.1:{port}"
    if servers.ready(proc, base, 90):
        return proc, base
    servers.stop(proc, grace=0)
    raise AssertionError("a replica did not become ready")


@pytest.fixture()
def replicas(neo4j_url: str, wipe_neo4j: Callable[[], None]) -> Iterator[list[str]]:
    wipe_neo4j()
    started = [_serve(neo4j_url) for _ in range(2)]
    try:
        yield [base for _, base in started]
    finally:
        for proc, _ in started:
            servers.stop(proc, grace=20)


def application(n: int, device: str, month: str) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["application_id"] = f"APP-R{n:05d}"
    body["applicant"]["national_id"] = f"1101011990031{n:05d}"
    body["applicant"]["account_created_at"] = "2025-01-01T00:00:00Z"
    body["submitted_at"] = f"2026-{month}-02T10:00:00Z"
    body["email"] = f"replica{n}@example.com"
    body["phone"] = f"+86 138 0001 {n:04d}"
    body["device"] = {"fingerprint": device, "ip": f"198.51.100.{n % 250}"}
    return body


def _drained(store: GraphStore) -> None:
    deadline = time.monotonic() + 60
    while store.pending_work() and time.monotonic() < deadline:
        time.sleep(0.3)
    assert store.pending_work() == 0, "the queue was not drained"


def test_two_replicas_share_the_queue_the_alerts_and_the_ring_run_lock(replicas: list[str], neo4j_url: str) -> None:
    a, b = replicas
    pairs = 6
    # Each pair: a base applicant, then a later one on the base's device, sent to the other
    # replica; each later one's monitoring item re-scores its base, once.
    for i in range(pairs):
        base = httpx.post(f"{a}/v1/applications", json=application(i, f"dfp-pair-{i}", "05"), headers=SCORER)
        assert base.status_code == 200, base.text
    with ThreadPoolExecutor(4) as pool:
        sent = list(
            pool.map(
                lambda i: httpx.post(
                    f"{(b, a)[i % 2]}/v1/applications",
                    json=application(100 + i, f"dfp-pair-{i}", "07"),
                    headers=SCORER,
                    timeout=30,
                ),
                range(pairs),
            )
        )
    assert all(r.status_code == 200 for r in sent)
    store = open_store(neo4j_url, timeout=20.0)
    try:
        _drained(store)
        for i in range(pairs):
            rescored = [d for d in store.decisions(f"APP-R{i:05d}") if d.trigger == "monitoring"]
            assert len(rescored) == 1, f"base {i} re-scored {len(rescored)} times"

        # The same confirmation sent to both replicas at once: one alert per applicant and tier.
        applicant = sent[0].json()["applicant_id"]
        label = {"node_id": applicant, "status": "confirmed_fraud", "reason": "chargeback confirmed"}
        with ThreadPoolExecutor(2) as pool:
            answers = list(
                pool.map(
                    lambda base: httpx.post(f"{base}/v1/labels", json=label, headers=INVESTIGATOR, timeout=30), (a, b)
                )
            )
        assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
        assert [r.json()["rescore"] for r in answers] == ["queued", "queued"]
        _drained(store)  # each label's re-scoring is queued with it; either replica may take it
        unresolved = [x for x in store.alerts(limit=1000) if x.status != "resolved"]
        keys = [(x.applicant_key, x.tier) for x in unresolved]
        assert unresolved and len(keys) == len(set(keys)), f"duplicate alerts: {keys}"

        # One ring run at a time across processes: the lock is in the database.
        assert store.acquire_lock("ring_run", "test-holder", time.time(), 60.0)
        for base in (a, b):
            busy = httpx.post(f"{base}/v1/rings/runs", json={}, headers=ADMIN, timeout=60)
            assert busy.status_code == 409, busy.text
        store.release_lock("ring_run", "test-holder")
        with ThreadPoolExecutor(2) as pool:
            runs = list(
                pool.map(lambda base: httpx.post(f"{base}/v1/rings/runs", json={}, headers=ADMIN, timeout=300), (a, b))
            )
        statuses = sorted(r.status_code for r in runs)
        assert 200 in statuses and set(statuses) <= {200, 409}, [r.text for r in runs]
    finally:
        store.close()
