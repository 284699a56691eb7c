"""Detection quality against the generator's ground truth, no look-ahead, and no
use of protected attributes."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from detectors.evaluation import BENIGN_LOOKALIKES, evaluate, read_sorted, read_truth, replay
from detectors.model import FEATURES
from detectors.rings import detect_rings
from detectors.score import Scorer
from fixtures.generator import generate, write_dataset
from graph.loading import load_bad_actors
from graph.normalise import Normaliser
from graph.records import from_flat
from graph.store.embedded.store import EmbeddedStore

NORMALISER = Normaliser(b"quality-test-key-0123456789", "CN")

FLOORS: dict[str, float] = {
    "roc_auc": 0.98,
    "recall_at_1pct_fpr": 0.92,
    "recall_at_5pct_fpr": 0.94,
    "benign_kind_flag_rate": 0.02,
    "ring_precision": 0.99,
    "ring_recall": 0.99,
}
"""Issue 12's floors on unseen seeds (measured figures in the README's detection-quality section)."""


def _data(tmp: Path, n: int, seed: int) -> Path:
    folder = tmp / f"gen-{n}-{seed}"
    write_dataset(generate(n, seed), folder, "csv")
    return folder


@pytest.fixture(scope="module")
def seed11(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _data(tmp_path_factory.mktemp("q"), 20000, 11)


def test_walking_skeleton_floor_on_seed_11(seed11: Path) -> None:
    """Issue 2: fraud scores above legitimate applications, ROC-AUC >= 0.90."""
    scorer = Scorer.default()
    result = evaluate(scorer, replay(seed11, NORMALISER, scorer))
    assert result["roc_auc"] >= 0.90, result
    assert result["benign_lookalike_flag_rate"] <= 0.05, result["benign_lookalike_flag_rate_by_kind"]


def test_no_look_ahead(tmp_path: Path) -> None:
    """Scoring an application in a store that already holds everything, as of its
    submission time, gives exactly its replayed value: later data is never read."""
    folder = _data(tmp_path, 4000, 5)
    scorer = Scorer.default()
    played = replay(folder, NORMALISER, scorer)
    full = EmbeddedStore("memory://")
    load_bad_actors(full, NORMALISER, folder)
    apps, _ = read_sorted(folder, NORMALISER)
    full.upsert(apps)
    index = {code: j for j, code in enumerate(FEATURES)}
    for row, app in enumerate(apps[::7]):
        values = np.zeros(len(FEATURES))
        for _, obs in scorer.observe(full, app, app.ts):
            values[index[obs.code]] = obs.value
        np.testing.assert_allclose(values, played.values[row * 7], err_msg=app.application_id)


def test_protected_attributes_never_change_a_score() -> None:
    data = generate(3000, 17)
    store = EmbeddedStore("memory://")
    rows = sorted(data.applications, key=lambda r: str(r["submitted_at"]))
    store.upsert([NORMALISER.application(from_flat(r)) for r in rows[:-200]])
    scorer = Scorer.default()
    for row in rows[-200:]:
        base = scorer.score(store, NORMALISER.application(from_flat(row)))
        changed = copy.deepcopy(row)
        changed["applicant.name"] = "Someone Else"
        changed["applicant.date_of_birth"] = "1950-01-01"
        changed["applicant.sex"] = "F"
        changed["applicant.ethnicity"] = "any"
        other = scorer.score(store, NORMALISER.application(from_flat(changed)))
        assert other.score == base.score
        assert [s.value for s in other.signals] == [s.value for s in base.signals]


@pytest.mark.slow
@pytest.mark.parametrize(("n", "seed"), [(50000, 202), (50000, 303), (30000, 404)])
def test_detection_floors_on_unseen_seeds(tmp_path: Path, n: int, seed: int) -> None:
    """Issue 4 and issue 12 floors on seeds the shipped model was not trained on (it saw
    seed 101): ranking, recall at 1% and 5% false positives, every benign look-alike
    (households and kiosks by name) banded high or critical for at most FLOORS' share
    of its applicants, and batch rings over the same store."""
    folder = _data(tmp_path, n, seed)
    scorer = Scorer.default()
    store = EmbeddedStore("memory://")
    result = evaluate(scorer, replay(folder, NORMALISER, scorer, store), tmp_path / "out")
    assert result["roc_auc"] >= FLOORS["roc_auc"], result
    assert result["recall_at_1pct_fpr"] >= FLOORS["recall_at_1pct_fpr"], result
    assert result["recall_at_5pct_fpr"] >= FLOORS["recall_at_5pct_fpr"], result
    by_kind = result["benign_lookalike_flag_rate_by_kind"]
    assert {"household", "kiosk", "big_employer", "reapplication"} <= set(by_kind), by_kind
    for kind, rate in by_kind.items():
        assert rate <= FLOORS["benign_kind_flag_rate"], (kind, rate)
    assert (tmp_path / "out" / "metrics.json").exists() and (tmp_path / "out" / "roc.png").exists()
    # every detector earns its place: removing any one of them costs recall or ranking
    for name, ablated in result["ablation"].items():
        assert ablated["pr_auc"] < result["pr_auc"], name

    # batch rings over the same store: planted ring members found, no benign applicant in a ring
    detect_rings(store, clock=lambda: 1_790_000_000.0)
    truth = read_truth(folder)
    key = {row["applicant_id"]: NORMALISER.identifier("national_id", row["applicant_id"]).key for row in truth.values()}
    planted = {key[row["applicant_id"]] for row in truth.values() if row.get("ring_id")}
    pattern = {key[row["applicant_id"]]: row["pattern"] for row in truth.values()}
    rings = store.rings()
    detected = {m for r in rings for m in r.members}
    found = len(detected & planted)
    assert found / len(detected) >= FLOORS["ring_precision"], (found, len(detected))
    assert found / len(planted) >= FLOORS["ring_recall"], (found, len(planted))
    benign = [(r.ring_id, len(r.members), pattern[m]) for r in rings for m in r.members if truth_is_benign(pattern[m])]
    assert benign == []
    store.close()


def truth_is_benign(pattern: str) -> bool:
    return pattern in ("legit", *BENIGN_LOOKALIKES)


def _node_ids(value: object) -> list[str]:
    if isinstance(value, str):
        kind = value.split(":", 1)[0]
        return (
            [value]
            if ":" in value
            and kind
            in {"applicant", "application", "device", "phone", "email", "employer", "address", "ip", "bank_account"}
            else []
        )
    if isinstance(value, dict):
        return [n for v in value.values() for n in _node_ids(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in _node_ids(v)]
    return []


def test_every_reason_names_evidence_that_can_be_opened() -> None:
    data = generate(4000, 29)
    store = EmbeddedStore("memory://")
    load_rows = sorted(data.applications, key=lambda r: str(r["submitted_at"]))
    apps = [NORMALISER.application(from_flat(r)) for r in load_rows]
    store.upsert(apps[:-300])
    scorer = Scorer.default()
    seen_codes: set[str] = set()
    for app in apps[-300:]:
        for reason in scorer.score(store, app).reasons:
            seen_codes.add(reason.code)
            ids = _node_ids(reason.evidence)
            assert ids, (reason.code, reason.evidence)
            for node in ids:
                kind, _, key = node.partition(":")
                if kind == "application":
                    assert key == app.application_id or store.application(key) is not None, node
                elif kind == "applicant":
                    assert key == app.applicant_key or store.applicants_exist([key]), node
                else:
                    assert node in store.node_display([node]), node
            assert reason.sentence
    assert len(seen_codes) >= 4, seen_codes
