"""The contract suite's store: each test runs once on the embedded store (a SQLite file
of its own) and once on the real Neo4j server (an emptied database)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graph.store import GraphStore, open_store

Reopen = Callable[[], GraphStore]


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[GraphStore, Reopen]]:
    """``(store, reopen)``: ``reopen()`` closes the store and opens the same data anew (a
    restarted process), returning the new store; the fixture closes whichever is open."""
    if request.param == "embedded":
        url = f"sqlite:///{tmp_path / 'contract.db'}"
        options: dict[str, object] = {}
    else:
        url = request.getfixturevalue("neo4j_url")
        request.getfixturevalue("wipe_neo4j")()
        options = {"timeout": 20.0}
    current = [open_store(url, **options)]

    def reopen() -> GraphStore:
        current[0].close()
        current[0] = open_store(url, **options)
        return current[0]

    try:
        yield current[0], reopen
    finally:
        current[0].close()
