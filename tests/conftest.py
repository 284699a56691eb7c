"""Shared fixtures: the embedded store, and a real Neo4j server for ``neo4j`` tests.

Neo4j tests need ``RINGSIGHT_TEST_NEO4J_URL`` (``make test`` starts the local
launcher and sets it). Without a reachable server they are skipped locally,
with the reason, and fail under ``CI=true`` so that CI never skips them
silently.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from graph.store.embedded.store import EmbeddedStore
from graph.store.neo4j.store import Neo4jStore

ROOT = Path(__file__).resolve().parent.parent
NEO4J_URL_ENV = "RINGSIGHT_TEST_NEO4J_URL"
_WIPE = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"neo4j: needs a real Neo4j 5 server with GDS at ${NEO4J_URL_ENV} (started by `make test`)"
    )


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _missing(reason: str) -> None:
    """Skip locally, fail in CI: a Neo4j test must never pass by not running."""
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: Neo4j tests must run)", pytrace=False)
    pytest.skip(reason)


def _server_facts(url: str) -> tuple[str, int, int]:
    """(gds.version(), gds.* procedures, all gds.list() entries) of the server at ``url``."""
    import neo4j

    with neo4j.GraphDatabase.driver(url, auth=None, connection_timeout=3.0) as driver:
        records, _, _ = driver.execute_query(
            "CALL gds.list() YIELD name, type "
            "RETURN gds.version() AS version, count(*) AS entries, "
            "count(CASE WHEN type = 'procedure' THEN 1 END) AS procedures"
        )
    record = records[0]
    return record["version"], record["procedures"], record["entries"]


def pytest_report_header(config: pytest.Config) -> list[str]:
    url = os.environ.get(NEO4J_URL_ENV)
    if not url:
        return [f"neo4j: {NEO4J_URL_ENV} not set; neo4j tests will {'FAIL' if _in_ci() else 'be skipped'}"]
    try:
        version, procedures, entries = _server_facts(url)
    except Exception as exc:
        return [f"neo4j: {url} unreachable ({type(exc).__name__}: {exc})"]
    return [f"neo4j: {url}, gds.version() {version}, {procedures} gds.* procedures ({entries} gds.list() entries)"]


@pytest.fixture(scope="session")
def neo4j_url() -> str:
    """Bolt URL of the test server; skips (locally) or fails (CI) when there is none."""
    url = os.environ.get(NEO4J_URL_ENV)
    if not url:
        _missing(
            f"{NEO4J_URL_ENV} is not set: run `make test`, or start a server with "
            "`python3 tools/neo4j_local.py start` (needs Java 17 and Maven) and export the URL it prints"
        )
        raise AssertionError("unreachable")
    try:
        _server_facts(url)
    except Exception as exc:
        _missing(f"no Neo4j with GDS answering at {NEO4J_URL_ENV}={url} ({type(exc).__name__}: {exc})")
    return url


@pytest.fixture(scope="session")
def wipe_neo4j(neo4j_url: str) -> Callable[[], None]:
    """A function that empties the test database (nodes, relationships, GDS graphs;
    the schema stays)."""
    import neo4j

    def wipe() -> None:
        with neo4j.GraphDatabase.driver(neo4j_url, auth=None) as driver, driver.session() as session:
            session.run(_WIPE).consume()
            session.run(
                "CALL gds.graph.list() YIELD graphName "
                "CALL gds.graph.drop(graphName, false) YIELD graphName AS dropped RETURN count(*)"
            ).consume()

    return wipe


@pytest.fixture()
def neo4j_store(neo4j_url: str, wipe_neo4j: Callable[[], None]) -> Iterator[Neo4jStore]:
    """A :class:`graph.store.neo4j.store.Neo4jStore` on an empty database."""
    wipe_neo4j()
    store = Neo4jStore(neo4j_url, timeout=10.0)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture()
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A SQLite store of the test's own as the configured store (``RINGSIGHT_GRAPH_URL``),
    with the settings read afresh before and after."""
    from api.settings import get_settings

    url = f"sqlite:///{tmp_path}/cli.db"
    monkeypatch.setenv("RINGSIGHT_GRAPH_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


@pytest.fixture()
def embedded_store() -> Iterator[EmbeddedStore]:
    """An in-memory :class:`graph.store.embedded.store.EmbeddedStore`."""
    store = EmbeddedStore("memory://")
    try:
        yield store
    finally:
        store.close()


def neo4j_launcher() -> ModuleType:
    """``tools/neo4j_local.py`` (a script, not a package)."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import neo4j_local
    finally:
        sys.path.pop(0)
    return neo4j_local


class PrivateNeo4j:
    """Servers of a test's own (the same Maven-built launcher) on one free port, each
    start on a fresh data folder; all of them are stopped when the test ends."""

    def __init__(self, tmp: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.tmp = tmp
        self.url = f"bolt://127.0.0.1:{self.port}"
        self.launcher = neo4j_launcher()
        self._servers: list[subprocess.Popen[bytes]] = []

    def start(self, copy_from: Path | None = None) -> subprocess.Popen[bytes]:
        n = len(self._servers)
        proc = self.launcher.start_private(
            self.port, self.tmp / f"data{n}", self.tmp / f"neo4j{n}.log", copy_from, heap="1g"
        )
        self._servers.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self._servers:
            self.launcher.stop_private(proc)


@pytest.fixture()
def private_neo4j(neo4j_url: str, tmp_path: Path) -> Iterator[PrivateNeo4j]:
    # neo4j_url: the shared server proves Java and the launcher build are here (and fails in CI if not).
    servers = PrivateNeo4j(tmp_path)
    try:
        yield servers
    finally:
        servers.stop_all()
