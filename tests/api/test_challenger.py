"""Done means for learning from outcomes: a challenger trained on outcomes recorded through
the API is scored in shadow (responses carry only the champion's), compared with the
champion on the same applications and promoted, each step in the audit log; and no label
known after the training date is used."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sklearn.metrics import roc_auc_score

from api.http.app import create_app
from api.http.routes.scoring import EXAMPLE
from api.settings import Settings
from detectors.learning import store_replay, targets
from detectors.registry import read_registry
from graph.store.embedded.store import EmbeddedStore
from tests.api.casework import INVESTIGATOR, SCORER

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY = 86400.0


def _app(n: int, at: datetime, device: str, phone: str, account_age: timedelta, fill: int) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["application_id"] = f"APP-{n:06d}"
    body["applicant"]["national_id"] = f"1101011990030{n:05d}"
    body["applicant"]["account_created_at"] = (at - account_age).isoformat()
    body["submitted_at"] = at.isoformat()
    body["email"] = f"person{n}@example.com"
    body["phone"] = phone
    body["device"] = {"fingerprint": device, "ip": f"198.51.{n // 200}.{n % 200}"}
    body["behaviour"] = {"form_fill_seconds": fill, "field_edits": 1}
    return body


def _population(client: TestClient) -> dict[str, tuple[float, bool]]:
    """Twelve rings of four (one device and phone each, minutes apart, new accounts, fast
    forms) and 60 people on their own, spread over eight months: ``id -> (ts, is_fraud)``."""
    made: dict[str, tuple[float, bool]] = {}
    n = 0
    for ring in range(12):
        first = START + timedelta(days=15 * ring)
        for member in range(4):
            n += 1
            at = first + timedelta(minutes=7 * member)
            body = _app(n, at, f"dfp-ring-{ring}", f"+86 139 0000 {ring:04d}", timedelta(hours=2), 6)
            assert client.post("/v1/applications", json=body, headers=SCORER).status_code == 200
            made[body["application_id"]] = (at.timestamp(), True)
    for person in range(60):
        n += 1
        at = START + timedelta(days=4 * person, hours=person % 9)
        body = _app(n, at, f"dfp-own-{person}", f"+86 137 {person:04d} 0000", timedelta(days=400 + person), 50)
        assert client.post("/v1/applications", json=body, headers=SCORER).status_code == 200
        made[body["application_id"]] = (at.timestamp(), False)
    return made


def _record_outcomes(client: TestClient, made: dict[str, tuple[float, bool]]) -> None:
    for app_id, (ts, fraud) in made.items():
        known = datetime.fromtimestamp(ts + (35 if fraud else 60) * DAY, UTC)
        body = {
            "application_id": app_id,
            "outcome": "first_payment_default" if fraud else "repaid",
            "known_at": known.isoformat(),
        }
        r = client.post("/v1/outcomes", json=body, headers=INVESTIGATOR)
        assert r.status_code == 201, r.text


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def learning_client(request: pytest.FixtureRequest) -> Any:
    """The service on an in-memory embedded store, or on the real Neo4j (an emptied database)."""
    if request.param == "embedded":
        store: Any = EmbeddedStore("memory://")
        url = "memory://"
    else:
        store = request.getfixturevalue("neo4j_store")
        url = store.url
    settings = Settings(graph_url=url, model_refresh_seconds=0, monitoring=False)
    with TestClient(create_app(settings, store)) as client:
        yield client


def test_a_challenger_from_api_outcomes_is_shadowed_compared_and_promoted(learning_client: TestClient) -> None:
    client = learning_client
    desk = client.app.state.desk  # type: ignore[attr-defined]
    shipped = desk.scorer.model.version
    made = _population(client)
    _record_outcomes(client, made)
    assert sum(1 for o in desk.store.outcomes() if o.outcome == "first_payment_default") == 48

    challenger = desk.train_challenger(as_of=desk.now(), label_delay=30 * DAY, actor="admin-cli")
    assert challenger.version != shipped
    assert challenger.meta["trained_on"] == 108 and challenger.meta["fraud"] == 48
    assert all(w >= 0 for w in challenger.weights.values())  # still additive, non-negative weights
    assert read_registry(desk.store).challenger == challenger.version

    # Shadow: the response is the champion's; both decisions are recorded.
    new = _app(900, datetime.now(UTC) - timedelta(days=2), "dfp-ring-3", "+86 139 0000 0003", timedelta(hours=1), 5)
    answer = client.post("/v1/applications", json=new, headers=SCORER).json()
    assert answer["model_version"] == shipped
    decisions = desk.store.decisions("APP-000900")
    assert [(d.trigger, d.model_version) for d in decisions] == [
        ("application", shipped),
        (f"shadow:{challenger.version}", challenger.version),
    ]
    champion_score, shadow_score = decisions[0].score, decisions[1].score
    assert champion_score == pytest.approx(answer["score"])
    assert shadow_score != champion_score
    # Every reason of the shadow decision keeps its exact additive contribution.
    for r in decisions[1].reasons:
        assert r["contribution"] == pytest.approx(challenger.weights[r["code"]] * r["strength"], abs=1e-3)

    report = desk.compare_models(as_of=desk.now(), label_delay=30 * DAY)
    assert report["champion"]["version"] == shipped and report["challenger"]["version"] == challenger.version
    # The two new applications are younger than the label delay: in the population, unlabelled.
    assert report["applications"] == 109 and report["labelled"] == 108 and report["fraud"] == 48
    for side in ("champion", "challenger"):
        assert 0.0 <= report[side]["roc_auc"] <= 1.0
        assert 0.0 <= report[side]["recall_at_1pct_fpr"] <= report[side]["recall_at_5pct_fpr"] <= 1.0
        assert sum(report[side]["bands"].values()) == 109
    # The champion's figures are those of the decisions it gave (read as of each submission).
    given = [(desk.store.decisions(a)[0].score, int(fraud)) for a, (_, fraud) in made.items()]
    live = roc_auc_score([y for _, y in given], [p for p, _ in given])
    assert report["champion"]["roc_auc"] == pytest.approx(live)
    assert 0 <= report["band_changes"] <= 109

    previous = desk.promote_model(challenger.version, actor="admin-cli")
    assert previous == shipped
    yesterday = datetime.now(UTC) - timedelta(days=1)
    later = _app(901, yesterday, "dfp-own-901", "+86 136 0000 0901", timedelta(days=900), 60)
    assert client.post("/v1/applications", json=later, headers=SCORER).json()["model_version"] == challenger.version
    assert [d.trigger for d in desk.store.decisions("APP-000901")] == ["application"]  # no challenger left

    trained = desk.store.audit_by_action("model:challenger")
    promoted = desk.store.audit_by_action("model:promote")
    assert [(e.actor, e.subject) for e in trained] == [("admin-cli", f"model:{challenger.version}")]
    assert trained[0].detail["trained_on"] == 108
    assert [(e.actor, e.detail) for e in promoted] == [
        ("admin-cli", {"previous": shipped, "champion": challenger.version})
    ]
    assert len(desk.store.audit_by_action("outcome:first_payment_default")) == 48


def test_no_label_known_after_the_training_date_is_used(learning_client: TestClient) -> None:
    client = learning_client
    desk = client.app.state.desk  # type: ignore[attr-defined]
    made = _population(client)
    as_of = START.timestamp() + 200 * DAY
    _record_outcomes(client, made)
    known = desk.store.outcomes(known_by=as_of)
    fraud_known = {o.application_id for o in known if o.outcome == "first_payment_default"}
    late = {a for a, (ts, fraud) in made.items() if fraud and ts <= as_of and a not in fraud_known}
    assert fraud_known and late  # some frauds were known by then, some only after
    played = store_replay(desk.store, desk.scorer, as_of, 30 * DAY, desk.fraud_outcomes)
    truth = {a: t["is_fraud"] for a, t in played.truth.items()}
    assert all(ts <= as_of for ts in played.submitted_at)
    assert {a for a, y in truth.items() if y == "1"} == fraud_known
    # A fraud not known yet is no label: young ones carry none, matured ones would look legitimate
    # only if no adverse outcome was known; none of them is a positive.
    assert all(truth[a] != "1" for a in late)
    # The applicants are labelled confirmed fraud now (after as_of): the label is not used either.
    labels = desk.store.labels()
    assert all(labels[n].at > as_of for n in labels)
    again = targets(desk.store, [a for a in _stored(desk) if a.ts <= as_of], as_of, 30 * DAY, desk.fraud_outcomes)
    assert again == truth
    model = desk.train_challenger(as_of=as_of, label_delay=30 * DAY, actor="admin-cli")
    assert model.meta["fraud"] == len(fraud_known)
    assert model.meta["trained_on"] == sum(1 for y in truth.values() if y in ("0", "1"))


def _stored(desk: Any) -> list[Any]:
    from detectors.learning import stored_applications

    return stored_applications(desk.store)
