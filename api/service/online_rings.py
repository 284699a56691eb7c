"""The scoring flow's online ring hook: a stored application joins a known ring (or forms a
provisional one) right after it is written, and the response names the ring
(:mod:`detectors.rings.online` decides; this module only calls it for the desk).

A failed join never fails the request: the application and its decision are already
stored, and the next batch run places the applicant anyway.
"""

from __future__ import annotations

import logging

from detectors.rings.online import OnlineRing, assign, current
from detectors.signals import DetectorParams
from graph.errors import StoreUnavailable
from graph.normalise import NormalisedApplication
from graph.store import GraphStore, ScoringSnapshot

log = logging.getLogger("ringsight")


def ring_after_storing(
    store: GraphStore,
    app: NormalisedApplication,
    params: DetectorParams,
    at: float,
    *,
    stored: bool,
    snapshot: ScoringSnapshot | None = None,
) -> OnlineRing | None:
    """The applicant's ring after ``app`` was written: joined or formed now when ``stored``
    (whom it links to taken from its scoring ``snapshot`` when given), else (a re-send) the
    ring it is in."""
    try:
        return assign(store, app, params, at, snapshot=snapshot) if stored else current(store, app.applicant_key)
    except StoreUnavailable as exc:
        log.warning("online ring of %s not recorded: %s", app.application_id, exc)
        return None
