"""Monitoring off the request path, durable and shared: a worker thread that drains the
store's work queue (:mod:`graph.store.work_queue`), re-scoring the existing applicants
each stored application links to (``monitor`` items) and whom each label change reaches
(``relabel`` items).

The queue item is written by the stored application's or the label's own transaction, so
neither a crash nor a restart loses it, and every API process on one store drains the same queue:
an item is claimed by one worker for a lease and deleted when done. A worker that dies
mid-item leaves it to come back when the lease runs out. An item that fails
``MAX_ATTEMPTS`` times is logged and dropped (a poison item must not block the queue).

Routes only ``wake()`` the worker after a write that queued work (it also polls), so a
request never waits for monitoring and monitoring never takes a request thread. A
process can also run only this worker (``ringsight work``), with its API processes
started with ``RINGSIGHT_MONITORING=false``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping

from prometheus_client import Counter, Gauge

from graph.errors import StoreUnavailable
from graph.store.work_queue import WorkQueue

log = logging.getLogger(__name__)

DONE = Counter(
    "ringsight_monitoring_done_total", "Monitoring work done (a stored application's or a label change's re-scores)"
)
FAILED = Counter("ringsight_monitoring_failed_total", "Monitoring work that raised (retried after its lease)")
DROPPED = Counter("ringsight_monitoring_dropped_total", "Monitoring work dropped after MAX_ATTEMPTS failures")
PENDING = Gauge("ringsight_monitoring_pending", "Monitoring work queued in the store at the last look")

LEASE = 120.0
"""Seconds a claimed item is this worker's before another may take it."""
BATCH = 20
MAX_ATTEMPTS = 5
POLL = 1.0


class MonitoringWorker:
    """One daemon thread running ``handlers[item.kind](item.subject)`` for each queued item
    (``start=False``: no thread; the caller runs :meth:`run_once` itself)."""

    def __init__(
        self,
        queue: WorkQueue,
        handlers: Mapping[str, Callable[[str], object]],
        poll: float = POLL,
        pause: float = 0.0,
        clock: Callable[[], float] = time.time,
        start: bool = True,
    ) -> None:
        self._queue = queue
        self._handlers = dict(handlers)
        self._poll = poll
        self._pause = pause
        self._clock = clock
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ringsight-monitoring", daemon=True)
        if start:
            self._thread.start()

    def wake(self) -> None:
        """New work was queued: look now rather than at the next poll."""
        self._idle.clear()
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                done = self.run_once()
            except StoreUnavailable as exc:
                log.warning("monitoring cannot reach the store: %s", exc)
                done = 0
            if done == 0:
                self._idle.set()
                self._wake.wait(self._poll)
                self._wake.clear()

    def run_once(self) -> int:
        """Claim and do one batch; return how many items it finished."""
        items = self._queue.claim(self.name, self._clock(), LEASE, BATCH)
        finished: list[int] = []
        for item in items:
            if self._stopping.is_set():
                break
            handler = self._handlers.get(item.kind)
            if handler is None:
                log.error("unknown work kind %r (item %d): dropped", item.kind, item.seq)
                finished.append(item.seq)
                continue
            try:
                handler(item.subject)
                DONE.inc()
                finished.append(item.seq)
            except Exception:
                FAILED.inc()
                if item.attempts >= MAX_ATTEMPTS:
                    DROPPED.inc()
                    finished.append(item.seq)
                    log.exception("monitoring for %s failed %d times: dropped", item.subject, item.attempts)
                else:
                    log.exception("monitoring for %s failed (attempt %d): retried later", item.subject, item.attempts)
            if self._pause:
                time.sleep(self._pause)  # leave the interpreter to the request path
        self._queue.finish(self.name, finished)
        return len(finished)

    def run_all(self) -> int:
        """Do everything queued now, on the caller's thread (tools); return how many items."""
        done = 0
        while finished := self.run_once():
            done += finished
        return done

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until the store's queue is empty (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        self.wake()
        while time.monotonic() < deadline:
            try:
                pending = self._queue.pending_work()
            except StoreUnavailable:
                pending = -1
            PENDING.set(max(pending, 0))
            if pending == 0:
                return True
            self.wake()
            time.sleep(0.02)
        return False

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand, then end the thread (queued work stays queued)."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
