"""What every command shares: the settings, the desk over the configured store (named
on stderr, with a warning when it is new or empty), a progress bar and the one-line error
that exits 2."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from api.settings import get_settings
from graph.errors import InvalidInput, RingsightError

console = Console(stderr=True)
DEMO_STORE = Path(__file__).resolve().parents[2] / "data" / "demo.db"


@contextmanager
def progress(total: int, what: str) -> Iterator[Any]:
    columns = (
        TextColumn(f"[bold]{what}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(what, total=total, rate="")

        def advance(n: int) -> None:
            bar.advance(task, n)
            speed = bar.tasks[0].speed
            if speed:
                bar.update(task, rate=f"{speed:,.0f}/s")

        yield advance


def read_settings() -> Any:
    """The settings, or a one-line error naming the variable (exit 2), not a traceback."""
    from pydantic import ValidationError

    try:
        return get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = f"RINGSIGHT_{str(first['loc'][0]).upper()}" if first["loc"] else "settings"
        fail(InvalidInput(name, str(first["msg"])))


def open_desk(expect_new: bool = False, raise_unavailable: bool = False, read_only: bool = False) -> Any:
    """The desk over the configured store. Every command opens its store here, and the
    store is named on stderr in one line, with a warning when it is new or empty (a
    command without RINGSIGHT_GRAPH_URL opens ./ringsight.db); ``expect_new``: the
    caller fills a new store itself (the demo), so new and empty is no surprise;
    ``raise_unavailable``: a store that does not answer is raised, for a command with an
    exit code of its own for it (``rings detect``), not exit 2; ``read_only``: a command
    that only reads opens an embedded store beside the process that owns it (a serving API)."""
    from api.bootstrap import build_desk
    from graph.errors import StoreUnavailable

    settings = read_settings()
    new = is_new_store(settings.graph_url)
    try:
        desk = build_desk(settings, read_only=read_only)
    except RingsightError as exc:
        if raise_unavailable and isinstance(exc, StoreUnavailable):
            raise
        fail(exc)
    try:
        count = int(desk.store.stats()["applications"])
    except RingsightError as exc:
        desk.store.close()
        if raise_unavailable and isinstance(exc, StoreUnavailable):
            raise
        fail(exc)
    _name_store(store_name(), count, new, expect_new, "graph_url" in settings.model_fields_set)
    return desk


def is_new_store(url: str) -> bool:
    """Whether opening ``url`` creates the store (memory://, or a SQLite file not there yet);
    False for a server's database, which this process cannot tell."""
    scheme, _, rest = url.partition("://")
    if scheme == "memory":
        return True
    return scheme == "sqlite" and rest.startswith("/") and not Path(rest[1:]).exists()


def _name_store(where: str, applications: int, new: bool, expect_new: bool, configured: bool) -> None:
    state = "new, empty" if new and not applications else f"{applications:,} applications"
    console.print(f"ringsight: store {where} ({state})", soft_wrap=True, markup=False, highlight=False)
    if applications or expect_new:
        return
    why = (
        "RINGSIGHT_GRAPH_URL names it"
        if configured
        else "RINGSIGHT_GRAPH_URL is not set, so the default ./ringsight.db is used"
    )
    console.print(
        f"ringsight: warning: this store is {'new and empty' if new else 'empty'} ({why}); "
        f"the demo's store is RINGSIGHT_GRAPH_URL=sqlite:///{DEMO_STORE}",
        style="yellow",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )


def open_normaliser() -> Any:
    from api.bootstrap import build_normaliser

    return build_normaliser(read_settings())


def fail(exc: RingsightError) -> NoReturn:
    console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
    raise typer.Exit(2)


def store_name() -> str:
    """The configured store's URL as a person reads it: a SQLite file by its absolute path
    (``sqlite:////abs/path.db``), a server without the credentials in its URL."""
    scheme, sep, rest = read_settings().graph_url.partition("://")
    if not sep:
        return scheme
    if scheme == "sqlite" and rest.startswith("/"):
        return f"sqlite:///{os.path.abspath(rest[1:])}"
    netloc, slash, tail = rest.partition("/")
    return f"{scheme}://{netloc.rpartition('@')[2]}{slash}{tail}"
