"""The ``ringsight`` command line: thin commands over the desk, one module per command or
command group (``app`` registers them; ``desk`` opens the configured store for each).
``main`` is the console script (``ringsight = "api.cli:main"`` in pyproject.toml)."""

from __future__ import annotations

import sys


def main() -> None:  # pragma: no cover - console entry point
    from api.cli.app import app
    from api.cli.desk import console
    from graph.errors import RingsightError

    try:
        app()
    except RingsightError as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(2)
