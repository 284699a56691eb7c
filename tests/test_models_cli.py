"""``ringsight outcomes load`` and ``ringsight models train / list / compare / promote`` on
a SQLite store: outcomes from a CSV label the fraudulent applicants, a challenger is trained
on what was known by --as-of, compared and promoted, each step audited as the operator."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli.app import app
from api.http.app import create_app
from api.settings import Settings, get_settings
from graph.store import open_store
from graph.store.embedded.store import EmbeddedStore
from tests.api.test_challenger import DAY, _population

runner = CliRunner()


@pytest.fixture()
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, dict[str, tuple[float, bool]]]]:
    url = f"sqlite:///{tmp_path / 'learn.db'}"
    store = EmbeddedStore(url)
    with TestClient(create_app(Settings(graph_url=url), store)) as client:
        made = _population(client)
    store.close()
    monkeypatch.setenv("RINGSIGHT_GRAPH_URL", url)
    get_settings.cache_clear()
    yield url, made
    get_settings.cache_clear()


def _write_outcomes(path: Path, made: dict[str, tuple[float, bool]]) -> None:
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["application_id", "outcome", "known_at"])
        for app_id, (ts, fraud) in made.items():
            known = datetime.fromtimestamp(ts + (35 if fraud else 60) * DAY, UTC).isoformat()
            out.writerow([app_id, "first_payment_default" if fraud else "repaid", known])
        out.writerow(["APP-999999", "repaid", "2026-06-01T00:00:00Z"])  # no such application
        out.writerow(["APP-000001", "lost", "2026-06-01T00:00:00Z"])  # no such outcome


def test_outcomes_are_loaded_and_a_challenger_is_trained_compared_and_promoted(
    stored: tuple[str, dict[str, tuple[float, bool]]], tmp_path: Path
) -> None:
    url, made = stored
    outcomes = tmp_path / "outcomes.csv"
    _write_outcomes(outcomes, made)
    loaded = runner.invoke(app, ["outcomes", "load", str(outcomes)])
    assert loaded.exit_code == 3, loaded.output  # two rows refused
    assert "108 outcomes recorded, 48 applicants labelled confirmed fraud" in loaded.output
    assert "line 110" in loaded.output and "line 111" in loaded.output

    trained = runner.invoke(app, ["models", "train", "--as-of", "2026-12-01", "--label-delay", "30d"])
    assert trained.exit_code == 0, trained.output
    facts = json.loads(trained.stdout[trained.stdout.index("{") :])
    assert facts["trained_on"] == 108 and facts["fraud"] == 48
    version = facts["challenger"]

    shown = runner.invoke(app, ["models", "list"]).stdout
    listed = json.loads(shown[shown.index("{") :])
    assert listed["challenger"] == version and listed["champion"] != version

    compared = runner.invoke(app, ["models", "compare", "--as-of", "2026-12-01"])
    assert compared.exit_code == 0, compared.output
    report = json.loads(compared.stdout[compared.stdout.index("{") :])
    assert report["challenger"]["version"] == version and report["labelled"] == 108
    assert {"roc_auc", "recall_at_1pct_fpr", "recall_at_5pct_fpr"} <= set(report["champion"])

    assert runner.invoke(app, ["models", "promote", "m-000000000000"]).exit_code == 2
    promoted = runner.invoke(app, ["models", "promote", version])
    assert promoted.exit_code == 0, promoted.output
    assert f"champion {version}" in promoted.output
    with open_store(url) as store:
        events = store.audit_by_action("model:promote")
        assert [e.subject for e in events] == [f"model:{version}"]
        assert events[0].actor.startswith("cli:")
        assert len(store.audit_by_action("outcome:first_payment_default")) == 48


def test_a_training_date_before_any_outcome_cannot_train(stored: tuple[str, dict[str, tuple[float, bool]]]) -> None:
    nothing = runner.invoke(app, ["models", "train", "--as-of", "2026-01-01"])  # before any application
    assert nothing.exit_code == 2
    assert "0 applications, 0 fraud, 0 legitimate" in nothing.output
    # Applications by then, but no outcome known yet and none matured past the delay.
    young = runner.invoke(app, ["models", "train", "--as-of", "2026-02-01", "--label-delay", "30d"])
    assert young.exit_code == 2
    assert "known by 2026-02-01T00:00:00Z" in young.output and ", 0 fraud, 0 legitimate" in young.output
    assert runner.invoke(app, ["models", "train", "--as-of", "yesterday"]).exit_code == 2


def test_the_issue_names_work_too(stored: tuple[str, dict[str, tuple[float, bool]]], tmp_path: Path) -> None:
    """``ringsight load DIR --outcomes FILE`` and ``ringsight train --from-store`` are the
    same commands as ``outcomes load`` and ``models train``."""
    _, made = stored
    outcomes = tmp_path / "outcomes.csv"
    _write_outcomes(outcomes, made)
    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "applications.csv").write_text("application_id,submitted_at,applicant.national_id\n")
    loaded = runner.invoke(app, ["load", str(folder), "--outcomes", str(outcomes)])
    assert "108 outcomes recorded, 48 applicants labelled confirmed fraud" in loaded.output, loaded.output
    assert loaded.exit_code == 3  # the two refused outcome rows
    trained = runner.invoke(app, ["train", "--from-store", "--as-of", "2026-12-01"])
    assert trained.exit_code == 0, trained.output
    assert json.loads(trained.stdout[trained.stdout.index("{") :])["trained_on"] == 108
    assert runner.invoke(app, ["train", "--from-store"]).exit_code == 2  # --as-of is needed
