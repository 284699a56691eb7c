"""``ringsight rings detect``: batch ring detection over the whole graph, and its report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from api.cli.desk import console, open_desk
from graph.errors import RingsightError

rings_app = typer.Typer(help="Batch ring detection.", no_args_is_help=True)


@rings_app.command("detect")
def rings_detect(
    out: Annotated[Path, typer.Option(help="Folder for rings.json, rings.csv and report.html")] = Path("out/rings"),
    max_ring_size: Annotated[int, typer.Option(min=3, help="Split larger components with Louvain")] = 60,
    threshold: Annotated[float | None, typer.Option(min=0, max=1, help="Score from which a group is a ring")] = None,
    min_members: Annotated[int | None, typer.Option(min=2, help="Smallest ring reported")] = None,
    critical: Annotated[float | None, typer.Option(min=0, max=1, help="Score from which a ring is critical")] = None,
    fail_on_critical: Annotated[bool, typer.Option(help="Exit 1 when an active ring is critical")] = False,
    write: Annotated[bool, typer.Option(help="Write the rings to the store (--no-write: report only)")] = True,
) -> None:
    """Find, score and write fraud rings over the whole graph, then write the report.

    A re-run on unchanged data writes nothing: the active rings keep their ids, scores and run id.
    Exit codes: 0 done; 1 a critical ring is active (only with --fail-on-critical);
    2 bad input or configuration; 3 store unavailable.
    """
    from rich.progress import TaskID, TimeElapsedColumn
    from rich.table import Table

    from detectors.ring_report import write_report
    from detectors.rings import RingParams, detect_rings
    from graph.errors import StoreUnavailable

    def stop(code: int, message: object) -> typer.Exit:
        console.print(f"[red]error:[/red] {message}")
        return typer.Exit(code)

    try:
        params = RingParams().with_overrides(
            max_ring_size=max_ring_size, threshold=threshold, min_members=min_members, critical=critical
        )
        desk = open_desk(raise_unavailable=True)
    except StoreUnavailable as exc:
        raise stop(3, exc) from exc
    except (RingsightError, ValueError) as exc:
        raise stop(2, exc) from exc
    try:
        columns = (TextColumn("[bold]{task.description:12s}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(step: str, done: int, total: int) -> None:
                if step not in tasks:
                    tasks[step] = bar.add_task(step, total=total or None)
                bar.update(tasks[step], completed=done, total=total or None)

            run = detect_rings(desk.store, params, desk.scorer.config.params, progress=progress, write=write)
        paths = write_report(run, desk.store, out)
        desk.store.append_audit(
            run.at,
            "cli",
            "rings:run",
            run.run_id,
            {"rings": len(run.rings), "written": run.written, "critical": len(run.critical)},
        )
    except StoreUnavailable as exc:
        raise stop(3, exc) from exc
    except (RingsightError, OSError) as exc:
        raise stop(2, exc) from exc
    finally:
        desk.store.close()
    summary = run.summary()
    table = Table(title=f"ring run {run.run_id}", show_header=False)
    state = "written" if run.written else "unchanged: nothing written" if run.unchanged else "dry run (--no-write)"
    for name, value in (
        ("rings", summary["rings"]),
        ("critical", summary["critical"]),
        ("applicants in rings", summary["ring_members"]),
        ("store", state),
        ("events", ", ".join(f"{k} {v}" for k, v in summary["events"].items()) or "-"),
        ("retired", len(summary["retired"])),
        *((k.replace("_", " "), v) for k, v in summary["counts"].items()),
        *((f"{k} (s)", f"{v:.2f}") for k, v in summary["timings"].items()),
    ):
        table.add_row(name, str(value))
    console.print(table)
    for kind, path in paths.items():
        console.print(f"{kind:5s} {path}")
    if fail_on_critical and run.critical:
        console.print(f"[red]{len(run.critical)} critical ring(s)[/red]")
        raise typer.Exit(1)
