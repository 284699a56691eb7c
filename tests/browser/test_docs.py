"""The OpenAPI docs render with no network: /docs loads Swagger UI from the service itself
(vendored in api/console/vendor/swagger-ui), nothing from a CDN. Chromium runs with every
host name unresolvable except the loopback address, and the DevTools network log shows
that it asked for nothing outside the service."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.conftest import chrome
from tests.browser.pages import css, js_errors, shown, wait_for

pytestmark = pytest.mark.browser

EXTERNAL_ASSET = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture()
def offline_browser(tmp_path: Path) -> Iterator[WebDriver]:
    """Chromium that can reach 127.0.0.1 and nothing else (no name resolves)."""
    driver = chrome(tmp_path / "profile", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", network_log=True)
    try:
        yield driver
    finally:
        driver.quit()


def requested_urls(driver: WebDriver) -> list[str]:
    """Every URL the page asked for, from the DevTools events in the performance log."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def test_docs_name_no_external_asset(service_url: str) -> None:
    page = httpx.get(f"{service_url}/docs")
    assert page.status_code == 200
    assert EXTERNAL_ASSET.findall(page.text) == [], "every script, style and icon comes from the service"
    for asset in re.findall(r"""(?:src|href)="(/[^"]+)\"""", page.text):
        assert httpx.get(f"{service_url}{asset}").status_code == 200, asset
    assert httpx.get(f"{service_url}/redoc").status_code == 404, "ReDoc would load from a CDN"


def test_docs_render_with_the_network_blocked(offline_browser: WebDriver, service_url: str) -> None:
    operations = sum(len(methods) for methods in httpx.get(f"{service_url}/openapi.json").json()["paths"].values())
    offline_browser.get(f"{service_url}/docs")
    title = shown(offline_browser, ".swagger-ui .information-container .title")
    assert "ringsight" in title.text
    wait_for(offline_browser, lambda d: len(css(d, ".swagger-ui .opblock")) == operations, f"{operations} operations")
    assert css(offline_browser, "#operations-scoring-submitApplication"), "operations are listed by operationId"
    urls = requested_urls(offline_browser)
    assert f"{service_url}/openapi.json" in urls
    # (chrome:// pages are the browser's own, not the network's)
    outside = [
        u for u in urls if u.startswith(("http:", "https:", "ws:", "wss:")) and not u.startswith(f"{service_url}/")
    ]
    assert outside == [], f"the docs asked for {outside}"
    assert js_errors(offline_browser) == []
