"""The ``ringsight`` command line."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from api.cli_audit import audit_app
from api.cli_models import models_app, outcomes_app
from api.cli_work import work
from api.settings import get_settings
from graph.errors import InvalidInput, RingsightError

app = typer.Typer(help="ringsight: graph fraud scoring for lenders.", no_args_is_help=True)
rings_app = typer.Typer(help="Batch ring detection.", no_args_is_help=True)
app.add_typer(rings_app, name="rings")
app.add_typer(models_app, name="models")
app.add_typer(outcomes_app, name="outcomes")
console = Console(stderr=True)
SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "sample"
DEMO_STORE = Path(__file__).resolve().parent.parent / "data" / "demo.db"


@contextmanager
def _progress(total: int, what: str) -> Iterator[Any]:
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


def _settings() -> Any:
    """The settings, or a one-line error naming the variable (exit 2), not a traceback."""
    from pydantic import ValidationError

    try:
        return get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = f"RINGSIGHT_{str(first['loc'][0]).upper()}" if first["loc"] else "settings"
        _fail(InvalidInput(name, str(first["msg"])))


def _desk(expect_new: bool = False, raise_unavailable: bool = False, read_only: bool = False) -> Any:
    """The desk over the configured store. Every command opens its store here, and the
    store is named on stderr in one line, with a warning when it is new or empty (a
    command without RINGSIGHT_GRAPH_URL opens ./ringsight.db); ``expect_new``: the
    caller fills a new store itself (the demo), so new and empty is no surprise;
    ``raise_unavailable``: a store that does not answer is raised, for a command with an
    exit code of its own for it (``rings detect``), not exit 2; ``read_only``: a command
    that only reads opens an embedded store beside the process that owns it (a serving API)."""
    from api.bootstrap import build_desk
    from graph.errors import StoreUnavailable

    settings = _settings()
    new = _is_new_store(settings.graph_url)
    try:
        desk = build_desk(settings, read_only=read_only)
    except RingsightError as exc:
        if raise_unavailable and isinstance(exc, StoreUnavailable):
            raise
        _fail(exc)
    try:
        count = int(desk.store.stats()["applications"])
    except RingsightError as exc:
        desk.store.close()
        if raise_unavailable and isinstance(exc, StoreUnavailable):
            raise
        _fail(exc)
    _name_store(_store_name(), count, new, expect_new, "graph_url" in settings.model_fields_set)
    return desk


def _is_new_store(url: str) -> bool:
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


def _desk_normaliser() -> Any:
    from api.bootstrap import build_normaliser

    return build_normaliser(_settings())


def _fail(exc: RingsightError) -> NoReturn:
    console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
    raise typer.Exit(2)


@app.command()
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


LOADED, COULD_NOT_RUN, ROWS_REJECTED = 0, 2, 3
"""Exit codes of ``ringsight load``."""


@app.command()
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
        from api.cli_models import load_outcomes

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
        desk = _desk()
        where = _store_name()
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
            with _progress(count_rows(source), "loading") as advance:
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
        _fail(exc if isinstance(exc, RingsightError) else InvalidInput("path", str(exc)))
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


def _store_name() -> str:
    """The configured store's URL as a person reads it: a SQLite file by its absolute path
    (``sqlite:////abs/path.db``), a server without the credentials in its URL."""
    scheme, sep, rest = _settings().graph_url.partition("://")
    if not sep:
        return scheme
    if scheme == "sqlite" and rest.startswith("/"):
        return f"sqlite:///{os.path.abspath(rest[1:])}"
    netloc, slash, tail = rest.partition("/")
    return f"{scheme}://{netloc.rpartition('@')[2]}{slash}{tail}"


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

    normaliser = _desk_normaliser()
    source = applications_file(path)
    try:
        sink = open_import_set(out, normaliser.key_fingerprint, overwrite=overwrite)
    except InvalidInput as exc:
        raise InvalidInput("--neo4j-import", exc.message) from exc
    with _progress(count_rows(source), "preparing import") as advance:
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


@app.command()
def score(
    path: Annotated[Path, typer.Argument(help="A JSON file (one application or a list) or a CSV of applications")],
    persist: Annotated[bool, typer.Option(help="Store the applications (default: dry run)")] = False,
) -> None:
    """Score applications from a file and print one JSON result per line."""
    from graph.records import from_flat, parse_record

    desk = _desk()
    try:
        if path.suffix == ".csv":
            from graph.loading import iter_rows

            records = [from_flat(r) for rows in iter_rows(path, 10000) for r in rows]
        else:
            body = json.loads(path.read_text())
            records = [parse_record(b) for b in (body if isinstance(body, list) else [body])]
        for record in records:
            done = desk.assess(record, persist=persist, actor="cli")
            r = done.result
            print(
                json.dumps(
                    {
                        "application_id": r.application_id,
                        "score": round(r.score, 6),
                        "band": r.band,
                        "action": r.action,
                        "reasons": r.reason_dicts(),
                        "stored": done.stored,
                    }
                )
            )
    except RingsightError as exc:
        _fail(exc)
    finally:
        desk.store.close()


@app.command()
def stats() -> None:
    """Counts of nodes in the configured store."""
    desk = _desk()
    print(json.dumps(desk.store.stats(), indent=2, sort_keys=True))
    desk.store.close()


def _replayed(data: Path) -> tuple[Any, Any]:
    """The configured scorer, and ``data`` replayed in time order with a progress bar."""
    from api.bootstrap import build_normaliser
    from detectors.evaluation import read_sorted, replay
    from detectors.score import Scorer

    settings = _settings()
    normaliser = build_normaliser(settings)
    scorer = Scorer.default(settings.config_path, settings.model_path)
    total = len(read_sorted(data, normaliser)[0])
    with _progress(total, "replaying") as advance:
        return scorer, replay(data, normaliser, scorer, progress=advance)


@app.command()
def train(
    data: Annotated[Path | None, typer.Argument(help="A labelled data-set folder (applications + truth.csv)")] = None,
    out: Annotated[Path, typer.Option(help="Model file to write")] = Path("model.json"),
    from_store: Annotated[
        bool, typer.Option(help="Fit a challenger on the store's labels and outcomes (= ringsight models train)")
    ] = False,
    as_of: Annotated[str | None, typer.Option(help="--from-store: labels and outcomes known by then")] = None,
    label_delay: Annotated[str, typer.Option(help="--from-store: how long a label takes to be known")] = "30d",
) -> None:
    """Learn baselines and weights from a labelled data set and write a versioned model file;
    or, with --from-store, register a challenger fitted on what the store knew at --as-of."""
    from detectors.evaluation import train as fit

    if from_store:
        from api.cli_models import train as train_challenger

        if as_of is None:
            raise typer.BadParameter("--from-store needs --as-of", param_hint="--as-of")
        train_challenger(as_of, label_delay)
        return
    if data is None:
        raise typer.BadParameter("name a labelled data-set folder, or use --from-store", param_hint="DATA")
    scorer, played = _replayed(data)
    model = fit(scorer, played)
    model.save(out)
    console.print(f"model {model.version} written to {out}")
    for name, weight in sorted(model.weights.items(), key=lambda kv: -kv[1]):
        console.print(f"  {name:24s} {weight:8.3f}")


@app.command()
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


@app.command()
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
    new = _is_new_store(_settings().graph_url)
    console.print(f"ringsight: store {_store_name()}{' (new, empty)' if new else ''}", soft_wrap=True, markup=False)
    _run_server(host, port, workers, access_log)


def _run_server(host: str, port: int, workers: int, access_log: bool) -> None:
    import uvicorn

    uvicorn.run("api.http.app:create_app", factory=True, host=host, port=port, workers=workers, access_log=access_log)


@app.command()
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
    settings = _settings()
    scheme, _, rest = settings.graph_url.partition("://")
    if scheme == "sqlite" and rest.startswith("/"):
        Path(rest[1:]).parent.mkdir(parents=True, exist_ok=True)  # data/ is not in a fresh clone
    desk = _desk(expect_new=True)
    try:
        with _progress(count_rows(applications_file(SAMPLE)), "scoring the sample") as advance:
            report = prepare_demo(desk, SAMPLE, monitoring=settings.monitoring, progress=advance)
    except RingsightError as exc:
        _fail(exc)
    finally:
        desk.store.close()
    _print_demo_report(report)
    _print_demo_guide(host, port, desk.review, settings)
    if not prepare_only:
        _run_server(host, port, 1, False)


def _check_port_free(host: str, port: int) -> None:
    """Fail before preparing when the demo could not serve on ``port`` (exit 2)."""
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            _fail(InvalidInput("--port", f"cannot serve on {host}:{port} ({exc.strerror}): try make demo PORT=8123"))


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
    where = _store_name()
    if where.startswith("memory:"):
        say("the store is memory://: it lives in the server process only")
        return
    hint = " (stop the server first: the embedded store is open in one process at a time)"
    say(f"CLI commands on this store{hint if where.startswith('sqlite:') else ''}:")
    say(f"  RINGSIGHT_GRAPH_URL={where} ringsight stats")


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
        desk = _desk(raise_unavailable=True)
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


@app.command()
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


app.add_typer(audit_app, name="audit")
app.command("work")(work)


def main() -> None:  # pragma: no cover - console entry point
    try:
        app()
    except RingsightError as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(2)
