"""Housekeeping on a timer, off the request path: one daemon thread that calls a job every
``seconds`` (the audit log's sealing). A failing round is logged and the next one runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    def __init__(self, name: str, seconds: float, job: Callable[[], object]) -> None:
        self._job = job
        self._seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ringsight-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._seconds):
            try:
                self._job()
            except Exception:  # a store outage or a bug: the next round tries again
                log.exception("periodic %s failed", self._thread.name)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
