"""``/metrics`` behind RINGSIGHT_METRICS: off (no route), open, or admin (an admin API key);
unset, it is open in development and admin-only in production."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from api.settings import Settings
from tests.api.conftest import ADMIN, INVESTIGATOR

PRODUCTION = {
    "environment": "production",
    "pii_key": "a-production-secret-of-32-chars!",
    "api_keys": {"prod-admin-7f3a9c": "admin", "prod-investigator-2b8e": "investigator"},
}


@pytest.mark.parametrize(
    ("settings", "access"),
    [
        ({}, "open"),
        (PRODUCTION, "admin"),
        ({"metrics": "off"}, "off"),
        ({**PRODUCTION, "metrics": "open"}, "open"),
        ({"metrics": "admin"}, "admin"),
    ],
)
def test_metrics_access_follows_the_setting_and_the_environment(settings: dict[str, object], access: str) -> None:
    assert Settings(graph_url="memory://", **settings).metrics_access == access


def test_unknown_metrics_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="metrics"):
        Settings(graph_url="memory://", metrics="public")


def test_open_metrics_need_no_key(make_client: Callable[..., TestClient]) -> None:
    r = make_client(metrics="open").get("/metrics")
    assert r.status_code == 200 and "ringsight_score_seconds" in r.text


def test_admin_metrics_need_an_admin_key(make_client: Callable[..., TestClient]) -> None:
    client = make_client(metrics="admin")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=INVESTIGATOR).status_code == 403
    r = client.get("/metrics", headers=ADMIN)
    assert r.status_code == 200 and "ringsight_score_seconds" in r.text
    operation = client.get("/openapi.json").json()["paths"]["/metrics"]["get"]
    assert operation["security"] == [{"ApiKey": []}] and {"401", "403"} <= set(operation["responses"])


def test_production_metrics_are_admin_only_by_default(make_client: Callable[..., TestClient]) -> None:
    client = make_client(**PRODUCTION)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"X-API-Key": "prod-investigator-2b8e"}).status_code == 403
    assert client.get("/metrics", headers={"X-API-Key": "prod-admin-7f3a9c"}).status_code == 200


def test_metrics_off_means_no_route(make_client: Callable[..., TestClient]) -> None:
    client = make_client(metrics="off")
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers=ADMIN).status_code == 404
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]
