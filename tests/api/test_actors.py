"""Actors (in the audit log, on labels, in whoami) name an API key by a keyed hash: stable,
distinct per key, and without any of the key's characters."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from api.http.deps import key_id
from api.http.routes.scoring import EXAMPLE
from api.settings import Settings

# Keys whose 4-character runs are neither role names nor hex digits, so any run found is a leak.
KEYS = {"sk-live-Q7xZ4nBw": "scorer", "sk-live-M3kPr8Vt": "investigator", "sk-live-W9rTy2Lq": "admin"}
PII_KEY = "actors-test-pii-key-0123456789"


def _pieces(key: str, n: int = 4) -> set[str]:
    """Every run of ``n`` characters of the key."""
    return {key[i : i + n] for i in range(len(key) - n + 1)}


def _key_material_in(text: str) -> set[str]:
    return {piece for key in KEYS for piece in _pieces(key) if piece in text}


def test_audit_labels_and_whoami_name_keys_without_key_material(make_client: Callable[..., TestClient]) -> None:
    client = make_client(api_keys=KEYS, pii_key=PII_KEY)
    scorer, investigator, admin = ({"X-API-Key": k} for k in KEYS)
    answer = client.post("/v1/applications", json=EXAMPLE, headers=scorer).json()
    client.post("/v1/lookup", json={"kind": "phone", "value": EXAMPLE["phone"]}, headers=investigator)
    client.post(
        "/v1/labels",
        json={"node_id": answer["applicant_id"], "status": "confirmed_fraud", "reason": "chargeback"},
        headers=investigator,
    )
    client.post(f"/v1/applicants/{answer['applicant_id']}/rescore", headers=investigator)
    events = client.get("/v1/audit", headers=admin).json()
    actors = {e["actor"] for e in events} - {"monitoring"}  # the desk's own re-scores
    assert len(events) >= 4 and len(actors) == 2
    labels = client.get("/v1/labels", headers=investigator).json()
    whoami = [client.get("/v1/whoami", headers=h).json() for h in (scorer, investigator, admin)]
    for actor in actors | {lab["by"] for lab in labels} | {w["actor"] for w in whoami}:
        assert re.fullmatch(r"(scorer|investigator|admin):[0-9a-f]{12}", actor), actor
        assert not _key_material_in(actor), actor
    assert not _key_material_in(str(events) + str(labels))
    # The audit log names the caller as whoami does, so an operator can tell which key acted.
    assert {w["actor"] for w in whoami[:2]} == actors
    assert [w["role"] for w in whoami] == ["scorer", "investigator", "admin"]


def test_key_ids_are_stable_distinct_and_keyed() -> None:
    settings = Settings(graph_url="memory://", api_keys=KEYS, pii_key=PII_KEY)
    again = Settings(graph_url="memory://", api_keys=KEYS, pii_key=PII_KEY)
    other_deployment = Settings(graph_url="memory://", api_keys=KEYS, pii_key="another-deployment-pii-key")
    ids = {key_id(settings, k) for k in KEYS}
    assert len(ids) == len(KEYS)
    assert all(key_id(settings, k) == key_id(again, k) for k in KEYS)
    assert not ids & {key_id(other_deployment, k) for k in KEYS}
    # Keys that share their last four characters are still told apart.
    assert key_id(settings, "first-key-abcd") != key_id(settings, "second-key-abcd")


def test_stored_decisions_of_one_key_keep_one_actor(make_client: Callable[..., TestClient]) -> None:
    client = make_client(api_keys=KEYS, pii_key=PII_KEY)
    scorer = {"X-API-Key": "sk-live-Q7xZ4nBw"}
    for n in (1, 2):
        body = copy.deepcopy(EXAMPLE)
        body["application_id"] = f"APP-K{n}"
        client.post("/v1/applications", json=body, headers=scorer)
    events = client.get("/v1/audit", headers={"X-API-Key": "sk-live-W9rTy2Lq"}).json()
    assert len({e["actor"] for e in events if e["action"] == "score"}) == 1
