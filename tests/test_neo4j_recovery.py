"""A Neo4j that goes away while the service runs, and comes back.

Starts a second, private Neo4j (the same Maven-built launcher) on its own port,
serves the API against it, kills the server, and checks that readiness fails,
scoring follows the outage policy, and everything recovers once Neo4j is back,
without restarting the service.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes import EXAMPLE
from api.settings import Settings
from graph.store import open_store

pytestmark = pytest.mark.neo4j
ROOT = Path(__file__).resolve().parent.parent
SCORER = {"X-API-Key": "dev-scorer"}


def _launcher() -> ModuleType:
    spec = importlib.util.spec_from_file_location("neo4j_local", ROOT / "tools" / "neo4j_local.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(port: int, data: Path, log: Path) -> subprocess.Popen[bytes]:
    local = _launcher()
    cmd = ["java", "-Xms128m", "-Xmx1g", *local.JVM_FLAGS, "-cp",
           f"{local.CLASSES_DIR}{os.pathsep}{local.LIB_DIR / '*'}", local.MAIN_CLASS,
           "--port", str(port), "--data", str(data)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if re.search(r"RINGSIGHT_NEO4J_READY", log.read_text(errors="replace")):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError(f"private Neo4j did not start:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture()
def private_neo4j(neo4j_url: str, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    # neo4j_url: the shared server proves Java and the launcher build are here (and fails in CI if not).
    port = _free_port()
    yield port, tmp_path


def _wait(predicate: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.5)
    return False


@pytest.mark.parametrize("policy", ["fail_closed", "fail_open"])
def test_service_survives_a_neo4j_outage(private_neo4j: tuple[int, Path], policy: str) -> None:
    port, tmp = private_neo4j
    url = f"bolt://127.0.0.1:{port}"
    server = _start(port, tmp / "data", tmp / "neo4j.log")
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

            server = _start(port, tmp / "data2", tmp / "neo4j2.log")
            assert _wait(lambda: client.get("/readyz").status_code == 200, 60), "no recovery after restart"
            again = client.post("/v1/applications", json={**EXAMPLE, "application_id": "APP-AFTER"}, headers=SCORER)
            assert again.status_code == 200 and again.json()["degraded"] is False
    finally:
        store.close()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
