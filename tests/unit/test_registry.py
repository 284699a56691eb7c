"""The model registry over the settings seam: a registered model reads back to the same
version, the challenger and champion slots move as documented, and an unknown or altered
model is refused."""

from __future__ import annotations

import json

import pytest

from detectors.model import Baseline, Model, hand_set_model
from detectors.registry import (
    model_json,
    model_key,
    model_of_json,
    promote,
    read_registry,
    register_challenger,
    registered_model,
)
from graph.errors import InvalidInput, ModelError, NotFound
from tests.unit.fakes import FakeStore


def _model(scale: float) -> Model:
    base = hand_set_model()
    baselines = {"velocity_device": Baseline.of([0.0, 1.0, 2.0, 5.0])}
    return Model({k: v * scale for k, v in base.weights.items()}, base.bias, baselines, {"scale": scale})


def test_a_registered_model_reads_back_with_its_version() -> None:
    model = _model(1.3)
    again = model_of_json(model_json(model))
    assert again.version == model.version
    assert again.weights == model.weights and again.baselines == model.baselines and again.meta == {"scale": 1.3}
    altered = json.loads(model_json(model))
    altered["weights"]["geo_jump"] = 9.0
    with pytest.raises(ModelError, match="does not hash to its version"):
        model_of_json(json.dumps(altered))


def test_challenger_then_promotion() -> None:
    store = FakeStore()
    assert read_registry(store).champion is None and read_registry(store).challenger is None
    first, second = _model(1.1), _model(1.2)
    register_challenger(store, first, 10.0, {"as_of": 5.0})
    reg = register_challenger(store, second, 20.0, {"as_of": 15.0})
    assert reg.challenger == second.version
    assert [v["version"] for v in reg.versions] == [first.version, second.version]
    assert registered_model(store, first.version).version == first.version
    previous, reg = promote(store, second.version)
    assert previous is None and reg.champion == second.version and reg.challenger is None
    previous, reg = promote(store, first.version)
    assert previous == second.version and read_registry(store).champion == first.version
    with pytest.raises(InvalidInput):
        promote(store, "m-000000000000")
    store.put_setting(model_key("m-broken"), "{}")
    with pytest.raises(ModelError):
        registered_model(store, "m-broken")
    with pytest.raises(NotFound):
        registered_model(store, "m-missing")
