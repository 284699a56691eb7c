"""Client-side deadlines for the Neo4j store.

The driver bounds connecting and waiting for a pooled connection, and the server bounds a
transaction; but a server that accepts connections and then answers nothing (a hung JVM,
a stopped process, a black-holing proxy) leaves a call blocked on a socket read for as
long as the outage lasts. So every store call runs on a bounded pool of worker threads
and the caller stops waiting at its deadline: it gets
:class:`~graph.errors.StoreUnavailable` (and the outage policy answers), while the
worker stays blocked until the socket gives. Workers are bounded by the connection pool's
size: when all of them are stuck, further calls wait in the queue and time out in turn,
so nothing grows without bound.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import TypeVar

from graph.errors import StoreUnavailable

T = TypeVar("T")

MARGIN = 0.5
"""Seconds a deadline allows beyond the call's own timeout (the driver's bookkeeping)."""


class Deadlines:
    def __init__(self, workers: int, name: str = "neo4j") -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(2, workers), thread_name_prefix=name)
        self._local = threading.local()

    def run(self, what: str, work: Callable[[], T], seconds: float) -> T:
        """``work()``, or :class:`StoreUnavailable` once ``seconds`` have passed. A call made
        from inside a bounded call runs inline (it is bounded by the outer deadline)."""
        if getattr(self._local, "inside", False):
            return work()
        future = self._pool.submit(self._inside, work)
        try:
            return future.result(timeout=seconds)
        except concurrent.futures.TimeoutError:
            future.cancel()  # never started: it will not run at all
            raise StoreUnavailable(f"neo4j: {what} did not answer within {seconds:.1f} s") from None

    def _inside(self, work: Callable[[], T]) -> T:
        self._local.inside = True
        try:
            return work()
        finally:
            self._local.inside = False

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
