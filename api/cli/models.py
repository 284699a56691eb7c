"""``ringsight models`` (train a challenger from the store, list, compare, promote) and
``ringsight outcomes load`` (loan outcomes from a CSV). See the README's "Learning from
outcomes" and :mod:`api.service.models`.

They act as the operator of the deployment (an admin): each change is audited under the
actor ``cli:<user>``.
"""

from __future__ import annotations

import csv
import getpass
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from api.cli.desk import open_desk
from graph.errors import RingsightError

models_app = typer.Typer(help="Champion and challenger models: train, list, compare, promote.", no_args_is_help=True)
outcomes_app = typer.Typer(help="Loan outcomes (what became of each application).", no_args_is_help=True)
console = Console(stderr=True)
UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
OUTCOME_COLUMNS = ("application_id", "outcome", "known_at")


def actor() -> str:
    return f"cli:{getpass.getuser()}"


def duration(text: str) -> float:
    """``30d``, ``12h``, ``90m``, ``0`` -> seconds."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text)
    if found is None:
        raise typer.BadParameter(f"{text!r}: a duration like 30d, 12h or 0")
    return float(found[1]) * UNITS[found[2] or "s"]


def moment(text: str) -> float:
    """An ISO date (its start, UTC) or date-time (UTC when it names no zone) -> epoch seconds."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            day = date.fromisoformat(text.strip())
            return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r}: an ISO date or date-time") from exc
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _fail(exc: RingsightError) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
    return typer.Exit(2)


@models_app.command("train")
def train(
    as_of: Annotated[str, typer.Option(help="Use only labels and outcomes known by then (ISO date or date-time)")],
    label_delay: Annotated[
        str, typer.Option(help="Applications younger than this at --as-of have no label yet (e.g. 30d)")
    ] = "30d",
) -> None:
    """Fit a model on the stored applications with the labels known at --as-of; register it
    as the challenger (scored in shadow from then on)."""
    cutoff, delay = moment(as_of), duration(label_delay)
    desk = open_desk()
    try:
        model = desk.train_challenger(cutoff, delay, actor())
    except RingsightError as exc:
        raise _fail(exc) from exc
    finally:
        desk.store.close()
    print(json.dumps({"challenger": model.version, "as_of": _iso(cutoff), **_facts(model.meta)}, indent=2))


def _facts(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: meta[k] for k in ("trained_on", "fraud", "label_delay_seconds", "fraud_outcomes") if k in meta}


@models_app.command("list")
def list_models() -> None:
    """The registry: champion, challenger and every registered version."""
    desk = open_desk(read_only=True)
    try:
        desk.refresh_models(force=True)
        reg = desk.model_registry()
        serving = desk.scorer.model.version
    finally:
        desk.store.close()
    print(
        json.dumps(
            {"champion": serving, "challenger": reg.challenger, "registered": reg.versions}, indent=2, sort_keys=True
        )
    )


@models_app.command("compare")
def compare(
    as_of: Annotated[str | None, typer.Option(help="Labels known by then (default: now)")] = None,
    label_delay: Annotated[str, typer.Option(help="As for train")] = "30d",
    since: Annotated[
        str | None, typer.Option(help="Only applications submitted after this (an out-of-time comparison)")
    ] = None,
    truth: Annotated[
        Path | None, typer.Option(help="A truth.csv (application_id, pattern) naming benign look-alikes")
    ] = None,
    challenger: Annotated[str | None, typer.Option(help="A registered version (default: the challenger)")] = None,
) -> None:
    """Champion and challenger on the same stored applications: ROC-AUC, recall at 1% and 5%
    false positives, benign look-alike flag rates (with --truth), band changes."""
    patterns = None
    if truth is not None:
        with truth.open(newline="") as fh:
            patterns = {row["application_id"]: row.get("pattern", "") for row in csv.DictReader(fh)}
    desk = open_desk(read_only=True)
    try:
        cutoff = moment(as_of) if as_of else desk.now()
        report = desk.compare_models(
            cutoff, duration(label_delay), moment(since) if since else None, patterns, challenger
        )
    except RingsightError as exc:
        raise _fail(exc) from exc
    finally:
        desk.store.close()
    print(json.dumps(report, indent=2, sort_keys=True))


@models_app.command("promote")
def promote(version: Annotated[str, typer.Argument(help="A registered model version (m-...)")]) -> None:
    """Make a registered model the champion (audited); running services switch within
    RINGSIGHT_MODEL_REFRESH_SECONDS."""
    desk = open_desk()
    try:
        previous = desk.promote_model(version, actor())
    except RingsightError as exc:
        raise _fail(exc) from exc
    finally:
        desk.store.close()
    console.print(f"champion {version} (was {previous})", soft_wrap=True, markup=False, highlight=False)


@outcomes_app.command("load")
def load_outcomes(
    path: Annotated[Path, typer.Argument(help="CSV with application_id, outcome, known_at (and reason)")],
) -> None:
    """Record each row's outcome as POST /v1/outcomes does (fraud outcomes label the
    applicant); rows that are refused are listed and the command exits 3."""
    if not path.exists():
        raise typer.BadParameter(f"{path} does not exist", param_hint="PATH")
    desk = open_desk()
    recorded, labelled, refused = 0, 0, []
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in OUTCOME_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise typer.BadParameter(f"missing columns {', '.join(missing)}", param_hint="PATH")
            for line, row in enumerate(reader, start=2):
                try:
                    done = desk.record_outcome(
                        row["application_id"].strip(),
                        row["outcome"].strip(),
                        moment(row["known_at"]),
                        actor(),
                        (row.get("reason") or "").strip(),
                    )
                except (RingsightError, typer.BadParameter) as exc:
                    refused.append(f"line {line}: {exc}")
                    continue
                recorded += 1
                labelled += done.labelled
    finally:
        desk.store.close()
    console.print(f"{recorded:,} outcomes recorded, {labelled:,} applicants labelled confirmed fraud")
    if labelled and desk.monitoring == "queued":
        console.print("the re-scoring of whom they link to is queued: a serving API or `ringsight work` does it")
    for problem in refused[:20]:
        console.print(f"  refused {problem}", soft_wrap=True, markup=False, highlight=False)
    if refused:
        console.print(f"{len(refused):,} rows refused")
        raise typer.Exit(3)
