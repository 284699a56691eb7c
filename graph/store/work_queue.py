"""The work queue seam: durable, shared background work (the monitoring re-scores a stored
application triggers) and named locks (one ring-detection run at a time), both held in
the database so any number of API processes on one store behave like one.

- Work is queued by the write that causes it, in the same transaction
  (:meth:`graph.store.writer.GraphWriter.record_assessment` queues ``monitor`` work for a
  stored application, :meth:`graph.store.case_log.CaseLog.set_label` the ``relabel`` work
  of a label), so a crash can lose neither the write nor its follow-up.
- A worker *claims* items for a lease; an item is deleted when done. Items a dead worker
  claimed come back when their lease runs out, so work is done at least once and, while
  workers live, exactly once.
- A lock is held by one holder until released or until its lease runs out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

MONITOR = "monitor"
"""Re-score who a stored application links to (subject: the application id)."""
RELABEL = "relabel"
"""Re-score who a label's change reaches (subject: its node, new status and the applicants not
to alert, as JSON written by :class:`api.service.labels.Labelling`)."""


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Work a write queues in its own transaction."""

    kind: str
    subject: str
    at: float


@dataclass(frozen=True, slots=True)
class WorkItem:
    seq: int
    kind: str
    subject: str
    at: float
    attempts: int = 0


class WorkQueue(ABC):
    @abstractmethod
    def enqueue(self, kind: str, subject: str, at: float) -> None:
        """Queue one item outside any other write (a label's follow-up, a retry)."""

    @abstractmethod
    def claim(self, worker: str, now: float, lease: float, limit: int) -> list[WorkItem]:
        """Up to ``limit`` items, oldest first, that nobody holds (or whose holder's lease
        ran out), now held by ``worker`` until ``now + lease``."""

    @abstractmethod
    def finish(self, worker: str, seqs: list[int]) -> None:
        """Remove done items (only those ``worker`` still holds)."""

    @abstractmethod
    def pending_work(self) -> int:
        """Items queued or held, not yet finished."""

    @abstractmethod
    def acquire_lock(self, name: str, holder: str, now: float, lease: float) -> bool:
        """Take lock ``name`` for ``holder`` until ``now + lease`` (True), unless another
        holder has it and its lease has not run out (False). A holder may renew its own."""

    @abstractmethod
    def release_lock(self, name: str, holder: str) -> None:
        """Release lock ``name`` if ``holder`` has it."""
