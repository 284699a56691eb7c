"""The OpenAPI document: a short stable operation id and a named response model per route,
every error a route can answer documented as an application/problem+json Problem, and a
client generated from it by openapi-python-client that scores and stores an application."""

from __future__ import annotations

import copy
import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.routes.scoring import EXAMPLE
from tests.api.conftest import ADMIN, INVESTIGATOR, SCORER, Server

OPERATIONS = {
    ("post", "/v1/applications"): "submitApplication",
    ("post", "/v1/score"): "scoreApplication",
    ("get", "/v1/applications/{application_id}"): "getApplication",
    ("get", "/v1/applicants/{applicant_id}"): "getApplicant",
    ("get", "/v1/applicants/{applicant_id}/network"): "getApplicantNetwork",
    ("get", "/v1/nodes/{node_id}/network"): "getNodeNetwork",
    ("get", "/v1/nodes/{node_id}"): "getNode",
    ("get", "/v1/nodes/{node_id}/applicants"): "getNodeApplicants",
    ("get", "/v1/nodes/{node_id}/reach"): "getNodeReach",
    ("get", "/v1/overview"): "getOverview",
    ("post", "/v1/lookup"): "lookupIdentifier",
    ("post", "/v1/labels"): "setLabel",
    ("get", "/v1/labels"): "listLabels",
    ("post", "/v1/outcomes"): "recordOutcome",
    ("get", "/v1/outcomes"): "listOutcomes",
    ("post", "/v1/labels/{node_id}/remove"): "removeLabel",
    ("post", "/v1/applicants/{applicant_id}/rescore"): "rescoreApplicant",
    ("get", "/v1/alerts"): "listAlerts",
    ("get", "/v1/alerts/{alert_id}"): "getAlert",
    ("get", "/v1/monitoring"): "getMonitoringQueue",
    ("post", "/v1/alerts/{alert_id}"): "updateAlert",
    ("post", "/v1/cases"): "openCase",
    ("get", "/v1/cases"): "listCases",
    ("get", "/v1/cases/{case_id}"): "getCase",
    ("post", "/v1/cases/{case_id}/steps"): "stepCase",
    ("get", "/v1/rings"): "listRings",
    ("get", "/v1/rings/{ring_id}"): "getRing",
    ("post", "/v1/rings/runs"): "runRingDetection",
    ("get", "/v1/audit"): "listAuditEvents",
    ("get", "/v1/whoami"): "whoAmI",
    ("get", "/v1/stats"): "getStats",
    ("get", "/healthz"): "getHealth",
    ("get", "/readyz"): "getReadiness",
    ("get", "/metrics"): "getMetrics",
}
SCORER_ROUTES = {"submitApplication", "scoreApplication", "whoAmI"}
OPEN_ROUTES = {"getHealth", "getReadiness", "getMetrics"}
PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    from api.http.app import create_app
    from api.settings import Settings

    return create_app(Settings(graph_url="memory://")).openapi()


def _operations(schema: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        op["operationId"]: (method, path, op) for path, ops in schema["paths"].items() for method, op in ops.items()
    }


def test_every_route_has_its_stable_short_operation_id(schema: dict[str, Any]) -> None:
    found = {(method, path): op["operationId"] for path, ops in schema["paths"].items() for method, op in ops.items()}
    assert found == OPERATIONS


def test_every_success_is_a_named_model(schema: dict[str, Any]) -> None:
    for name, (_, _, op) in _operations(schema).items():
        ok = op["responses"]["201" if name in ("openCase", "recordOutcome") else "200"]
        if name == "getMetrics":
            assert list(ok["content"]) == ["text/plain; version=1.0.0; charset=utf-8"]
            continue
        body = ok["content"]["application/json"]["schema"]
        ref = body["items"]["$ref"] if body.get("type") == "array" else body["$ref"]
        assert ref.startswith("#/components/schemas/"), (name, body)
        assert ref.rsplit("/", 1)[1] in schema["components"]["schemas"]


def _expected_errors(name: str, path: str, op: dict[str, Any]) -> set[str]:
    if name in OPEN_ROUTES:
        return {"503"} if name == "getReadiness" else set()
    expected = {"401", "503"} if name != "whoAmI" else {"401"}
    if name not in SCORER_ROUTES:
        expected.add("403")
    if op.get("parameters") or "requestBody" in op:
        expected.add("422")
    if "requestBody" in op:
        expected.add("413")
    if "{" in path or name in ("lookupIdentifier", "setLabel", "openCase", "recordOutcome"):
        expected.add("404")
    if name in ("submitApplication", "runRingDetection", "updateAlert", "openCase", "stepCase"):
        expected.add("409")
    return expected


def test_every_error_a_route_can_answer_is_a_documented_problem(schema: dict[str, Any]) -> None:
    assert set(schema["components"]["schemas"]["Problem"]["required"]) == {"type", "title", "status", "detail"}
    for name, (_, path, op) in _operations(schema).items():
        errors = {code for code in op["responses"] if code not in ("200", "201")}
        assert errors == _expected_errors(name, path, op), name
        for code in errors:
            assert op["responses"][code]["content"] == {"application/problem+json": {"schema": PROBLEM}}, (name, code)
        if "401" in errors:
            assert op["security"] == [{"ApiKey": []}]
            assert "WWW-Authenticate" in op["responses"]["401"]["headers"]
        if "503" in errors:
            assert "Retry-After" in op["responses"]["503"]["headers"]


def test_vocabularies_are_named_enums(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    assert components["LabelStatus"]["enum"] == ["confirmed_fraud", "cleared", "allow_listed"]
    assert components["AlertStatus"]["enum"] == ["open", "acknowledged", "in_case", "resolved"]
    assert components["CaseStatus"]["enum"] == ["open", "recommended", "decided", "appealed", "closed"]
    assert components["CaseLayer"]["enum"] == ["analyst", "senior", "committee"]
    assert components["CaseStepRequest"]["properties"]["action"] == {"$ref": "#/components/schemas/CaseAction"}
    alerts = next(p for p in schema["paths"]["/v1/alerts"]["get"]["parameters"] if p["name"] == "status")
    assert {"$ref": "#/components/schemas/AlertStatus"} in alerts["schema"]["anyOf"]
    assert components["LabelView"]["properties"]["status"] == {"$ref": "#/components/schemas/LabelStatus"}


def test_documented_problems_are_served(client: TestClient) -> None:
    answers = {
        401: client.get("/v1/alerts"),
        403: client.get("/v1/audit", headers=INVESTIGATOR),
        404: client.get("/v1/applications/APP-NONE", headers=INVESTIGATOR),
        413: client.post("/v1/score", content=b" " * (2 * 1024 * 1024), headers={"content-type": "application/json"}),
        422: client.post("/v1/score", json={"application_id": "x"}, headers=SCORER),
    }
    client.post("/v1/applications", json=EXAMPLE, headers=SCORER)
    other = copy.deepcopy(EXAMPLE)
    other["applicant"]["national_id"] = "330101199003077777"
    answers[409] = client.post("/v1/applications", json=other, headers=SCORER)
    for status, r in answers.items():
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert body["status"] == status and body["title"] and body["detail"] and body["type"].startswith("https://")


def _generate_client(url: str, out: Path) -> Path:
    config = out / "config.yaml"
    config.write_text("post_hooks: []\n")
    package = out / "ringsight_client"
    done = subprocess.run(
        [
            Path(sys.executable).parent / "openapi-python-client",
            "generate",
            "--url",
            f"{url}/openapi.json",
            "--meta",
            "none",
            "--output-path",
            str(package),
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return package


def test_a_generated_client_scores_and_stores_an_application(live_server: Server, tmp_path: Path) -> None:
    package = _generate_client(live_server.url, tmp_path)
    models = sorted(p.stem for p in (package / "models").glob("*.py"))
    assert not [m for m in models if "_v1_" in m or m.endswith("_get") or m.endswith("_post")], models
    sys.path.insert(0, str(tmp_path))
    try:
        client_module = importlib.import_module("ringsight_client")
        api_models = importlib.import_module("ringsight_client.models")
        scoring = importlib.import_module("ringsight_client.api.scoring")
        investigation = importlib.import_module("ringsight_client.api.investigation")
        importlib.import_module("ringsight_client.api.scoring.score_application")
        importlib.import_module("ringsight_client.api.scoring.submit_application")
        importlib.import_module("ringsight_client.api.investigation.get_application")

        def client(key: str) -> Any:
            return client_module.AuthenticatedClient(
                base_url=live_server.url,
                token=key,
                prefix="",
                auth_header_name="X-API-Key",
                raise_on_unexpected_status=True,
            )

        body = copy.deepcopy(EXAMPLE)
        body["application_id"] = "APP-GENERATED-1"
        record = api_models.ApplicationRecord.from_dict(body)
        with client(SCORER["X-API-Key"]) as scorer:
            dry = scoring.score_application.sync(client=scorer, body=record)
            assert isinstance(dry, api_models.ScoreResponse), dry
            assert dry.stored is False and 0 <= dry.score <= 1
            stored = scoring.submit_application.sync(client=scorer, body=record)
            assert isinstance(stored, api_models.ScoreResponse), stored
            assert stored.stored is True and stored.band.value in ("low", "medium", "high", "critical")
            assert stored.score == pytest.approx(dry.score)
            again = scoring.submit_application.sync(client=scorer, body=record)
            assert again.replayed is True and again.score == stored.score
        with client(INVESTIGATOR["X-API-Key"]) as investigator:
            got = investigation.get_application.sync(client=investigator, application_id="APP-GENERATED-1")
            assert isinstance(got, api_models.ApplicationView), got
            assert got.applicant_id == stored.applicant_id
            # a score response rounds to 6 places; the decision keeps what was computed
            assert [d.score for d in got.decisions] == [pytest.approx(stored.score, abs=5e-7)]
            assert isinstance(got.decisions[0].band, api_models.Band)
        with client("not-a-key") as stranger:
            refused = scoring.score_application.sync(client=stranger, body=record)
            assert isinstance(refused, api_models.Problem) and refused.status == 401
        with client(ADMIN["X-API-Key"]) as admin:
            missing = investigation.get_application.sync(client=admin, application_id="APP-NOT-THERE")
            assert isinstance(missing, api_models.Problem) and missing.status == 404
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "ringsight_client" or m.startswith("ringsight_client.")]:
            del sys.modules[name]
