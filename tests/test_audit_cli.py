"""``ringsight audit seal`` and ``ringsight audit verify``: exit 0 while the log is intact,
1 once a sealed event was changed behind the store's back."""

from __future__ import annotations

import sqlite3

from typer.testing import CliRunner

from api.cli.app import app
from graph.store import open_store

runner = CliRunner()


def test_verify_finds_an_event_changed_behind_the_stores_back(cli_db: str) -> None:
    store = open_store(cli_db)
    for i in range(5):
        store.append_audit(1_760_000_000.0 + i, "investigator:k1", "lookup", f"device:d{i}", {"i": i})
    store.close()
    sealed = runner.invoke(app, ["audit", "seal"])
    assert sealed.exit_code == 0 and "seal 1: 5 events" in sealed.output, sealed.output
    intact = runner.invoke(app, ["audit", "verify"])
    assert intact.exit_code == 0 and "intact" in intact.output and "5 sealed events" in intact.output
    # Someone with the file (not the store) drops the guard and rewrites history.
    db = sqlite3.connect(cli_db.removeprefix("sqlite:///"))
    db.execute("DROP TRIGGER audit_append_only_update")
    db.execute("UPDATE audit SET actor = 'admin:nobody' WHERE seq = 3")
    db.commit()
    db.close()
    tampered = runner.invoke(app, ["audit", "verify"])
    assert tampered.exit_code == 1, tampered.output
    assert "seal 1: the events after seq 0 were changed" in tampered.output


def test_verify_and_the_model_registry_read_a_store_a_serving_process_owns(cli_db: str) -> None:
    """Issue 11: one process writes an embedded store (it holds the file's lock); a reading
    tool opens it read-only beside it instead of being refused, and a writing one is refused."""
    owner = open_store(cli_db)
    try:
        for i in range(3):
            owner.append_audit(1_760_000_000.0 + i, "investigator:k1", "lookup", f"device:d{i}", {"i": i})
        verified = runner.invoke(app, ["audit", "verify"])
        assert verified.exit_code == 0 and "3 not sealed yet" in verified.output and "intact" in verified.output
        listed = runner.invoke(app, ["models", "list"])
        assert listed.exit_code == 0 and '"champion"' in listed.output, listed.output
        sealing = runner.invoke(app, ["audit", "seal"])
        assert sealing.exit_code == 2 and "already open" in sealing.output, sealing.output
    finally:
        owner.close()
