"""What the online ring hook costs a stored application (embedded store, ``desk.assess``).

A ring of five is found by a run; then ``--applications`` applications are stored, every
fourth on the ring's device (so it joins the ring until the device becomes a hub), with
the hook and with it replaced by a no-op, alternately for ``--rounds`` rounds. Prints the
median and 95th percentile per stored application.

    python bench/bench_online_rings.py --applications 400 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

import api.service.assessment as assessment  # noqa: E402
from api.http.app import create_app  # noqa: E402
from api.settings import Settings  # noqa: E402
from graph.records import ApplicationRecord  # noqa: E402
from graph.store.embedded.store import EmbeddedStore  # noqa: E402
from tests.test_online_rings import operator  # noqa: E402

ACTOR = "investigator:bench"


def _no_ring(*_: Any, **__: Any) -> None:
    return None


def run(hook: bool, n: int) -> tuple[list[float], int]:
    store = EmbeddedStore("memory://")
    try:
        with TestClient(create_app(Settings(graph_url="memory://"), store)) as client:
            desk = client.app.state.desk  # type: ignore[attr-defined]
            desk.monitoring = "off"
            for k in range(1, 6):
                body = operator(k, "dfp-ring", k, phone="+86 139 0000 0001")
                desk.assess(ApplicationRecord.model_validate(body), persist=True, actor=ACTOR)
            client.post("/v1/rings/runs", json={}, headers={"X-API-Key": "dev-admin"})
            original = assessment.ring_after_storing
            if not hook:
                assessment.ring_after_storing = _no_ring  # type: ignore[assignment]
            times = []
            try:
                for k in range(100, 100 + n):
                    record = ApplicationRecord.model_validate(
                        operator(k, "dfp-ring" if k % 4 == 0 else f"dfp-{k}", k % 60)
                    )
                    started = time.perf_counter()
                    desk.assess(record, persist=True, actor=ACTOR)
                    times.append(time.perf_counter() - started)
            finally:
                assessment.ring_after_storing = original
            return times, len(store.ring_joins())
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for rnd in range(args.rounds):
        for hook in (False, True):
            times, joins = run(hook, args.applications)
            p95 = sorted(times)[int(len(times) * 0.95)]
            print(
                f"round {rnd} hook={'on ' if hook else 'off'} median {statistics.median(times) * 1e3:.3f} ms "
                f"p95 {p95 * 1e3:.3f} ms joins {joins}"
            )


if __name__ == "__main__":
    main()
