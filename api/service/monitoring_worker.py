"""Monitoring off the request path: a worker thread that re-scores the existing
applicants a newly stored application links to.

A stored application's answer never waits for monitoring, and monitoring never
takes a request thread: routes enqueue the application id and return. The
queue is bounded; when it is full the oldest work is kept and the new id is
counted as dropped (``ringsight_monitoring_dropped_total``), because a
scoring flow at its peak matters more than a re-score that the next label or
ring run will redo. The queue lives in this process: work queued when the
process dies is lost (the durable, shared queue is in the hardening issue).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from prometheus_client import Counter, Gauge

log = logging.getLogger(__name__)

QUEUED = Gauge("ringsight_monitoring_queued", "Stored applications waiting for their monitoring re-score")
DONE = Counter("ringsight_monitoring_done_total", "Stored applications whose linked applicants were re-scored")
DROPPED = Counter("ringsight_monitoring_dropped_total", "Monitoring work dropped because the queue was full")
FAILED = Counter("ringsight_monitoring_failed_total", "Monitoring work that raised (logged, not retried)")

_STOP = object()


class MonitoringWorker:
    """One daemon thread running ``work(application_id)`` for each submitted id, in order."""

    def __init__(self, work: Callable[[str], object], capacity: int = 10_000, pause: float = 0.0) -> None:
        self._work = work
        self._queue: queue.Queue[object] = queue.Queue(maxsize=capacity)
        self._pause = pause
        self._thread = threading.Thread(target=self._run, name="ringsight-monitoring", daemon=True)
        self._thread.start()

    def submit(self, application_id: str) -> bool:
        """Queue one id; False (and counted) when the queue is full."""
        try:
            self._queue.put_nowait(application_id)
        except queue.Full:
            DROPPED.inc()
            return False
        QUEUED.inc()
        return True

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                QUEUED.dec()
                try:
                    self._work(str(item))
                    DONE.inc()
                except Exception:
                    FAILED.inc()
                    log.exception("monitoring re-score for %s failed", item)
                if self._pause:
                    time.sleep(self._pause)  # leave the interpreter to the request path
            finally:
                self._queue.task_done()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued id is done (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what is queued (up to ``timeout``), then end the thread."""
        self.drain(timeout)
        try:
            self._queue.put(_STOP, timeout=1.0)
        except queue.Full:
            return
        self._thread.join(timeout)
