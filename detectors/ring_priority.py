"""The ring score moved to :mod:`detectors.rings.scoring`; this name is kept for callers."""

from detectors.rings.scoring import (
    Exposure,
    exposure,
    identifiers_text,
    loss_at,
    ring_priority,
    ring_summary,
    span_text,
)

__all__ = ["Exposure", "exposure", "identifiers_text", "loss_at", "ring_priority", "ring_summary", "span_text"]
