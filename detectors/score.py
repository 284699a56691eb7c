"""From observations to a score with a band, an action and reasons.

>>> from graph.normalise import NormalisedApplication
>>> from graph.store.records import ScoringSnapshot
>>> scorer = Scorer.default()
>>> app = NormalisedApplication("A-1", 1.7e9, "k" * 24, "masked", ())
>>> empty = ScoringSnapshot(app.applicant_key, app.ts, (), {}, {}, {}, {}, ())
>>> result = scorer.score_snapshot(empty, app)
>>> result.band, result.action
('low', 'approve')
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detectors import application_behaviour, bad_actor_proximity, shared_identifier_ring
from detectors.model import FEATURES, Model, ScoringConfig, load_config, load_model
from detectors.signals import Observation, ScoringContext, Signal
from detectors.wording import percent
from graph.normalise import NormalisedApplication
from graph.store.reader import GraphReader
from graph.store.records import ScoringSnapshot

Detector = Callable[[ScoringContext], list[Observation]]

DETECTORS: tuple[tuple[str, Detector], ...] = (
    (shared_identifier_ring.NAME, shared_identifier_ring.observe),
    (bad_actor_proximity.NAME, bad_actor_proximity.observe),
    (application_behaviour.NAME, application_behaviour.observe),
)


@dataclass(frozen=True)
class ScoreResult:
    application_id: str
    applicant_key: str
    score: float
    band: str
    action: str
    reasons: list[Signal]
    signals: list[Signal]
    model_version: str
    as_of: float

    def reason_dicts(self) -> list[dict[str, Any]]:
        return [signal_dict(s) for s in self.reasons]


def signal_dict(s: Signal) -> dict[str, Any]:
    return {
        "code": s.code,
        "detector": s.detector,
        "sentence": s.sentence,
        "strength": round(s.strength, 4),
        "contribution": round(s.contribution, 4),
        "value": round(s.value, 4),
        "evidence": s.evidence,
    }


class Scorer:
    """Runs every detector on one application and weighs their observations."""

    def __init__(self, config: ScoringConfig, model: Model, disabled: frozenset[str] = frozenset()) -> None:
        self.config = config
        self.model = model
        self.disabled = disabled

    @classmethod
    def default(cls, config_path: Path | str | None = None, model_path: Path | str | None = None) -> Scorer:
        return cls(load_config(config_path), load_model(model_path))

    def read(self, store: GraphReader, app: NormalisedApplication, as_of: float | None = None) -> ScoringSnapshot:
        """The one store read a score needs: ``app``'s neighbourhood as of ``as_of``
        (default: its submission)."""
        return store.snapshot(app, app.ts if as_of is None else as_of, self.config.params.hub_limit)

    def observe(
        self, store: GraphReader, app: NormalisedApplication, as_of: float | None = None
    ) -> list[tuple[str, Observation]]:
        return self.observe_snapshot(self.read(store, app, as_of), app)

    def observe_snapshot(self, snapshot: ScoringSnapshot, app: NormalisedApplication) -> list[tuple[str, Observation]]:
        """Every detector's observations, computed only from ``snapshot``."""
        ctx = ScoringContext(snapshot, app, self.config.params)
        out = []
        for name, detect in DETECTORS:
            if name in self.disabled:
                continue
            for obs in detect(ctx):
                # Every reason must be openable: name the application it was read from.
                evidence = {"application": app.node_id, **obs.evidence}
                out.append((name, Observation(obs.code, obs.value, obs.sentence, evidence, obs.known)))
        return out

    def strength(self, code: str, value: float) -> tuple[float, str]:
        """Strength in [0, 1] of a raw value, and a note on how it compares."""
        t = self.config.transforms[code]
        kind = t["kind"]
        if kind == "linear":
            return min(1.0, max(0.0, value)), ""
        if kind == "saturate":
            return 1.0 - math.exp(-max(0.0, value) / float(t["scale"])), ""
        baseline = self.model.baselines.get(code)
        if baseline is None:
            lo, hi = float(t["lo"]), float(t["hi"])
            return min(1.0, max(0.0, (value - lo) / (hi - lo))), ""
        pct = baseline.percentile(value)
        span = self.config.percentile_to - self.config.percentile_from
        s = min(1.0, max(0.0, (pct - self.config.percentile_from) / span))
        return s, f" More abnormal than {percent(pct, 1)} of applications."

    def weigh(self, observations: list[tuple[str, Observation]]) -> list[Signal]:
        signals = []
        for detector, obs in observations:
            # An unknown input is no evidence either way: no strength, so no contribution.
            s, note = self.strength(obs.code, obs.value) if obs.known else (0.0, "")
            contribution = self.model.weights.get(obs.code, 0.0) * s
            sentence = obs.sentence + (note if s > 0 else "")
            signals.append(Signal(obs.code, detector, obs.value, s, contribution, sentence, obs.evidence, obs.known))
        return signals

    def result(self, app: NormalisedApplication, signals: list[Signal], as_of: float) -> ScoreResult:
        probability = self.model.probability({s.code: s.strength for s in signals})
        band = self.config.band(probability)
        reasons = sorted(
            (s for s in signals if s.known and s.contribution >= self.config.min_contribution),
            key=lambda s: (-s.contribution, s.code),
        )[: self.config.top_reasons]
        return ScoreResult(
            application_id=app.application_id,
            applicant_key=app.applicant_key,
            score=probability,
            band=band.name,
            action=band.action,
            reasons=reasons,
            signals=signals,
            model_version=self.model.version,
            as_of=as_of,
        )

    def score(self, store: GraphReader, app: NormalisedApplication, as_of: float | None = None) -> ScoreResult:
        """Score ``app`` with what the store held before ``as_of`` (default: its submission)."""
        return self.score_snapshot(self.read(store, app, as_of), app)

    def score_snapshot(self, snapshot: ScoringSnapshot, app: NormalisedApplication) -> ScoreResult:
        """Score ``app`` from a snapshot already read."""
        return self.result(app, self.weigh(self.observe_snapshot(snapshot, app)), snapshot.as_of)

    def features(self, store: GraphReader, app: NormalisedApplication, as_of: float | None = None) -> list[float]:
        """Strengths in :data:`FEATURES` order (for training and evaluation)."""
        by_code = {s.code: s.strength for s in self.weigh(self.observe(store, app, as_of))}
        return [by_code.get(f, 0.0) for f in FEATURES]
