"""Batch ring detection on the embedded store, with naive baselines measured in the same run.

    python bench/bench_rings.py --sizes 100000,1000000
    python bench/bench_rings.py --sizes 1000000 --cache out/bench-rings   # keep the loaded stores

For each size: generate a population and bulk-load it with its bad actors (not
timed; the load time is printed), then time

- a full ring run (``detect_rings``: linked components, Louvain splits,
  measuring, scoring, ids and lineage, writing the rings),
- a re-run on the unchanged graph (finds the same rings and writes nothing),
- the naive baselines for the component step, over the same links with the
  same rules (kinds, 2..hub_limit applicants per identifier): networkx
  ``connected_components`` on the applicant-identifier graph, and a
  pure-Python union-find.

The target (DESIGN.md section 9) is a ring run on 1M applications in under 30 s.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detectors.rings import RING_KINDS, RingParams, detect_rings  # noqa: E402
from detectors.signals import DetectorParams  # noqa: E402
from fixtures.generator import generate, write_dataset  # noqa: E402
from graph.loading import load_applications, load_bad_actors  # noqa: E402
from graph.normalise import Normaliser  # noqa: E402
from graph.store import GraphStore, open_store  # noqa: E402

KEY = b"bench-key-0123456789abcdef"
NORMALISER = Normaliser(KEY, "CN")


def linking(store: GraphStore, limit: int) -> dict[str, set[str]]:
    """Specific identifiers -> their applicants, straight from ``store.links()``."""
    kinds = set(RING_KINDS)
    users: dict[str, set[str]] = {}
    for applicant, nid, _first, _last in store.links():
        if nid.split(":", 1)[0] in kinds:
            users.setdefault(nid, set()).add(applicant)
    return {n: a for n, a in users.items() if 2 <= len(a) <= limit}


def networkx_components(store: GraphStore, limit: int, min_size: int) -> list[set[str]]:
    import networkx as nx

    graph = nx.Graph()
    for nid, people in linking(store, limit).items():
        graph.add_edges_from((nid, p) for p in people)
    parts = ({n for n in c if not n.partition(":")[1]} for c in nx.connected_components(graph))
    return [p for p in parts if len(p) >= min_size]


def union_find_components(store: GraphStore, limit: int, min_size: int) -> list[set[str]]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for people in linking(store, limit).values():
        first, *rest = people
        parent.setdefault(first, first)
        for p in rest:
            parent.setdefault(p, p)
            a, b = find(first), find(p)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[str, set[str]] = {}
    for p in parent:
        groups.setdefault(find(p), set()).add(p)
    return [g for g in groups.values() if len(g) >= min_size]


@contextmanager
def loaded_store(
    n: int, seed: int, cache: Path | None, workers: int, graph_url: str | None = None
) -> Iterator[GraphStore]:
    """The store holding ``n`` generated applications (loading it if needed); not timed."""
    url = graph_url or (f"sqlite:///{cache / f'rings-{n}-{seed}.db'}" if cache else "memory://")
    started = time.perf_counter()
    gc.disable()  # millions of long-lived small objects: the cyclic GC only rescans them
    try:
        store = open_store(url)
        if store.stats()["applications"] == n:
            print(f"  reopened {url} in {time.perf_counter() - started:.1f} s (index rebuilt from SQLite)")
        else:
            with tempfile.TemporaryDirectory() as tmp:
                data = generate(n, seed)
                write_dataset(data, Path(tmp), "csv")
                del data
                generated = time.perf_counter()
                print(f"  generated {n:,} applications in {generated - started:.1f} s")
                report = load_applications(store, NORMALISER, Path(tmp), batch_size=10_000, workers=workers)
                labels = load_bad_actors(store, NORMALISER, Path(tmp))
            print(
                f"  loaded in {report.seconds:.1f} s ({report.rate:,.0f} rows/s, {workers} workers), "
                f"{labels:,} bad-actor labels"
            )
    finally:
        gc.enable()
    started = time.perf_counter()
    gc.collect()  # settle the collector's debt from loading here rather than inside a timed step
    print(f"  full garbage collection after loading: {time.perf_counter() - started:.1f} s")
    yield store
    store.close()


def bench(n: int, seed: int, cache: Path | None, workers: int, graph_url: str | None = None) -> None:
    print(f"\n== {n:,} applications (seed {seed}) on {(graph_url or 'embedded').split('@')[-1]} ==")
    with loaded_store(n, seed, cache, workers, graph_url) as store:
        counts = store.stats()
        print(f"  store: {counts['applicants']:,} applicants, {counts['applications']:,} applications")
        limit = DetectorParams().hub_limit
        params = RingParams()

        started = time.perf_counter()
        run = detect_rings(store, params, write=True)
        full = time.perf_counter() - started
        print(
            f"  ring run: {full:.2f} s -> {len(run.rings):,} rings ({sum(len(r.members) for r in run.rings):,} "
            f"applicants, {len(run.critical):,} critical) from {run.counts['candidates']:,} linked groups; "
            f"written={run.written}"
        )
        print("    steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in run.timings.items() if k != "total"))
        started = time.perf_counter()
        again = detect_rings(store, params, write=True)
        rerun = time.perf_counter() - started
        same = [(r.ring_id, r.members, r.score) for r in again.rings] == [
            (r.ring_id, r.members, r.score) for r in run.rings
        ]
        print(f"  re-run on unchanged data: {rerun:.2f} s, written={again.written}, same rings={same}")

        ours = run.timings["components"]
        gc.disable()  # as during a ring run: compare algorithms, not collector pauses
        try:
            started = time.perf_counter()
            naive = networkx_components(store, limit, params.min_members)
            nx_seconds = time.perf_counter() - started
            started = time.perf_counter()
            found = union_find_components(store, limit, params.min_members)
            uf_seconds = time.perf_counter() - started
        finally:
            gc.enable()
        agree = len(naive) == len(found) == run.counts["components"]
        print(
            f"  components: store.linked_components {ours:.2f} s; naive networkx {nx_seconds:.2f} s "
            f"(ratio {nx_seconds / ours:.2f}x); pure-Python union-find {uf_seconds:.2f} s "
            f"(ratio {uf_seconds / ours:.2f}x); same components: {agree}"
        )
        print(f"  full ring run vs naive networkx components alone: {full / nx_seconds:.2f}x")
        target = "met" if n < 1_000_000 or full < 30 else "MISSED"
        print(
            f"  RESULT n={n} ring_run_s={full:.2f} rerun_s={rerun:.2f} networkx_s={nx_seconds:.2f} "
            f"union_find_s={uf_seconds:.2f} target_30s_at_1M={target}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated application counts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=None, help="keep loaded SQLite stores here and reuse them")
    parser.add_argument("--workers", type=int, default=2, help="normalisation processes while loading")
    parser.add_argument(
        "--graph-url",
        default=None,
        help="run against this store (e.g. bolt://127.0.0.1:7687, GDS) instead of the embedded one; "
        "it is loaded once and reused while it holds exactly the requested size",
    )
    args = parser.parse_args()
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    for n in (int(s) for s in args.sizes.split(",") if s.strip()):
        bench(n, args.seed, args.cache, args.workers, args.graph_url)


if __name__ == "__main__":
    main()
