"""What shadow-scoring a challenger costs on the stored-application path (``desk.assess``
with ``persist``), as a ratio to the same path with no challenger.

    python bench/bench_shadow.py                  # 2,000 stored, 600 scored, SQLite files
    python bench/bench_shadow.py --stored 5000 --scored 1000

Three SQLite stores get the same generated applications (seed 5); one has a challenger
registered (the shipped weights, each x1.2, so every score differs); a third, without
one, is the control (its ratio to the first is the machine's noise). Each held-out
application is then assessed and stored on all three, rotating which goes first, so the
shared machine's noise falls on each alike. The shadow path reads the snapshot and runs
the detectors once; the challenger only re-weighs the observations and its decision is a
second row write.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.service.desk import FraudDesk  # noqa: E402
from detectors.model import Model  # noqa: E402
from detectors.registry import register_challenger  # noqa: E402
from detectors.score import Scorer  # noqa: E402
from fixtures.generator import generate  # noqa: E402
from graph.normalise import Normaliser  # noqa: E402
from graph.records import ApplicationRecord, from_flat, nest  # noqa: E402
from graph.store import open_store  # noqa: E402

KEY = b"bench-key-0123456789abcdef"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stored", type=int, default=2000)
    parser.add_argument("--scored", type=int, default=600)
    args = parser.parse_args()
    rows = sorted(generate(args.stored + args.scored, seed=5).applications, key=lambda r: str(r["submitted_at"]))
    preload, held_out = rows[: args.stored], rows[args.stored :]
    normaliser = Normaliser(KEY, "CN")
    records = [ApplicationRecord.model_validate(nest(dict(r))) for r in held_out]
    with tempfile.TemporaryDirectory() as tmp:
        desks = []
        for name in ("plain", "shadow", "control"):
            store = open_store(f"sqlite:///{tmp}/{name}.db")
            store.upsert([normaliser.application(from_flat(r)) for r in preload])
            desk = FraudDesk(store, normaliser, Scorer.default())
            if name == "shadow":
                shipped = desk.scorer.model
                challenger = Model({k: v * 1.2 for k, v in shipped.weights.items()}, shipped.bias, shipped.baselines)
                register_challenger(store, challenger, time.time(), {"bench": True})
            desk.refresh_models(force=True)
            desks.append(desk)
        plain, shadow, control = desks
        assert plain.shadow is None and control.shadow is None and shadow.shadow is not None
        cost: dict[str, list[float]] = {"plain": [], "shadow": [], "control": []}
        named = [("plain", plain), ("shadow", shadow), ("control", control)]
        for i, record in enumerate(records):
            for name, desk in named[i % 3 :] + named[: i % 3]:
                t = time.perf_counter()
                done = desk.assess(record, persist=True, actor="bench")
                cost[name].append(time.perf_counter() - t)
                assert done.stored
        triggers = [d.trigger for d in shadow.store.decisions(records[-1].application_id)]
        assert triggers == ["application", f"shadow:{challenger.version}"], triggers
        warm = len(records) // 10
        p50 = {k: statistics.median(v[warm:]) for k, v in cost.items()}
        mean = {k: statistics.fmean(v[warm:]) for k, v in cost.items()}
        print(
            f"stored-application path over {len(records) - warm} applications ({args.stored:,} stored before): "
            f"no shadow p50 {p50['plain'] * 1e3:.3f} ms, mean {mean['plain'] * 1e3:.3f} ms; "
            f"with shadow p50 {p50['shadow'] * 1e3:.3f} ms, mean {mean['shadow'] * 1e3:.3f} ms; "
            f"ratio p50 {p50['shadow'] / p50['plain']:.2f}x, mean {mean['shadow'] / mean['plain']:.2f}x "
            f"(control, a second store without a challenger: p50 {p50['control'] / p50['plain']:.2f}x, "
            f"mean {mean['control'] / mean['plain']:.2f}x)"
        )
        for desk in desks:
            desk.store.close()


if __name__ == "__main__":
    main()
