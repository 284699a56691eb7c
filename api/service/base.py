"""What every part of the fraud desk shares: the store, the normaliser, the scorer
and the clock (injected, so tests and replays control time)."""

from __future__ import annotations

import time
from collections.abc import Callable

from detectors.score import Scorer
from graph.normalise import Normaliser
from graph.store import GraphStore


def applicant_key(applicant_id: str) -> str:
    """The key of ``applicant:<key>`` (a bare key is taken as it is)."""
    return applicant_id.removeprefix("applicant:")


class DeskBase:
    queue_monitoring: bool = False
    """Whether a stored application queues the monitoring of whom it links to (in its own
    transaction); a worker drains the queue (:mod:`api.service.monitoring_worker`)."""

    def __init__(
        self, store: GraphStore, normaliser: Normaliser, scorer: Scorer, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.normaliser = normaliser
        self.scorer = scorer
        self._clock = clock

    def now(self) -> float:
        return float(self._clock())
