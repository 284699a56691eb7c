"""``ringsight train`` and ``ringsight evaluate``: a labelled data set replayed in time order
to fit a model file, or to measure the model (and, with --learn, one retrained as labels
mature)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.desk import console, progress, read_settings


def _replayed(data: Path) -> tuple[Any, Any]:
    """The configured scorer, and ``data`` replayed in time order with a progress bar."""
    from api.bootstrap import build_normaliser
    from detectors.evaluation import read_sorted, replay
    from detectors.score import Scorer

    settings = read_settings()
    normaliser = build_normaliser(settings)
    scorer = Scorer.default(settings.config_path, settings.model_path)
    total = len(read_sorted(data, normaliser)[0])
    with progress(total, "replaying") as advance:
        return scorer, replay(data, normaliser, scorer, progress=advance)


def train(
    data: Annotated[Path | None, typer.Argument(help="A labelled data-set folder (applications + truth.csv)")] = None,
    out: Annotated[Path, typer.Option(help="Model file to write")] = Path("model.json"),
    from_store: Annotated[
        bool, typer.Option(help="Fit a challenger on the store's labels and outcomes (= ringsight models train)")
    ] = False,
    as_of: Annotated[str | None, typer.Option(help="--from-store: labels and outcomes known by then")] = None,
    label_delay: Annotated[str, typer.Option(help="--from-store: how long a label takes to be known")] = "30d",
    regularisation: Annotated[
        float, typer.Option(min=1e-6, help="Inverse L2 strength C of the fit from DATA (smaller: smaller weights)")
    ] = 1.0,
) -> None:
    """Learn baselines and weights from a labelled data set and write a versioned model file;
    or, with --from-store, register a challenger fitted on what the store knew at --as-of."""
    from detectors.evaluation import train as fit

    if from_store:
        from api.cli.models import train as train_challenger

        if as_of is None:
            raise typer.BadParameter("--from-store needs --as-of", param_hint="--as-of")
        train_challenger(as_of, label_delay)
        return
    if data is None:
        raise typer.BadParameter("name a labelled data-set folder, or use --from-store", param_hint="DATA")
    scorer, played = _replayed(data)
    model = fit(scorer, played, c=regularisation)
    model.save(out)
    console.print(f"model {model.version} written to {out}")
    for name, weight in sorted(model.weights.items(), key=lambda kv: -kv[1]):
        console.print(f"  {name:24s} {weight:8.3f}")


def evaluate(
    data: Annotated[Path, typer.Argument(help="A labelled data-set folder")],
    out: Annotated[Path, typer.Option(help="Folder for metrics.json and plots")] = Path("out/evaluation"),
    capacity: Annotated[float, typer.Option(help="Share of applications reviewers can look at")] = 0.05,
    learn: Annotated[
        bool, typer.Option(help="Also replay a model retrained on the labels known at each step (prequential)")
    ] = False,
    retrain_every: Annotated[str, typer.Option(help="With --learn: retrain this often (e.g. 30d, 2w)")] = "30d",
    label_delay: Annotated[
        str, typer.Option(help="With --learn: a label is known this long after submission (e.g. 30d)")
    ] = "30d",
) -> None:
    """Replay a data set in time order with the current model and report quality.

    With ``--learn`` the same replay is scored a second time, prequentially: every
    ``--retrain-every`` a model is trained on the labels known by then (truth revealed
    ``--label-delay`` after submission); its metrics go under ``"learned"`` in
    metrics.json and its scores to scores_learned.csv."""
    from detectors.evaluation import evaluate as measure

    if learn:
        from detectors.prequential import learned_metrics, parse_duration, prequential, shipped_halves, write_learned

        try:
            every, delay = parse_duration(retrain_every), parse_duration(label_delay)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
    scorer, played = _replayed(data)
    result = measure(scorer, played, out, capacity)  # metrics.json, scores.csv and plots of the shipped model
    if learn:
        learned = prequential(scorer, played, every, delay)
        result["by_half"] = shipped_halves(scorer, played, capacity)
        result["learned"] = learned_metrics(learned, capacity, every, delay)
        (out / "metrics.json").write_text(json.dumps(result, indent=2, sort_keys=True))
        write_learned(learned, out / "scores_learned.csv")
    keys = (
        "applications",
        "fraud",
        "roc_auc",
        "pr_auc",
        "recall_at_1pct_fpr",
        "recall_at_5pct_fpr",
        "precision_at_review_capacity",
        "benign_lookalike_flag_rate",
    )
    summary = {k: result[k] for k in keys}
    if learn:
        headline = ("roc_auc", "recall_at_1pct_fpr")
        learned_half = result["learned"]["by_half"]
        summary["by_half"] = {h: {k: m[k] for k in headline} for h, m in result["by_half"].items()}
        summary["learned"] = {k: result["learned"][k] for k in keys}
        summary["learned"]["by_half"] = {h: {k: m[k] for k in headline} for h, m in learned_half.items()}
    print(json.dumps(summary, indent=2))
    console.print(f"metrics and plots in {out}")
