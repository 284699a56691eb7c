"""What every part of the fraud desk shares: the store, the normaliser, the scorer
and the clock (injected, so tests and replays control time)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from detectors.score import Scorer
from graph.normalise import Normaliser
from graph.store import GraphStore


def applicant_key(applicant_id: str) -> str:
    """The key of ``applicant:<key>`` (a bare key is taken as it is)."""
    return applicant_id.removeprefix("applicant:")


MonitoringMode = Literal["queued", "inline", "off"]


def _nothing() -> None:
    return None


class DeskBase:
    monitoring: MonitoringMode = "inline"
    """How whom a write reaches is re-scored. ``queued`` (the service): a stored application
    or a label queues that work in its own transaction and a worker drains the queue
    (:mod:`api.service.monitoring_worker`). ``inline`` (tools, replays, unit tests): a label
    re-scores in the call, and a stored application's monitoring is the caller's to run
    (:meth:`~api.service.monitoring.Monitoring.on_new_application`). ``off``: neither."""

    def __init__(
        self, store: GraphStore, normaliser: Normaliser, scorer: Scorer, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.normaliser = normaliser
        self.scorer = scorer
        self._clock = clock
        self.work_queued: Callable[[], None] = _nothing
        """Told after a write queued monitoring work (the worker's ``wake``: it also polls)."""

    def now(self) -> float:
        return float(self._clock())
