"""Fixtures of the API tests: an app on an in-memory store, and a real uvicorn server
on a free port in 8200-8299 (a SQLite store of the test's own)."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.settings import Settings
from graph.store.embedded.store import EmbeddedStore
from tests import servers
from tests.api.casework import case_client, chain  # noqa: F401 - fixtures of the casework tests

SCORER = {"X-API-Key": "dev-scorer"}
INVESTIGATOR = {"X-API-Key": "dev-investigator"}
ADMIN = {"X-API-Key": "dev-admin"}
PORTS = range(8200, 8300)


@pytest.fixture()
def make_client() -> Iterator[Callable[..., TestClient]]:
    """Clients of apps built from the given settings (on an in-memory store each)."""
    opened: list[TestClient] = []

    def make(**settings: object) -> TestClient:
        client = TestClient(create_app(Settings(graph_url="memory://", **settings), EmbeddedStore("memory://")))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture()
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen[bytes]

    def rss_bytes(self) -> int:
        """Resident memory of the server process."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


def _start(db: Path, env: dict[str, str]) -> Server:
    for _ in range(3):
        port = free_port()
        proc = servers.start(port, {"RINGSIGHT_GRAPH_URL": f"sqlite:///{db}", **env})
        url = f"http://127.0.0.1:{port}"
        if servers.ready(proc, url, 30):
            return Server(url, port, proc)
        servers.stop(proc)  # the port was taken meanwhile, or the server did not come up: try once more
    raise AssertionError("the server did not become ready")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real ``uvicorn`` serving the app with the default settings (SQLite, development keys)."""
    server = _start(tmp_path_factory.mktemp("live") / "ringsight.db", {})
    try:
        yield server
    finally:
        servers.stop(server.process)
