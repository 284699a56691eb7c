"""Initial loads through ``neo4j-admin database import full`` build the same graph
as transactional loading.

The same generated file (with re-sent rows) goes two ways: ``ringsight load``
into the shared test server, and ``ringsight load --neo4j-import`` followed by
the real importer (from the launcher's class path) and a private server started
on the imported database. Every node with its labels and properties and every
relationship with its type, ends and properties must be identical, and the
service must score the same on both.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import neo4j
import pytest
from typer.testing import CliRunner

from api.bootstrap import build_normaliser
from api.cli.app import app
from api.settings import get_settings
from fixtures.generator import generate, write_dataset
from graph.errors import InvalidInput
from graph.loading import load_applications
from graph.store import bind_pii_key, open_store
from graph.store.neo4j.import_set import ImportSet, admin_command, read_manifest
from graph.store.neo4j.store import Neo4jStore

pytestmark = pytest.mark.neo4j
runner = CliRunner()

_NODES = "MATCH (n) RETURN labels(n) AS labels, properties(n) AS props"
_RELATIONSHIPS = """
MATCH (a)-[r]->(b)
RETURN type(r) AS type, coalesce(a.application_id, a.key) AS start, coalesce(b.application_id, b.key) AS end,
       properties(r) AS props
"""


def _dump(url: str) -> tuple[list[str], list[str]]:
    """Every node and relationship as sortable text (values with their Python types)."""
    with neo4j.GraphDatabase.driver(url, auth=None) as driver, driver.session() as session:
        nodes = [
            repr((sorted(r["labels"]), sorted((k, repr(v)) for k, v in r["props"].items())))
            for r in session.run(_NODES)
        ]
        rels = [
            repr((r["type"], r["start"], r["end"], sorted((k, repr(v)) for k, v in r["props"].items())))
            for r in session.run(_RELATIONSHIPS)
        ]
    return sorted(nodes), sorted(rels)


@pytest.fixture()
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("RINGSIGHT_PII_KEY", "import-test-key-0123456789")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_imported_graph_is_the_loaded_graph(
    tmp_path: Path,
    neo4j_store: Neo4jStore,
    neo4j_url: str,
    private_neo4j: Any,
    settings_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data_dir = tmp_path / "data"
    write_dataset(generate(3000, seed=23), data_dir, "csv")
    source = data_dir / "applications.csv"
    with source.open(newline="") as fh:
        rows = list(csv.reader(fh))
    with source.open("a", newline="") as fh:  # re-sent applications: stored once by both roads
        csv.writer(fh).writerows(rows[1:40])

    # Road 1: transactional load into the running shared server (as `ringsight load` does).
    normaliser = build_normaliser(get_settings())
    bind_pii_key(neo4j_store, normaliser)
    report = load_applications(neo4j_store, normaliser, source)
    assert (report.stored, report.duplicates, report.rejected) == (3000, 39, [])

    # Road 2: an import set, the real importer, a server started on its database.
    out = tmp_path / "import"
    r = runner.invoke(app, ["load", str(data_dir), "--neo4j-import", str(out)])
    assert r.exit_code == 0, r.output
    assert "3,000 applications" in r.output and "neo4j-admin database import full" in r.output
    assert "--bad-actors-only" in r.output
    manifest = read_manifest(out)
    assert manifest["applications"] == 3000
    home = tmp_path / "home"
    private_neo4j.launcher.admin_import(out, home, tmp_path / "import.log")
    private_neo4j.start(copy_from=home)

    imported_store = open_store(private_neo4j.url, timeout=30.0)  # creates the schema over the imported data
    try:
        assert imported_store.stats()["applications"] == 3000
        nodes, rels = _dump(private_neo4j.url)
        loaded_nodes, loaded_rels = _dump(neo4j_url)
        assert len(nodes) == len(loaded_nodes) and len(rels) == len(loaded_rels)
        assert nodes == loaded_nodes
        assert rels == loaded_rels
        some = [row[0] for row in rows[1:200:7]]
        assert [imported_store.application(a) for a in some] == [neo4j_store.application(a) for a in some]
    finally:
        imported_store.close()

    # Bad actors are labelled online afterwards, through the normal command, with the same key:
    # the imported database carries the key's fingerprint and refuses any other.
    monkeypatch.setenv("RINGSIGHT_GRAPH_URL", private_neo4j.url)
    monkeypatch.setenv("RINGSIGHT_PII_KEY", "another-key-0123456789abcdef")
    get_settings.cache_clear()
    r = runner.invoke(app, ["load", str(data_dir), "--bad-actors-only"])
    assert r.exit_code == 2 and "another PII key" in r.output, r.output
    monkeypatch.setenv("RINGSIGHT_PII_KEY", "import-test-key-0123456789")
    get_settings.cache_clear()
    r = runner.invoke(app, ["load", str(data_dir), "--bad-actors-only"])
    assert r.exit_code == 0, r.output
    with neo4j.GraphDatabase.driver(private_neo4j.url, auth=None) as driver:
        labels = driver.execute_query("MATCH (l:Label) RETURN count(l) AS n").records[0]["n"]
    with (data_dir / "bad_actors.csv").open() as fh:
        assert labels == len({(row["kind"], row["value"]) for row in csv.DictReader(fh)}) > 0


def test_import_set_refuses_what_a_store_refuses(tmp_path: Path, settings_env: None) -> None:
    normaliser = build_normaliser(get_settings())
    data = generate(200, seed=5)
    write_dataset(data, tmp_path / "d", "csv")
    sink = ImportSet(tmp_path / "set", normaliser.key_fingerprint)
    report = load_applications(sink, normaliser, tmp_path / "d" / "applications.csv", workers=1)
    assert report.stored == 200
    first = data.applications[0]
    other = {**first, "applicant.national_id": "110101199001011234"}
    clash = tmp_path / "clash.csv"
    with clash.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(first))
        writer.writeheader()
        writer.writerow(other)
    refused = load_applications(sink, normaliser, clash, workers=1)  # rejected by line, not fatal
    assert refused.stored == 0 and [(r["line"], r["field"]) for r in refused.rejected] == [(2, "application_id")]
    assert "another applicant" in refused.rejected[0]["error"]
    with pytest.raises(InvalidInput, match="unfinished"):
        admin_command(tmp_path / "set")  # not closed yet: never imported half-written
    manifest = sink.close()
    assert manifest["applications"] == 200
    assert json.loads((tmp_path / "set" / "import.json").read_text())["applications"] == 200
    assert "cd " in admin_command(tmp_path / "set") and " neo4j-admin database import full " in admin_command(
        tmp_path / "set"
    )
    with pytest.raises(InvalidInput) as refused:
        ImportSet(tmp_path / "set", normaliser.key_fingerprint)
    assert refused.value.field == "out"
    ImportSet(tmp_path / "set", normaliser.key_fingerprint, overwrite=True).close()  # an import set may be replaced...
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(InvalidInput):
        ImportSet(tmp_path / "other", normaliser.key_fingerprint, overwrite=True)  # ...any other folder is left alone
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"
