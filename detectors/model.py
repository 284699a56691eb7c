"""The scoring configuration, the model file and population baselines.

The config file (``detectors/config.yaml``) holds graph-reading parameters,
value-to-strength transforms, bands and actions. The model file (JSON) holds
the weights and the population baselines they were learned with; it is
versioned by a content hash so every decision names the model it came from.
"""

from __future__ import annotations

import hashlib
import json
import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml

from detectors.signals import DetectorParams
from graph.errors import ModelError

HERE = Path(__file__).parent
DEFAULT_CONFIG = HERE / "config.yaml"
DEFAULT_MODEL = HERE / "models" / "default.json"

FEATURES: tuple[str, ...] = (
    "shared_identifier",
    "ring_size",
    "ring_density",
    "ring_velocity",
    "ring_confirmed_fraud",
    "bad_actor_direct",
    "bad_actor_proximity",
    "velocity_device",
    "velocity_phone",
    "velocity_ip",
    "velocity_employer",
    "velocity_applicant",
    "young_account",
    "bot_form_fill",
    "few_field_edits",
    "short_session",
    "frequent_edits",
    "many_identities_device",
    "geo_jump",
)
"""Every signal code, in model order. None is a protected attribute or a proxy
for one: date of birth, name, sex and the like are never read."""

QUANTILE_POINTS = 1001


@dataclass(frozen=True, slots=True)
class Band:
    name: str
    below: float
    action: str


@dataclass(frozen=True)
class ScoringConfig:
    params: DetectorParams
    transforms: dict[str, dict[str, Any]]
    percentile_from: float
    percentile_to: float
    bands: tuple[Band, ...]
    top_reasons: int
    min_contribution: float
    policy_min_weights: dict[str, float] = field(default_factory=dict)

    def band(self, score: float) -> Band:
        for band in self.bands:
            if score < band.below:
                return band
        return self.bands[-1]


def load_config(path: Path | str | None = None) -> ScoringConfig:
    source = Path(path) if path else DEFAULT_CONFIG
    try:
        raw = yaml.safe_load(source.read_text())
        params = DetectorParams(**raw["params"])
        transforms = raw["transforms"]
        missing = [f for f in FEATURES if f not in transforms]
        if missing:
            raise ModelError(f"{source}: no transform for {', '.join(missing)}")
        bands = tuple(Band(b["name"], float(b["below"]), b["action"]) for b in raw["bands"])
        return ScoringConfig(
            params=params,
            transforms=transforms,
            percentile_from=float(raw["percentile_strength"]["from"]),
            percentile_to=float(raw["percentile_strength"]["to"]),
            bands=bands,
            top_reasons=int(raw["reasons"]["top"]),
            min_contribution=float(raw["reasons"]["min_contribution"]),
            policy_min_weights={k: float(v) for k, v in (raw.get("policy_min_weights") or {}).items()},
        )
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise ModelError(f"cannot read scoring config {source}: {exc}") from exc


@dataclass(frozen=True)
class Baseline:
    """Population distribution of one raw measure: a quantile grid plus median and MAD."""

    quantiles: tuple[float, ...]
    median: float
    mad: float
    n: int

    def percentile(self, value: float) -> float:
        """Mid-rank share of the population below ``value``."""
        q = self.quantiles
        lo, hi = bisect_left(q, value), bisect_right(q, value)
        return (lo + hi) / 2 / len(q)

    @classmethod
    def of(cls, values: list[float]) -> Baseline:
        ordered = sorted(values)
        n = len(ordered)
        if n == 0:
            raise ModelError("a baseline needs at least one value")
        grid = tuple(ordered[min(n - 1, round(i * (n - 1) / (QUANTILE_POINTS - 1)))] for i in range(QUANTILE_POINTS))
        median = ordered[n // 2]
        mad = sorted(abs(v - median) for v in ordered)[n // 2]
        return cls(grid, median, mad, n)


@dataclass(frozen=True)
class Model:
    """Weights, bias and baselines; ``version`` is a hash of the content."""

    weights: dict[str, float]
    bias: float
    baselines: dict[str, Baseline] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def version(self) -> str:
        # Hashed once: the body holds every baseline's quantile grid (~9 ms to serialise),
        # and every score names the model version.
        return "m-" + hashlib.sha256(json.dumps(self._body(), sort_keys=True).encode()).hexdigest()[:12]

    def _body(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "weights": {f: self.weights.get(f, 0.0) for f in FEATURES},
            "bias": self.bias,
            "baselines": {
                k: {"quantiles": list(b.quantiles), "median": b.median, "mad": b.mad, "n": b.n}
                for k, b in sorted(self.baselines.items())
            },
        }

    def probability(self, strengths: dict[str, float]) -> float:
        z = self.bias + sum(self.weights.get(f, 0.0) * s for f, s in strengths.items())
        return 1.0 / (1.0 + math.exp(-z))

    def save(self, path: Path) -> None:
        body = self._body()
        body["version"] = self.version
        body["meta"] = self.meta
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body, indent=1, sort_keys=True))


def load_model(path: Path | str | None = None) -> Model:
    source = Path(path) if path else DEFAULT_MODEL
    if not source.exists() and path is None:
        return hand_set_model()
    try:
        raw = json.loads(Path(source).read_text())
        baselines = {
            k: Baseline(tuple(v["quantiles"]), v["median"], v["mad"], v["n"]) for k, v in raw["baselines"].items()
        }
        unknown = set(raw["weights"]) - set(FEATURES)
        if unknown:
            raise ModelError(f"{source}: unknown features {sorted(unknown)}")
        return Model(dict(raw["weights"]), float(raw["bias"]), baselines, raw.get("meta", {}))
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ModelError(f"cannot read model {source}: {exc}") from exc


@cache
def hand_set_model() -> Model:
    """Expert weights used before any training (cold start)."""
    return Model(
        weights={
            "shared_identifier": 1.5,
            "ring_size": 2.0,
            "ring_density": 1.0,
            "ring_velocity": 1.5,
            "ring_confirmed_fraud": 2.5,
            "bad_actor_direct": 4.0,
            "bad_actor_proximity": 2.5,
            "velocity_device": 1.0,
            "velocity_phone": 1.0,
            "velocity_ip": 0.5,
            "velocity_employer": 0.3,
            "velocity_applicant": 2.0,
            "young_account": 1.5,
            "bot_form_fill": 2.0,
            "few_field_edits": 1.0,
            "short_session": 1.0,
            "frequent_edits": 0.8,
            "many_identities_device": 1.5,
            "geo_jump": 1.0,
        },
        bias=-4.5,
        meta={"source": "hand-set cold-start weights"},
    )
