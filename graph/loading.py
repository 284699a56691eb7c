"""Bulk loading of flat application files (CSV or Parquet) and bad-actor lists.

Rows are validated and normalised in batches; a row that fails names its
field in the rejects list and never reaches the store, so a load is never
half-written row by row. Every batch is one store transaction.
"""

from __future__ import annotations

import csv
import gc
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow.parquet as pq

from graph.errors import Conflict, InvalidInput
from graph.memory import collector_paused
from graph.normalise import NormalisedApplication, Normaliser
from graph.records import from_flat
from graph.store import GraphStore, Label

Progress = Callable[[int], None]


class ApplicationSink(Protocol):
    """Where loaded applications go: a store, or an offline import set."""

    def upsert(self, applications: list[NormalisedApplication]) -> int: ...


@dataclass
class LoadReport:
    rows: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    labels: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def applications_file(path: Path) -> Path:
    """The applications file of a data-set folder, or the file itself."""
    if path.is_dir():
        for name in ("applications.parquet", "applications.csv"):
            if (path / name).exists():
                return path / name
        raise InvalidInput("path", f"{path} holds neither applications.csv nor applications.parquet")
    if not path.exists():
        raise InvalidInput("path", f"{path} does not exist")
    return path


def count_rows(path: Path) -> int:
    if path.suffix == ".parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    with path.open("rb") as fh:
        return max(0, sum(1 for _ in fh) - 1)


def iter_rows(path: Path, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    """Flat rows in batches; every cell is read as text (phone numbers keep their zeros).

    A CSV row shorter than the header is padded with empty cells (missing values);
    one longer than the header stops the load with the line named, before its batch
    is written. Blank lines are skipped.
    """
    if path.suffix == ".parquet":
        for record_batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size):
            yield record_batch.to_pylist()
        return
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header:
            return
        width = len(header)
        batch: list[dict[str, Any]] = []
        for cells in reader:
            if len(cells) != width:
                if not cells:
                    continue
                if len(cells) > width:
                    raise InvalidInput(
                        f"line {reader.line_num}", f"has {len(cells)} fields but the header has {width}"
                    )
                cells += [""] * (width - len(cells))
            batch.append(dict(zip(header, cells, strict=True)))
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch


def normalise_rows(
    rows: list[dict[str, Any]],
    normaliser: Normaliser,
    first_line: int,
    report: LoadReport,
    lines: list[int] | None = None,
) -> list[NormalisedApplication]:
    """Validated, normalised applications of ``rows``; failures go to ``report.rejected``
    by line and field. ``lines``, if given, receives the line of each application."""
    out: list[NormalisedApplication] = []
    for offset, row in enumerate(rows):
        try:
            out.append(normaliser.application(from_flat(row)))
            if lines is not None:
                lines.append(first_line + offset)
        except InvalidInput as exc:
            report.rejected.append(
                {"line": first_line + offset, "application_id": row.get("application_id"),
                 "field": exc.field, "error": exc.message}
            )
    return out


_worker_normaliser: Normaliser | None = None


def _start_worker(normaliser: Normaliser) -> None:
    global _worker_normaliser
    _worker_normaliser = normaliser
    # Forked with the collector paused (graph.memory); batches make no
    # reference cycles worth collecting often, so collect rarely rather than never.
    gc.enable()
    gc.set_threshold(100_000, 50, 50)
    # Ctrl-C reaches the whole process group: the parent stops the load and the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _normalise_batch(
    rows: list[dict[str, Any]], first_line: int
) -> tuple[list[NormalisedApplication], list[int], LoadReport]:
    assert _worker_normaliser is not None
    report = LoadReport()
    lines: list[int] = []
    return normalise_rows(rows, _worker_normaliser, first_line, report, lines), lines, report


def _store_or_reject(
    store: ApplicationSink, apps: list[NormalisedApplication], lines: list[int], report: LoadReport
) -> int:
    """Store a batch; an application id already stored for another applicant is
    rejected by line (found by halving the batch: every store checks a batch whole
    before writing any of it), and the rest of the batch is stored."""
    try:
        return store.upsert(apps)
    except Conflict as exc:
        if len(apps) == 1:
            report.rejected.append(
                {"line": lines[0], "application_id": apps[0].application_id, "field": "application_id",
                 "error": str(exc)}
            )
            return 0
        half = len(apps) // 2
        return _store_or_reject(store, apps[:half], lines[:half], report) + _store_or_reject(
            store, apps[half:], lines[half:], report
        )


def load_applications(
    store: ApplicationSink,
    normaliser: Normaliser,
    path: Path,
    batch_size: int = 5000,
    progress: Progress | None = None,
    workers: int | None = None,
) -> LoadReport:
    """Load a CSV or Parquet file of applications into the store.

    Validation and normalisation (the costly part: phone, e-mail and employer
    parsing, hashing) run in ``workers`` processes (default: one per core)
    while the parent writes batches in file order.
    """
    source = applications_file(path)
    with collector_paused(freeze=True):
        return _load(store, normaliser, source, batch_size, progress, workers)


def _load(
    store: ApplicationSink,
    normaliser: Normaliser,
    source: Path,
    batch_size: int,
    progress: Progress | None,
    workers: int | None,
) -> LoadReport:
    report = LoadReport()
    started = time.perf_counter()
    workers = workers if workers is not None else min(4, os.cpu_count() or 1)

    def store_batch(apps: list[NormalisedApplication], lines: list[int], n_rows: int) -> None:
        refused = len(report.rejected)
        stored = _store_or_reject(store, apps, lines, report)
        report.rows += n_rows
        report.stored += stored
        report.duplicates += len(apps) - stored - (len(report.rejected) - refused)
        if progress is not None:
            progress(n_rows)

    if workers <= 1:
        line = 2  # line 1 is the header
        for rows in iter_rows(source, batch_size):
            lines: list[int] = []
            store_batch(normalise_rows(rows, normaliser, line, report, lines), lines, len(rows))
            line += len(rows)
    else:
        context = multiprocessing.get_context("fork")
        pool: Executor = ProcessPoolExecutor(workers, context, initializer=_start_worker, initargs=(normaliser,))
        try:
            pending = []
            line = 2
            for rows in iter_rows(source, batch_size):
                pending.append((pool.submit(_normalise_batch, rows, line), len(rows)))
                line += len(rows)
                while len(pending) > workers * 2:
                    future, n_rows = pending.pop(0)
                    apps, app_lines, part = future.result()
                    report.rejected.extend(part.rejected)
                    store_batch(apps, app_lines, n_rows)
            for future, n_rows in pending:
                apps, app_lines, part = future.result()
                report.rejected.extend(part.rejected)
                store_batch(apps, app_lines, n_rows)
        except BaseException:
            # Interrupted or refused: drop the queued batches, let the workers exit.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    report.seconds = time.perf_counter() - started
    return report


def load_bad_actors(store: GraphStore, normaliser: Normaliser, path: Path, actor: str = "import") -> int:
    """Label every row of a ``kind,value`` file as confirmed fraud; return how many."""
    if path.is_dir():
        path = path / "bad_actors.csv"
    if not path.exists():
        return 0
    now = time.time()
    count = 0
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            kind, value = (row.get("kind") or "").strip(), (row.get("value") or "").strip()
            if not kind or not value:
                continue
            node = normaliser.node_for(kind, value)
            store.set_label(Label(node, "confirmed_fraud", actor, now, f"listed in {path.name}"))
            count += 1
    if count:
        store.append_audit(now, actor, "import:bad_actors", str(path.name), {"labels": count})
    return count
