"""Loads never crash (issue 11): every bad row of a CSV file (a huge integer, a byte that
is not UTF-8, a row longer than its header, a field the input rules refuse) is a reject
naming its line and field while the rest loads; a batch lands whole or not at all; and
``ringsight load`` exits 0 when every row is stored, 3 when rows were rejected, 2 when it
could not run, with the rejects file written in every case. Embedded store only."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import graph.loading as loading
from api.cli.app import app
from graph.errors import Conflict, StoreUnavailable
from graph.loading import LoadReport, load_applications, load_bad_actors
from graph.normalise import NormalisedApplication, Normaliser
from graph.store.embedded.store import EmbeddedStore

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent
KEY = b"load-rejects-key-0123456789"
HEADER = [
    "application_id",
    "submitted_at",
    "applicant.national_id",
    "phone",
    "amount",
    "behaviour.field_edits",
    "product",
]
WHEN = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")


def good(i: int) -> list[str]:
    return [f"APP-{i:05d}", WHEN, f"1101011990{i:08d}", f"138{i:08d}", "1500", "2", "cash_loan"]


def text_of(rows: Sequence[Sequence[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([HEADER, *rows])
    return out.getvalue().encode()


# Each bad row replaces good row i (data row i is on line i + 2) and must be rejected on this field.
BAD_ROWS: dict[int, tuple[bytes | None, list[str] | None, str]] = {
    3: (None, [*good(3)[:5], "99999999999999999999", "cash_loan"], "behaviour.field_edits"),  # past 64 bits
    10: (None, [*good(10)[:4], "1e400", "2", "cash_loan"], "amount"),  # infinite
    17: (b"APP-00017,%s,110101199000000017,13800000017,1500,2,cash\xffloan" % WHEN.encode(), None, "product"),
    25: (b"APP-00025,%s,1101011990\xc3(00025,13800000025,1500,2,cash" % WHEN.encode(), None, "applicant.national_id"),
    33: (None, [*good(33), "one too many"], "row"),
    41: (None, [good(41)[0], "0001-01-01T00:00:00+01:00", *good(41)[2:]], "submitted_at"),
    48: (None, [*good(48)[:3], "not a phone", *good(48)[4:]], "phone"),
    52: (b"\xfe\xffAPP-52,%s,110101199000000052,13800000052,1500,2,cash" % WHEN.encode(), None, "application_id"),
}
N_ROWS = 60


def bad_file(path: Path, n: int = N_ROWS) -> Path:
    lines = text_of([good(i) for i in range(n)]).split(b"\n")
    for i, (raw, cells, _) in BAD_ROWS.items():
        lines[i + 1] = raw if raw is not None else text_of([cells or []]).split(b"\n")[1]
    path.write_bytes(b"\n".join(lines))
    return path


def expected_rejects() -> list[tuple[int, str]]:
    return [(i + 2, field) for i, (_, _, field) in sorted(BAD_ROWS.items())]


class Counting:
    """A store seam that counts the writes it is asked for, and can fail the n-th."""

    def __init__(self, store: EmbeddedStore, fail_at: int | None = None) -> None:
        self.store = store
        self.fail_at = fail_at
        self.calls: list[int] = []

    def upsert(self, applications: Sequence[NormalisedApplication]) -> int:
        self.calls.append(len(applications))
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise StoreUnavailable("the store stopped answering")
        return self.store.upsert(applications)

    def application(self, application_id: str) -> NormalisedApplication | None:
        return self.store.application(application_id)


@pytest.fixture()
def store() -> EmbeddedStore:
    return EmbeddedStore("memory://")


@pytest.mark.parametrize("piece_bytes", [1 << 20, 700], ids=["one-piece", "many-pieces"])
@pytest.mark.parametrize("workers", [1, 2])
def test_every_bad_row_is_a_reject_by_line_and_field(
    tmp_path: Path, store: EmbeddedStore, workers: int, piece_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loading, "_PIECE_BYTES", piece_bytes)
    path = bad_file(tmp_path / "applications.csv")
    report = load_applications(store, Normaliser(KEY), path, batch_size=16, workers=workers)
    assert [(r["line"], r["field"]) for r in report.rejected] == expected_rejects()
    assert report.rows == N_ROWS and report.stored == N_ROWS - len(BAD_ROWS)
    assert store.stats()["applications"] == N_ROWS - len(BAD_ROWS)
    by_line = {r["line"]: r for r in report.rejected}
    assert by_line[19]["error"] == "not UTF-8 text (byte 0xff)" and by_line[19]["application_id"] == "APP-00017"
    assert by_line[35]["error"] == "has 8 fields but the header has 7"
    assert by_line[54]["application_id"] is None  # its id cell is the one with the bad bytes
    assert store.application("APP-00016") is not None and store.application("APP-00017") is None


def test_bad_rows_after_quotes_that_do_not_pair_are_rejects_too(tmp_path: Path, store: EmbeddedStore) -> None:
    """A stray quote sends the rest of the file to the in-order read: its rows are checked alike."""
    path = bad_file(tmp_path / "applications.csv")
    path.write_bytes(path.read_bytes().replace(b"APP-00001,", b'APP-00001",', 1))
    report = load_applications(store, Normaliser(KEY), path, batch_size=16, workers=2)
    assert [(r["line"], r["field"]) for r in report.rejected] == [(3, "application_id"), *expected_rejects()]


def test_a_batch_lands_whole_or_not_at_all(tmp_path: Path, store: EmbeddedStore) -> None:
    path = bad_file(tmp_path / "applications.csv")
    sink = Counting(store, fail_at=3)
    report = LoadReport()
    with pytest.raises(StoreUnavailable):
        load_applications(sink, Normaliser(KEY), path, batch_size=16, workers=1, report=report)
    # Two batches of 16 rows landed, the third not at all; the rejects of all three are known.
    landed = [i for i in range(32) if i not in BAD_ROWS]
    assert store.stats()["applications"] == len(landed) == report.stored
    assert all(store.application(f"APP-{i:05d}") is not None for i in landed)
    assert store.application("APP-00032") is None and report.rows == 32
    assert [(r["line"], r["field"]) for r in report.rejected] == [(ln, f) for ln, f in expected_rejects() if ln < 50]


def test_an_id_of_another_applicant_is_rejected_and_the_rest_of_its_batch_is_one_write(
    tmp_path: Path, store: EmbeddedStore
) -> None:
    store.upsert([_app("APP-00005", "someone-else")])
    rows = [good(i) for i in range(40)]
    rows[20] = [rows[12][0], *good(20)[1:]]  # APP-00012 again, for another applicant, in the same batch
    path = tmp_path / "applications.csv"
    path.write_bytes(text_of(rows))
    sink = Counting(store)
    report = load_applications(sink, Normaliser(KEY), path, batch_size=40, workers=1)
    assert [(r["line"], r["field"]) for r in report.rejected] == [(7, "application_id"), (22, "application_id")]
    assert "already stored for another applicant" in report.rejected[0]["error"]
    assert sink.calls == [40, 38]  # refused whole, then the rest in one transaction
    assert report.stored == 38 and store.stats()["applications"] == 39


def _app(app_id: str, applicant: str) -> NormalisedApplication:
    return NormalisedApplication(app_id, datetime.now(UTC).timestamp() - 3600, applicant, "****", ())


class Unreadable:
    """A sink that cannot read back what it holds (an import set): clashes are found by halving."""

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}
        self.calls = 0

    def upsert(self, applications: Sequence[NormalisedApplication]) -> int:
        self.calls += 1
        batch: dict[str, str] = {}
        for one in applications:  # checked whole first, as every store does
            owner = self.owners.get(one.application_id) or batch.setdefault(one.application_id, one.applicant_key)
            if owner != one.applicant_key:
                raise Conflict(f"application {one.application_id!r} is already stored for another applicant")
        fresh = [a for a in batch if a not in self.owners]
        self.owners.update(batch)
        return len(fresh)


def test_a_sink_that_cannot_be_read_is_searched_by_halves(tmp_path: Path) -> None:
    rows = [good(i) for i in range(16)]
    rows[9] = [rows[2][0], *good(9)[1:]]
    path = tmp_path / "applications.csv"
    path.write_bytes(text_of(rows))
    sink = Unreadable()
    report = load_applications(sink, Normaliser(KEY), path, batch_size=16, workers=1)
    assert [(r["line"], r["field"]) for r in report.rejected] == [(11, "application_id")]
    assert len(sink.owners) == 15 and sink.calls > 2


def test_bad_actor_rows_are_rejects(tmp_path: Path, store: EmbeddedStore) -> None:
    path = tmp_path / "bad_actors.csv"
    path.write_bytes(
        b"kind,value\nphone,13800000001\nplanet,mars\nphone,not a phone\n"
        b"device,dfp-\xff\nnational_id,110101199000000002\n"
    )
    rejected: list[dict[str, Any]] = []
    assert load_bad_actors(store, Normaliser(KEY), path, rejected=rejected) == 2
    assert [(r["file"], r["line"], r["field"]) for r in rejected] == [
        ("bad_actors.csv", 3, "kind"),
        ("bad_actors.csv", 4, "value"),
        ("bad_actors.csv", 5, "value"),
    ]


# -- the command ----------------------------------------------------------------------------


def _load(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, ["load", *args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.output


def _rejects(path: Path) -> list[tuple[int, str]]:
    return [(r["line"], r["field"]) for r in map(json.loads, path.read_text().splitlines())]


def test_the_command_exits_3_with_every_reject_written(tmp_path: Path, cli_db: str) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    bad_file(folder / "applications.csv")
    (folder / "bad_actors.csv").write_text("kind,value\nphone,13800000001\nplanet,mars\n")
    rejects = tmp_path / "rejects.jsonl"
    code, output = _load(str(folder), "--rejects", str(rejects), "--batch-size", "16")
    assert code == 3, output
    assert "Traceback" not in output and f"{N_ROWS - len(BAD_ROWS)} stored" in output
    assert _rejects(rejects) == [*expected_rejects(), (3, "kind")]
    assert json.loads(rejects.read_text().splitlines()[-1])["file"] == "bad_actors.csv"
    code, output = _load(str(folder), "--bad-actors-only")
    assert code == 3 and "bad_actors.csv line 3: kind" in output, output


def test_a_clean_load_exits_0_and_leaves_an_empty_rejects_file(tmp_path: Path, cli_db: str) -> None:
    path = tmp_path / "clean.csv"
    path.write_bytes(text_of([good(i) for i in range(20)]))
    rejects = tmp_path / "rejects.jsonl"
    rejects.write_text('{"line": 9, "field": "from an earlier run"}\n')
    code, output = _load(str(path), "--rejects", str(rejects))
    assert code == 0, output
    assert rejects.read_text() == ""


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing", "does not exist"),
        (lambda d: _write(d / "applications.csv", b"application_id,submit\xffted_at\nAPP-1,x\n"), "header"),
        (lambda d: _write(d / "applications.parquet", b"PAR1 not really"), "not a readable Parquet file"),
        (lambda d: _folder(d / "empty"), "holds neither"),
    ],
    ids=["missing", "header-not-utf-8", "broken-parquet", "empty-folder"],
)
def test_a_load_that_cannot_run_exits_2_in_one_line(tmp_path: Path, cli_db: str, make: Any, message: str) -> None:
    code, output = _load(str(make(tmp_path)))
    assert code == 2, output
    assert message in output and "Traceback" not in output


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def test_a_store_held_by_another_process_is_could_not_run(tmp_path: Path, cli_db: str) -> None:
    path = tmp_path / "clean.csv"
    path.write_bytes(text_of([good(i) for i in range(5)]))
    hold = (
        "import sys; from graph.store.embedded.store import EmbeddedStore; "
        "s = EmbeddedStore(sys.argv[1]); print('held', flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, cli_db], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code, output = _load(str(path))
    finally:
        holder.communicate("", timeout=30)
    assert code == 2 and "another process" in output and "Traceback" not in output, output


def test_a_store_failing_mid_load_exits_2_with_the_landed_batches_rejects(
    tmp_path: Path, cli_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = bad_file(tmp_path / "applications.csv")
    real = EmbeddedStore.upsert
    calls: list[int] = []

    def failing(self: EmbeddedStore, applications: Sequence[NormalisedApplication]) -> int:
        calls.append(len(applications))
        if len(calls) == 3:
            raise StoreUnavailable("the disk went away")
        return real(self, applications)

    monkeypatch.setattr(EmbeddedStore, "upsert", failing)
    monkeypatch.setattr(loading.os, "cpu_count", lambda: 1)  # one process: the patch is seen where writes happen
    rejects = tmp_path / "rejects.jsonl"
    code, output = _load(str(path), "--rejects", str(rejects), "--batch-size", "16")
    assert code == 2, output
    assert "the disk went away" in output and "stopped after 32 rows" in output
    assert _rejects(rejects) == [(ln, f) for ln, f in expected_rejects() if ln < 50]
    monkeypatch.setattr(EmbeddedStore, "upsert", real)
    stored = EmbeddedStore(cli_db)
    try:
        assert stored.stats()["applications"] == 32 - len([i for i in BAD_ROWS if i < 32])
    finally:
        stored.close()
