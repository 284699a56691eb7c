"""The outcomes seam on both backends: append-only, filtered by when they were known and by
application, ordered by ``known_at``, and kept across a restart."""

from __future__ import annotations

from graph.store import GraphStore
from graph.store.outcomes import Outcome
from tests.contract.conftest import Reopen


def _outcome(app: str, kind: str, known_at: float, recorded_at: float = 5000.0) -> Outcome:
    return Outcome(app, kind, known_at, recorded_at, "investigator:ann", f"{kind} on {app}")


def test_outcomes_are_filtered_by_known_time_and_application(backend: tuple[GraphStore, Reopen]) -> None:
    store, reopen = backend
    assert store.outcomes() == []
    store.record_outcome(_outcome("a2", "first_payment_default", 300.0))
    store.record_outcome(_outcome("a1", "repaid", 100.0))
    store.record_outcome(_outcome("a1", "chargeback", 200.0, recorded_at=6000.0))
    every = store.outcomes()
    assert [(o.application_id, o.outcome, o.known_at) for o in every] == [
        ("a1", "repaid", 100.0),
        ("a1", "chargeback", 200.0),
        ("a2", "first_payment_default", 300.0),
    ]
    assert every[1] == _outcome("a1", "chargeback", 200.0, recorded_at=6000.0)
    assert [o.outcome for o in store.outcomes(known_by=200.0)] == ["repaid", "chargeback"]
    assert store.outcomes(known_by=99.9) == []
    assert [o.outcome for o in store.outcomes(application_id="a1")] == ["repaid", "chargeback"]
    assert [o.outcome for o in store.outcomes(known_by=150.0, application_id="a1")] == ["repaid"]
    assert store.outcomes(application_id="nobody") == []
    store = reopen()
    assert store.outcomes() == every
