"""Scoring latency and load rate, with naive baselines measured in the same run.

    python bench/bench_scoring.py --sizes 10000,100000
    python bench/bench_scoring.py --sizes 100000 --graph-url bolt://127.0.0.1:7687

For each size: generate a population (not timed), bulk-load it (rows/s,
including validation and normalisation), score held-out applications in
process (p50/p99 of ``Scorer.score``) and over HTTP against a real uvicorn
process (p50/p99 of ``POST /v1/score``). Baselines: loading one application
per transaction, and scoring by scanning every stored application for shared
identifiers (what a graph index saves).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detectors.score import Scorer  # noqa: E402
from fixtures.generator import Dataset, generate, write_dataset  # noqa: E402
from graph.loading import load_applications  # noqa: E402
from graph.normalise import NormalisedApplication, Normaliser  # noqa: E402
from graph.records import from_flat, nest  # noqa: E402
from graph.store import GraphStore, open_store  # noqa: E402

KEY = "bench-key-0123456789abcdef"
NORMALISER = Normaliser(KEY.encode(), "CN")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def naive_score(apps: list[NormalisedApplication], subject: NormalisedApplication) -> int:
    """Count applicants sharing an identifier by scanning everything (no index)."""
    mine = {i.node_id for i in subject.identifiers}
    return len(
        {
            a.applicant_key
            for a in apps
            if a.applicant_key != subject.applicant_key and any(i.node_id in mine for i in a.identifiers)
        }
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_latency(url: str, bodies: list[dict[str, Any]]) -> list[float]:
    port = free_port()
    env = {**os.environ, "RINGSIGHT_GRAPH_URL": url, "RINGSIGHT_PII_KEY": KEY, "RINGSIGHT_MONITORING": "false"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.http.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("service did not start")
            time.sleep(0.5)
        out = []
        with httpx.Client(base_url=base, headers={"X-API-Key": "dev-scorer"}) as client:
            for body in bodies[:50]:
                client.post("/v1/score", json=body)
            for body in bodies:
                t = time.perf_counter()
                r = client.post("/v1/score", json=body)
                out.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text
        return out
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()


def run(size: int, graph_url: str | None, samples: int) -> None:
    data = generate(size + samples, seed=size % 1000 + 3)
    rows = sorted(data.applications, key=lambda r: str(r["submitted_at"]))
    held_out, rows = rows[-samples:], rows[:-samples]
    with tempfile.TemporaryDirectory() as tmp:
        url = graph_url or f"sqlite:///{tmp}/bench.db"
        store: GraphStore = open_store(url)
        # Baseline first, on rows of its own: validate, normalise and store one application
        # per transaction, into the same backend.
        naive_rows, rows = rows[:2000], rows[2000:]
        t = time.perf_counter()
        for row in naive_rows:
            store.upsert([NORMALISER.application(from_flat(row))])
        naive_rate = len(naive_rows) / (time.perf_counter() - t)
        source = Path(tmp) / "applications.csv"
        write_dataset(Dataset(rows, [], []), Path(tmp), "csv")
        report = load_applications(store, NORMALISER, source, batch_size=5000)
        print(
            f"[{size:,} apps, {url.split(':')[0]}] load (CSV, validate, normalise, store): {report.rate:,.0f} apps/s "
            f"({report.seconds:.1f} s); row-at-a-time baseline {naive_rate:,.0f} apps/s "
            f"(ratio {report.rate / naive_rate:.1f}x)"
        )
        loaded = [a for r in (naive_rows + rows)[:20000] if (a := store.application(str(r["application_id"])))]

        scorer = Scorer.default()
        apps = [NORMALISER.application(from_flat(r)) for r in held_out]
        for app in apps[:50]:
            scorer.score(store, app)
        lat = []
        for app in apps:
            t = time.perf_counter()
            scorer.score(store, app)
            lat.append(time.perf_counter() - t)
        naive = []
        for app in random.Random(1).sample(apps, min(30, len(apps))):
            t = time.perf_counter()
            naive_score(loaded, app)
            naive.append(time.perf_counter() - t)
        print(
            f"[{size:,} apps] in-process score: p50 {pct(lat, 0.5) * 1e3:.2f} ms, "
            f"p99 {pct(lat, 0.99) * 1e3:.2f} ms; naive full scan p50 {pct(naive, 0.5) * 1e3:.1f} ms "
            f"(ratio {pct(naive, 0.5) / pct(lat, 0.5):.0f}x)"
        )
        store.close()
        bodies = [nest({k: v for k, v in r.items()}) for r in held_out]
        http = http_latency(url, bodies)
        print(
            f"[{size:,} apps] HTTP score: p50 {pct(http, 0.5) * 1e3:.2f} ms, p99 {pct(http, 0.99) * 1e3:.2f} ms "
            f"over {len(http)} sequential requests"
        )
        if graph_url:
            wipe = open_store(graph_url)
            wipe.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--graph-url", default=None, help="run against this store instead of a temporary SQLite file")
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        run(size, args.graph_url, args.samples)


if __name__ == "__main__":
    main()
