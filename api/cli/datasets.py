"""``ringsight generate`` (a synthetic population with planted fraud) and ``ringsight
adapt`` (an external data set): each writes a data-set folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.desk import console


def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the data set to")],
    applications: Annotated[int, typer.Option(min=100, help="How many applications")] = 20000,
    seed: Annotated[int, typer.Option(help="Random seed")] = 11,
    format: Annotated[str, typer.Option(help="csv or parquet")] = "csv",
    drift_at: Annotated[
        float | None,
        typer.Option(min=0.25, max=0.9, help="Share of the period after which the fraud patterns change"),
    ] = None,
    drift: Annotated[str, typer.Option(help="How they change (with --drift-at): pattern-change")] = "pattern-change",
) -> None:
    """Generate a synthetic population with planted fraud and ground truth."""
    from fixtures.generator import DRIFT_KINDS, write_dataset
    from fixtures.generator import generate as make

    if format not in ("csv", "parquet"):
        raise typer.BadParameter("must be csv or parquet", param_hint="--format")
    if drift not in DRIFT_KINDS:
        raise typer.BadParameter(f"must be one of {', '.join(DRIFT_KINDS)}", param_hint="--drift")
    data = make(applications, seed, drift_at=drift_at, drift=drift)
    write_dataset(data, out, format)
    fraud = sum(int(str(t["is_fraud"])) for t in data.truth)
    console.print(f"wrote {len(data.applications):,} applications ({fraud:,} fraud) to {out}")


def adapt(
    name: Annotated[str, typer.Argument(help="External data set: aws or datastax")],
    out: Annotated[Path, typer.Option(help="Folder to write the adapted data set to")],
    source: Annotated[
        Path | None,
        typer.Option(
            help="The data set's folder (default: $RINGSIGHT_EXTERNAL_DATA or ../shared/data beside the repo)"
        ),
    ] = None,
) -> None:
    """Turn an external data set (AWS registrations, DataStax fraud graph) into a data-set folder."""
    from fixtures.adapters import ADAPTERS
    from fixtures.adapters import adapt as convert

    if name not in ADAPTERS:
        raise typer.BadParameter(f"must be one of {', '.join(ADAPTERS)}", param_hint="NAME")
    try:
        paths = convert(name, out, source)
    except (OSError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"wrote {', '.join(p.name for p in paths.values())} to {out}")
