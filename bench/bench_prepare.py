"""Preparing applications for a bulk load (CSV -> validated, normalised applications), old road and new.

    python bench/bench_prepare.py                       # 200k rows, single process and 2 workers
    python bench/bench_prepare.py --rows 1000000 --data /tmp/prep/1m --modes pool

The CSV is ``ringsight generate --applications N --seed 77`` (written to ``--data`` once, reused
when it is there). Each mode runs the old road and then the new one on the same file, in the same
process, into a sink that only counts (the store is not measured):

- ``single``: one process reads the CSV, validates and normalises every row. Old: the loader's
  sequential read and ``normaliser.application(from_flat(row))`` with the normaliser as it was
  (``tests/test_loading_equivalence.py`` keeps both verbatim; it also proves the two roads give the
  same applications and rejects). New: ``load_applications(..., workers=1)``.
- ``pool``: ``load_applications`` with ``--workers`` processes, against the old loader's pool (the
  parent read CSV rows into dicts, workers validated and normalised them and pickled each
  application back by ``__reduce__``).

Printed per road: wall seconds and rows/s, CPU microseconds per row (parent and workers, from
``getrusage``: the figure that stays put when the machine is shared), the parent's CPU share of
the wall time (what is left for the store's writes in a real load), and the new/old ratio. Both
roads must give as many applications and rejects; with ``--check`` every field of every
application is digested (outside the figures' meaning: it costs the parent) and must be identical.
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from graph.loading import LoadReport, load_applications  # noqa: E402
from graph.normalise import NormalisedApplication, Normaliser  # noqa: E402
from tests.test_loading_equivalence import ReferenceNormaliser, reference_load  # noqa: E402

KEY = b"bench-key-0123456789abcdef"


class Digest:
    """A sink that stores nothing: it counts applications and, with ``check``, digests every
    field of every one in order (repr: costly, so not part of the timed figures by default)."""

    def __init__(self, check: bool) -> None:
        self.count = 0
        self.check = check
        self.digest = hashlib.sha256()

    def upsert(self, applications: list[NormalisedApplication]) -> int:
        self.count += len(applications)
        if self.check:
            self.digest.update(repr(applications).encode())
        return len(applications)


def cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def timed(run: Callable[[Digest], LoadReport], check: bool) -> dict[str, Any]:
    sink = Digest(check)
    parent0, children0 = cpu()
    t0 = time.perf_counter()
    report = run(sink)
    wall = time.perf_counter() - t0
    parent1, children1 = cpu()
    return {
        "wall": wall,
        "parent": parent1 - parent0,
        "workers": children1 - children0,
        "rows": report.rows,
        "apps": sink.count,
        "rejected": len(report.rejected),
        "digest": sink.digest.hexdigest(),
    }


def show(name: str, r: dict[str, Any]) -> None:
    rows = r["rows"]
    total = (r["parent"] + r["workers"]) / rows * 1e6
    print(
        f"  {name:4s} {r['wall']:7.1f} s  {rows / r['wall']:9,.0f} rows/s  "
        f"CPU {total:6.1f} us/row (parent {r['parent'] / rows * 1e6:5.1f}, workers {r['workers'] / rows * 1e6:5.1f})  "
        f"parent busy {r['parent'] / r['wall']:4.0%} of the wall time",
        flush=True,
    )


def dataset(rows: int, folder: Path) -> Path:
    source = folder / "applications.csv"
    if not source.exists():
        print(f"generating {rows:,} applications into {folder} ...", flush=True)
        command = [sys.executable, "-c", "from api.cli import main; main()", "generate", "--applications", str(rows)]
        command += ["--seed", "77"]
        subprocess.run([*command, "--out", str(folder)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--data", type=Path, help="folder of the generated CSV (default /tmp/ringsight-prepare-N)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--modes", default="single,pool", help="comma-separated: single, pool")
    parser.add_argument("--new-only", action="store_true", help="skip the old road (no ratio)")
    parser.add_argument(
        "--check", action="store_true", help="digest every application of both roads and require them identical"
    )
    args = parser.parse_args()
    source = dataset(args.rows, args.data or Path(f"/tmp/ringsight-prepare-{args.rows}"))
    print(f"{source} ({source.stat().st_size / 1e6:,.0f} MB)", flush=True)
    for mode in args.modes.split(","):
        workers = 1 if mode == "single" else args.workers
        print(f"[{mode}: {workers} process{'es' if workers > 1 else ''} preparing]", flush=True)

        def old_road(sink: Digest, workers: int = workers, size: int = args.batch_size) -> LoadReport:
            return reference_load(sink, ReferenceNormaliser(KEY), source, size, workers)

        def new_road(sink: Digest, workers: int = workers, size: int = args.batch_size) -> LoadReport:
            return load_applications(sink, Normaliser(KEY), source, size, workers=workers)

        old = None
        if not args.new_only:
            old = timed(old_road, args.check)
            show("old", old)
        new = timed(new_road, args.check)
        show("new", new)
        if old is not None:
            same = (old["digest"], old["apps"], old["rejected"]) == (new["digest"], new["apps"], new["rejected"])
            old_cpu, new_cpu = old["parent"] + old["workers"], new["parent"] + new["workers"]
            compared = ("identical" if same else "DIFFER") if args.check else "counted alike" if same else "DIFFER"
            print(
                f"  ratio: {old['wall'] / new['wall']:.2f}x rows/s, {old_cpu / new_cpu:.2f}x less CPU per row; "
                f"applications {compared} ({new['apps']:,}, {new['rejected']} rejected)",
                flush=True,
            )
            if not same:
                sys.exit(1)


if __name__ == "__main__":
    main()
