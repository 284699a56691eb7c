"""The model registry, kept in the store as settings rows so every process on one store
sees the same champion and challenger.

- ``model:<version>``: the model as JSON (weights, bias, baselines and meta; the same body
  a model file holds, so ``version`` is the content hash either way);
- ``model_registry``: ``{"champion": version | null, "challenger": version | null,
  "versions": [{"version", "registered_at", ...training facts}]}``. A null champion means
  the model the deployment was configured with (``RINGSIGHT_MODEL_PATH`` or the shipped
  file) is the champion.

Registering and promoting rewrite the ``model_registry`` row whole (last writer wins:
training and promotion are operator commands, not concurrent traffic).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from detectors.model import FEATURES, Baseline, Model
from graph.errors import InvalidInput, ModelError, NotFound
from graph.store.case_log import CaseLog

REGISTRY = "model_registry"


def model_key(version: str) -> str:
    return f"model:{version}"


def model_json(model: Model) -> str:
    body = model._body()
    body["version"] = model.version
    body["meta"] = model.meta
    return json.dumps(body, sort_keys=True)


def model_of_json(text: str) -> Model:
    try:
        raw = json.loads(text)
        baselines = {
            k: Baseline(tuple(v["quantiles"]), v["median"], v["mad"], v["n"]) for k, v in raw["baselines"].items()
        }
        unknown = set(raw["weights"]) - set(FEATURES)
        if unknown:
            raise ModelError(f"unknown features {sorted(unknown)}")
        model = Model(dict(raw["weights"]), float(raw["bias"]), baselines, raw.get("meta", {}))
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelError(f"cannot read a registered model: {exc}") from exc
    if raw.get("version") not in (None, model.version):
        raise ModelError(f"registered model {raw.get('version')} does not hash to its version ({model.version})")
    return model


@dataclass
class Registry:
    champion: str | None = None
    challenger: str | None = None
    versions: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str | None) -> Registry:
        if not text:
            return cls()
        raw = json.loads(text)
        return cls(raw.get("champion"), raw.get("challenger"), list(raw.get("versions", [])))

    def dumps(self) -> str:
        return json.dumps(
            {"champion": self.champion, "challenger": self.challenger, "versions": self.versions}, sort_keys=True
        )

    def known(self, version: str) -> bool:
        return any(v["version"] == version for v in self.versions)


def read_registry(store: CaseLog) -> Registry:
    return Registry.parse(store.setting(REGISTRY))


def registered_model(store: CaseLog, version: str) -> Model:
    text = store.setting(model_key(version))
    if text is None:
        raise NotFound("model", version)
    return model_of_json(text)


def register_challenger(store: CaseLog, model: Model, at: float, facts: dict[str, Any]) -> Registry:
    """Store ``model`` and make it the challenger (the previous challenger stays registered)."""
    store.put_setting(model_key(model.version), model_json(model))
    registry = read_registry(store)
    registry.versions = [v for v in registry.versions if v["version"] != model.version]
    registry.versions.append({"version": model.version, "registered_at": at, **facts})
    registry.challenger = model.version
    store.put_setting(REGISTRY, registry.dumps())
    return registry


def promote(store: CaseLog, version: str) -> tuple[str | None, Registry]:
    """Make a registered ``version`` the champion; return the previous champion (None: the
    configured model) and the registry. The challenger slot empties when it is promoted."""
    registry = read_registry(store)
    if not registry.known(version):
        raise InvalidInput("version", f"model {version} is not registered")
    registered_model(store, version)  # it must still read and hash to its version
    previous = registry.champion
    registry.champion = version
    if registry.challenger == version:
        registry.challenger = None
    store.put_setting(REGISTRY, registry.dumps())
    return previous, registry
