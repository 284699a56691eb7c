"""``ringsight demo``: the checked-in sample replayed through the desk into the configured
store, a guide to what it holds, then the service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.desk import console, fail, open_desk, progress, read_settings, store_name
from api.cli.serve import run_server
from graph.errors import InvalidInput, RingsightError

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "sample"


def demo(
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to serve on (or the PORT variable)")] = 8000,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    prepare_only: Annotated[bool, typer.Option(help="Prepare the store, then exit without serving")] = False,
) -> None:
    """Replay the checked-in sample through the desk into the configured store, then serve it.

    The sample is scored in time order as the scoring flow would have, its known bad actors
    are confirmed (monitoring alerts), one ring run is made and a case is opened on every
    critical ring; what the store holds already is kept, so a second run adds nothing.
    """
    from api.service.demo import prepare_demo
    from graph.loading import applications_file, count_rows

    if not prepare_only:
        _check_port_free(host, port)
    settings = read_settings()
    scheme, _, rest = settings.graph_url.partition("://")
    if scheme == "sqlite" and rest.startswith("/"):
        Path(rest[1:]).parent.mkdir(parents=True, exist_ok=True)  # data/ is not in a fresh clone
    desk = open_desk(expect_new=True)
    try:
        with progress(count_rows(applications_file(SAMPLE)), "scoring the sample") as advance:
            report = prepare_demo(desk, SAMPLE, monitoring=settings.monitoring, progress=advance)
    except RingsightError as exc:
        fail(exc)
    finally:
        desk.store.close()
    _print_demo_report(report)
    _print_demo_guide(host, port, desk.review, settings)
    if not prepare_only:
        run_server(host, port, 1, False)


def _check_port_free(host: str, port: int) -> None:
    """Fail before preparing when the demo could not serve on ``port`` (exit 2)."""
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            fail(InvalidInput("--port", f"cannot serve on {host}:{port} ({exc.strerror}): try make demo PORT=8123"))


def _print_demo_report(report: Any) -> None:
    def say(text: str) -> None:
        console.print(text, soft_wrap=True, markup=False, highlight=False)

    if report.wrote_nothing:
        say(f"demo store ready: {report.already_scored:,} sample applications scored before; nothing to add")
    if report.scored:
        bands = ", ".join(f"{report.bands[b]:,} {b}" for b in ("low", "medium", "high", "critical"))
        each = report.scoring_seconds / report.scored * 1000
        monitored = ", with monitoring" if report.monitored else ""
        say(
            f"scored {report.scored:,} applications in time order in {report.scoring_seconds:.1f} s "
            f"({each:.1f} ms each{monitored}): {bands}"
        )
    if report.labels:
        say(f"confirmed {report.labels} known bad actors as fraud (monitoring re-scored whom they reach)")
    if report.ring_run:
        say(f"ring run {report.ring_run} in {report.ring_seconds:.1f} s")
    if not report.wrote_nothing:
        say(
            f"{report.rings} active rings, {report.critical_rings} critical; {len(report.cases_opened)} cases "
            f"opened, {report.alerts:,} alerts raised; prepared in {report.seconds:.1f} s"
        )


def _print_demo_guide(host: str, port: int, review: Any, settings: Any) -> None:
    from api.service.demo import role_guide
    from api.settings import DEV_API_KEYS

    def say(text: str) -> None:
        console.print(text, soft_wrap=True, markup=False, highlight=False)

    base = f"http://{host}:{port}"
    say(f"console   {base}/console")
    say(f"API docs  {base}/docs")
    keys = {k: r for k, r in DEV_API_KEYS.items() if settings.api_keys.get(k) == r}
    if keys:
        say("development API keys (header X-API-Key):")
        guide = role_guide(review)
        for key, role in keys.items():
            say(f"  {key:17s} {role}: {guide[role]}")
    where = store_name()
    if where.startswith("memory:"):
        say("the store is memory://: it lives in the server process only")
        return
    hint = " (stop the server first: the embedded store is open in one process at a time)"
    say(f"CLI commands on this store{hint if where.startswith('sqlite:') else ''}:")
    say(f"  RINGSIGHT_GRAPH_URL={where} ringsight stats")
