"""The ringsight command line, used as an operator would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli.app import app
from api.http.routes.scoring import EXAMPLE
from api.settings import get_settings

runner = CliRunner()


def test_generate_load_score_stats(tmp_path: Path, cli_db: str) -> None:
    out = tmp_path / "gen"
    r = runner.invoke(app, ["generate", "--applications", "2000", "--seed", "3", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert {p.name for p in out.iterdir()} >= {"applications.csv", "truth.csv", "bad_actors.csv"}
    r = runner.invoke(app, ["load", str(out)])
    assert r.exit_code == 0, r.output
    assert "2,000 stored" in r.output and "rows/s" in r.output
    again = runner.invoke(app, ["load", str(out)])
    assert "0 stored, 2,000 already present" in again.output
    stats = json.loads(runner.invoke(app, ["stats"]).stdout)
    assert stats["applications"] == 2000 and stats["labels"] > 0
    body = tmp_path / "app.json"
    body.write_text(json.dumps(EXAMPLE))
    r = runner.invoke(app, ["score", str(body)])
    assert r.exit_code == 0, r.output
    line = json.loads(r.stdout.strip().splitlines()[-1])
    assert line["band"] in ("low", "medium", "high", "critical") and line["stored"] is False
    assert json.loads(runner.invoke(app, ["stats"]).stdout)["applications"] == 2000


def test_parquet_round_trip(tmp_path: Path, cli_db: str) -> None:
    out = tmp_path / "pq"
    made = runner.invoke(app, ["generate", "--applications", "500", "--out", str(out), "--format", "parquet"])
    assert made.exit_code == 0
    r = runner.invoke(app, ["load", str(out / "applications.parquet")])
    assert r.exit_code == 0 and "500 stored" in r.output


def test_bad_rows_are_rejected_by_line_and_field(tmp_path: Path, cli_db: str) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(
        "application_id,submitted_at,applicant.national_id,phone\n"
        "APP-1,2026-11-20T10:00:00Z,110101199003077777,13800138000\n"
        "APP-2,not-a-time,110101199003077778,13800138001\n"
        "APP-3,2026-11-20T10:00:00Z,110101199003077779,not a phone\n"
    )
    rejects = tmp_path / "rejects.jsonl"
    r = runner.invoke(app, ["load", str(csv), "--rejects", str(rejects)])
    assert r.exit_code == 3  # loaded, rows rejected
    bad = [json.loads(x) for x in rejects.read_text().splitlines()]
    assert [(b["line"], b["field"]) for b in bad] == [(3, "submitted_at"), (4, "phone")]
    assert json.loads(runner.invoke(app, ["stats"]).stdout)["applications"] == 1


def test_unknown_store_scheme_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RINGSIGHT_GRAPH_URL", "postgres://x")
    get_settings.cache_clear()
    r = runner.invoke(app, ["stats"])
    get_settings.cache_clear()
    assert r.exit_code != 0
    assert "graph_url" in str(r.exception) or "graph_url" in r.output


def test_train_then_evaluate_with_the_trained_model(
    tmp_path: Path, cli_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, model, out = tmp_path / "gen", tmp_path / "model.json", tmp_path / "eval"
    assert runner.invoke(app, ["generate", "--applications", "3000", "--seed", "5", "--out", str(data)]).exit_code == 0
    r = runner.invoke(app, ["train", str(data), "--out", str(model)])
    assert r.exit_code == 0, r.output
    trained = json.loads(model.read_text())
    assert trained["version"].startswith("m-") and min(trained["weights"].values()) >= 0
    assert trained["baselines"]["bot_form_fill"]["n"] == 3000
    assert trained["meta"]["regularisation_c"] == 1.0
    # a smaller C (stronger L2) shrinks the weights of the same fit
    shrunk_path = tmp_path / "shrunk.json"
    r = runner.invoke(app, ["train", str(data), "--regularisation", "0.1", "--out", str(shrunk_path)])
    assert r.exit_code == 0, r.output
    shrunk = json.loads(shrunk_path.read_text())
    assert shrunk["meta"]["regularisation_c"] == 0.1
    assert sum(shrunk["weights"].values()) < sum(trained["weights"].values())
    monkeypatch.setenv("RINGSIGHT_MODEL_PATH", str(model))
    get_settings.cache_clear()
    r = runner.invoke(app, ["evaluate", str(data), "--out", str(out)])
    assert r.exit_code == 0, r.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model_version"] == trained["version"]
    for key in (
        "roc_auc",
        "pr_auc",
        "recall_at_1pct_fpr",
        "recall_at_5pct_fpr",
        "precision_at_review_capacity",
        "benign_lookalike_flag_rate",
        "ablation",
    ):
        assert key in metrics
    assert {p.name for p in out.iterdir()} >= {"roc.png", "pr.png", "scores.png"}


def test_a_store_refuses_another_pii_key(tmp_path: Path, cli_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "gen"
    assert runner.invoke(app, ["generate", "--applications", "300", "--out", str(out)]).exit_code == 0
    monkeypatch.setenv("RINGSIGHT_PII_KEY", "first-key-0123456789abcdef")
    get_settings.cache_clear()
    assert runner.invoke(app, ["load", str(out)]).exit_code == 0
    monkeypatch.setenv("RINGSIGHT_PII_KEY", "second-key-0123456789abcdef")
    get_settings.cache_clear()
    r = runner.invoke(app, ["stats"])
    assert r.exit_code == 2 and "RINGSIGHT_PII_KEY" in r.output and "another PII key" in r.output, r.output


def test_setting_errors_are_one_line(cli_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RINGSIGHT_PII_KEY", "short")
    get_settings.cache_clear()
    r = runner.invoke(app, ["stats"])
    assert r.exit_code == 2 and "RINGSIGHT_PII_KEY" in r.output and "Traceback" not in r.output, r.output


def test_bad_actors_only_refuses_an_empty_store(tmp_path: Path, cli_db: str) -> None:
    out = tmp_path / "gen"
    assert runner.invoke(app, ["generate", "--applications", "300", "--out", str(out)]).exit_code == 0
    r = runner.invoke(app, ["load", str(out), "--bad-actors-only"])
    assert r.exit_code == 2 and "holds no applications" in r.output, r.output
    assert runner.invoke(app, ["load", str(out)]).exit_code == 0
    r = runner.invoke(app, ["load", str(out), "--bad-actors-only"])
    assert r.exit_code == 0 and "bad-actor labels into sqlite" in r.output, r.output


def test_an_id_reused_for_another_applicant_is_a_rejected_row(tmp_path: Path, cli_db: str) -> None:
    out = tmp_path / "gen"
    assert runner.invoke(app, ["generate", "--applications", "300", "--out", str(out)]).exit_code == 0
    import csv

    with (out / "applications.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    clash = {**rows[4], "applicant.national_id": "110101199001011234"}  # line 6's id, another person
    with (out / "applications.csv").open("a", newline="") as fh:
        csv.DictWriter(fh, fieldnames=list(rows[0])).writerow(clash)
    rejects = tmp_path / "rejects.jsonl"
    r = runner.invoke(app, ["load", str(out), "--rejects", str(rejects)])
    assert r.exit_code == 3 and "300 stored" in r.output and "1 rejected" in r.output, r.output
    bad = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(b["line"], b["field"]) for b in bad] == [(len(rows) + 2, "application_id")]


def test_every_command_names_its_store_and_warns_when_it_is_new_and_empty(tmp_path: Path, cli_db: str) -> None:
    assert cli_db.startswith("sqlite:////")  # the fixture's store, by its absolute path
    r = runner.invoke(app, ["stats"])
    assert r.exit_code == 0, r.output
    assert f"ringsight: store {cli_db} (new, empty)\n" in r.stderr
    assert "warning: this store is new and empty (RINGSIGHT_GRAPH_URL names it)" in r.stderr
    assert "ringsight:" not in r.stdout and json.loads(r.stdout)["applications"] == 0
    again = runner.invoke(app, ["stats"])
    assert f"ringsight: store {cli_db} (0 applications)" in again.stderr
    assert "warning: this store is empty" in again.stderr
    out = tmp_path / "gen"
    assert runner.invoke(app, ["generate", "--applications", "300", "--out", str(out)]).exit_code == 0
    loaded = runner.invoke(app, ["load", str(out)])
    assert loaded.exit_code == 0 and f"into {cli_db}: 300 stored" in loaded.stderr, loaded.output
    for command in (["stats"], ["rings", "detect", "--no-write", "--out", str(tmp_path / "rings")]):
        r = runner.invoke(app, command)
        assert r.exit_code == 0, r.output
        assert r.stderr.startswith(f"ringsight: store {cli_db} (300 applications)\n") and "warning" not in r.stderr


def test_without_a_store_url_the_default_store_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RINGSIGHT_GRAPH_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    r = runner.invoke(app, ["stats"])
    get_settings.cache_clear()
    assert r.exit_code == 0, r.output
    assert f"ringsight: store sqlite:///{tmp_path}/ringsight.db (new, empty)" in r.stderr
    assert "RINGSIGHT_GRAPH_URL is not set, so the default ./ringsight.db is used" in r.stderr
    assert "RINGSIGHT_GRAPH_URL=sqlite:///" in r.stderr and "data/demo.db" in r.stderr


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("neo4j+s://reader:s3cret@db.example.com:7687", "neo4j+s://db.example.com:7687"),
        ("bolt://neo4j:pw@127.0.0.1:7687/?policy=eu", "bolt://127.0.0.1:7687/?policy=eu"),
        ("memory://", "memory://"),
    ],
)
def test_a_store_is_named_without_credentials(url: str, named: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.cli.desk import store_name

    monkeypatch.setenv("RINGSIGHT_GRAPH_URL", url)
    get_settings.cache_clear()
    try:
        assert store_name() == named
    finally:
        get_settings.cache_clear()


def test_rings_detect_exits_3_when_the_store_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import get_settings

    monkeypatch.setenv("RINGSIGHT_GRAPH_URL", "bolt://127.0.0.1:1")  # nothing listens there
    monkeypatch.setenv("RINGSIGHT_NEO4J_TIMEOUT_SECONDS", "0.5")
    get_settings.cache_clear()
    try:
        done = runner.invoke(app, ["rings", "detect"])
    finally:
        get_settings.cache_clear()
    assert done.exit_code == 3, done.output
