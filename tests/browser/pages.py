"""What the browser tests share: the service they drive, the applications they seed it with
(through the HTTP API, as the scoring flow would), and how a person uses the console
(a key, a page, waiting for what it shows)."""

from __future__ import annotations

import copy
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from api.http.routes.scoring import EXAMPLE
from tests import servers

SCORER = {"X-API-Key": "dev-scorer"}
INVESTIGATOR = {"X-API-Key": "dev-investigator"}
COMMITTEE = {"X-API-Key": "dev-committee"}
ADMIN = {"X-API-Key": "dev-admin"}
WAIT_SECONDS = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_service(tmp: Path) -> Iterator[str]:
    """The real service (uvicorn, development keys) on a fresh SQLite file; yields its URL."""
    port, log = _free_port(), tmp / "service.log"
    with log.open("wb") as out:
        proc = servers.start(port, {"RINGSIGHT_GRAPH_URL": f"sqlite:///{tmp / 'c.db'}"}, out)
    url = f"http://127.0.0.1:{port}"
    try:
        if not servers.ready(proc, url, 30):
            raise AssertionError(f"service did not become ready:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        servers.stop(proc)


def application(n: int, month: int = 1, day: int = 10, **changes: Any) -> dict[str, Any]:
    """A distinct, unremarkable application: old account, own device, phone, email, IP and employer."""
    body: dict[str, Any] = copy.deepcopy(EXAMPLE)
    body["application_id"] = f"APP-{n:06d}"
    body["applicant"]["national_id"] = f"1101011990030{n:05d}"
    body["applicant"]["account_created_at"] = "2025-01-01T00:00:00Z"
    body["submitted_at"] = f"2026-{month:02d}-{day:02d}T10:00:00Z"
    body["email"] = f"person{n}@example.com"
    body["phone"] = f"+86 138 0000 {n:04d}"
    body["device"] = {"fingerprint": f"dfp-{n}", "ip": f"198.51.100.{n}"}
    body["employer"] = {"name": f"Employer {n} Ltd"}
    body.update(changes)
    return body


def submit(url: str, body: dict[str, Any]) -> str:
    """Stores and scores an application as the scoring flow does; the applicant's node id."""
    r = httpx.post(f"{url}/v1/applications", json=body, headers=SCORER, timeout=10)
    assert r.status_code == 200, r.text
    return str(r.json()["applicant_id"])


def call(method: str, url: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
    r = httpx.request(method, f"{url}{path}", headers=headers, timeout=30, **kwargs)
    assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
    return r.json()


def settled(url: str) -> None:
    """Waits until the service's monitoring worker has done what writes queued."""
    deadline = time.monotonic() + 30
    while call("GET", url, "/v1/monitoring", INVESTIGATOR)["pending"]:
        assert time.monotonic() < deadline, "monitoring did not drain"
        time.sleep(0.1)


def label(url: str, node_id: str, status: str, reason: str) -> list[dict[str, Any]]:
    """Labels a node as an investigator; the alerts its re-scoring raised, once the service's
    monitoring worker has done what the label queued."""
    body = {"node_id": node_id, "status": status, "reason": reason}
    settled(url)  # what earlier writes queued first, so the label's re-score is what alerts
    assert call("POST", url, "/v1/labels", INVESTIGATOR, json=body)["rescore"] == "queued"
    settled(url)
    alerts = call("GET", url, "/v1/alerts", INVESTIGATOR, params={"limit": 1000})
    return [a for a in alerts if a["trigger"] == f"label:{status}:{node_id}"]


# -- the console as a person uses it ------------------------------------------------------------


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], what: str) -> Any:
    return WebDriverWait(driver, WAIT_SECONDS, ignored_exceptions=(WebDriverException,)).until(
        condition, message=f"timed out waiting for {what}"
    )


def css(driver: WebDriver | WebElement, selector: str) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, selector)


def shown(driver: WebDriver, selector: str) -> WebElement:
    """The first element matching ``selector`` once it is displayed."""
    return wait_for(driver, lambda d: next((e for e in css(d, selector) if e.is_displayed()), False), selector)


def open_console(driver: WebDriver, url: str, key: str | None = None) -> None:
    """A fresh console (no key kept); with ``key``, signed in with it."""
    driver.get(f"{url}/console")
    driver.execute_script("sessionStorage.clear()")
    driver.refresh()
    shown(driver, "#api-key")
    if key:
        use_key(driver, key)


def use_key(driver: WebDriver, key: str) -> None:
    """Types a key into the top bar; waits for the sign-in when the key should be accepted."""
    field = shown(driver, "#api-key")
    field.clear()
    field.send_keys(key)
    driver.find_element(By.ID, "key-save").click()
    if key.startswith("dev-") and key != "dev-scorer":
        role = {"dev-investigator": "investigator"}.get(key, key.removeprefix("dev-"))
        wait_for(
            driver, lambda d: d.find_element(By.ID, "key-status").get_attribute("data-role") == role, f"{key} signed in"
        )
        shown(driver, f'#view[data-role="{role}"]')  # the page is drawn again for the new key


def drawn(driver: WebDriver) -> str | None:
    """Which drawing of the view is on screen (None while one is loading)."""
    return driver.find_element(By.ID, "view").get_attribute("data-drawn")


def visit(driver: WebDriver, hash_route: str) -> None:
    """Goes to a route of the console open in this tab, and waits until it is drawn."""
    before = drawn(driver)
    driver.execute_script(
        "if (location.hash === arguments[0]) window.dispatchEvent(new HashChangeEvent('hashchange'));"
        " else location.hash = arguments[0];",
        hash_route,
    )
    wait_for(driver, lambda d: drawn(d) not in (None, before), f"{hash_route} drawn")


def fill(form: WebElement, name: str, text: str) -> None:
    field = form.find_element(By.CSS_SELECTOR, f'[name="{name}"]')
    field.clear()
    field.send_keys(text)


def choose(form: WebElement, name: str, value: str) -> None:
    Select(form.find_element(By.CSS_SELECTOR, f'select[name="{name}"]')).select_by_value(value)


def options(form: WebElement, name: str) -> list[str]:
    return [
        o.get_attribute("value") or ""
        for o in Select(form.find_element(By.CSS_SELECTOR, f'select[name="{name}"]')).options
    ]


def js_errors(driver: WebDriver) -> list[str]:
    """Severe console entries that are not the 4xx answers the page handles itself."""
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]
    ]
