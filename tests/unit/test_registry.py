"""The model registry over the settings seam: a registered model reads back to the same
version, the challenger and champion slots move as documented, and an unknown or altered
model is refused."""

from __future__ import annotations

import json

import pytest

from api.service.desk import FraudDesk
from detectors.model import Baseline, Model, hand_set_model
from detectors.registry import (
    REGISTRY,
    Registry,
    model_json,
    model_key,
    model_of_json,
    promote,
    read_registry,
    register_challenger,
    registered_model,
)
from detectors.score import Scorer
from graph.errors import InvalidInput, ModelError, NotFound
from graph.normalise import Normaliser
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


def test_the_desk_serves_the_registry_and_survives_a_broken_entry() -> None:
    store = FakeStore()
    desk = FraudDesk(store, Normaliser(b"unit-test-key-0123456789"), Scorer.default())
    desk.model_refresh_seconds = 0
    shipped = desk.scorer.model.version
    challenger = _model(1.4)
    register_challenger(store, challenger, 1.0, {})
    desk.refresh_models()
    assert desk.scorer.model.version == shipped
    assert desk.shadow is not None and desk.shadow.model.version == challenger.version
    promote(store, challenger.version)
    desk.refresh_models()
    assert desk.scorer.model.version == challenger.version and desk.shadow is None
    # A champion whose stored model no longer reads: the models in use keep scoring.
    store.put_setting(REGISTRY, Registry(champion="m-broken", versions=[{"version": "m-broken"}]).dumps())
    store.put_setting(model_key("m-broken"), "{}")
    desk.refresh_models()
    assert desk.scorer.model.version == challenger.version
