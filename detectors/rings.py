"""Batch ring detection over the whole graph.

A *ring* is a group of applicants linked through specific identifiers (the
same device, phone, e-mail, bank account or address) whose shape and
behaviour look coordinated rather than familial. A run:

1. projects applicants linked through identifiers of :attr:`RingParams.kinds`
   used by 2..``hub_limit`` applicants (the online scorer's hub limit: a
   store kiosk is counted, never linked), leaving out identifiers an
   investigator allow-listed or cleared (``store.linked_components``);
2. splits components larger than ``max_ring_size`` into Louvain communities
   (``store.split_communities``);
3. measures every part of at least ``min_members`` applicants: its
   *confidence* (:func:`ring_confidence`, how sure we are that it is a ring) and
   its *score* (:mod:`detectors.ring_priority`, the expected loss that ranks
   rings), with a plain-language summary of both in ``features["summary"]``;
4. reports parts whose confidence is at least ``threshold``, except *scripted
   bursts* (one automation endpoint filling forms in seconds: the bot
   detector's case, not an identity ring);
5. gives every reported ring an id that survives small changes
   (:func:`assign_ids`) and records splits and merges in its lineage;
6. writes the rings with the run id (``store.write_rings``) unless nothing
   changed since the active run.

Everything is read through the store contract, so the embedded store and
Neo4j + GDS give the same rings on the same data.

The ring confidence is a logistic combination of strengths in [0, 1] with the
weights of :data:`DEFAULT_WEIGHTS`::

    z = -13 + 6 compression + 5 young_accounts + 5 hurried_forms + 5 few_edits
            + 3 shared_kinds + 8 fraud_evidence + 7 size
    confidence = 1 / (1 + exp(-z))   reported when confidence >= 0.75 (z >= 1.1)

Confidence is close to 1 for nearly every reported ring, so it does not rank
them. The ring score (``RingRecord.score``) does: the expected loss (confidence
x the amounts the members applied for) on [0, 1), 0.5 at ``loss_scale``
(20) average loans; a ring is critical from score 0.6 (30 average loans). See
:mod:`detectors.ring_priority`.

- compression: how tightly the members' first applications cluster in time,
  the mean of ``exp(-span / 14 days)`` over all members and over the shortest
  window holding three quarters of them (a household applies months apart, a
  ring within days; the core span keeps a confirmed fraudster who applied
  earlier from diluting it);
- young_accounts: share of members whose account was opened less than 7 days
  before their first application;
- hurried_forms: share of applications whose form was filled in under 40 s;
- few_edits: ``exp(-mean field edits / 1.5)`` (honest applicants correct what
  they type, operators paste prepared identities);
- shared_kinds: 0 for one kind of shared identifier, 0.5 for two, 1 for three or more;
- fraud_evidence: ``min(1, 3 * confirmed-fraud share of members + 0.5 *
  confirmed-fraud identifiers)``;
- size: ``min(1, (members - 2) / 8)``.

The weights are hand-set, checked against planted rings and benign look-alikes
(households, kiosks, big employers) of generated populations (seeds 7-10);
the tests hold them on seeds never used to set them. A family of three who
applied the same week with one new account stays below the threshold; a
ring of three with new accounts and hurried, unedited forms does not. The
mean amount against the population mean is reported as a feature, not used
for confidence: bust-outs and honest large loans share it. Amounts weigh in the
score instead, once a group is confidently a ring.

>>> from graph.store import open_store
>>> run = detect_rings(open_store("memory://"), clock=lambda: 0.0)
>>> run.rings, run.written
([], False)
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from itertools import combinations
from typing import Any

from detectors.model import load_config
from detectors.ring_priority import exposure, ring_priority, ring_summary
from detectors.signals import DetectorParams
from graph.errors import Conflict, InvalidInput
from graph.memory import collector_paused
from graph.normalise import NormalisedApplication
from graph.store import GraphStore, Label, LinkedComponent, LookAlike, RingRecord
from graph.vocabulary import DAY, IDENTIFIER_KINDS, applicant_node, node_kind

NAME = "rings"
RING_KINDS: tuple[str, ...] = ("device", "phone", "email", "bank_account", "address")
"""Identifier kinds that link applicants into rings. Employers and IPs do not:
thousands share an employer, and homes, offices and carriers share IPs."""

END_OF_TIME = 253402300800.0
"""9999-12-31: ``as_of`` for whole-history reads."""

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``; ``total`` 0 means the size is not known."""

EVENTS: tuple[str, ...] = ("new", "same", "grown", "shrunk", "changed", "split", "merged")

DEFAULT_WEIGHTS: dict[str, float] = {
    "bias": -13.0,
    "compression": 6.0,
    "young_accounts": 5.0,
    "hurried_forms": 5.0,
    "few_edits": 5.0,
    "shared_kinds": 3.0,
    "fraud_evidence": 8.0,
    "size": 7.0,
}


@dataclass(frozen=True)
class RingParams:
    """Ring-detection parameters; the defaults are what a scheduled run uses.

    ``kinds``                 identifier kinds that link applicants.
    ``min_members``           smallest ring reported (a pair is never a ring).
    ``max_ring_size``         components larger than this are split with Louvain.
    ``threshold``             ring confidence from which a part is reported as a ring.
    ``critical``              ring score from which a ring is critical (exit code, report).
    ``loss_scale``            expected loss, in average loans, at which the ring score is 0.5.
    ``young_account_days``    an account younger than this at its first application is young.
    ``compression_days``      time constant of the compression strength.
    ``core_share``            share of members whose first applications define the core span.
    ``scripted_fill_seconds`` a form filled faster than this is scripted.
    ``scripted_share``        share of scripted applications that makes a one-kind part a scripted burst.
    ``keep_id_overlap``       a ring keeps a previous ring's id when they share at least this share
                              of the smaller of the two (and it is the best match).
    ``louvain_seed``          seed of the Louvain split, so reruns split the same way.
    ``hurried_fill_seconds``  a form filled faster than this is hurried.
    ``amount_sample``         applicants sampled (by key, deterministically) for the population
                              mean amount the ``amount_ratio`` feature compares with (a key-range
                              sample, ``store.applicants_below``); 0 leaves the ratio out.
    ``weights``               the ring confidence's logistic weights (see the module docstring).
    ``look_alike_similarity`` Jaccard similarity of two applicants' specific identifiers from which
                              the pair is listed as a look-alike lead (``store.look_alikes``:
                              GDS node similarity and degree on Neo4j).
    """

    kinds: tuple[str, ...] = RING_KINDS
    min_members: int = 3
    max_ring_size: int = 60
    threshold: float = 0.75
    critical: float = 0.6
    loss_scale: float = 20.0
    young_account_days: float = 7.0
    compression_days: float = 14.0
    core_share: float = 0.75
    scripted_fill_seconds: float = 10.0
    hurried_fill_seconds: float = 40.0
    scripted_share: float = 0.8
    keep_id_overlap: float = 0.5
    louvain_seed: int = 42
    look_alike_similarity: float = 0.6
    amount_sample: int = 2000
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(IDENTIFIER_KINDS))
        if not self.kinds or unknown:
            raise InvalidInput("kinds", f"unknown identifier kinds {unknown}" if unknown else "must not be empty")
        checks = {
            "min_members": self.min_members >= 2,
            "max_ring_size": self.max_ring_size >= self.min_members,
            "threshold": 0.0 <= self.threshold <= 1.0,
            "critical": 0.0 <= self.critical <= 1.0,
            "young_account_days": self.young_account_days > 0,
            "compression_days": self.compression_days > 0,
            "core_share": 0.0 < self.core_share <= 1.0,
            "scripted_fill_seconds": self.scripted_fill_seconds >= 0,
            "scripted_share": 0.0 < self.scripted_share <= 1.0,
            "keep_id_overlap": 0.0 < self.keep_id_overlap <= 1.0,
            "amount_sample": self.amount_sample >= 0,
            "loss_scale": self.loss_scale > 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise InvalidInput(name, f"out of range: {getattr(self, name)!r}")
        if set(self.weights) != set(DEFAULT_WEIGHTS):
            raise InvalidInput("weights", f"must name exactly {', '.join(sorted(DEFAULT_WEIGHTS))}")

    def with_overrides(self, **overrides: Any) -> RingParams:
        """A copy with the given fields changed; ``None`` values are ignored."""
        known = {f.name for f in fields(self)}
        bad = sorted(set(overrides) - known)
        if bad:
            raise InvalidInput(bad[0], "not a ring parameter")
        changes = {k: v for k, v in overrides.items() if v is not None}
        if "kinds" in changes:
            changes["kinds"] = tuple(changes["kinds"])
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["kinds"] = list(self.kinds)
        return body


# -- measuring one part ----------------------------------------------------------------------
@dataclass(frozen=True)
class RingCandidate:
    """One measured component (or Louvain part): who, through what, how sure we are
    that it is a ring (``confidence``) and how much it puts at stake (``score``)."""

    members: tuple[str, ...]
    identifiers: tuple[str, ...]
    links: dict[str, tuple[str, ...]]
    """Identifier node id -> the members who used it."""
    features: dict[str, Any]
    score: float
    scripted: bool
    confidence: float

    def reported(self, params: RingParams) -> bool:
        return len(self.members) >= params.min_members and self.confidence >= params.threshold and not self.scripted


@dataclass(frozen=True)
class Population:
    """Population reference values a ring is compared with."""

    mean_amount: float | None
    sampled: int


def _round(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


def _core_span(times: list[float], share: float) -> float:
    """Shortest window (seconds) holding ``share`` of the times (at least two)."""
    if len(times) < 2:
        return 0.0
    ordered = sorted(times)
    k = max(2, math.floor(share * len(ordered) + 0.5))
    return min(ordered[i + k - 1] - ordered[i] for i in range(len(ordered) - k + 1))


def _compression(span: float, core: float, days: float) -> float:
    """Mean of ``exp(-span / days)`` over the whole span and over the core span."""
    return 0.5 * (math.exp(-span / DAY / days) + math.exp(-core / DAY / days))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0


def ring_log_odds(strengths: dict[str, float], weights: dict[str, float]) -> float:
    """``z`` of the ring confidence from named strengths (see the module docstring)."""
    return weights["bias"] + sum(weights[name] * value for name, value in strengths.items())


def ring_confidence(strengths: dict[str, float], weights: dict[str, float]) -> float:
    """The ring confidence in [0, 1] from named strengths (see the module docstring)."""
    return _sigmoid(ring_log_odds(strengths, weights))


def measure(
    members: Sequence[str],
    links: dict[str, tuple[str, ...]],
    applications: dict[str, list[NormalisedApplication]],
    labels: dict[str, Label],
    population: Population,
    params: RingParams,
) -> RingCandidate:
    """Features, strengths, confidence, score and summary of one part.

    ``links`` maps each linking identifier to the part's members who used it;
    ``applications`` holds every member's applications, oldest first;
    ``labels`` the current labels (only members' and identifiers' are read).
    """
    size = len(members)
    pairs: set[tuple[str, str]] = set()
    for users in links.values():
        pairs.update(combinations(sorted(users), 2))
    possible = size * (size - 1) // 2
    kinds = sorted({node_kind(n) for n in links})

    firsts: list[float] = []
    young = known_age = scripted = hurried = with_fill = pasted = 0
    edits: list[int] = []
    amounts: list[float | None] = []
    n_apps = 0
    for key in members:
        apps = applications.get(key, [])
        if not apps:
            continue
        n_apps += len(apps)
        first = apps[0]
        firsts.append(first.ts)
        created = next((a.account_created_ts for a in apps if a.account_created_ts is not None), None)
        if created is not None:
            known_age += 1
            young += (first.ts - created) < params.young_account_days * DAY
        for app in apps:
            amounts.append(float(app.amount) if app.amount is not None else None)
            if app.form_fill_seconds is not None:
                with_fill += 1
                scripted += app.form_fill_seconds < params.scripted_fill_seconds
                hurried += app.form_fill_seconds < params.hurried_fill_seconds
            if app.paste_events is not None:
                pasted += app.paste_events >= 2
            if app.field_edits is not None:
                edits.append(app.field_edits)

    confirmed = sorted(m for m in members if _status(labels, applicant_node(m)) == "confirmed_fraud")
    cleared = sum(1 for m in members if _status(labels, applicant_node(m)) == "cleared")
    flagged_ids = sum(1 for n in links if _status(labels, n) == "confirmed_fraud")
    span = (max(firsts) - min(firsts)) if firsts else 0.0
    core = _core_span(firsts, params.core_share)
    young_share = young / known_age if known_age else 0.0
    fraud_share = len(confirmed) / size if size else 0.0
    known_amounts = [a for a in amounts if a is not None]
    mean_amount = sum(known_amounts) / len(known_amounts) if known_amounts else None
    ratio = mean_amount / population.mean_amount if mean_amount is not None and population.mean_amount else None
    scripted_share = scripted / with_fill if with_fill else 0.0
    hurried_share = hurried / with_fill if with_fill else 0.0

    strengths = {
        "compression": _compression(span, core, params.compression_days) if len(firsts) >= 2 else 0.0,
        "young_accounts": young_share,
        "hurried_forms": hurried_share,
        "few_edits": math.exp(-sum(edits) / len(edits) / 1.5) if edits else 0.0,
        "shared_kinds": min(len(kinds) - 1, 2) / 2 if kinds else 0.0,
        "fraud_evidence": min(1.0, 3.0 * fraud_share + 0.5 * flagged_ids),
        "size": min(1.0, max(0, size - 2) / 8),
    }
    log_odds = ring_log_odds(strengths, params.weights)
    confidence = _round(_sigmoid(log_odds), 6)
    stake = exposure(amounts, population.mean_amount or mean_amount or 1.0)
    score = _round(ring_priority(confidence, stake.loans, params.loss_scale), 6)
    by_kind: dict[str, int] = {}
    for nid in links:
        by_kind[node_kind(nid)] = by_kind.get(node_kind(nid), 0) + 1
    is_scripted = len(kinds) == 1 and scripted_share >= params.scripted_share
    features: dict[str, Any] = {
        "size": size,
        "identifiers": len(links),
        "linked_pairs": len(pairs),
        "density": _round(len(pairs) / possible if possible else 0.0),
        "kinds": kinds,
        "kind_count": len(kinds),
        "identifier_kinds": dict(sorted(by_kind.items())),
        "applications": n_apps,
        "first_application": _iso(min(firsts)) if firsts else None,
        "last_first_application": _iso(max(firsts)) if firsts else None,
        "span_days": _round(span / DAY),
        "core_span_days": _round(core / DAY),
        "young_account_share": _round(young_share),
        "confirmed_fraud": len(confirmed),
        "confirmed_fraud_share": _round(fraud_share),
        "confirmed_fraud_identifiers": flagged_ids,
        "cleared_members": cleared,
        "mean_amount": _round(mean_amount, 2) if mean_amount is not None else None,
        "amount_ratio": _round(ratio) if ratio is not None else None,
        "scripted_share": _round(scripted_share),
        "hurried_share": _round(hurried_share),
        "young_accounts": young,
        "account_age_known": known_age,
        "hurried_applications": hurried,
        "telemetry_applications": with_fill,
        "pasted_applications": pasted,
        "mean_field_edits": _round(sum(edits) / len(edits)) if edits else None,
        "strengths": {k: _round(v) for k, v in strengths.items()},
        "log_odds": _round(log_odds, 3),
        "confidence": confidence,
        "exposure": _round(stake.total, 2),
        "exposure_loans": _round(stake.loans),
        "amounts_unknown": stake.unknown,
        "expected_loss": _round(confidence * stake.total, 2),
    }
    features["summary"] = ring_summary(
        features,
        score,
        young_account_days=params.young_account_days,
        hurried_fill_seconds=params.hurried_fill_seconds,
        loss_scale=params.loss_scale,
    )
    if is_scripted:
        features["pattern"] = "scripted_burst"
    return RingCandidate(
        tuple(members), tuple(sorted(links)), dict(sorted(links.items())), features, score, is_scripted, confidence
    )


def _status(labels: dict[str, Label], node_id: str) -> str | None:
    label = labels.get(node_id)
    return label.status if label else None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


# -- ids and lineage -----------------------------------------------------------------------------
def ring_id_of(member_key: str) -> str:
    """The id a brand-new ring takes from its smallest member key: ``RING-<8 hex>``."""
    return "RING-" + hashlib.sha256(member_key.encode()).hexdigest()[:8].upper()


def _significant(shared: int, of: int) -> bool:
    """Whether ``shared`` members of a ring of ``of`` make up a real part of it."""
    return shared >= 2 and shared * 4 >= of


def assign_ids(
    groups: Sequence[Sequence[str]], previous: Sequence[RingRecord], run_id: str, keep_overlap: float = 0.5
) -> list[tuple[str, dict[str, Any]]]:
    """Ring id and lineage for each new member group, matched to the previous run.

    A group inherits the id of the previous ring it overlaps best (Jaccard,
    then shared members, then the older ring, then id), when they share at least ``keep_overlap``
    of the smaller of the two; each id goes to one group at most. Other groups
    take :func:`ring_id_of` their smallest member whose id is free. Lineage:
    ``event`` is ``new``, ``same``, ``grown``, ``shrunk``, ``changed`` (members
    both joined and left), ``split`` (a previous ring's members are now spread
    over several rings) or ``merged`` (this ring holds real parts of several
    previous rings); ``previous`` lists the previous ring ids involved;
    ``first_run`` is the run in which the ring (id) first appeared.

    >>> assign_ids([("a", "b", "c")], [], "run-1")[0][1]["event"]
    'new'
    """
    sets = [frozenset(g) for g in groups]
    prev_sets = {r.ring_id: frozenset(r.members) for r in previous}
    prev_by_id = {r.ring_id: r for r in previous}
    owner: dict[str, list[str]] = {}
    for r in previous:
        for m in r.members:
            owner.setdefault(m, []).append(r.ring_id)

    overlaps: list[dict[str, int]] = []
    for members in sets:
        counts: dict[str, int] = {}
        for m in members:
            for rid in owner.get(m, ()):
                counts[rid] = counts.get(rid, 0) + 1
        overlaps.append(counts)

    holders: dict[str, list[tuple[int, int]]] = {}
    for i, counts in enumerate(overlaps):
        for rid, shared in counts.items():
            holders.setdefault(rid, []).append((i, shared))

    def first_run(rid: str) -> str:
        return str(prev_by_id[rid].lineage.get("first_run", prev_by_id[rid].run_id))

    options: list[tuple[float, int, str, str, int]] = []
    for i, counts in enumerate(overlaps):
        for rid, shared in counts.items():
            other = prev_sets[rid]
            if shared >= keep_overlap * min(len(sets[i]), len(other)):
                jaccard = shared / len(sets[i] | other)
                options.append((-jaccard, -shared, first_run(rid), rid, i))
    options.sort(key=lambda o: (*o[:4], min(sets[o[4]])))
    inherited: dict[int, str] = {}
    taken: set[str] = set()
    for *_, rid, i in options:
        if i not in inherited and rid not in taken:
            inherited[i] = rid
            taken.add(rid)

    used = set(prev_sets) | taken
    out: list[tuple[str, dict[str, Any]]] = []
    for i, members in enumerate(sets):
        counts = overlaps[i]
        related = sorted(rid for rid, shared in counts.items() if _significant(shared, len(prev_sets[rid])))
        if i in inherited:
            rid = inherited[i]
            before = prev_sets[rid]
            spread = any(j != i and _significant(shared, len(before)) for j, shared in holders.get(rid, ()))
            merged_from = sorted(set(related) | {rid})
            if len(merged_from) > 1:
                event, prev_ids = "merged", merged_from
            elif spread:
                event, prev_ids = "split", [rid]
            elif members == before:
                event, prev_ids = "same", [rid]
            elif members > before:
                event, prev_ids = "grown", [rid]
            elif members < before:
                event, prev_ids = "shrunk", [rid]
            else:
                event, prev_ids = "changed", [rid]
            out.append((rid, {"event": event, "previous": prev_ids, "first_run": first_run(rid)}))
            continue
        rid = ""
        for key in sorted(members):
            candidate = ring_id_of(key)
            if candidate not in used:
                rid = candidate
                break
        if not rid:  # every member's id is taken: extend the smallest one's hash deterministically
            n = 1
            while not rid or rid in used:
                rid = ring_id_of(f"{min(members)}#{n}")
                n += 1
        used.add(rid)
        event = "split" if related else "new"
        out.append((rid, {"event": event, "previous": related, "first_run": run_id}))
    return out


# -- the run ----------------------------------------------------------------------------------------
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


def _tick(progress: Progress | None, step: str, done: int, total: int) -> None:
    if progress is not None:
        progress(step, done, total)


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


def population_reference(store: GraphStore, sample: int) -> Population:
    """Mean application amount over a deterministic sample of about ``sample`` applicants.

    Applicant keys are keyed hashes (hex), so the keys below a bound are a
    uniform sample that every run and every backend draws identically
    (``store.applicants_below``: an index range seek on Neo4j).
    """
    if sample <= 0:
        return Population(None, 0)
    total = store.stats().get("applicants", 0)
    if total == 0:
        return Population(None, 0)
    share = sample / total
    bound = format(math.ceil(share * 16**6), "06x") if share < 1 else "g"  # "g" sorts after every hex key
    keys = store.applicants_below(bound)
    amounts = [a.amount for apps in store.applications_of(keys).values() for a in apps if a.amount is not None]
    return Population(sum(amounts) / len(amounts) if amounts else None, len(keys))


def _measure_all(
    store: GraphStore,
    parts: Sequence[LinkedComponent],
    labels: dict[str, Label],
    population: Population,
    params: RingParams,
    limit: int,
    progress: Progress | None,
) -> list[RingCandidate]:
    total = len(parts)
    out: list[RingCandidate] = []
    batch: list[LinkedComponent] = []
    size = 0
    for done, part in enumerate(parts, 1):
        batch.append(part)
        size += len(part.identifiers)
        if size >= 5000 or done == total:
            out.extend(_measure_batch(store, batch, labels, population, params, limit))
            _tick(progress, "measuring", done, total)
            batch, size = [], 0
    return out


def _measure_batch(
    store: GraphStore,
    parts: Sequence[LinkedComponent],
    labels: dict[str, Label],
    population: Population,
    params: RingParams,
    limit: int,
) -> list[RingCandidate]:
    idents = sorted({n for p in parts for n in p.identifiers})
    usage = store.identifier_usage(idents, END_OF_TIME, 0.0, limit)
    applications = store.applications_of(sorted({m for p in parts for m in p.members}))
    out = []
    for part in parts:
        inside = set(part.members)
        links: dict[str, tuple[str, ...]] = {}
        for nid in part.identifiers:
            use = usage.get(nid)
            users = tuple(m for m in use.members if m in inside) if use else ()
            if len(users) >= 2:
                links[nid] = users
        apps = {m: applications.get(m, []) for m in part.members}
        out.append(measure(part.members, links, apps, labels, population, params))
    return out
