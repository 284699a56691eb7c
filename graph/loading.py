"""Bulk loading of flat application files (CSV or Parquet) and bad-actor lists.

Rows are validated and normalised in batches; a row that fails names its
field in the rejects list and never reaches the store, so a load is never
half-written row by row. Every batch is one store transaction: it lands whole
or not at all (an application id already stored for another applicant is found
by reading the store, then the rest of its batch is written in one go).

A load never stops for a bad row: a cell that fails the input rules (a huge
integer, a time out of range), bytes that are not UTF-8, a row with more fields
than the header, or anything else that cannot be read is a reject naming its
line and field, and the load goes on. What stops a load is what it cannot run
without: a missing or unreadable file, a header that is not UTF-8, a store that
does not answer (:class:`graph.errors.InvalidInput`, ``StoreUnavailable``); the
rejects found until then are in the report passed in.

Preparing a row (validation, normalisation, hashing) is the costly part of a
load, so it takes the cheap road whenever it can and gives what the plain road
gives (``normaliser.application(from_flat(row))``; tests/test_loading_equivalence.py):
rows are checked flat (graph.records.FlatLayout) and anything else goes the
nested way; CSV files are parsed in the worker processes, piece by piece.
"""

from __future__ import annotations

import bisect
import csv
import gc
import io
import multiprocessing
import os
import re
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from graph.errors import Conflict, InvalidInput
from graph.memory import collector_paused
from graph.normalise import ApplicationFields, NormalisedApplication, Normaliser, application_of
from graph.records import FlatLayout, flat_layout, from_flat
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


def _parquet(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput("path", f"{path} is not a readable Parquet file ({exc})") from exc


def count_rows(path: Path) -> int:
    if path.suffix == ".parquet":
        return int(_parquet(path).metadata.num_rows)
    lines, last = 0, b"\n"
    with path.open("rb") as fh:
        while block := fh.read(_PIECE_BYTES):
            lines += block.count(b"\n")
            last = block[-1:]
    return max(0, lines + (last != b"\n") - 1)


def iter_rows(path: Path, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    """Flat rows in batches; every cell is read as text (phone numbers keep their zeros).

    A CSV row shorter than the header is padded with empty cells (missing values);
    one longer than the header, or with bytes that are not UTF-8, stops the read with
    the line named (:func:`load_applications` rejects such rows and reads on). Blank
    lines are skipped.
    """
    if path.suffix == ".parquet":
        try:
            for record_batch in _parquet(path).iter_batches(batch_size=batch_size):
                yield record_batch.to_pylist()
        except pa.ArrowException as exc:
            raise InvalidInput("path", f"{path} is not a readable Parquet file ({exc})") from exc
        return
    line = 2
    with path.open("rb") as raw:
        for header, cells, too_long in _csv_cell_batches(raw, batch_size):
            for offset, row in enumerate(cells):
                if _bad_bytes(row):
                    reject = _row_reject(header, row)
                    raise InvalidInput(f"line {line + offset}", f"{reject['field']}: {reject['error']}")
            if too_long is not None:
                raise _too_long(too_long, header)
            line += len(cells)
            yield [dict(zip(header, row, strict=True)) for row in cells]


def _csv_cell_batches(
    raw: BinaryIO, batch_size: int, header: list[str] | None = None, lines_before: int = 0, stop_at_long: bool = True
) -> Iterator[tuple[list[str], list[list[str]], tuple[int, int] | None]]:
    """CSV rows (cells padded to the header's width) in batches, read in order from
    where ``raw`` stands: the header first unless it is given. With ``stop_at_long``,
    the third item of the last batch names a row longer than the header, (line,
    fields), and the read stops there; without, such a row is in its batch as it is.
    Bytes that are not UTF-8 are read as lone surrogates (``surrogateescape``: see
    :func:`_bad_bytes`); a header with such bytes is refused."""
    fh = io.TextIOWrapper(
        raw, encoding="utf-8-sig" if header is None else "utf-8", errors="surrogateescape", newline=""
    )
    try:
        reader = csv.reader(fh)
        if header is None:
            header = next(reader, None)
            if not header:
                return
            if _bad_bytes(header):
                raise InvalidInput("header", f"is not UTF-8 text ({_row_reject(header, header)['error']})")
        width = len(header)
        batch: list[list[str]] = []
        for cells in reader:
            if len(cells) != width:
                if not cells:
                    continue
                if len(cells) > width:
                    if not stop_at_long:
                        batch.append(cells)
                        if len(batch) == batch_size:
                            yield header, batch, None
                            batch = []
                        continue
                    yield header, batch, (lines_before + reader.line_num, len(cells))
                    return
                cells += [""] * (width - len(cells))
            batch.append(cells)
            if len(batch) == batch_size:
                yield header, batch, None
                batch = []
        if batch:
            yield header, batch, None
    finally:
        fh.detach()  # the caller closes the file


def _too_long(where: tuple[int, int], header: list[str]) -> InvalidInput:
    line, cells = where
    return InvalidInput(f"line {line}", f"has {cells} fields but the header has {len(header)}")


_SURROGATE = re.compile("[\udc80-\udcff]")


def _bad_bytes(cells: list[str]) -> bool:
    """Whether a row read with ``surrogateescape`` held bytes that are not UTF-8."""
    return any(not cell.isascii() and _SURROGATE.search(cell) is not None for cell in cells)


def _row_reject(header: list[str], cells: list[str]) -> dict[str, Any]:
    """The reject of a row that cannot be checked at all: bytes that are not UTF-8 (named
    by their column and first byte), or more fields than the header."""
    app_id = _cell_id(header, cells)
    if app_id is not None and _bad_bytes([app_id]):
        app_id = None
    for column, cell in enumerate(cells):
        found = None if cell.isascii() else _SURROGATE.search(cell)
        if found is not None:
            field = header[column] if column < len(header) else "row"
            byte = ord(found.group()) - 0xDC00
            return {"application_id": app_id, "field": field, "error": f"not UTF-8 text (byte 0x{byte:02x})"}
    return {
        "application_id": app_id,
        "field": "row",
        "error": f"has {len(cells)} fields but the header has {len(header)}",
    }


def _unreadable(exc: Exception) -> str:
    # A row the checks did not foresee is still a reject, never the end of the load.
    return f"could not be read ({type(exc).__name__}: {exc})"


def _row_fields(row: dict[str, Any], values: dict[str, Any] | None, normaliser: Normaliser) -> ApplicationFields:
    """One row's application (as plain values): checked flat when it plainly is a valid
    record (``values``), else (and for the exact error) through :func:`from_flat`."""
    if values is not None:
        try:
            return normaliser.flat_fields(values)
        except InvalidInput:
            pass
    return normaliser.record_fields(from_flat(row))


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
    layout: FlatLayout | None = None
    layout_keys: Any = None
    for offset, row in enumerate(rows):
        if layout is None or row.keys() != layout_keys:  # rows of one file share their columns
            layout, layout_keys = flat_layout(row), row.keys()
        try:
            out.append(application_of(_row_fields(row, layout.values(row), normaliser)))
            if lines is not None:
                lines.append(first_line + offset)
        except InvalidInput as exc:
            report.rejected.append(
                {
                    "line": first_line + offset,
                    "application_id": row.get("application_id"),
                    "field": exc.field,
                    "error": exc.message,
                }
            )
        except Exception as exc:
            report.rejected.append(
                {
                    "line": first_line + offset,
                    "application_id": row.get("application_id"),
                    "field": "row",
                    "error": _unreadable(exc),
                }
            )
    return out


# -- preparing in worker processes ---------------------------------------------------
#
# A worker gets a piece of the CSV file as bytes (cut by the parent at a line end
# outside quotes: about a megabyte, a few thousand rows), parses, checks and
# normalises it, and sends back the applications as plain tuples. The parent only
# cuts, rebuilds the applications and writes batches (of batch_size rows, as one
# sequential read makes them), so the cores go to the rows. A piece that does not
# parse on its own (quotes the cut got wrong: a stray quote in an unquoted field)
# is read again in order from its start by the parent, as one sequential read would.

_PIECE_BYTES = 1 << 20
_MAX_CARRY = 64 << 20  # a "row" this long means the quotes do not pair: read in order from there


@dataclass
class _Prepared:
    """What was made of a run of rows: applications (as plain values) with their row
    (0-based in the run), and rejects with theirs."""

    rows: int = 0
    apps: list[ApplicationFields] = field(default_factory=list)
    app_rows: list[int] = field(default_factory=list)
    rejects: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    unsure: bool = False  # the piece did not parse on its own: nothing of it counts


def _prepare_cells(
    header: list[str], batch: Iterable[list[str]], normaliser: Normaliser, done: _Prepared, check_bytes: bool = False
) -> None:
    """Prepare CSV rows (text cells, padded to the header's width). ``check_bytes``: the
    text was read with ``surrogateescape``, so a row may hold bytes that are not UTF-8."""
    layout = flat_layout(header)
    width = len(header)
    index = done.rows
    apps, app_rows, rejects = done.apps, done.app_rows, done.rejects
    flat_fields = normaliser.flat_fields
    for cells in batch:
        if len(cells) != width or (check_bytes and _bad_bytes(cells)):
            rejects.append((index, _row_reject(header, cells)))
            index += 1
            continue
        try:
            values = layout.cell_values(cells)
            if values is not None:
                try:
                    apps.append(flat_fields(values))
                    app_rows.append(index)
                    index += 1
                    continue
                except InvalidInput:
                    pass
            row = dict(zip(header, cells, strict=True))
            apps.append(normaliser.record_fields(from_flat(row)))
            app_rows.append(index)
        except InvalidInput as exc:
            rejects.append(
                (index, {"application_id": _cell_id(header, cells), "field": exc.field, "error": exc.message})
            )
        except Exception as exc:
            rejects.append(
                (index, {"application_id": _cell_id(header, cells), "field": "row", "error": _unreadable(exc)})
            )
        index += 1
    done.rows = index


def _cell_id(header: list[str], cells: list[str]) -> str | None:
    """The application id cell of a row, as a dict of the row would give it."""
    found = None
    for column, cell in zip(header, cells, strict=False):
        if column == "application_id":
            found = cell  # the last of repeated names, as dict(zip(...)) keeps
    return found


def _prepare_rows(rows: list[dict[str, Any]], normaliser: Normaliser) -> _Prepared:
    done = _Prepared(rows=len(rows))
    layout: FlatLayout | None = None
    layout_keys: Any = None
    for index, row in enumerate(rows):
        if layout is None or row.keys() != layout_keys:
            layout, layout_keys = flat_layout(row), row.keys()
        try:
            done.apps.append(_row_fields(row, layout.values(row), normaliser))
            done.app_rows.append(index)
        except InvalidInput as exc:
            done.rejects.append(
                (index, {"application_id": row.get("application_id"), "field": exc.field, "error": exc.message})
            )
        except Exception as exc:
            done.rejects.append(
                (index, {"application_id": row.get("application_id"), "field": "row", "error": _unreadable(exc)})
            )
    return done


def _prepare_piece(data: bytes, header: list[str], lines_before: int, normaliser: Normaliser) -> _Prepared:
    """Parse and prepare one piece of a CSV file (whole lines, starting at a row).

    Bytes that are not UTF-8 are rejected row by row (a cut at a line end never splits
    a character). A row longer than the header may be a cut the quotes misled as well
    as a bad row: the piece is read again in order, where such a row is a reject."""
    done = _Prepared()
    try:
        text, check_bytes = data.decode("utf-8"), False
    except UnicodeDecodeError:
        text, check_bytes = data.decode("utf-8", "surrogateescape"), True
    # strict: a piece that ends inside quotes (a cut the quotes misled) fails here
    # instead of being read as a short last row.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    width = len(header)
    too_long = False

    def rows() -> Iterator[list[str]]:
        nonlocal too_long
        for cells in reader:
            if len(cells) != width:
                if not cells:
                    continue
                if len(cells) > width:
                    too_long = True
                    return
                cells += [""] * (width - len(cells))
            yield cells

    try:
        _prepare_cells(header, rows(), normaliser, done, check_bytes)
    except csv.Error:
        return _Prepared(unsure=True)
    return _Prepared(unsure=True) if too_long else done


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


def _piece_task(data: bytes, header: list[str], lines_before: int) -> _Prepared:
    assert _worker_normaliser is not None
    return _prepare_piece(data, header, lines_before, _worker_normaliser)


def _cells_task(header: list[str], batch: list[list[str]]) -> _Prepared:
    assert _worker_normaliser is not None
    done = _Prepared()
    _prepare_cells(header, batch, _worker_normaliser, done, check_bytes=True)
    return done


def _rows_task(rows: list[dict[str, Any]]) -> _Prepared:
    assert _worker_normaliser is not None
    return _prepare_rows(rows, _worker_normaliser)


@dataclass
class _Piece:
    """A piece of the file handed out: where it starts (for a re-read) and what it holds."""

    offset: int
    lines_before: int
    header: list[str]
    data: bytes = b""
    cells: list[list[str]] | None = None  # read in order (surrogateescape): rows to check for bad bytes
    rows: list[dict[str, Any]] | None = None


class _Source:
    """The pieces of an applications file in order: byte pieces of a CSV cut at row ends
    (quote parity), batches of rows once the file must be read in order (Parquet, a
    piece that did not parse on its own, quotes that never pair)."""

    def __init__(self, path: Path, batch_size: int, pieces: bool) -> None:
        self.path = path
        self.batch_size = batch_size
        self.pieces = pieces and path.suffix != ".parquet"
        self._restart: _Piece | None = None

    def restart_at(self, piece: _Piece) -> None:
        """Read in order from ``piece`` on (the pieces already handed out after it are void)."""
        self._restart = piece

    def __iter__(self) -> Iterator[_Piece]:
        if self.path.suffix == ".parquet":
            for rows in iter_rows(self.path, self.batch_size):
                yield _Piece(0, 0, [], rows=rows)
            return
        with self.path.open("rb") as raw:
            if self._restart is None:
                if self.pieces:
                    yield from self._cut(raw)
                else:
                    self._restart = _Piece(0, 0, [])
            if self._restart is not None:
                piece, self._restart = self._restart, None
                raw.seek(piece.offset)
                yield from self._in_order(raw, piece.header or None, piece.lines_before, piece.offset)

    def _in_order(self, raw: BinaryIO, header: list[str] | None, lines_before: int, offset: int) -> Iterator[_Piece]:
        for head, cells, _ in _csv_cell_batches(raw, self.batch_size, header, lines_before, stop_at_long=False):
            yield _Piece(offset, lines_before, head, cells=cells)

    def _cut(self, raw: BinaryIO) -> Iterator[_Piece]:
        buf = b""
        offset = 0
        header: list[str] | None = None
        lines = 0
        while self._restart is None:
            block = raw.read(_PIECE_BYTES)
            buf += block
            end = _first_row_end(buf) if header is None else _last_row_end(buf)
            if end < 0 and block and len(buf) < _MAX_CARRY:
                continue
            if end < 0:  # the end of the file, or quotes that never pair
                if not block and header is not None:
                    end = len(buf)
                else:
                    self._restart = _Piece(offset, lines, header or [])
                    return
            piece, buf = buf[:end], buf[end:]
            if header is None:
                rows = _parse_header(piece)
                if rows is None:
                    self._restart = _Piece(0, 0, [])
                    return
                if not rows:
                    return
                header = rows
            elif piece:
                yield _Piece(offset, lines, header, data=piece)
            offset += len(piece)
            lines += _line_ends(piece)
            if not block and not buf:
                return


def _line_ends(piece: bytes) -> int:
    """Line ends in a piece as the CSV reader counts lines (\\n, \\r\\n or a lone \\r)."""
    ends = piece.count(b"\n")
    if b"\r" in piece:
        ends += piece.count(b"\r") - piece.count(b"\r\n")
    return ends


def _parse_header(piece: bytes) -> list[str] | None:
    """The header row of the file's first piece ([] for none); None if it does not read
    as one row (read the file in order instead)."""
    try:
        rows = list(csv.reader(io.StringIO(piece.decode("utf-8-sig"), newline=""), strict=True))
    except (csv.Error, UnicodeDecodeError):
        return None
    if len(rows) > 1:
        return None
    return rows[0] if rows else []


def _first_row_end(buf: bytes) -> int:
    """Just past the first line end with an even number of quotes before it; -1 if none."""
    pos, quotes = buf.find(b"\n"), 0
    start = 0
    while pos >= 0:
        quotes += buf.count(b'"', start, pos)
        if quotes % 2 == 0:
            return pos + 1
        start = pos
        pos = buf.find(b"\n", pos + 1)
    return -1


def _last_row_end(buf: bytes) -> int:
    """Just past the last line end with an even number of quotes before it (outside
    quotes, if the quotes pair as CSV pairs them); -1 if none among the last lines."""
    quotes = buf.count(b'"')
    end = len(buf)
    pos = buf.rfind(b"\n")
    for _ in range(256):
        if pos < 0:
            break
        quotes -= buf.count(b'"', pos, end)
        if quotes % 2 == 0:
            return pos + 1
        end = pos
        pos = buf.rfind(b"\n", 0, pos)
    return -1


class _Inline:
    """Runs a task at once, in the loading process (``workers <= 1``)."""

    def __init__(self, normaliser: Normaliser) -> None:
        self.normaliser = normaliser

    def submit(self, piece: _Piece) -> Future[_Prepared]:
        future: Future[_Prepared] = Future()
        if piece.rows is not None:
            done = _prepare_rows(piece.rows, self.normaliser)
        elif piece.cells is not None:
            done = _Prepared()
            _prepare_cells(piece.header, piece.cells, self.normaliser, done, check_bytes=True)
        else:
            done = _prepare_piece(piece.data, piece.header, piece.lines_before, self.normaliser)
        future.set_result(done)
        return future


class _Pool:
    def __init__(self, normaliser: Normaliser, workers: int) -> None:
        context = multiprocessing.get_context("fork")
        self.executor = ProcessPoolExecutor(workers, context, initializer=_start_worker, initargs=(normaliser,))

    def submit(self, piece: _Piece) -> Future[_Prepared]:
        if piece.rows is not None:
            return self.executor.submit(_rows_task, piece.rows)
        if piece.cells is not None:
            return self.executor.submit(_cells_task, piece.header, piece.cells)
        return self.executor.submit(_piece_task, piece.data, piece.header, piece.lines_before)


class _Batches:
    """Prepared rows in file order, written ``batch_size`` rows at a time: the batches
    one sequential read makes, each with its rows' rejects before the store's."""

    def __init__(
        self, batch_size: int, write: Callable[[list[NormalisedApplication], list[int], int], None], report: LoadReport
    ) -> None:
        self.batch_size = batch_size
        self.write = write
        self.report = report
        self.first = 0  # row index (0-based, data rows) of the open batch's first row
        self.rows = 0  # rows in the open batch
        self.apps: list[NormalisedApplication] = []
        self.lines: list[int] = []
        self.rejects: list[dict[str, Any]] = []

    def add(self, done: _Prepared, apps: list[NormalisedApplication]) -> None:
        base = self.first + self.rows  # row index of the run's first row
        line = base + 2  # line 1 is the header
        a = r = 0
        start = 0
        while start < done.rows:
            take = min(self.batch_size - self.rows, done.rows - start)
            stop = start + take
            end = bisect.bisect_left(done.app_rows, stop, a)
            self.apps += apps[a:end]
            self.lines += [line + row for row in done.app_rows[a:end]]
            a = end
            while r < len(done.rejects) and done.rejects[r][0] < stop:
                index, reject = done.rejects[r]
                self.rejects.append({"line": base + index + 2, **reject})
                r += 1
            self.rows += take
            start = stop
            if self.rows == self.batch_size:
                self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        self.report.rejected.extend(self.rejects)
        self.write(self.apps, self.lines, self.rows)
        self.first += self.rows
        self.rows = 0
        self.apps, self.lines, self.rejects = [], [], []


def _store_or_reject(
    store: ApplicationSink, apps: list[NormalisedApplication], lines: list[int], report: LoadReport
) -> int:
    """Store a batch in one transaction; an application id already stored for another
    applicant is rejected by line, and the rest of the batch is stored.

    Every store checks a batch whole before writing any of it, so a refused batch wrote
    nothing. A store that reads applications back names the clashing rows by reading
    their ids; the rest is then written in one transaction, so the batch lands whole or
    not at all. A sink that cannot be read (an import set, which is rewritten whole if
    its load stops) is searched by halving the batch instead.
    """
    try:
        return store.upsert(apps)
    except Conflict as exc:
        if len(apps) == 1:
            _clash(report, lines[0], apps[0], str(exc))
            return 0
        clashing = _clashes(store, apps)
        if clashing:
            kept = [i for i in range(len(apps)) if i not in clashing]
            try:
                stored = store.upsert([apps[i] for i in kept]) if kept else 0
            except Conflict:
                pass  # another writer stored one of these meanwhile: search by halves
            else:
                for i in sorted(clashing):
                    _clash(report, lines[i], apps[i], _CLASH.format(apps[i].application_id))
                return stored
        half = len(apps) // 2
        return _store_or_reject(store, apps[:half], lines[:half], report) + _store_or_reject(
            store, apps[half:], lines[half:], report
        )


_CLASH = "application {!r} is already stored for another applicant"


def _clash(report: LoadReport, line: int, app: NormalisedApplication, error: str) -> None:
    report.rejected.append(
        {"line": line, "application_id": app.application_id, "field": "application_id", "error": error}
    )


def _clashes(store: ApplicationSink, apps: list[NormalisedApplication]) -> set[int] | None:
    """The rows of a refused batch whose id belongs to another applicant (in the store, or
    earlier in the batch: the first send of an id owns it); None if the sink cannot be read."""
    read: Callable[[str], NormalisedApplication | None] | None = getattr(store, "application", None)
    if read is None:
        return None
    owners: dict[str, str] = {}
    out: set[int] = set()
    for i, app in enumerate(apps):
        owner = owners.get(app.application_id)
        if owner is None:
            stored = read(app.application_id)
            owner = owners[app.application_id] = stored.applicant_key if stored is not None else app.applicant_key
        if owner != app.applicant_key:
            out.add(i)
    return out


def load_applications(
    store: ApplicationSink,
    normaliser: Normaliser,
    path: Path,
    batch_size: int = 5000,
    progress: Progress | None = None,
    workers: int | None = None,
    report: LoadReport | None = None,
) -> LoadReport:
    """Load a CSV or Parquet file of applications into the store.

    Validation and normalisation (the costly part: phone, e-mail and employer
    parsing, hashing) run in ``workers`` processes (default: one per core; CSV
    parsing too) while the parent writes batches of ``batch_size`` rows in file
    order. Bad rows are rejects in the report, never an exception. ``report``, if
    given, is filled as the load goes: when the load stops (the store fails, the
    process is interrupted) it holds the batches written and their rejects.
    """
    source = applications_file(path)
    with collector_paused(freeze=True):
        return _load(store, normaliser, source, batch_size, progress, workers, report or LoadReport())


def _load(
    store: ApplicationSink,
    normaliser: Normaliser,
    source: Path,
    batch_size: int,
    progress: Progress | None,
    workers: int | None,
    report: LoadReport,
) -> LoadReport:
    started = time.perf_counter()
    workers = workers if workers is not None else min(4, os.cpu_count() or 1)

    def write(apps: list[NormalisedApplication], lines: list[int], n_rows: int) -> None:
        refused = len(report.rejected)
        stored = _store_or_reject(store, apps, lines, report)
        report.rows += n_rows
        report.stored += stored
        report.duplicates += len(apps) - stored - (len(report.rejected) - refused)
        if progress is not None:
            progress(n_rows)

    batches = _Batches(batch_size, write, report)
    pieces = _Source(source, batch_size, pieces=True)
    runner: _Inline | _Pool = _Inline(normaliser) if workers <= 1 else _Pool(normaliser, workers)
    depth = 0 if workers <= 1 else workers * 2
    pending: deque[tuple[Future[_Prepared], _Piece]] = deque()

    def take(future: Future[_Prepared], piece: _Piece) -> bool:
        """Add one piece's rows in order; False if it must be read again in order."""
        done = future.result()
        if done.unsure:
            pieces.restart_at(piece)
            return False
        batches.add(done, list(map(application_of, done.apps)))
        return True

    try:
        handed_out = iter(pieces)
        while True:
            piece = next(handed_out, None)
            if piece is not None:
                pending.append((runner.submit(piece), piece))
                if len(pending) <= depth:
                    continue
            elif not pending:
                break
            if not take(*pending.popleft()):
                # What was handed out after that piece is void; the source reads on
                # in order from the piece's start.
                for future, _ in pending:
                    future.cancel()
                pending.clear()
                handed_out.close()  # type: ignore[attr-defined]
                handed_out = iter(pieces)
        batches.flush()
    except BaseException:
        # Interrupted or refused: drop the queued pieces, let the workers exit.
        report.seconds = time.perf_counter() - started
        if isinstance(runner, _Pool):
            runner.executor.shutdown(wait=True, cancel_futures=True)
        raise
    if isinstance(runner, _Pool):
        runner.executor.shutdown(wait=True)
    report.seconds = time.perf_counter() - started
    return report


def load_bad_actors(
    store: GraphStore,
    normaliser: Normaliser,
    path: Path,
    actor: str = "import",
    rejected: list[dict[str, Any]] | None = None,
) -> int:
    """Label every row of a ``kind,value`` file as confirmed fraud; return how many.

    A row whose kind is unknown or whose value does not normalise (or is not UTF-8) is
    skipped; with ``rejected`` given, it is added there by line and field, with the
    file's name (``"file": "bad_actors.csv"``)."""
    if path.is_dir():
        path = path / "bad_actors.csv"
    if not path.exists():
        return 0
    now = time.time()
    count = 0
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            kind, value = str(row.get("kind") or "").strip(), str(row.get("value") or "").strip()
            if not kind or not value:
                continue
            try:
                if _bad_bytes([kind, value]):
                    raise InvalidInput("kind" if _bad_bytes([kind]) else "value", "not UTF-8 text")
                node = normaliser.node_for(kind, value)
            except InvalidInput as exc:
                if rejected is not None:
                    field_name = "kind" if exc.field == "kind" else "value"
                    rejected.append({"file": path.name, "line": line, "field": field_name, "error": exc.message})
                continue
            store.set_label(Label(node, "confirmed_fraud", actor, now, f"listed in {path.name}"))
            count += 1
    if count:
        store.append_audit(now, actor, "import:bad_actors", str(path.name), {"labels": count})
    return count
