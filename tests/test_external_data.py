"""Real external data through the adapters (fixtures/adapters.py).

* DataStax fraud graph: the seven scenarios its authors describe are golden
  verdicts. The adapted folder is replayed in time order (every order scored
  with only what came before it, chargeback labels loaded first) and each
  scenario order's band and reasons are checked.
* AWS cold-start registrations: replay + evaluate on the labelled rows, with
  floors measured on this data, and the check that matters most here: the
  heavy benign sharing of IPs, e-mails and phones is not flagged.

The data lives outside the repository (``<repo>/../shared/data`` or
``$RINGSIGHT_EXTERNAL_DATA``). Without it these tests skip locally, with the
reason, and fail under ``CI=true``: CI machines have it beside the clone.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from api.cli.app import app as cli_app
from detectors.evaluation import Replay, evaluate, read_sorted, read_truth, replay, strengths
from detectors.model import FEATURES
from detectors.score import Scorer, ScoreResult
from fixtures import adapters
from fixtures.adapters import (
    AWS_FOLDER,
    DATASTAX_FOLDER,
    DATASTAX_SCENARIOS,
    EXTERNAL_DATA_ENV,
    Scenario,
    adapt,
    datastax_dropped_links,
    external_data_root,
)
from graph.loading import load_applications, load_bad_actors
from graph.normalise import NormalisedApplication, Normaliser
from graph.store.embedded.store import EmbeddedStore
from graph.vocabulary import applicant_node

NORMALISER = Normaliser(b"external-data-test-key-0123456789", "CN")  # the default region: phones must carry +1
FLAGGED = ("high", "critical")

# Floors measured on the AWS registrations with the shipped model (labelled rows only), minus a margin.
# Measured with m-0b591a32dde2: ROC-AUC 0.499, PR-AUC 0.089 (base rate 0.083), recall at 5 % FPR
# 0.06; legitimate registrations banded high/critical 0.73 % (8 of 1,099), 1.34 % (8 of 597) of those
# sharing an identifier. The labels carry no shared-identifier signal (shared IP, e-mail or phone alone rank
# fraud at ROC-AUC 0.47-0.56; what does separate them is how rare the billing state is, a residence
# attribute ringsight does not score), so the ranking floors only guard against scoring legitimate
# sharing *above* fraud; the flag-rate ceilings guard the benign-sharing behaviour.
AWS_ROC_AUC_FLOOR = 0.45
AWS_PR_AUC_FLOOR = 0.06
AWS_LEGIT_FLAGGED_CEILING = 0.03
AWS_SHARING_LEGIT_FLAGGED_CEILING = 0.05


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _source(folder: str) -> Path:
    """The external data set's folder; skip locally (fail in CI) when it is absent."""
    path = external_data_root() / folder
    if not path.is_dir():
        reason = (
            f"external data {path} is absent: clone next to shared/data, or set {EXTERNAL_DATA_ENV} "
            "to the folder holding aws-registration/ and datastax-fraud/"
        )
        if _in_ci():
            pytest.fail(f"{reason} (CI=true: these tests must run)", pytrace=False)
        pytest.skip(reason)
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _labelled(played: Replay) -> Replay:
    """The replay restricted to rows with a known outcome (is_fraud 0 or 1)."""
    keep = [i for i, a in enumerate(played.application_ids) if played.truth.get(a, {}).get("is_fraud") in ("0", "1")]
    return Replay([played.application_ids[i] for i in keep], played.values[keep], played.detector_of, played.truth)


# -- where the data is --------------------------------------------------------------------------
def test_external_data_root_is_beside_the_clone_or_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EXTERNAL_DATA_ENV, raising=False)
    repo = Path(adapters.__file__).resolve().parents[1]
    beside = repo.parent / "shared" / "data"
    assert external_data_root() == (beside if beside.exists() else Path("/work/shared/data"))
    monkeypatch.setenv(EXTERNAL_DATA_ENV, "/somewhere/else")
    assert external_data_root() == Path("/somewhere/else")


# == DataStax ======================================================================================
@dataclass
class DataStaxRun:
    folder: Path
    results: dict[str, ScoreResult]  # application id -> result as of its own submission
    apps: dict[str, NormalisedApplication]
    store: EmbeddedStore  # holds everything at the end
    labels: int


@pytest.fixture(scope="module")
def datastax(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("external") / "datastax"
    adapt("datastax", out, _source(DATASTAX_FOLDER))
    return out


@pytest.fixture(scope="module")
def datastax_run(datastax: Path) -> DataStaxRun:
    """The replay of ``detectors.evaluation.replay`` (bad actors first, then every application
    scored before it is stored, in time order), keeping each full score result."""
    scorer = Scorer.default()
    store = EmbeddedStore("memory://")
    labels = load_bad_actors(store, NORMALISER, datastax)
    apps, report = read_sorted(datastax, NORMALISER)
    assert report.rejected == []
    results: dict[str, ScoreResult] = {}
    for app in apps:
        results[app.application_id] = scorer.score(store, app)
        store.upsert([app])
    return DataStaxRun(datastax, results, {a.application_id: a for a in apps}, store, labels)


def test_datastax_adapted_folder_shape(datastax: Path) -> None:
    apps = _rows(datastax / "applications.csv")
    truth = _rows(datastax / "truth.csv")
    bad = _rows(datastax / "bad_actors.csv")
    assert [r["application_id"] for r in apps] == [r["application_id"] for r in truth]
    assert [r["submitted_at"] for r in apps] == sorted(r["submitted_at"] for r in apps)
    orders = [r for r in apps if r["application_id"].startswith("ORDER-")]
    registrations = [r for r in apps if r["application_id"].startswith("ACCT-")]
    assert len(orders) == 14 and len(orders) + len(registrations) == len(apps)
    assert len({r["applicant.national_id"] for r in apps}) == 34  # every customer is an applicant
    assert all(r["bank_account.number"] and r["device.fingerprint"] and r["device.ip"] for r in orders)
    assert all(r["email"] and r["address.line"] and r["address.country"] == "US" for r in apps)
    # the 100-000-00NN placeholders (13 customers share 100-000-0014) are dropped; real numbers carry +1
    phones = {r["phone"] for r in apps if r["phone"]}
    assert phones and all(p.startswith("+1 ") and not p.startswith("+1 100") for p in phones)
    patterns = [r["pattern"] for r in truth]
    for s in DATASTAX_SCENARIOS:
        (row,) = [r for r in truth if r["pattern"] == s.pattern]
        assert row["application_id"] == s.application_id
        assert row["is_fraud"] == {"fraud": "1", "legitimate": "0", "suspicious": ""}[s.verdict]
    assert patterns.count("chargeback") == 3
    assert all(r["is_fraud"] == "1" for r in truth if r["pattern"] == "chargeback")
    assert all(r["is_fraud"] == "" for r in truth if r["pattern"] in ("order", "registration"))
    # chargebacks: the customers, the charged-back cards and the devices of the charged-back orders
    assert sorted((r["kind"], r["value"]) for r in bad) == [
        ("bank_account", "89149a89f9890e0cd89089e342523f21"),
        ("bank_account", "a1ab1822888276fdb587a16b2dc7b697"),
        ("bank_account", "fa7987fa879c789be65426e979cbd976"),
        ("device", "30000000-0000-0000-0025-000000000005"),
        ("device", "30000000-0000-0000-0080-000000008443"),
        ("device", "30000000-0000-0000-0122-000000000064"),
        ("national_id", "10000000-0000-0000-0000-000000000025"),
        ("national_id", "10000000-0000-0000-0000-000000000026"),
        ("national_id", "10000000-0000-0000-0000-000000000028"),
    ]
    assert (datastax / "SOURCE.md").exists() and (datastax / "LICENSE").exists()


def test_datastax_mapping_loses_no_link_between_customers() -> None:
    """Later sessions are not applications; none of them carries a device or IP that links
    two customers and is not already on an application of the same customer."""
    assert datastax_dropped_links(_source(DATASTAX_FOLDER)) == []


def test_datastax_loads_without_rejects(datastax: Path) -> None:
    store = EmbeddedStore("memory://")
    report = load_applications(store, NORMALISER, datastax, workers=1)
    assert report.rejected == [] and report.stored == report.rows
    assert load_bad_actors(store, NORMALISER, datastax) == 9


def test_datastax_replay_matches_detectors_replay_and_never_looks_ahead(datastax_run: DataStaxRun) -> None:
    """Our loop is ``detectors.evaluation.replay`` with results kept; and scoring a scenario
    order in the store that holds everything, as of its own time, gives the same score."""
    scorer = Scorer.default()
    played = replay(datastax_run.folder, NORMALISER, scorer)
    index = {code: j for j, code in enumerate(FEATURES)}
    for row, application_id in enumerate(played.application_ids):
        for signal in datastax_run.results[application_id].signals:
            assert played.values[row, index[signal.code]] == pytest.approx(signal.value), (application_id, signal.code)
    for s in DATASTAX_SCENARIOS:
        app = datastax_run.apps[s.application_id]
        again = scorer.score(datastax_run.store, app)
        assert again.score == pytest.approx(datastax_run.results[s.application_id].score), s.pattern


VERDICT_BANDS: dict[str, tuple[str, ...]] = {
    "legitimate": ("low",),
    "suspicious": ("medium", "high"),
    "fraud": ("high", "critical"),
}
# Scenario 2 is "suspicious (might be husband and wife)": a new customer at the same address
# orders from the device and home IP another customer used a month earlier, and its authors
# approved the order. That is exactly the household look-alike of DESIGN.md §10 ("families
# sharing a phone or device ... must NOT be flagged"), so our mapping for it is: not flagged
# (low or medium), with the shared device named in the reasons (test below).
SCENARIO_BANDS: dict[int, tuple[str, ...]] = {2: ("low", "medium")}


def _case(s: Scenario) -> Any:
    return pytest.param(s, id=f"scenario_{s.number}_{s.verdict}")


def _describe(r: ScoreResult) -> str:
    return f"{r.application_id}: {r.score:.3f} {r.band}/{r.action}; " + "; ".join(
        f"{x.code} {x.contribution:+.2f}" for x in r.reasons
    )


@pytest.mark.parametrize("scenario", [_case(s) for s in DATASTAX_SCENARIOS])
def test_datastax_scenario_band(datastax_run: DataStaxRun, scenario: Scenario) -> None:
    result = datastax_run.results[scenario.application_id]
    print(f"scenario {scenario.number} ({scenario.verdict}) {_describe(result)}")
    expected = SCENARIO_BANDS.get(scenario.number, VERDICT_BANDS[scenario.verdict])
    assert result.band in expected, _describe(result)
    if scenario.verdict == "legitimate":
        assert result.action == "approve"


def _node(kind: str, raw: str) -> str:
    return NORMALISER.node_for(kind, raw)


def _reason(result: ScoreResult, code: str) -> Any:
    found = [r for r in result.reasons if r.code == code]
    assert found, f"no {code} among the reasons of {_describe(result)}"
    return found[0]


@pytest.mark.parametrize("number", [4, 5, 6])
def test_datastax_chargeback_fraud_reasons_name_the_chargeback(datastax_run: DataStaxRun, number: int) -> None:
    """The reasons of the chargeback-linked fraud verdicts name the confirmed-fraud evidence:
    a bad_actor_proximity reason with a path from the applicant to a node confirmed as fraud
    (and, for a flagged card or device used directly, a bad_actor_direct reason naming it)."""
    (scenario,) = [s for s in DATASTAX_SCENARIOS if s.number == number]
    result = datastax_run.results[scenario.application_id]
    proximity = _reason(result, "bad_actor_proximity")
    paths = proximity.evidence["paths"]
    assert paths, _describe(result)
    confirmed = {n for n, lab in datastax_run.store.labels().items() if lab.status == "confirmed_fraud"}
    start = applicant_node(result.applicant_key)
    assert all(p[0] == start and p[-1] in confirmed for p in paths), paths
    direct = {
        4: _node("bank_account", "a1ab1822888276fdb587a16b2dc7b697"),
        5: _node("device", "30000000-0000-0000-0122-000000000064"),
    }.get(number)
    if direct is not None:
        assert _reason(result, "bad_actor_direct").evidence["identifiers"] == [direct]
    else:  # scenario 6: card -> customer 29 -> device 1211 -> customer 28 (chargeback)
        chain = [
            start,
            _node("bank_account", "09834915789a89bf4839e8002cc24329"),
            _node("national_id", "10000000-0000-0000-0000-000000000029"),
            _node("device", "30000000-0000-0000-0080-000000001211"),
            _node("national_id", "10000000-0000-0000-0000-000000000028"),
        ]
        assert chain in paths, paths


def _shared_nodes(result: ScoreResult) -> set[str]:
    return {str(i["node_id"]) for i in _reason(result, "shared_identifier").evidence["identifiers"]}


def test_datastax_scenario_3_reasons_name_the_heavily_used_device(datastax_run: DataStaxRun) -> None:
    result = datastax_run.results[DATASTAX_SCENARIOS[2].application_id]
    assert _node("device", "30000000-0000-0000-0015-000000000004") in _shared_nodes(result)
    velocity = _reason(result, "ring_velocity")
    assert velocity.value >= 10  # the ten customers who registered on the device in the ten days before


def test_datastax_scenario_2_shows_the_shared_device_without_flagging(datastax_run: DataStaxRun) -> None:
    result = datastax_run.results[DATASTAX_SCENARIOS[1].application_id]
    assert result.band not in FLAGGED
    shared = _shared_nodes(result)
    assert _node("device", "30000000-0000-0000-0014-000000000003") in shared
    assert _node("address", "102 Bellevue Blvd | Baltimore, MD | 21201 | US") in shared


def test_datastax_scenario_7_ring_reaches_three_customers_back(datastax_run: DataStaxRun) -> None:
    """Customer 33 (same address) and 32 (33's card) are in the ring; 31, linked to 32 by a
    device, is three applicant hops away, beyond the two-hop ring."""
    result = datastax_run.results[DATASTAX_SCENARIOS[6].application_id]
    ring = {s.code: s for s in result.signals}["ring_size"].evidence["members"]
    assert {_node("national_id", f"10000000-0000-0000-0000-0000000000{n}") for n in (32, 33)} <= set(ring)
    assert _node("address", "650 Del Prado Drive | Boulder City, NV | 89005 | US") in _shared_nodes(result)


# == AWS ===========================================================================================
@dataclass
class AwsRun:
    folder: Path
    played: Replay
    labelled: Replay
    result: dict[str, Any]
    bands: list[str]


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("external") / "aws"
    adapt("aws", out, _source(AWS_FOLDER))
    return out


@pytest.fixture(scope="module")
def aws_run(aws: Path) -> AwsRun:
    scorer = Scorer.default()
    played = replay(aws, NORMALISER, scorer)
    labelled = _labelled(played)
    result = evaluate(scorer, labelled)
    p = 1.0 / (
        1.0
        + np.exp(
            -(
                scorer.model.bias
                + strengths(scorer, labelled.values) @ np.array([scorer.model.weights.get(f, 0.0) for f in FEATURES])
            )
        )
    )
    bands = [scorer.config.band(float(x)).name for x in p]
    return AwsRun(aws, played, labelled, result, bands)


def test_aws_adapted_folder_shape(aws: Path) -> None:
    apps = _rows(aws / "applications.csv")
    truth = _rows(aws / "truth.csv")
    assert len(apps) == len(truth) == 2000
    assert [r["application_id"] for r in apps] == [r["application_id"] for r in truth]
    assert [(r["is_fraud"], r["pattern"]) for r in truth].count(("1", "fraud")) == 100
    assert [(r["is_fraud"], r["pattern"]) for r in truth].count(("0", "legit")) == 1099
    assert [(r["is_fraud"], r["pattern"]) for r in truth].count(("", "unlabelled")) == 801
    assert all(r["phone"].startswith("+1 ") for r in apps)
    assert {r["device.os"] for r in apps} <= {"android", "ios", "windows", "macos", "linux", "other"}
    assert all(r["device.fingerprint"] == "" for r in apps)  # a user agent is not a device
    # one applicant per e-mail address: registrations sharing an address are one person
    by_email: dict[str, set[str]] = {}
    for r in apps:
        by_email.setdefault(r["email"].casefold(), set()).add(r["applicant.national_id"])
    assert all(len(ids) == 1 for ids in by_email.values())
    assert len({r["applicant.national_id"] for r in apps}) == len(by_email)
    assert (aws / "bad_actors.csv").read_text().strip() == "kind,value"
    store = EmbeddedStore("memory://")
    report = load_applications(store, NORMALISER, aws, workers=1)
    assert report.rejected == [] and report.stored == 2000


def test_aws_quality_on_labelled_registrations(aws_run: AwsRun) -> None:
    r = aws_run.result
    flagged = r["by_pattern"]["legit"]["flagged_share"]
    print(
        f"AWS registrations (labelled {r['applications']}, fraud {r['fraud']}): ROC-AUC {r['roc_auc']:.3f}, "
        f"PR-AUC {r['pr_auc']:.3f}, recall@1%FPR {r['recall_at_1pct_fpr']:.3f}, "
        f"recall@5%FPR {r['recall_at_5pct_fpr']:.3f}, legit flagged (high/critical) {flagged:.2%}, "
        f"fraud flagged {r['by_pattern']['fraud']['flagged_share']:.2%}"
    )
    assert (r["applications"], r["fraud"]) == (1199, 100)  # unlabelled rows are out of the metrics
    assert r["roc_auc"] >= AWS_ROC_AUC_FLOOR, r
    assert r["pr_auc"] >= AWS_PR_AUC_FLOOR, r
    assert flagged <= AWS_LEGIT_FLAGGED_CEILING, r["by_pattern"]


def test_aws_benign_sharing_is_not_flagged(aws_run: AwsRun) -> None:
    """Legitimate registrations that share an IP, e-mail, phone or address with another
    applicant (at their own time) are rarely banded high or critical."""
    j = FEATURES.index("shared_identifier")
    y = aws_run.labelled.labels()
    sharing = [i for i in range(len(y)) if y[i] == 0 and aws_run.labelled.values[i, j] > 0]
    flagged = sum(aws_run.bands[i] in FLAGGED for i in sharing)
    share = flagged / len(sharing)
    print(f"AWS legitimate registrations sharing an identifier: {len(sharing)}, flagged {flagged} ({share:.2%})")
    assert len(sharing) >= 200  # the data set really does share heavily
    assert share <= AWS_SHARING_LEGIT_FLAGGED_CEILING


def test_aws_evaluate_leaves_unlabelled_rows_out(aws_run: AwsRun) -> None:
    result = evaluate(Scorer.default(), aws_run.played)
    assert (result["applications"], result["fraud"]) == (1199, 100)


def test_aws_unknown_account_age_is_neutral(aws_run: AwsRun) -> None:
    scorer = Scorer.default()
    j = FEATURES.index("young_account")
    assert {scorer.strength("young_account", float(v))[0] for v in aws_run.played.values[:, j]} == {0.0}


# == CLI ===========================================================================================
runner = CliRunner()


def test_cli_adapt_then_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_db: str) -> None:
    aws_src = _source(AWS_FOLDER)
    r = runner.invoke(cli_app, ["adapt", "aws", "--out", str(tmp_path / "aws"), "--source", str(aws_src)])
    assert r.exit_code == 0, r.output
    assert len(read_truth(tmp_path / "aws")) == 2000
    # default source: $RINGSIGHT_EXTERNAL_DATA, else ../shared/data beside the clone
    monkeypatch.setenv(EXTERNAL_DATA_ENV, str(_source(DATASTAX_FOLDER).parent))
    r = runner.invoke(cli_app, ["adapt", "datastax", "--out", str(tmp_path / "ds")])
    assert r.exit_code == 0, r.output
    assert {p.name for p in (tmp_path / "ds").iterdir()} >= {"applications.csv", "truth.csv", "bad_actors.csv"}
    r = runner.invoke(cli_app, ["load", str(tmp_path / "ds")])
    assert r.exit_code == 0, r.output
    assert "39 stored, 0 already present, 0 rejected, 9 bad-actor labels" in " ".join(r.output.split())


def test_cli_adapt_errors(tmp_path: Path) -> None:
    r = runner.invoke(cli_app, ["adapt", "kaggle", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "aws, datastax" in r.output
    r = runner.invoke(cli_app, ["adapt", "aws", "--out", str(tmp_path / "x"), "--source", str(tmp_path / "none")])
    assert r.exit_code == 2 and "does not exist" in r.output
    assert not (tmp_path / "x" / "applications.csv").exists()
