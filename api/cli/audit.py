"""``ringsight audit``: seal the audit log and verify it (see api/service/audit_integrity.py).

Exit codes of ``verify``: 0 intact, 1 tampering found, 2 could not run.
"""

from __future__ import annotations

import typer
from rich.console import Console

from api.cli.desk import open_desk

audit_app = typer.Typer(help="The append-only audit log: seal and verify.", no_args_is_help=True)
console = Console(stderr=False)


@audit_app.command("seal")
def seal() -> None:
    """Seal the settled audit events after the last seal (the service does this every minute)."""
    desk = open_desk()
    try:
        done = desk.seal()
    finally:
        desk.store.close()
    if done is None:
        console.print("nothing to seal")
    else:
        console.print(f"seal {done.n}: {done.count:,} events up to seq {done.upto}")


@audit_app.command("verify")
def verify(seal_first: bool = typer.Option(False, "--seal", help="Seal the settled events first")) -> None:
    """Recompute the audit chain and check every seal: exit 1 if anything was changed."""
    desk = open_desk(read_only=not seal_first)  # verifying only reads: it runs beside a serving API
    try:
        if seal_first:
            desk.seal()
        result = desk.verify()
    finally:
        desk.store.close()
    console.print(
        f"{result.seals} seals, {result.sealed_events:,} sealed events, {result.unsealed_events:,} not sealed yet"
    )
    for problem in result.problems:
        console.print(f"[red]tampered:[/red] {problem}", soft_wrap=True)
    if not result.intact:
        raise typer.Exit(1)
    console.print("intact")
