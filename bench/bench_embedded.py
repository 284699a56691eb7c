"""The embedded store at scale: open time, memory, scoring snapshot latency and ring runs,
each beside a naive baseline measured the same way.

    python bench/bench_embedded.py                                  # 1M applications
    python bench/bench_embedded.py --sizes 100000 --workdir /tmp/be # a quick run
    python bench/bench_embedded.py --sizes 1000000,3000000,5000000

For each size N: a population is generated once (``ringsight generate --applications N
--seed 77``; reused when its folder exists) and its oldest N - H applications are loaded
into a file store once (reused while it holds them); the newest H (``--held-out``) are
never stored: they are the applications scored. Then, each in a fresh process:

- **open**: ``EmbeddedStore(url)`` with the saved index (loaded, checked, caught up), and
  the baseline, a forced full rebuild of the index from SQLite (the saved index hidden);
  VmRSS and VmHWM from ``/proc/self/status`` after each;
- **snapshot**: ``store.snapshot(app, app.ts, hub_limit)`` of every held-out application
  (p50, p99, mean), and the naive baseline in the same process,
  ``graph.store.snapshot.assemble`` over the store's point reads (every answer compared);
- **writes**: ``store.record_assessment`` of every held-out application on a copy of the
  store, with its monitoring queue row as the service writes it (p50, p99, mean; the tail
  merged into the arrays every 1,000 writes);
- **rings**: a full ring run (``detectors.rings.detect_rings``, which writes the rings
  on its first run and finds them unchanged after), and its component step beside the
  baseline, :func:`graph.store.in_process.linked_components` over ``store.links()``.

DESIGN.md section 9 targets at 1M: opens in under 5 s, under 1.5 GB, a ring run under 15 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEY = b"bench-key-0123456789abcdef"


def _memory() -> dict[str, float]:
    """VmRSS and VmHWM of this process, in MB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0]) / 1024
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- preparing (not timed) ------------------------------------------------------------------------
def prepare(n: int, held_out: int, workdir: Path, workers: int) -> tuple[Path, Path]:
    """The generated folder and the loaded database of size ``n`` (made when missing)."""
    data = workdir / f"gen-{n}"
    if not (data / "applications.csv").exists():
        ringsight = Path(sys.executable).with_name("ringsight")
        started = time.perf_counter()
        subprocess.run(
            [str(ringsight), "generate", "--applications", str(n), "--seed", "77", "--out", str(data)], check=True
        )
        print(f"  generated {n:,} applications in {time.perf_counter() - started:.0f} s")
    db = workdir / f"embedded-{n}-{held_out}.db"
    from graph.store.embedded.store import EmbeddedStore

    store = EmbeddedStore(f"sqlite:///{db}")
    try:
        if store.stats()["applications"] != n - held_out:
            store.close()
            for stale in db.parent.glob(db.name + "*"):
                shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
            _load(data, n - held_out, db, workers)
        else:
            print(f"  reusing {db} ({n - held_out:,} applications)")
    finally:
        store.close()
    return data, db


def _load(data: Path, rows: int, db: Path, workers: int) -> None:
    from graph.loading import load_applications, load_bad_actors
    from graph.normalise import Normaliser
    from graph.store.embedded.store import EmbeddedStore

    folder = db.parent / f"{db.name}.load"
    folder.mkdir(exist_ok=True)
    with (data / "applications.csv").open() as src, (folder / "applications.csv").open("w") as dst:
        for _ in range(rows + 1):
            dst.write(src.readline())
    shutil.copy(data / "bad_actors.csv", folder / "bad_actors.csv")
    normaliser = Normaliser(KEY, "CN")
    store = EmbeddedStore(f"sqlite:///{db}")
    report = load_applications(store, normaliser, folder, batch_size=10_000, workers=workers)
    labels = load_bad_actors(store, normaliser, folder)
    started = time.perf_counter()
    store.close()
    shutil.rmtree(folder)
    print(
        f"  loaded {report.stored:,} applications in {report.seconds:.0f} s ({report.rate:,.0f} rows/s, "
        f"{workers} workers), {labels} bad-actor labels; close (saving the index) {time.perf_counter() - started:.1f} s"
    )


# -- measuring, each in a fresh process -------------------------------------------------------------
def child_open(db: Path) -> dict[str, Any]:
    from graph.store.embedded.store import EmbeddedStore

    started = time.perf_counter()
    store = EmbeddedStore(f"sqlite:///{db}")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "how": store.opened.how, "reason": store.opened.reason, **_memory()}


def child_snapshot(db: Path, data: Path, held_out: int) -> dict[str, Any]:
    from graph.normalise import Normaliser
    from graph.store import snapshot
    from graph.store.embedded.store import EmbeddedStore
    from graph.vocabulary import HUB_LIMIT

    store = EmbeddedStore(f"sqlite:///{db}")
    apps = _held_out(data, held_out, Normaliser(KEY, "CN"))
    ours: list[float] = []
    naive: list[float] = []
    sizes: list[int] = []
    for app in apps[:200]:  # warm the pages and caches both ways
        store.snapshot(app, app.ts, HUB_LIMIT)
        snapshot.assemble(store, store.labels, app, app.ts, HUB_LIMIT)
    clock = time.perf_counter
    for app in apps:
        started = clock()
        got = store.snapshot(app, app.ts, HUB_LIMIT)
        ours.append(clock() - started)
        sizes.append(len(got.usage) + len(got.neighbours) + len(got.far_usage))
    differ = 0
    for app in apps:
        started = clock()
        want = snapshot.assemble(store, store.labels, app, app.ts, HUB_LIMIT)
        naive.append(clock() - started)
        differ += want != store.snapshot(app, app.ts, HUB_LIMIT)
    return {
        "apps": len(apps),
        "differ": differ,
        "sizes_mean": statistics.fmean(sizes),
        "sizes_max": max(sizes),
        "p50": _percentile(ours, 0.5),
        "p99": _percentile(ours, 0.99),
        "mean": statistics.fmean(ours),
        "naive_p50": _percentile(naive, 0.5),
        "naive_p99": _percentile(naive, 0.99),
        "naive_mean": statistics.fmean(naive),
        **_memory(),
    }


def child_writes(db: Path, data: Path, held_out: int) -> dict[str, Any]:
    """Store the held-out applications one by one (``record_assessment``: the application, its
    decision, audit event and monitoring queue row in one transaction) on a copy of the store, with the tail merged
    into the arrays every ``tail`` writes, as a long-running service merges every 16,384."""
    import graph.store.embedded.index as index_module
    from graph.normalise import Normaliser
    from graph.store import AuditEntry, Decision
    from graph.store.embedded.store import EmbeddedStore

    copy = db.with_name(db.name + ".writes")
    for suffix in ("", ".index"):
        stale = Path(str(copy) + suffix)
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink(missing_ok=True)
    source = sqlite3.connect(db)
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.close()
    shutil.copytree(db.with_name(db.name + ".index"), Path(str(copy) + ".index"))
    try:
        tail = 1000
        index_module.TAIL_LIMIT = tail
        store = EmbeddedStore(f"sqlite:///{copy}")
        assert store.opened.how == "loaded"
        apps = _held_out(data, held_out, Normaliser(KEY, "CN"))
        clock = time.perf_counter
        seconds = []
        for app in apps:
            decision = Decision(app.application_id, app.ts, 0.2, "low", "approve", [], "bench")
            audit = AuditEntry(app.ts, "bench", "score", app.application_id, {})
            started = clock()
            store.record_assessment(app, decision, audit, monitor=True)  # as the service writes: with its queue row
            seconds.append(clock() - started)
        merges = sorted(seconds)[-(len(apps) // tail) :] if len(apps) >= tail else []
        return {
            "writes": len(apps),
            "p50": _percentile(seconds, 0.5),
            "p99": _percentile(seconds, 0.99),
            "mean": statistics.fmean(seconds),
            "tail": tail,
            "merge_mean": statistics.fmean(merges) if merges else 0.0,
            **_memory(),
        }
    finally:
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(str(copy) + suffix).unlink(missing_ok=True)
        shutil.rmtree(Path(str(copy) + ".index"), ignore_errors=True)


def _held_out(data: Path, held_out: int, normaliser: Any) -> list[Any]:
    """The newest ``held_out`` applications of the data set, normalised."""
    from graph.loading import LoadReport, normalise_rows

    with (data / "applications.csv").open(newline="") as fh:
        header = next(csv.reader([fh.readline()]))
        newest = deque(fh, maxlen=held_out)  # the file is in time order, one application a line
    rows = [dict(zip(header, cells, strict=True)) for cells in csv.reader(newest)]
    return normalise_rows(rows, normaliser, 0, LoadReport())


def child_rings(db: Path) -> dict[str, Any]:
    from detectors.rings import RingParams, detect_rings
    from detectors.signals import DetectorParams
    from graph.store import in_process
    from graph.store.embedded.store import EmbeddedStore
    from graph.vocabulary import BLOCKING_STATUSES

    store = EmbeddedStore(f"sqlite:///{db}")
    params = RingParams()
    started = time.perf_counter()
    run = detect_rings(store, params, clock=lambda: 1_800_000_000.0)
    seconds = time.perf_counter() - started
    after_run = _memory()
    limit = DetectorParams().hub_limit
    exclude = sorted(n for n, label in store.labels().items() if label.status in BLOCKING_STATUSES)
    started = time.perf_counter()
    mine = store.linked_components(params.kinds, limit, params.min_members, exclude)
    components = time.perf_counter() - started
    started = time.perf_counter()
    naive = in_process.linked_components(store.links(), params.kinds, limit, params.min_members, exclude)
    naive_seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rings": len(run.rings),
        "written": run.written,
        "steps": {k: round(v, 2) for k, v in run.timings.items()},
        "components": components,
        "naive_components": naive_seconds,
        "same": mine == naive,
        **after_run,
        "baseline_VmHWM": _memory()["VmHWM"],
    }


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bench(n: int, held_out: int, workdir: Path, workers: int) -> dict[str, Any]:
    print(f"\n== {n:,} applications ({held_out:,} held out and scored) ==", flush=True)
    data, db = prepare(n, held_out, workdir, workers)
    opened = _child("open", str(db))
    assert opened["how"] == "loaded", opened
    hidden = db.with_name(db.name + ".index.bench-hidden")
    os.rename(db.with_name(db.name + ".index"), hidden)
    try:
        rebuilt = _child("open", str(db))
    finally:
        shutil.rmtree(db.with_name(db.name + ".index"), ignore_errors=True)
        os.rename(hidden, db.with_name(db.name + ".index"))
    assert rebuilt["how"] == "rebuilt", rebuilt
    print(
        f"  open: saved index {opened['seconds']:.2f} s (RSS {opened['VmRSS']:.0f} MB, peak {opened['VmHWM']:.0f} MB); "
        f"full rebuild {rebuilt['seconds']:.2f} s (RSS {rebuilt['VmRSS']:.0f} MB, peak {rebuilt['VmHWM']:.0f} MB)",
        flush=True,
    )
    snap = _child("snapshot", str(db), str(data), str(held_out))
    print(
        f"  snapshot of {snap['apps']:,} held-out applications: p50 {snap['p50'] * 1e6:.0f} us, "
        f"p99 {snap['p99'] * 1e6:.0f} us, mean {snap['mean'] * 1e6:.0f} us; assemble over point reads "
        f"p50 {snap['naive_p50'] * 1e6:.0f} us, p99 {snap['naive_p99'] * 1e6:.0f} us; {snap['differ']} differ; "
        f"RSS {snap['VmRSS']:.0f} MB",
        flush=True,
    )
    writes = _child("writes", str(db), str(data), str(held_out))
    print(
        f"  record_assessment of the {writes['writes']:,} held-out applications (on a copy): p50 "
        f"{writes['p50'] * 1e6:.0f} us, p99 {writes['p99'] * 1e6:.0f} us, mean {writes['mean'] * 1e6:.0f} us; "
        f"the tail merged every {writes['tail']:,} writes in {writes['merge_mean']:.2f} s; "
        f"RSS {writes['VmRSS']:.0f} MB",
        flush=True,
    )
    rings = _child("rings", str(db))
    print(
        f"  ring run {rings['seconds']:.1f} s ({rings['rings']:,} rings, written={rings['written']}; "
        f"steps {rings['steps']}); components {rings['components']:.2f} s vs in_process over links() "
        f"{rings['naive_components']:.2f} s (same: {rings['same']}); after the run RSS {rings['VmRSS']:.0f} MB, "
        f"peak {rings['VmHWM']:.0f} MB (peak {rings['baseline_VmHWM']:.0f} MB once the baseline ran)",
        flush=True,
    )
    return {"n": n, "open": opened, "rebuild": rebuilt, "snapshot": snap, "writes": writes, "rings": rings}


def table(results: list[dict[str, Any]]) -> None:
    print(
        "\n| applications | open, saved index | open, rebuild (baseline) | ratio | RSS after open | peak | "
        "snapshot p50 / p99 | assemble p50 / p99 (baseline) | ratio p50 | ring run | components vs "
        "in_process | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        o, b, s, g = r["open"], r["rebuild"], r["snapshot"], r["rings"]
        print(
            f"| {r['n']:,} | {o['seconds']:.2f} s | {b['seconds']:.1f} s | {b['seconds'] / o['seconds']:.0f}x "
            f"| {o['VmRSS']:.0f} MB | {o['VmHWM']:.0f} MB "
            f"| {s['p50'] * 1e6:.0f} / {s['p99'] * 1e6:.0f} us | {s['naive_p50'] * 1e6:.0f} / "
            f"{s['naive_p99'] * 1e6:.0f} us | {s['naive_p50'] / s['p50']:.1f}x | {g['seconds']:.1f} s "
            f"| {g['components']:.2f} / {g['naive_components']:.1f} s "
            f"| {g['naive_components'] / g['components']:.0f}x |"
        )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, *rest = sys.argv[2:]
        if mode == "open":
            result = child_open(Path(rest[0]))
        elif mode == "snapshot":
            result = child_snapshot(Path(rest[0]), Path(rest[1]), int(rest[2]))
        elif mode == "writes":
            result = child_writes(Path(rest[0]), Path(rest[1]), int(rest[2]))
        else:
            result = child_rings(Path(rest[0]))
        print(json.dumps(result), flush=True)
        os._exit(0)  # leave the store as it is: no save on close, no collection at exit
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000", help="comma-separated application counts")
    parser.add_argument("--workdir", type=Path, default=ROOT / "out" / "bench-embedded")
    parser.add_argument("--held-out", type=int, default=3000, help="newest applications scored, never stored")
    parser.add_argument("--workers", type=int, default=2, help="normalisation processes while loading")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = [bench(int(s), args.held_out, args.workdir, args.workers) for s in args.sizes.split(",") if s.strip()]
    table(results)


if __name__ == "__main__":
    main()
