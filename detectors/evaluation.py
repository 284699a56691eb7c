"""Replay, training and evaluation against labelled data.

``replay`` loads a data set into a fresh store in time order and observes
each application with only what came before it, so no score can see the
future. ``train`` learns baselines and weights from a replay; ``evaluate``
measures a model on a replay and writes, into its output folder:

- ``metrics.json``: ROC-AUC, PR-AUC, recall at 1% and 5% false positives,
  benign look-alike flag rates, per pattern, and a per-detector ablation;
- ``scores.csv``: one row per labelled application (``application_id``,
  ``submitted_at``, ``score``, ``band``, ``is_fraud``, ``pattern``), the rows the
  metrics count, in replay (time) order;
- ``roc.png`` (false-positive axis on a log scale, the AUC in the title),
  ``pr.png`` (with the base rate drawn) and ``scores.png`` (score histograms of
  legitimate and fraudulent applications with the band cut-offs drawn).

The figures are built by :func:`roc_figure`, :func:`pr_figure` and
:func:`score_histograms`, which return matplotlib figures (no pyplot state), so
a test can read their axes.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from detectors.model import FEATURES, Band, Baseline, Model
from detectors.score import DETECTORS, Scorer
from graph.loading import LoadReport, applications_file, iter_rows, load_bad_actors, normalise_rows
from graph.normalise import NormalisedApplication, Normaliser
from graph.store import GraphStore
from graph.store.factory import open_store

BENIGN_LOOKALIKES = ("household", "kiosk", "big_employer", "reapplication")
SCORE_COLUMNS: tuple[str, ...] = ("application_id", "submitted_at", "score", "band", "is_fraud", "pattern")


@dataclass
class Replay:
    """Raw measures of every application, in time order, with their truth."""

    application_ids: list[str]
    values: np.ndarray  # (n, len(FEATURES)) raw observation values
    detector_of: dict[str, str]
    truth: dict[str, dict[str, str]] = field(default_factory=dict)
    submitted_at: list[float] = field(default_factory=list)
    """Submission time (epoch seconds) of each application, when the replay knows it."""

    def labelled(self) -> Replay:
        """Only the applications whose truth says fraud (1) or not (0); unlabelled
        rows stay in the graph during replay but out of training and metrics."""
        keep = [
            i
            for i, a in enumerate(self.application_ids)
            if str(self.truth.get(a, {}).get("is_fraud", "")).strip() in ("0", "1")
        ]
        if len(keep) == len(self.application_ids):
            return self
        times = [self.submitted_at[i] for i in keep] if self.submitted_at else []
        return Replay([self.application_ids[i] for i in keep], self.values[keep], self.detector_of, self.truth, times)

    def labels(self) -> np.ndarray:
        return np.array([int(self.truth.get(a, {}).get("is_fraud", 0) or 0) for a in self.application_ids])

    def patterns(self) -> list[str]:
        return [self.truth.get(a, {}).get("pattern", "") for a in self.application_ids]


def read_truth(folder: Path) -> dict[str, dict[str, str]]:
    path = folder / "truth.csv"
    if not path.exists():
        return {}
    with path.open(newline="") as fh:
        return {row["application_id"]: row for row in csv.DictReader(fh)}


def read_sorted(folder: Path, normaliser: Normaliser) -> tuple[list[NormalisedApplication], LoadReport]:
    report = LoadReport()
    apps: list[NormalisedApplication] = []
    line = 2
    for rows in iter_rows(applications_file(folder), 20000):
        apps.extend(normalise_rows(rows, normaliser, line, report))
        line += len(rows)
    apps.sort(key=lambda a: (a.ts, a.application_id))
    return apps, report


def replay(
    folder: Path,
    normaliser: Normaliser,
    scorer: Scorer,
    store: GraphStore | None = None,
    progress: Callable[[int], None] | None = None,
) -> Replay:
    """Observe every application of ``folder`` as of its own submission, then store it."""
    store = store or open_store("memory://")
    load_bad_actors(store, normaliser, folder)
    apps, _ = read_sorted(folder, normaliser)
    index = {code: i for i, code in enumerate(FEATURES)}
    values = np.zeros((len(apps), len(FEATURES)))
    detector_of: dict[str, str] = {}
    for row, app in enumerate(apps):
        for detector, obs in scorer.observe(store, app, app.ts):
            values[row, index[obs.code]] = obs.value
            detector_of[obs.code] = detector
        store.upsert([app])
        if progress is not None:
            progress(1)
    return Replay([a.application_id for a in apps], values, detector_of, read_truth(folder), [a.ts for a in apps])


def strengths(scorer: Scorer, values: np.ndarray) -> np.ndarray:
    out = np.zeros_like(values)
    for j, code in enumerate(FEATURES):
        out[:, j] = [scorer.strength(code, float(v))[0] for v in values[:, j]]
    return out


def probabilities(model: Model, s: np.ndarray) -> np.ndarray:
    w = np.array([model.weights.get(f, 0.0) for f in FEATURES])
    return 1.0 / (1.0 + np.exp(-(model.bias + s @ w)))


def train(scorer: Scorer, data: Replay, c: float = 1.0) -> Model:
    """Baselines for population measures, then an L2 logistic regression on strengths.

    Weights are constrained to be non-negative: every signal is built so that
    more means more abnormal, and a negative weight would reward fraud-like
    behaviour in some corner of the data.
    """
    from sklearn.linear_model import LogisticRegression

    population = data  # baselines describe every application, labelled or not
    data = data.labelled()
    baselines = {
        code: Baseline.of([float(v) for v in population.values[:, j]])
        for j, code in enumerate(FEATURES)
        if scorer.config.transforms[code]["kind"] == "population"
    }
    staged = Scorer(scorer.config, Model({}, 0.0, baselines))
    s = strengths(staged, data.values)
    y = data.labels()
    if y.min() == y.max():
        from graph.errors import ModelError

        raise ModelError("training needs both fraud and legitimate applications")
    weights = np.zeros(len(FEATURES))
    active = np.ones(len(FEATURES), dtype=bool)
    for _ in range(len(FEATURES)):
        clf = LogisticRegression(C=c, max_iter=2000)
        clf.fit(s[:, active], y)
        coef = clf.coef_[0]
        weights[:] = 0.0
        weights[active] = coef
        if (coef >= 0).all():
            break
        active[np.flatnonzero(active)[coef < 0]] = False
    bias = float(clf.intercept_[0])
    floors = scorer.config.policy_min_weights
    if any(weights[j] < floors.get(f, 0.0) for j, f in enumerate(FEATURES)):
        weights = np.array([max(w, floors.get(f, 0.0)) for f, w in zip(FEATURES, weights, strict=True)])
        bias = _calibrated_bias(s @ weights, float(y.mean()))
    return Model(
        {f: round(float(w), 6) for f, w in zip(FEATURES, weights, strict=True)},
        round(bias, 6),
        baselines,
        {"trained_on": len(y), "fraud": int(y.sum()), "regularisation_c": c},
    )


def _calibrated_bias(z: np.ndarray, base_rate: float) -> float:
    """The intercept at which the mean predicted probability equals the base rate."""
    from scipy.optimize import brentq

    return float(brentq(lambda b: float(np.mean(1 / (1 + np.exp(-(z + b))))) - base_rate, -50.0, 50.0))


def _recall_at_fpr(y: np.ndarray, p: np.ndarray, fpr_cap: float) -> float:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    ok = fpr <= fpr_cap
    return float(tpr[ok].max()) if ok.any() else 0.0


def metrics(y: np.ndarray, p: np.ndarray, patterns: list[str], bands: list[str], capacity: float) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    k = max(1, math.ceil(capacity * len(p)))
    top = np.argsort(-p, kind="stable")[:k]
    flagged = {i for i, b in enumerate(bands) if b in ("high", "critical")}
    per_kind: dict[str, float] = {}
    lookalike = [i for i, pat in enumerate(patterns) if pat in BENIGN_LOOKALIKES]
    for kind in BENIGN_LOOKALIKES:
        idx = [i for i, pat in enumerate(patterns) if pat == kind]
        if idx:
            per_kind[kind] = sum(i in flagged for i in idx) / len(idx)
    per_pattern: dict[str, dict[str, float]] = {}
    for pat in sorted(set(patterns)):
        idx = [i for i, q in enumerate(patterns) if q == pat]
        per_pattern[pat] = {
            "count": len(idx),
            "flagged_share": sum(i in flagged for i in idx) / len(idx),
            "mean_score": float(np.mean(p[idx])),
        }
    return {
        "applications": len(y),
        "fraud": int(y.sum()),
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "recall_at_1pct_fpr": _recall_at_fpr(y, p, 0.01),
        "recall_at_5pct_fpr": _recall_at_fpr(y, p, 0.05),
        "review_capacity": capacity,
        "precision_at_review_capacity": float(y[top].mean()),
        "benign_lookalike_flag_rate": (sum(i in flagged for i in lookalike) / len(lookalike)) if lookalike else 0.0,
        "benign_lookalike_flag_rate_by_kind": per_kind,
        "by_pattern": per_pattern,
    }


def evaluate(scorer: Scorer, data: Replay, out: Path | None = None, capacity: float = 0.05) -> dict[str, Any]:
    """Metrics of ``scorer`` on the labelled part of a replay and a per-detector
    ablation; with ``out``, also ``metrics.json``, ``scores.csv`` and the plots there
    (see the module docstring)."""
    data = data.labelled()
    s = strengths(scorer, data.values)
    y = data.labels()
    p = probabilities(scorer.model, s)
    bands = [scorer.config.band(float(x)).name for x in p]
    result = metrics(y, p, data.patterns(), bands, capacity)
    result["model_version"] = scorer.model.version
    ablation: dict[str, dict[str, float]] = {}
    for name, _ in DETECTORS:
        masked = s.copy()
        for j, code in enumerate(FEATURES):
            if data.detector_of.get(code) == name:
                masked[:, j] = 0.0
        q = probabilities(scorer.model, masked)
        sub = metrics(y, q, data.patterns(), [scorer.config.band(float(x)).name for x in q], capacity)
        ablation[f"without_{name}"] = {k: sub[k] for k in ("roc_auc", "pr_auc", "recall_at_5pct_fpr")}
    result["ablation"] = ablation
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(result, indent=2, sort_keys=True))
        write_scores(data, p, bands, out / "scores.csv")
        write_plots(y, p, scorer.config.bands, out)
    return result


def write_scores(data: Replay, p: np.ndarray, bands: list[str], path: Path) -> Path:
    """``scores.csv``: one row per application of ``data`` with its score, band and truth."""
    y = data.labels()
    patterns = data.patterns()
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(SCORE_COLUMNS)
        for i, app_id in enumerate(data.application_ids):
            at = _iso(data.submitted_at[i]) if data.submitted_at else data.truth.get(app_id, {}).get("submitted_at", "")
            writer.writerow([app_id, at, f"{float(p[i]):.6f}", bands[i], int(y[i]), patterns[i]])
    return path


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def roc_figure(y: np.ndarray, p: np.ndarray) -> Figure:
    """ROC curve with the false-positive rate on a log scale (where a lender operates:
    1% and 5% are marked with the recall there) and the AUC in the title."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    negatives = max(1, int((y == 0).sum()))
    floor = 1.0 / negatives
    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    shown = fpr > 0
    ax.step(np.concatenate([[floor], fpr[shown]]), np.concatenate([[tpr[~shown].max()], tpr[shown]]), where="post")
    chance = np.logspace(np.log10(floor), 0, 50)
    ax.plot(chance, chance, linestyle=":", color="grey", label="chance")
    for cap in (0.01, 0.05):
        if cap >= floor:
            recall = _recall_at_fpr(y, p, cap)
            ax.axvline(cap, color="#999999", linewidth=0.8, linestyle="--")
            ax.annotate(
                f"recall {recall:.3f} at {cap:.0%} FPR", (cap, recall), xytext=(4, -12), textcoords="offset points"
            )
    ax.set_xscale("log")
    ax.set_xlim(floor, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set(
        xlabel="false positive rate (log scale)",
        ylabel="true positive rate (recall)",
        title=f"ROC (AUC {roc_auc_score(y, p):.4f})",
    )
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def pr_figure(y: np.ndarray, p: np.ndarray) -> Figure:
    """Precision-recall curve with the base rate (a random ranking's precision) drawn."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    precision, recall, _ = precision_recall_curve(y, p)
    base = float(y.mean())
    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    ax.step(recall, precision, where="post", label="model")
    ax.axhline(base, color="grey", linestyle="--", label=f"base rate {base:.4f}")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set(
        xlabel="recall",
        ylabel="precision",
        title=f"Precision-recall (average precision {average_precision_score(y, p):.4f})",
    )
    ax.legend(loc="lower left")
    fig.tight_layout()
    return fig


def band_cutoffs(bands: tuple[Band, ...]) -> list[float]:
    """Scores at which one band gives way to the next (the last band's bound is not one)."""
    return [b.below for b in bands[:-1]]


def score_histograms(y: np.ndarray, p: np.ndarray, bands: tuple[Band, ...]) -> Figure:
    """Histograms of the scores of legitimate and of fraudulent applications (counts on
    a log scale), with the band cut-offs drawn and each band named."""
    fig = Figure(figsize=(7, 5.5))
    axes = fig.subplots(2, 1, sharex=True)
    edges = np.linspace(0.0, 1.0, 51)
    cuts = band_cutoffs(bands)
    lower = [0.0, *cuts]
    upper = [*cuts, 1.0]
    for ax, (name, cls, colour) in zip(axes, (("legitimate", 0, "#1f77b4"), ("fraud", 1, "#d62728")), strict=True):
        values = p[y == cls]
        ax.hist(values, bins=edges, color=colour, label=f"{name} ({len(values)})")
        ax.set_yscale("log")
        for cut in cuts:
            ax.axvline(cut, color="black", linestyle="--", linewidth=1)
        for band, lo, hi in zip(bands, lower, upper, strict=True):
            ax.text((lo + hi) / 2, 0.97, band.name, transform=ax.get_xaxis_transform(), ha="center", va="top")
        ax.set(ylabel="applications (log)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.85))
    axes[-1].set(xlabel="score")
    axes[-1].set_xlim(0.0, 1.0)
    cut_text = ", ".join(f"{c:g}" for c in cuts)
    axes[0].set_title(f"Scores by class, band cut-offs at {cut_text}")
    fig.tight_layout()
    return fig


def write_plots(y: np.ndarray, p: np.ndarray, bands: tuple[Band, ...], out: Path) -> dict[str, Path]:
    """``roc.png``, ``pr.png`` and ``scores.png`` in ``out``."""
    figures = {"roc": roc_figure(y, p), "pr": pr_figure(y, p), "scores": score_histograms(y, p, bands)}
    paths = {}
    for name, fig in figures.items():
        paths[name] = out / f"{name}.png"
        fig.savefig(paths[name], dpi=100)
    return paths
