"""``ringsight serve``: the HTTP service under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.desk import console, is_new_store, read_settings, store_name


def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="Processes; only 1 with the embedded store (one writer)")] = 1,
    access_log: Annotated[
        bool,
        typer.Option(
            help="Log every request (off by default: a line per request costs ~10% at peak; "
            "a proxy in front usually logs them)"
        ),
    ] = False,
) -> None:
    """Run the HTTP service."""
    # The service opens the store itself (an embedded store has one process): named, not opened, here.
    new = is_new_store(read_settings().graph_url)
    console.print(f"ringsight: store {store_name()}{' (new, empty)' if new else ''}", soft_wrap=True, markup=False)
    run_server(host, port, workers, access_log)


def run_server(host: str, port: int, workers: int, access_log: bool) -> None:
    import uvicorn

    uvicorn.run("api.http.app:create_app", factory=True, host=host, port=port, workers=workers, access_log=access_log)
