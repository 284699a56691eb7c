"""The run: read, project, split, measure, match ids and write (see :mod:`detectors.rings`)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from detectors.model import load_config
from detectors.rings import online
from detectors.rings.lineage import assign_ids
from detectors.rings.measuring import Population, RingCandidate, _iso, _measure_all, _tick, population_reference
from detectors.rings.params import Progress, RingParams
from detectors.signals import DetectorParams
from graph.errors import Conflict
from graph.memory import collector_paused
from graph.store import GraphStore, LinkedComponent, LookAlike, RingRecord
from graph.vocabulary import node_kind


@dataclass
class RingRun:
    """What a run found, wrote and how long each step took."""

    run_id: str
    at: float
    params: RingParams
    rings: list[RingRecord]
    """The active rings after the run, highest score first."""
    links: dict[str, dict[str, tuple[str, ...]]]
    """Ring id -> identifier -> members who used it (for pictures)."""
    candidates: list[RingCandidate]
    """Every measured part of at least ``min_members`` applicants, reported or not."""
    retired: list[str]
    written: bool
    unchanged: bool
    """The rings found are exactly the active ones (so nothing was written)."""
    timings: dict[str, float]
    counts: dict[str, int]
    population: Population
    look_alikes: list[LookAlike] = field(default_factory=list)
    """Applicant pairs with largely the same specific identifiers, outside any one ring."""

    @property
    def critical(self) -> list[RingRecord]:
        return [r for r in self.rings if r.score >= self.params.critical]

    def summary(self) -> dict[str, Any]:
        events: dict[str, int] = {}
        for r in self.rings:
            event = str(r.lineage.get("event", "new"))
            events[event] = events.get(event, 0) + 1
        return {
            "run_id": self.run_id,
            "at": _iso(self.at),
            "written": self.written,
            "unchanged": self.unchanged,
            "rings": len(self.rings),
            "critical": len(self.critical),
            "ring_members": sum(len(r.members) for r in self.rings),
            "retired": self.retired,
            "events": dict(sorted(events.items())),
            "counts": self.counts,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "params": self.params.as_dict(),
        }


_RUN_LOCK = threading.Lock()


def new_run_id(at: float) -> str:
    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"run-{stamp}-{uuid.uuid4().hex[:6]}"


def detect_rings(
    store: GraphStore,
    params: RingParams | None = None,
    detector_params: DetectorParams | None = None,
    *,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.time,
    write: bool = True,
    run_id: str | None = None,
) -> RingRun:
    """Find, score and (unless ``write`` is false or nothing changed) write rings.

    ``run_id`` defaults to ``run-<UTC time>-<6 random hex>``; a scheduler can pass
    its own job id, and a parity test the same id to both backends.

    ``detector_params`` default to the scoring configuration's
    (``detectors/config.yaml``), so a ring links exactly what online scoring
    treats as specific.

    An unchanged re-run writes nothing: when the rings found are exactly the
    active ones (ids, members, identifiers, scores and features), the store
    keeps them with their original run id and lineage. Only one run at a time
    per process; a second concurrent call raises :class:`Conflict`.
    """
    if not _RUN_LOCK.acquire(blocking=False):
        raise Conflict("a ring-detection run is already in progress")
    try:
        detector = detector_params if detector_params is not None else load_config().params
        with collector_paused():
            return _run(store, params or RingParams(), detector, progress, clock, write, run_id)
    finally:
        _RUN_LOCK.release()


def _run(
    store: GraphStore,
    params: RingParams,
    detector: DetectorParams,
    progress: Progress | None,
    clock: Callable[[], float],
    write: bool,
    run_id: str | None,
) -> RingRun:
    timings: dict[str, float] = {}
    started = last = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal last
        now = time.perf_counter()
        timings[step] = now - last
        last = now

    at = float(clock())
    run_id = run_id or new_run_id(at)
    limit = detector.hub_limit
    previous = store.rings()
    joins = online.pending(store)
    labels = store.labels()
    exclude = sorted(
        n for n, lab in labels.items() if lab.status in ("allow_listed", "cleared") and node_kind(n) in params.kinds
    )
    lap("read")

    _tick(progress, "components", 0, 0)
    components = store.linked_components(params.kinds, limit, params.min_members, exclude)
    _tick(progress, "components", len(components), len(components))
    lap("components")

    _tick(progress, "look-alikes", 0, 0)
    similar = store.look_alikes(params.kinds, limit, params.look_alike_similarity, 2, exclude)
    _tick(progress, "look-alikes", len(similar), len(similar))
    lap("look_alikes")

    parts: list[LinkedComponent] = []
    large = [c for c in components if len(c.members) > params.max_ring_size]
    for comp in components:
        if len(comp.members) <= params.max_ring_size:
            parts.append(comp)
    for done, comp in enumerate(large, 1):
        split = store.split_communities(comp, limit, params.louvain_seed)
        parts.extend(p for p in split if len(p.members) >= params.min_members)
        _tick(progress, "splitting", done, len(large))
    parts.sort(key=lambda p: p.members[0])
    lap("splitting")

    _tick(progress, "population", 0, 0)
    population = population_reference(store, params.amount_sample)
    _tick(progress, "population", population.sampled, population.sampled)
    lap("population")

    candidates = _measure_all(store, parts, labels, population, params, limit, progress)
    lap("measuring")

    reported = [c for c in candidates if c.reported(params)]
    ids = assign_ids([c.members for c in reported], previous, run_id, params.keep_id_overlap)
    records = [
        RingRecord(rid, run_id, c.members, c.score, c.features, c.identifiers, lineage)
        for c, (rid, lineage) in zip(reported, ids, strict=True)
    ]
    records = online.reconcile(records, joins, run_id, params.keep_id_overlap)
    links = {rid: c.links for c, (rid, _) in zip(reported, ids, strict=True)}
    kept = {r.ring_id for r in records}
    retired = sorted(r.ring_id for r in previous if r.ring_id not in kept)
    unchanged = _same_rings(records, previous)
    lap("matching")

    written = False
    if write and not unchanged:
        _tick(progress, "writing", 0, len(records))
        store.write_rings(run_id, at, records)
        _tick(progress, "writing", len(records), len(records))
        written = True
    if write:
        online.settle(store, joins)
    active = previous if unchanged else records
    lap("writing")
    ring_of = {m: r.ring_id for r in active for m in r.members}
    look_alikes = [p for p in similar if ring_of.get(p.first) is None or ring_of.get(p.first) != ring_of.get(p.second)]
    timings["total"] = time.perf_counter() - started
    counts = {
        "components": len(components),
        "split_components": len(large),
        "parts": len(parts),
        "candidates": len(candidates),
        "scripted_bursts": sum(1 for c in candidates if c.scripted),
        "below_threshold": sum(1 for c in candidates if not c.scripted and c.confidence < params.threshold),
        "excluded_identifiers": len(exclude),
        "look_alike_pairs": len(look_alikes),
        "online_joins": len(joins),
    }
    return RingRun(
        run_id=run_id,
        at=at,
        params=params,
        rings=sorted(active, key=_rank),
        links=links,
        candidates=candidates,
        retired=[] if unchanged else retired,
        written=written,
        unchanged=unchanged,
        timings=timings,
        counts=counts,
        population=population,
        look_alikes=look_alikes,
    )


def _rank(ring: RingRecord) -> tuple[float, float, str]:
    """Highest score (expected loss) first, then the more confident ring, then the id."""
    return (-ring.score, -float(ring.features.get("log_odds", 0.0)), ring.ring_id)


def _same_rings(new: Iterable[RingRecord], old: Iterable[RingRecord]) -> bool:
    def key(r: RingRecord) -> tuple[Any, ...]:
        return (r.ring_id, tuple(r.members), tuple(r.identifiers), r.score, _canonical(r.features))

    return sorted(map(key, new)) == sorted(map(key, old))


def _canonical(value: Any) -> Any:
    """A hashable, JSON-insensitive form (tuples and lists compare equal)."""
    if isinstance(value, dict):
        return tuple(sorted((k, _canonical(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_canonical(v) for v in value)
    return value
