"""The demo's preparation: the checked-in sample replayed through the fraud desk, so the
console's desk is live on first open.

Four steps, each through the desk's own operations and each skipped for what the store
holds already (a second preparation writes nothing):

1. **scoring**: every sample application is assessed in submission order, as the scoring
   flow would have: stored with its decision and audit event at its submission time
   (a replay clock), scored with the graph as it was then, and, as the service's
   monitoring worker does, the existing applicants it links to re-scored then;
2. **labels**: the sample's known bad actors (``bad_actors.csv``) are confirmed as fraud
   through the desk's labelling, so monitoring re-scores whom they reach and alerts;
3. **rings**: one batch ring run (it sees those labels) unless active rings exist;
4. **cases**: a case on every critical ring that has none, opened by ``system:demo``.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from api.service.desk import FraudDesk
from api.service.monitoring_worker import MonitoringWorker
from api.service.review_policy import CUSTOMER_ACTIONS, ROLE_LAYERS, ReviewPolicy, layer_rank
from graph.errors import Conflict, NotFound
from graph.loading import applications_file, iter_rows
from graph.records import ApplicationRecord, from_flat
from graph.store import Alert
from graph.vocabulary import CONFIRMED_FRAUD

DEMO_ACTOR = "system:demo"
"""Who the demo's preparation acts as in the audit log, on labels and on cases."""


@dataclass
class DemoReport:
    """What one preparation did (zero counts: it was there already)."""

    applications: int = 0
    """Applications in the sample."""
    scored: int = 0
    already_scored: int = 0
    bands: Counter[str] = field(default_factory=Counter)
    """Bands of the applications scored by this preparation."""
    scoring_seconds: float = 0.0
    monitored: bool = False
    """Whether linked applicants were re-scored after each stored application."""
    alerts: int = 0
    """Alerts raised by this preparation (monitoring during the replay and the labels)."""
    labels: int = 0
    labels_present: int = 0
    labels_absent: int = 0
    """Bad actors whose node the sample never used (nothing to label)."""
    ring_run: str | None = None
    """The id of the ring run this preparation started (None: active rings existed)."""
    ring_seconds: float = 0.0
    rings: int = 0
    critical_rings: int = 0
    cases_opened: list[str] = field(default_factory=list)
    cases_present: int = 0
    seconds: float = 0.0

    @property
    def wrote_nothing(self) -> bool:
        return not (self.scored or self.labels or self.ring_run or self.cases_opened)


class _ReplayClock:
    """The desk's clock during the replay: the submission time of the application at hand."""

    def __init__(self) -> None:
        self.at = 0.0

    def __call__(self) -> float:
        return self.at


def sample_records(sample: Path) -> list[ApplicationRecord]:
    """The sample's applications, validated, in submission order (ties in file order)."""
    records = [from_flat(row) for rows in iter_rows(applications_file(sample), 10_000) for row in rows]
    return sorted(records, key=lambda r: r.submitted_at)


def sample_bad_actors(sample: Path) -> list[tuple[str, str]]:
    """``(kind, value)`` rows of the sample's ``bad_actors.csv`` (none without the file)."""
    path = sample / "bad_actors.csv"
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        rows = [((r.get("kind") or "").strip(), (r.get("value") or "").strip()) for r in csv.DictReader(fh)]
    return [(k, v) for k, v in rows if k and v]


def prepare_demo(
    desk: FraudDesk,
    sample: Path,
    *,
    monitoring: bool = True,
    progress: Callable[[int], None] | None = None,
) -> DemoReport:
    """Bring ``desk``'s store to the demo's state (see the module docstring); idempotent.

    ``monitoring`` re-scores linked applicants after each stored application, as the
    service's worker does when it runs (``RINGSIGHT_MONITORING``). ``progress`` is told
    of each application looked at. :class:`graph.errors.Conflict` for a store that holds
    other applications than the sample's, or the sample without decisions.
    """
    started = time.perf_counter()
    report = DemoReport()
    records = sample_records(sample)
    report.applications = len(records)
    report.monitored = monitoring
    _score(desk, records, monitoring, report, progress)
    _label_bad_actors(desk, sample_bad_actors(sample), report)
    _run_rings(desk, report)
    _open_ring_cases(desk, report)
    report.seconds = time.perf_counter() - started
    return report


def _score(
    desk: FraudDesk,
    records: list[ApplicationRecord],
    monitoring: bool,
    report: DemoReport,
    progress: Callable[[int], None] | None,
) -> None:
    store = desk.store
    todo: list[ApplicationRecord] = []
    undecided = 0
    for record in records:
        if store.application(record.application_id) is None:
            todo.append(record)
        elif store.decisions(record.application_id):
            report.already_scored += 1
        else:
            undecided += 1
    if undecided:
        raise Conflict(
            f"{store.url} holds {undecided:,} sample applications stored without a decision (bulk-loaded, "
            "e.g. by an earlier `make demo`); the demo scores them as they arrive: delete that store "
            "(for the default: rm data/demo.db*) and run the demo again"
        )
    if todo and not report.already_scored and store.stats()["applications"]:
        raise Conflict(
            f"{store.url} holds applications and none of the demo sample's: the demo prepares a store of its "
            "own (leave RINGSIGHT_GRAPH_URL unset for data/demo.db, or point it at a new store)"
        )
    if progress is not None and report.already_scored:
        progress(report.already_scored)
    clock = _ReplayClock()
    replay = FraudDesk(store, desk.normaliser, desk.scorer, clock=clock)
    replay.review = desk.review
    replay.monitoring = "inline"  # linked applicants are re-scored here, as of the replay's time
    started = time.perf_counter()
    for n, record in enumerate(todo, 1):
        clock.at = record.submitted_at.timestamp()
        done = replay.assess(record, persist=True, actor=DEMO_ACTOR)
        if done.stored:
            report.scored += 1
            report.bands[done.result.band] += 1
            if monitoring:
                report.alerts += len(replay.on_new_application(record.application_id))
        if progress is not None and (n % 100 == 0 or n == len(todo)):
            progress(n % 100 or 100)
    report.scoring_seconds = time.perf_counter() - started


def _label_bad_actors(desk: FraudDesk, bad_actors: list[tuple[str, str]], report: DemoReport) -> None:
    for kind, value in bad_actors:
        node = desk.normaliser.node_for(kind, value)
        if desk.store.labels([node]):
            # Confirmed by an earlier preparation, or labelled otherwise by an investigator since.
            report.labels_present += 1
            continue
        try:
            change = desk.label(node, CONFIRMED_FRAUD, DEMO_ACTOR, "listed in the sample's bad_actors.csv")
        except NotFound:
            report.labels_absent += 1
            continue
        report.labels += 1
        report.alerts += len(change.alerts)
    if desk.monitoring == "queued":
        report.alerts += _drain_here(desk)


def _counted(work: Callable[[str], list[Alert]], raised: list[Alert], subject: str) -> None:
    raised.extend(work(subject))


def _drain_here(desk: FraudDesk) -> int:
    """Do the monitoring the labels queued now, as the service's worker would; return the
    alerts it raised (the demo opens on a desk with its alerts in place)."""
    raised: list[Alert] = []
    handlers = {kind: partial(_counted, work, raised) for kind, work in desk.follow_ups().items()}
    MonitoringWorker(desk.store, handlers, start=False).run_all()
    return len(raised)


def _run_rings(desk: FraudDesk, report: DemoReport) -> None:
    from detectors.rings import RingParams

    if not desk.store.rings():
        started = time.perf_counter()
        report.ring_run = desk.run_rings(RingParams().max_ring_size, DEMO_ACTOR).run_id
        report.ring_seconds = time.perf_counter() - started
    report.rings = len(desk.store.rings())


def _open_ring_cases(desk: FraudDesk, report: DemoReport) -> None:
    from detectors.rings import RingParams

    critical = RingParams().critical
    rings = [r for r in desk.store.rings() if r.score >= critical]
    report.critical_rings = len(rings)
    for ring in sorted(rings, key=lambda r: -r.score):
        if desk.cases_by(subject=ring.ring_id, limit=1):
            report.cases_present += 1
            continue
        reason = f"critical ring: score {ring.score:.2f} (critical from {critical:.2f}) in ring run {ring.run_id}"
        report.cases_opened.append(desk.open_case(ring.ring_id, reason, DEMO_ACTOR).case_id)


def role_guide(review: ReviewPolicy) -> dict[str, str]:
    """What each role may do, in a line each (the outcomes from the review policy)."""

    def decides(role: str) -> str:
        layer = layer_rank(ROLE_LAYERS[role])
        mine = [o for o, at in review.outcome_layers.items() if layer_rank(at) <= layer]
        return ", ".join(o for o in (*CUSTOMER_ACTIONS, "clear", "confirmed_fraud") if o in mine)

    return {
        "scorer": "score applications (POST /v1/applications stores, POST /v1/score is a dry run); nothing else",
        "investigator": "the analyst: look up applicants, identifiers, networks, rings and alerts; label; "
        f"open cases, recommend any outcome; decides {decides('investigator')}",
        "senior": f"an analyst's rights; decides {decides('senior')}",
        "committee": f"a senior's rights; decides {decides('committee')} (and limit cuts over "
        f"{review.committee_limit_share:.0%})",
        "admin": f"an analyst's rights (decides {decides('admin')}); starts ring runs, reads the audit log",
    }
