"""Loading applications into Neo4j: the offline initial import against transactional
loading, on private servers started by this benchmark (the Maven-built launcher).

    python bench/bench_neo4j_load.py --sizes 100000,1000000 --baseline-rows 30000

For each size: generate a population and write it as CSV (not timed), then time
the initial-load road end to end:

1. prepare: ``ringsight load --neo4j-import`` (read CSV, validate, normalise,
   hash, write the import set),
2. import: ``neo4j-admin database import full`` (from the launcher's class path),
3. start: the server on the imported database,
4. schema: the uniqueness constraints and indexes the store creates at start,
   populated over the imported graph (``db.awaitIndexes``),

and check the stored application count. The baseline, in the same run, is
transactional loading (``ringsight load`` against a running server: batched
``UNWIND``/``MERGE`` in managed transactions) of the first ``--baseline-rows``
rows of the same file into a fresh server.

The target (issue 3) is at least 10k applications/s loaded into Neo4j.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fixtures.generator import generate, write_dataset  # noqa: E402
from graph.loading import load_applications  # noqa: E402
from graph.normalise import Normaliser  # noqa: E402
from graph.store.neo4j.import_set import ImportSet  # noqa: E402
from graph.store.neo4j.store import Neo4jStore  # noqa: E402

NORMALISER = Normaliser(b"bench-key-0123456789abcdef", "CN")


sys.path.insert(0, str(ROOT / "tools"))
import neo4j_local as LOCAL  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(work: Path, copy_from: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = LOCAL.start_private(port, work / f"data-{port}", work / f"neo4j-{port}.log", copy_from, timeout=300)
    return proc, f"bolt://127.0.0.1:{port}"


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    LOCAL.stop_private(proc, grace=120)


def baseline(source: Path, rows: int, work: Path) -> float:
    """Transactional load of the first ``rows`` rows into a fresh server; rows/s."""
    head = work / "baseline.csv"
    with source.open() as src, head.open("w") as dst:
        for n, line in enumerate(src):
            if n > rows:
                break
            dst.write(line)
    proc, url = start_server(work)
    try:
        store = Neo4jStore(url, timeout=60.0)
        report = load_applications(store, NORMALISER, head, batch_size=5000)
        store.close()
    finally:
        stop_server(proc)
    print(
        f"  baseline: transactional load of {report.rows:,} rows: {report.seconds:.1f} s = {report.rate:,.0f} apps/s",
        flush=True,
    )
    return report.rate


def run(size: int, baseline_rows: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-neo4j-load-") as tmp:
        work = Path(tmp)
        data = generate(size, seed=size % 1000 + 17)
        write_dataset(data, work / "data", "csv")
        del data
        source = work / "data" / "applications.csv"
        print(f"[{size:,} apps]", flush=True)

        t0 = time.perf_counter()
        sink = ImportSet(work / "import", NORMALISER.key_fingerprint)
        report = load_applications(sink, NORMALISER, source, batch_size=5000)
        manifest = sink.close()
        t_prepare = time.perf_counter() - t0
        assert not report.rejected and manifest["applications"] == size, (report.rejected[:3], manifest)

        home = work / "home"
        t_import = LOCAL.admin_import(work / "import", home, work / "import.log")
        shutil.rmtree(work / "import")

        t0 = time.perf_counter()
        proc, url = start_server(work, copy_from=home)
        t_start = time.perf_counter() - t0
        shutil.rmtree(home)
        try:
            t0 = time.perf_counter()
            store = Neo4jStore(url, timeout=120.0)  # constraints + indexes, awaited
            t_schema = time.perf_counter() - t0
            stored = store.stats()["applications"]
            store.close()
        finally:
            stop_server(proc)
        assert stored == size, f"{stored} applications stored, expected {size}"

        total = t_prepare + t_import + t_start + t_schema
        store_side = t_import + t_start + t_schema
        print(
            f"  prepare (CSV, validate, normalise, hash, write import set): {t_prepare:6.1f} s "
            f"= {size / t_prepare:,.0f} apps/s"
        )
        print(
            f"  neo4j-admin database import full:                           {t_import:6.1f} s "
            f"= {size / t_import:,.0f} apps/s"
        )
        print(f"  server start on the imported database:                      {t_start:6.1f} s")
        print(f"  constraints and indexes populated:                          {t_schema:6.1f} s")
        print(
            f"  into Neo4j (import + start + schema):                       {store_side:6.1f} s "
            f"= {size / store_side:,.0f} apps/s"
        )
        print(
            f"  end to end from CSV:                                        {total:6.1f} s "
            f"= {size / total:,.0f} apps/s",
            flush=True,
        )
        if baseline_rows:
            rate = baseline(source, min(baseline_rows, size), work)
            print(
                f"  ratio: into Neo4j {size / store_side / rate:.1f}x, end to end {size / total / rate:.1f}x "
                "the transactional load"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated application counts")
    parser.add_argument(
        "--baseline-rows", type=int, default=30000, help="rows for the transactional baseline (0: none)"
    )
    args = parser.parse_args()
    LOCAL.build()
    for size in (int(s) for s in args.sizes.split(",")):
        run(size, args.baseline_rows)


if __name__ == "__main__":
    main()
