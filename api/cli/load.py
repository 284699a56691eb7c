"""``ringsight load``: applications (and bad actors) into the configured store, or into an
offline import set for Neo4j; rejected rows are reported and written."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.desk import console, fail, open_desk, open_normaliser, progress, store_name
from graph.errors import InvalidInput, RingsightError

LOADED, COULD_NOT_RUN, ROWS_REJECTED = 0, 2, 3
"""Exit codes of ``ringsight load``."""


def load(
    path: Annotated[Path, typer.Argument(help="A data-set folder or an applications CSV/Parquet file")],
    batch_size: Annotated[int, typer.Option(min=1)] = 5000,
    rejects: Annotated[
        Path | None, typer.Option(help="Write rejected rows here (JSON lines; written even when the load stops)")
    ] = None,
    neo4j_import: Annotated[
        Path | None,
        typer.Option(
            help="Write an import set for `neo4j-admin database import full` here instead of "
            "loading into the store (initial loads of a new Neo4j database)"
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace the import set in the --neo4j-import folder")] = False,
    bad_actors_only: Annotated[bool, typer.Option(help="Load only the folder's bad_actors.csv")] = False,
    outcomes: Annotated[
        Path | None,
        typer.Option(help="Then record loan outcomes from this CSV (= ringsight outcomes load)"),
    ] = None,
) -> None:
    """Load applications (and bad_actors.csv of a folder) into the configured store.

    Every batch lands whole or not at all; a bad row is a reject (line and field) and the
    load goes on. Exit codes: 0 loaded, every row stored; 3 loaded, some rows rejected;
    2 could not run or finish (bad settings or options, a missing or unreadable file, the
    store unavailable): the batches before the failure are stored, and --rejects holds
    their rejects.
    """
    # A plain `kill` stops the load like Ctrl-C: the worker processes are shut down too.
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    rejected: typer.Exit | None = None
    try:
        _load(path, batch_size, rejects, neo4j_import, overwrite, bad_actors_only)
    except typer.Exit as exc:
        if exc.exit_code != 3 or outcomes is None:
            raise
        rejected = exc  # rows rejected: the outcomes of the stored ones are still recorded
    finally:
        signal.signal(signal.SIGTERM, previous)
    if outcomes is not None:
        from api.cli.models import load_outcomes

        load_outcomes(outcomes)
    if rejected is not None:
        raise rejected


def _load(
    path: Path,
    batch_size: int,
    rejects: Path | None,
    neo4j_import: Path | None,
    overwrite: bool,
    bad_actors_only: bool,
) -> None:
    from graph.loading import LoadReport, applications_file, count_rows, load_applications, load_bad_actors

    if neo4j_import is not None and bad_actors_only:
        raise typer.BadParameter("bad actors are labelled online, after the import", param_hint="--bad-actors-only")
    report = LoadReport()
    try:
        if neo4j_import is not None:
            _write_import_set(path, neo4j_import, overwrite, batch_size, rejects, report)
            return
        source = None if bad_actors_only else applications_file(path)  # a wrong path opens no store
        desk = open_desk()
        where = store_name()
        try:
            if source is None:
                if desk.store.stats()["applications"] == 0:
                    raise InvalidInput(
                        "RINGSIGHT_GRAPH_URL",
                        f"the store {where} holds no applications; bad actors are labelled after the "
                        "applications are in (is RINGSIGHT_GRAPH_URL set to the imported database?)",
                    )
                labels = load_bad_actors(desk.store, desk.normaliser, path, rejected=report.rejected)
                console.print(f"{labels:,} bad-actor labels into {where}", soft_wrap=True)
                _report_rejects(report.rejected, rejects)
                return
            with progress(count_rows(source), "loading") as advance:
                load_applications(desk.store, desk.normaliser, source, batch_size, advance, report=report)
            labels = (
                load_bad_actors(desk.store, desk.normaliser, path, rejected=report.rejected) if path.is_dir() else 0
            )
        finally:
            desk.store.close()
    except (RingsightError, OSError) as exc:
        if report.rows or report.rejected:
            console.print(
                f"stopped after {report.rows:,} rows: {report.stored:,} stored (whole batches), "
                f"{len(report.rejected):,} rejected",
                soft_wrap=True,
            )
        _write_rejects(report.rejected, rejects)
        fail(exc if isinstance(exc, RingsightError) else InvalidInput("path", str(exc)))
    except BaseException:  # interrupted: what was found so far is still written
        _write_rejects(report.rejected, rejects)
        raise
    console.print(
        f"{report.rows:,} rows in {report.seconds:.1f} s ({report.rate:,.0f} rows/s) into {where}: "
        f"{report.stored:,} stored, {report.duplicates:,} already present, "
        f"{len(report.rejected):,} rejected, {labels:,} bad-actor labels",
        soft_wrap=True,
    )
    _report_rejects(report.rejected, rejects)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _write_rejects(rejected: list[dict[str, Any]], rejects: Path | None) -> None:
    """The rejects file, rewritten (empty for a clean load, so no old file is mistaken for this one's)."""
    if rejects is not None:
        rejects.write_text("".join(json.dumps(r) + "\n" for r in rejected))


def _report_rejects(rejected: list[dict[str, Any]], rejects: Path | None, exit_on_rejects: bool = True) -> None:
    for bad in rejected[:5]:
        where = f"{bad['file']} line" if "file" in bad else "line"
        console.print(f"  {where} {bad['line']}: {bad['field']}: {bad['error']}", soft_wrap=True, markup=False)
    if len(rejected) > 5:
        more = f"written to {rejects}" if rejects is not None else "use --rejects FILE to see them all"
        console.print(f"  ... and {len(rejected) - 5:,} more ({more})")
    _write_rejects(rejected, rejects)
    if rejected and exit_on_rejects:
        raise typer.Exit(ROWS_REJECTED)


def _write_import_set(
    path: Path, out: Path, overwrite: bool, batch_size: int, rejects: Path | None, report: Any
) -> None:
    """Validate and normalise like a load, into an offline import set for Neo4j."""
    from graph.loading import applications_file, count_rows, load_applications
    from graph.store.factory import import_command, open_import_set

    normaliser = open_normaliser()
    source = applications_file(path)
    try:
        sink = open_import_set(out, normaliser.key_fingerprint, overwrite=overwrite)
    except InvalidInput as exc:
        raise InvalidInput("--neo4j-import", exc.message) from exc
    with progress(count_rows(source), "preparing import") as advance:
        load_applications(sink, normaliser, source, batch_size, advance, report=report)
    manifest = sink.close()
    console.print(
        f"{report.rows:,} rows in {report.seconds:.1f} s ({report.rate:,.0f} rows/s): "
        f"{manifest['applications']:,} applications, {manifest['applicants']:,} applicants, "
        f"{sum(manifest['identifiers'].values()):,} identifiers, {report.duplicates:,} re-sent (kept once), "
        f"{len(report.rejected):,} rejected -> {out}"
    )
    if report.rejected:
        console.print(f"[yellow]{len(report.rejected):,} rows were rejected and are not in the import set:[/yellow]")
    _report_rejects(report.rejected, rejects, exit_on_rejects=False)
    console.print(
        f"Next, with Neo4j stopped and the database absent (or add --overwrite-destination=true to replace it); "
        f"identifiers are keyed with this RINGSIGHT_PII_KEY (fingerprint {normaliser.key_fingerprint}), "
        "so the service must use the same key:",
        soft_wrap=True,
    )
    console.print(f"  {import_command(out)}", soft_wrap=True)
    console.print("  (locally: python tools/neo4j_local.py start --import " + str(out) + ")", soft_wrap=True)
    if path.is_dir() and (path / "bad_actors.csv").exists():
        console.print(
            f"then start Neo4j, set RINGSIGHT_GRAPH_URL to it and run: ringsight load {path} --bad-actors-only",
            soft_wrap=True,
        )
    if report.rejected:
        raise typer.Exit(ROWS_REJECTED)
