"""Batch ring detection started from the desk (an admin's request): one run at a
time, written and audited."""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.service.base import DeskBase

if TYPE_CHECKING:
    from detectors.rings import RingRun

RING_RUN_AUDIT = "rings:run"
"""The audit action of a ring run (its subject is the run id; the overview reads runs from it)."""


class RingRuns(DeskBase):
    def run_rings(self, max_ring_size: int, actor: str) -> RingRun:
        """Find, score and write rings over the whole graph. An unchanged re-run writes
        nothing; :class:`graph.errors.Conflict` while another run is going."""
        # Imported here: the batch machinery (scipy, networkx) is not needed to score.
        from detectors.rings import RingParams, detect_rings

        run = detect_rings(
            self.store, RingParams(max_ring_size=max_ring_size), self.scorer.config.params, clock=self.now
        )
        self.store.append_audit(
            run.at,
            actor,
            RING_RUN_AUDIT,
            run.run_id,
            {"rings": len(run.rings), "written": run.written, "critical": len(run.critical)},
        )
        return run
