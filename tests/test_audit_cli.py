"""``ringsight audit seal`` and ``ringsight audit verify``: exit 0 while the log is intact,
1 once a sealed event was changed behind the store's back."""

from __future__ import annotations

import sqlite3

from typer.testing import CliRunner

from api.cli import app
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
