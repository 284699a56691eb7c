"""Champion and challenger: which model scores, which scores in shadow, training a
challenger from the store, comparing the two and promoting one, each audited.

The registry lives in the store (:mod:`detectors.registry`), so every process on one store
serves the same champion: :meth:`ModelChoice.refresh_models` re-reads it at most every
``model_refresh_seconds`` (one settings read) and swaps the scorers when it changed. A
promotion is served by the next request after that interval.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from api.service.base import DeskBase
from detectors import learning, registry
from detectors.evaluation import train
from detectors.model import Model
from detectors.score import Scorer
from graph.errors import InvalidInput, ModelError, NotFound, StoreUnavailable
from graph.store.outcomes import OUTCOMES

log = logging.getLogger("ringsight")
DEFAULT_FRAUD_OUTCOMES = frozenset({"first_payment_default", "fraud_confirmed"})
SHADOW = "shadow:"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


class ModelChoice(DeskBase):
    fraud_outcomes: frozenset[str] = DEFAULT_FRAUD_OUTCOMES
    model_refresh_seconds: float = 2.0
    shadow: Scorer | None = None
    """The challenger's scorer (same config, the challenger's model), or None."""
    _registry_checked: float = -math.inf
    _registry_seen: str | None = None
    _configured_model: Model | None = None

    def configure_learning(self, fraud_outcomes: Collection[str], refresh_seconds: float) -> None:
        unknown = sorted(set(fraud_outcomes) - set(OUTCOMES))
        if unknown:
            raise InvalidInput("RINGSIGHT_FRAUD_OUTCOMES", f"unknown outcomes {unknown}; known: {', '.join(OUTCOMES)}")
        self.fraud_outcomes = frozenset(fraud_outcomes)
        self.model_refresh_seconds = refresh_seconds

    # -- serving -------------------------------------------------------------------------------
    def refresh_models(self, force: bool = False) -> None:
        """Serve the registry's champion and shadow-score with its challenger (cheap: at most
        one settings read per ``model_refresh_seconds``; a store that does not answer keeps
        the models in use)."""
        now = time.monotonic()
        if not force and now - self._registry_checked < self.model_refresh_seconds:
            return
        self._registry_checked = now
        try:
            text = self.store.setting(registry.REGISTRY)
            if text == self._registry_seen:
                return
            reg = registry.Registry.parse(text)
            if self._configured_model is None:
                self._configured_model = self.scorer.model
            config = self.scorer.config
            champion = registry.registered_model(self.store, reg.champion) if reg.champion else self._configured_model
            if champion.version != self.scorer.model.version:
                self.scorer = Scorer(config, champion, self.scorer.disabled)
                log.info("now scoring with champion model %s", champion.version)
            challenger = reg.challenger if reg.challenger != champion.version else None
            if challenger is None:
                self.shadow = None
            elif self.shadow is None or self.shadow.model.version != challenger:
                self.shadow = Scorer(config, registry.registered_model(self.store, challenger), self.scorer.disabled)
            self._registry_seen = text
        except (StoreUnavailable, ModelError, NotFound) as exc:
            # The models in use keep scoring; the next interval tries again.
            log.warning("could not read the model registry: %s", exc)

    # -- operations ----------------------------------------------------------------------------
    def train_challenger(self, as_of: float, label_delay: float, actor: str) -> Model:
        """Fit a model on the stored applications with the labels known at ``as_of`` (see
        :mod:`detectors.learning`) and register it as the challenger, audited."""
        self.refresh_models(force=True)
        played = learning.store_replay(self.store, self.scorer, as_of, label_delay, self.fraud_outcomes)
        known = [t["is_fraud"] for t in played.truth.values()]
        if known.count("1") == 0 or known.count("0") == 0:
            raise ModelError(
                f"training needs both fraud and legitimate applications known by {_iso(as_of)}: "
                f"{len(known):,} applications, {known.count('1'):,} fraud, {known.count('0'):,} legitimate"
            )
        model = train(self.scorer, played)
        facts: dict[str, Any] = {
            "as_of": as_of,
            "label_delay_seconds": label_delay,
            "fraud_outcomes": sorted(self.fraud_outcomes),
            "trained_on": model.meta.get("trained_on"),
            "fraud": model.meta.get("fraud"),
        }
        model = Model(model.weights, model.bias, model.baselines, {**model.meta, **facts})
        at = self.now()
        registry.register_challenger(self.store, model, at, facts)
        self.store.append_audit(at, actor, "model:challenger", f"model:{model.version}", facts)
        self.refresh_models(force=True)
        return model

    def promote_model(self, version: str, actor: str) -> str | None:
        """Make a registered model the champion, audited; return the previous champion's
        version (the configured model's when the registry had none)."""
        self.refresh_models(force=True)
        before = self.scorer.model.version
        registry.promote(self.store, version)
        self.store.append_audit(
            self.now(), actor, "model:promote", f"model:{version}", {"previous": before, "champion": version}
        )
        self.refresh_models(force=True)
        return before

    def compare_models(
        self,
        as_of: float,
        label_delay: float,
        since: float | None = None,
        patterns: dict[str, str] | None = None,
        challenger: str | None = None,
    ) -> dict[str, Any]:
        """The champion against the challenger (or the registered ``challenger`` named)."""
        self.refresh_models(force=True)
        version = challenger or registry.read_registry(self.store).challenger
        if version is None:
            raise InvalidInput("challenger", "no challenger is registered (ringsight models train)")
        other = registry.registered_model(self.store, version)
        return learning.compare(
            self.store,
            self.scorer.config,
            self.scorer.model,
            other,
            as_of,
            label_delay,
            self.fraud_outcomes,
            since,
            patterns,
        )

    def model_registry(self) -> registry.Registry:
        return registry.read_registry(self.store)
