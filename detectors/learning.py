"""Learning from the store: the applications a model may be trained or compared on, with
the labels known by a date, read through the store seams (any backend).

What counts as a label, as of ``as_of``:

- an **outcome** (:mod:`graph.store.outcomes`) known at or before ``as_of``: one of the
  ``fraud_outcomes`` makes its application a positive, ``repaid`` a negative; other
  outcomes (a credit loss that is not fraud) leave the application out of training;
- an applicant **label** (investigator labels and case decisions, which label through the
  desk) set at or before ``as_of``: ``confirmed_fraud`` makes the applicant's applications
  positives, ``clear`` negatives. A fraud outcome wins over ``clear``;
- otherwise an application submitted at least ``label_delay`` before ``as_of`` without a
  known adverse outcome has matured: a negative. Younger ones are in the population (their
  measures shape the baselines) but carry no label.

Applications submitted after ``as_of`` are not read at all. Each application's measures are
read as of its own submission, with only the labels set before it (a label learned later
never leaks into the features), exactly as a live score saw it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

import numpy as np

from detectors.evaluation import Replay, metrics, probabilities, strengths
from detectors.model import FEATURES, Model, ScoringConfig
from detectors.score import Scorer
from graph.normalise import NormalisedApplication
from graph.store.contract import GraphStore
from graph.store.records import Label
from graph.store.snapshot import assemble
from graph.vocabulary import applicant_node

EVERYONE = "\U0010ffff"
DAY = 86400.0


def stored_applications(
    store: GraphStore, before: float | None = None, chunk: int = 1000
) -> list[NormalisedApplication]:
    """Every stored application (submitted at or before ``before``), in time order."""
    keys = store.applicants_below(EVERYONE)
    apps: list[NormalisedApplication] = []
    for i in range(0, len(keys), chunk):
        for found in store.applications_of(keys[i : i + chunk]).values():
            apps.extend(a for a in found if before is None or a.ts <= before)
    apps.sort(key=lambda a: (a.ts, a.application_id))
    return apps


def targets(
    store: GraphStore,
    apps: list[NormalisedApplication],
    as_of: float,
    label_delay: float,
    fraud_outcomes: Collection[str],
) -> dict[str, str]:
    """``application_id -> "1" | "0" | ""`` from what was known at ``as_of`` (see the module)."""
    fraud = set(fraud_outcomes)
    outcome_label: dict[str, str] = {}
    adverse: set[str] = set()
    for o in store.outcomes(known_by=as_of):
        if o.outcome in fraud:
            outcome_label[o.application_id] = "1"
        elif o.outcome == "repaid":
            outcome_label.setdefault(o.application_id, "0")
        else:
            adverse.add(o.application_id)
    labels = {
        k: lab
        for k, lab in store.labels(sorted({applicant_node(a.applicant_key) for a in apps})).items()
        if lab.at <= as_of
    }
    out: dict[str, str] = {}
    for a in apps:
        label = labels.get(applicant_node(a.applicant_key))
        if outcome_label.get(a.application_id) == "1" or (label is not None and label.status == "confirmed_fraud"):
            out[a.application_id] = "1"
        elif a.application_id in outcome_label or (label is not None and label.status == "clear"):
            out[a.application_id] = "0"
        elif a.application_id in adverse:
            out[a.application_id] = ""
        else:
            out[a.application_id] = "0" if a.ts <= as_of - label_delay else ""
    return out


def _labels_before(store: GraphStore, at: float) -> Callable[[Sequence[str]], dict[str, Label]]:
    """The label read of a snapshot as of ``at``: only labels set before it."""

    def read(node_ids: Sequence[str]) -> dict[str, Label]:
        return {k: v for k, v in store.labels(node_ids).items() if v.at < at}

    return read


def store_replay(
    store: GraphStore,
    scorer: Scorer,
    as_of: float,
    label_delay: float,
    fraud_outcomes: Collection[str],
    since: float | None = None,
) -> Replay:
    """The stored applications submitted by ``as_of`` (and after ``since``, when given) as a
    :class:`~detectors.evaluation.Replay`, with the labels known at ``as_of``."""
    apps = stored_applications(store, before=as_of)
    if since is not None:
        apps = [a for a in apps if a.ts > since]
    index = {code: i for i, code in enumerate(FEATURES)}
    values = np.zeros((len(apps), len(FEATURES)))
    detector_of: dict[str, str] = {}
    hub = scorer.config.params.hub_limit
    for row, app in enumerate(apps):
        snapshot = assemble(store, _labels_before(store, app.ts), app, app.ts, hub)
        for detector, obs in scorer.observe_snapshot(snapshot, app):
            values[row, index[obs.code]] = obs.value
            detector_of[obs.code] = detector
    truth = {a: {"is_fraud": y} for a, y in targets(store, apps, as_of, label_delay, fraud_outcomes).items()}
    return Replay([a.application_id for a in apps], values, detector_of, truth, [a.ts for a in apps])


COMPARED = ("roc_auc", "recall_at_1pct_fpr", "recall_at_5pct_fpr", "benign_lookalike_flag_rate_by_kind")


def compare(
    store: GraphStore,
    config: ScoringConfig,
    champion: Model,
    challenger: Model,
    as_of: float,
    label_delay: float,
    fraud_outcomes: Collection[str],
    since: float | None = None,
    patterns: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Champion and challenger on the same stored applications (each measure read once):
    ROC-AUC and recall at 1% and 5% false positives on the labelled ones, benign look-alike
    flag rates when ``patterns`` names them, and how many of all of them would change band."""
    played = store_replay(store, Scorer(config, champion), as_of, label_delay, fraud_outcomes, since)
    labelled = [i for i, a in enumerate(played.application_ids) if played.truth[a]["is_fraud"] in ("0", "1")]
    y = played.labels()[labelled]
    pattern = [(patterns or {}).get(played.application_ids[i], "") for i in labelled]
    report: dict[str, Any] = {
        "applications": len(played.application_ids),
        "labelled": len(labelled),
        "fraud": int(y.sum()),
    }
    bands: dict[str, list[str]] = {}
    for name, model in (("champion", champion), ("challenger", challenger)):
        p = probabilities(model, strengths(Scorer(config, model), played.values))
        bands[name] = [config.band(float(x)).name for x in p]
        entry: dict[str, Any] = {"version": model.version}
        if len(labelled) and y.min() != y.max():
            measured = metrics(y, p[labelled], pattern, [bands[name][i] for i in labelled], 0.05)
            entry.update({k: measured[k] for k in COMPARED})
        bands_count: dict[str, int] = {}
        for b in bands[name]:
            bands_count[b] = bands_count.get(b, 0) + 1
        entry["bands"] = dict(sorted(bands_count.items()))
        report[name] = entry
    report["band_changes"] = sum(a != b for a, b in zip(bands["champion"], bands["challenger"], strict=True))
    return report
