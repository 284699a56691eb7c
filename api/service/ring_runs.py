"""Batch ring detection started from the desk (an admin's request): one run at a time
across every process on the store (a lock held in the database), written and audited."""

from __future__ import annotations

import os
import socket
import uuid
from typing import TYPE_CHECKING

from api.service.base import DeskBase
from graph.errors import Conflict

if TYPE_CHECKING:
    from detectors.rings import RingRun

RING_RUN_LOCK = "ring_run"
RING_RUN_LEASE = 6 * 3600.0
"""A run holds the store's ``ring_run`` lock at most this long (a crashed run's lock expires)."""
RING_RUN_AUDIT = "rings:run"
"""The audit action of a ring run (its subject is the run id; the overview reads runs from it)."""


class RingRuns(DeskBase):
    def run_rings(self, max_ring_size: int, actor: str) -> RingRun:
        """Find, score and write rings over the whole graph. An unchanged re-run writes
        nothing; :class:`graph.errors.Conflict` while another run is going."""
        # Imported here: the batch machinery (scipy, networkx) is not needed to score.
        from detectors.rings import RingParams, detect_rings

        holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        if not self.store.acquire_lock(RING_RUN_LOCK, holder, self.now(), RING_RUN_LEASE):
            raise Conflict("a ring-detection run is already in progress (in this or another process)")
        try:
            run = detect_rings(
                self.store, RingParams(max_ring_size=max_ring_size), self.scorer.config.params, clock=self.now
            )
        finally:
            self.store.release_lock(RING_RUN_LOCK, holder)
        self.store.append_audit(
            run.at,
            actor,
            RING_RUN_AUDIT,
            run.run_id,
            {"rings": len(run.rings), "written": run.written, "critical": len(run.critical)},
        )
        return run
