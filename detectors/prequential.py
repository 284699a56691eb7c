"""Prequential ("test, then train") evaluation: a model that learns as labels arrive.

``evaluate`` measures the shipped model on a replay. A lender's model is not
frozen, though: fraud outcomes become known some time after the application
(a first payment is missed, an investigator confirms), and fraudsters change
tactics. :func:`prequential` replays the same observations in time order and,
every ``retrain_every`` seconds of submission time, retrains on the labels known
at that moment; the applications of the next period are scored by that model.

A label is *known* at time ``T`` when the application was submitted at or
before ``T - label_delay``: its fraud truth is revealed ``label_delay`` after
submission. At each step the trainer is handed a :class:`Replay` that holds only
the applications submitted before ``T`` (their raw observations are what the
service would have stored; they give the population baselines) and truth for
only the known ones; nothing else about the future reaches it. Until a step has
enough known fraud (``min_fraud``) and legitimate labels, the shipped model
scores.

The raw observations of a replay do not depend on the model (they are measures
of the graph as of each submission), so one replay serves both paths: the
shipped model's scores are ``evaluate``'s, the learned path's come from the
model of the step each application falls in.

Output (:func:`write_learned`): ``scores_learned.csv`` (the ``scores.csv``
columns plus ``model_version``) and the learned metrics, which ``ringsight
evaluate --learn`` puts under ``"learned"`` in ``metrics.json``, with the
retrain schedule and metrics per half of the period for both paths.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from detectors.evaluation import SCORE_COLUMNS, Replay, _iso, metrics, probabilities, strengths, train
from detectors.model import Model
from detectors.score import Scorer

_UNITS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 7 * 86_400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")

Trainer = Callable[[Scorer, Replay], Model]


def parse_duration(text: str) -> float:
    """Seconds in ``"30d"``, ``"12h"``, ``"2w"``, ``"90m"`` or ``"45s"``."""
    m = _DURATION.match(text)
    if m is None:
        raise ValueError(f"not a duration: {text!r} (e.g. 30d, 12h, 2w)")
    return float(m.group(1)) * _UNITS[m.group(2)]


@dataclass
class Step:
    """One retrain: at ``at`` (epoch seconds), on the labels known then."""

    at: float
    scored: int
    """Labelled applications submitted in this step's period (scored by its model)."""
    known_labels: int = 0
    known_fraud: int = 0
    model_version: str = ""
    retrained: bool = False


@dataclass
class Prequential:
    """The learned path's probabilities (aligned with ``data.labelled()``) and its steps."""

    data: Replay
    p: np.ndarray
    bands: list[str]
    versions: list[str]
    steps: list[Step] = field(default_factory=list)


def known_at(data: Replay, at: float, label_delay: float) -> Replay:
    """What a trainer may see at ``at``: the applications submitted before ``at``
    and the truth of those submitted at or before ``at - label_delay``."""
    times = np.asarray(data.submitted_at, dtype=np.float64)
    seen = np.flatnonzero(times < at)
    ids = [data.application_ids[i] for i in seen]
    cutoff = at - label_delay
    truth = {
        a: data.truth[a] for a, t in zip(ids, times[seen].tolist(), strict=True) if t <= cutoff and a in data.truth
    }
    return Replay(ids, data.values[seen], data.detector_of, truth, times[seen].tolist())


def prequential(
    scorer: Scorer,
    data: Replay,
    retrain_every: float,
    label_delay: float,
    *,
    min_fraud: int = 20,
    trainer: Trainer | None = None,
) -> Prequential:
    """Score every labelled application with the model learned at the start of its
    period (the shipped model until a retrain has ``min_fraud`` known frauds)."""
    if retrain_every <= 0:
        raise ValueError("retrain_every must be positive")
    if label_delay < 0:
        raise ValueError("label_delay must not be negative")
    if not data.submitted_at:
        raise ValueError("a prequential replay needs submission times")
    fit: Trainer = trainer or (lambda s, d: train(s, d))
    labelled = data.labelled()
    times = np.asarray(labelled.submitted_at, dtype=np.float64)
    p = np.zeros(len(times))
    bands: list[str] = [""] * len(times)
    versions: list[str] = [""] * len(times)
    current = scorer
    steps: list[Step] = []
    start = float(min(data.submitted_at))
    end = float(max(data.submitted_at))
    at = start
    while at <= end:
        nxt = at + retrain_every
        step = Step(at=at, scored=0, model_version=current.model.version)
        if at > start:
            seen = known_at(data, at, label_delay)
            y = seen.labelled().labels()
            step.known_labels, step.known_fraud = len(y), int(y.sum())
            if step.known_fraud >= min_fraud and step.known_labels - step.known_fraud >= min_fraud:
                current = Scorer(scorer.config, fit(scorer, seen))
                step.model_version, step.retrained = current.model.version, True
        rows = np.flatnonzero((times >= at) & (times < nxt))
        if len(rows):
            q = probabilities(current.model, strengths(current, labelled.values[rows]))
            p[rows] = q
            for i, x in zip(rows.tolist(), q.tolist(), strict=True):
                bands[i] = current.config.band(float(x)).name
                versions[i] = current.model.version
        step.scored = len(rows)
        steps.append(step)
        at = nxt
    return Prequential(labelled, p, bands, versions, steps)


def halves(data: Replay, p: np.ndarray, bands: list[str], capacity: float) -> dict[str, dict[str, Any]]:
    """Headline metrics of the first and the second half of the period (by submission time)."""
    times = np.asarray(data.submitted_at, dtype=np.float64)
    mid = (times.min() + times.max()) / 2.0
    y = data.labels()
    patterns = data.patterns()
    out: dict[str, dict[str, Any]] = {}
    for name, mask in (("first_half", times < mid), ("second_half", times >= mid)):
        idx = np.flatnonzero(mask)
        sub_y = y[idx]
        if len(idx) == 0 or sub_y.min() == sub_y.max():
            continue
        m = metrics(sub_y, p[idx], [patterns[i] for i in idx], [bands[i] for i in idx], capacity)
        out[name] = {
            k: m[k]
            for k in (
                "applications",
                "fraud",
                "roc_auc",
                "pr_auc",
                "recall_at_1pct_fpr",
                "recall_at_5pct_fpr",
                "benign_lookalike_flag_rate",
            )
        }
    return out


def shipped_halves(scorer: Scorer, data: Replay, capacity: float) -> dict[str, dict[str, Any]]:
    """:func:`halves` of the shipped model (``scorer`` as it is) on the labelled replay."""
    data = data.labelled()
    p = probabilities(scorer.model, strengths(scorer, data.values))
    return halves(data, p, [scorer.config.band(float(x)).name for x in p], capacity)


def learned_metrics(result: Prequential, capacity: float, retrain_every: float, label_delay: float) -> dict[str, Any]:
    """The learned path's metrics (the shape of ``evaluate``'s, without the ablation),
    its retrain steps and its metrics per half."""
    data = result.data
    out = metrics(data.labels(), result.p, data.patterns(), result.bands, capacity)
    out["retrain_every_seconds"] = retrain_every
    out["label_delay_seconds"] = label_delay
    out["steps"] = [
        {
            "at": _iso(s.at),
            "scored": s.scored,
            "known_labels": s.known_labels,
            "known_fraud": s.known_fraud,
            "retrained": s.retrained,
            "model_version": s.model_version,
        }
        for s in result.steps
    ]
    out["by_half"] = halves(data, result.p, result.bands, capacity)
    return out


def write_learned(result: Prequential, path: Path) -> Path:
    """``scores_learned.csv``: the ``scores.csv`` columns plus the model that scored each row."""
    data = result.data
    y = data.labels()
    patterns = data.patterns()
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow((*SCORE_COLUMNS, "model_version"))
        for i, app_id in enumerate(data.application_ids):
            writer.writerow(
                [
                    app_id,
                    _iso(data.submitted_at[i]),
                    f"{float(result.p[i]):.6f}",
                    result.bands[i],
                    int(y[i]),
                    patterns[i],
                    result.versions[i],
                ]
            )
    return path
