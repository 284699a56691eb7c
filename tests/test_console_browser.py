"""The investigator console in headless Chromium against the real service: an API key,
a look-up, the network graph, an applicant, a label with its alert, and the audit trail.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make browser``). Without them the
tests skip locally and fail when ``CI=true``.
"""

from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from api.routes import EXAMPLE

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCORER = {"X-API-Key": "dev-scorer"}
INVESTIGATOR = {"X-API-Key": "dev-investigator"}
ADMIN = {"X-API-Key": "dev-admin"}
RING_PHONE = "+86 139 1000 0001"
RING_SIZE = 4
WAIT_SECONDS = 20


@pytest.fixture(scope="module", autouse=True)
def _chromium_installed() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        reason = f"browser tests need {' and '.join(missing)} (install them with `make browser`)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def application(n: int, **changes: Any) -> dict[str, Any]:
    """A distinct, unremarkable application: old account, own device, phone, email, IP and employer."""
    body = copy.deepcopy(EXAMPLE)
    body["application_id"] = f"APP-{n:06d}"
    body["applicant"]["national_id"] = f"1101011990030{n:05d}"
    body["applicant"]["account_created_at"] = "2025-01-01T00:00:00Z"
    body["submitted_at"] = f"2026-{n + 1:02d}-10T10:00:00Z"
    body["email"] = f"person{n}@example.com"
    body["phone"] = f"+86 138 0000 {n:04d}"
    body["device"] = {"fingerprint": f"dfp-{n}", "ip": f"198.51.100.{n}"}
    body["employer"] = {"name": f"Employer {n} Ltd"}
    body.update(changes)
    return body


@dataclass(frozen=True)
class Seeded:
    url: str
    ring: list[str]  # applicant node ids sharing the device and phone, in submission order
    outsider: str  # linked to the ring only through an employer (three hops from the phone)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """The real service in a subprocess on a fresh SQLite file, seeded with a small ring."""
    tmp = tmp_path_factory.mktemp("console")
    port, log = _free_port(), tmp / "service.log"
    env = {**os.environ, "RINGSIGHT_GRAPH_URL": f"sqlite:///{tmp / 'c.db'}"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"service did not become ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        # Four applicants a month apart share one device and one phone; the first also works
        # where an outsider works, so the outsider is three hops from the phone.
        bodies = [
            application(n, device={"fingerprint": "dfp-ring", "ip": f"198.51.100.{n}"}, phone=RING_PHONE)
            for n in range(1, RING_SIZE + 1)
        ]
        bodies[0]["employer"] = {"name": "Harbour Logistics Co., Ltd."}
        bodies.append(application(9, employer={"name": "Harbour Logistics Co., Ltd."}))
        ids = []
        for body in bodies:
            r = httpx.post(f"{url}/v1/applications", json=body, headers=SCORER, timeout=10)
            assert r.status_code == 200, r.text
            ids.append(r.json()["applicant_id"])
        yield Seeded(url, ids[:RING_SIZE], ids[-1])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1300",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=DriverService(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: WebDriver, condition: Callable[[WebDriver], Any], what: str) -> Any:
    return WebDriverWait(driver, WAIT_SECONDS, ignored_exceptions=(WebDriverException,)).until(
        condition, message=f"timed out waiting for {what}"
    )


def css(driver: WebDriver, selector: str) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, selector)


def shown(driver: WebDriver, selector: str) -> WebElement:
    """The first element matching ``selector`` once it is displayed."""
    return wait_for(driver, lambda d: next((e for e in css(d, selector) if e.is_displayed()), False), selector)


def open_console(driver: WebDriver, url: str) -> None:
    driver.get(f"{url}/console")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{url}/console#/investigate")
    shown(driver, "#api-key")


def use_key(driver: WebDriver, key: str) -> None:
    field = shown(driver, "#api-key")
    field.clear()
    field.send_keys(key)
    driver.find_element(By.ID, "key-save").click()


def js_errors(driver: WebDriver) -> list[str]:
    """Severe console entries that are not the expected 4xx answers the page handles."""
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]
    ]


def applicant_nodes(driver: WebDriver) -> list[WebElement]:
    return css(driver, '#network-svg g[data-kind="applicant"]')


def test_refused_keys_get_a_clear_message(browser: WebDriver, service: Seeded) -> None:
    open_console(browser, service.url)
    use_key(browser, "not-a-key")
    wait_for(browser, lambda d: "401" in d.find_element(By.ID, "auth-message").text, "the 401 message")
    assert "refused" in browser.find_element(By.ID, "auth-message").text
    assert not browser.find_element(By.ID, "workspace").is_displayed()

    use_key(browser, "dev-scorer")
    wait_for(browser, lambda d: "403" in d.find_element(By.ID, "auth-message").text, "the 403 message")
    assert "scorer" in browser.find_element(By.ID, "auth-message").text
    assert not browser.find_element(By.ID, "workspace").is_displayed()

    # An admin also gets the audit tab; an investigator does not.
    use_key(browser, "dev-admin")
    wait_for(browser, lambda d: "admin" in d.find_element(By.ID, "key-status").text, "the admin sign-in")
    assert browser.find_element(By.ID, "auth-message").text == ""
    shown(browser, "#tab-audit").click()
    shown(browser, '#audit-body tr[data-testid="audit-row"]')
    assert js_errors(browser) == []


def test_investigator_finds_the_ring_and_confirms_fraud(browser: WebDriver, service: Seeded) -> None:
    assert httpx.get(f"{service.url}/v1/alerts", headers=INVESTIGATOR).json() == []
    open_console(browser, service.url)
    use_key(browser, "dev-investigator")
    wait_for(browser, lambda d: "investigator" in d.find_element(By.ID, "key-status").text, "the sign-in")
    assert not browser.find_element(By.ID, "tab-audit").is_displayed()
    assert browser.execute_script("return sessionStorage.getItem('ringsight.apiKey')") == "dev-investigator"

    # Look the shared phone up as an investigator would type it; its network opens.
    Select(shown(browser, "#search-kind")).select_by_value("phone")
    browser.find_element(By.ID, "search-value").send_keys("139-1000-0001")
    browser.find_element(By.ID, "search-submit").click()
    lookup = shown(browser, '[data-testid="lookup-result"]')
    assert f"{RING_SIZE} applicant(s)" in lookup.text and "10000001" not in lookup.text  # masked
    phone = lookup.get_attribute("data-node-id")
    assert phone and phone.startswith("phone:")
    shown(browser, f'#node-view[data-node-id="{phone}"]')
    wait_for(browser, lambda d: len(applicant_nodes(d)) == RING_SIZE, f"{RING_SIZE} applicants in the graph")
    assert {n.get_attribute("data-node-id") for n in applicant_nodes(browser)} == set(service.ring)
    assert css(browser, f'#network-svg g.root[data-node-id="{phone}"]')
    assert css(browser, '#network-svg g[data-kind="device"]')

    # One hop deeper reaches the outsider through the shared employer.
    Select(browser.find_element(By.ID, "network-depth")).select_by_value("3")
    wait_for(browser, lambda d: len(applicant_nodes(d)) == RING_SIZE + 1, "the outsider at depth 3")
    assert css(browser, f'#network-svg g[data-node-id="{service.outsider}"]')

    # Clicking an applicant in the graph opens the applicant with decisions and reasons.
    target = service.ring[1]
    shown(browser, f'#network-svg g[data-node-id="{target}"] .shape').click()
    view = shown(browser, f'#applicant-view[data-node-id="{target}"]')
    assert "110101199003000002" not in view.text and view.find_element(By.ID, "subject-display").text
    assert css(browser, '#applicant-view [data-testid="application"] [data-testid="reason"]')
    assert css(browser, '#applicant-view [data-testid="identifier-link"]')
    wait_for(browser, lambda d: len(applicant_nodes(d)) >= RING_SIZE, "the applicant's network")

    # A too-short reason is refused by the API and the problem is shown next to the form.
    shown(browser, "#label-reason").send_keys("no")
    browser.find_element(By.ID, "label-submit").click()
    problem = shown(browser, '#label-error [data-testid="problem"]')
    assert problem.get_attribute("data-status") == "422" and problem.get_attribute("data-field") == "reason"
    assert browser.find_element(By.ID, "label-reason").get_attribute("aria-invalid") == "true"

    reason = "chargeback confirmed by the issuing bank"
    Select(browser.find_element(By.ID, "label-status")).select_by_value("confirmed_fraud")
    field = browser.find_element(By.ID, "label-reason")
    field.clear()
    field.send_keys(reason)
    browser.find_element(By.ID, "label-submit").click()
    shown(browser, f'#applicant-view[data-node-id="{target}"][data-status="confirmed_fraud"]')
    flash = shown(browser, '#action-result [data-testid="flash"]')
    assert "Labelled confirmed fraud" in flash.text
    raised = {e.get_attribute("data-alert-id") for e in css(browser, '[data-testid="raised-alert"]')}
    assert raised, "confirming fraud in a ring should raise alerts on the linked applicants"
    shown(browser, f'#network-svg g[data-node-id="{target}"][data-status="confirmed_fraud"]')

    # The alerts tab lists what the label raised.
    browser.find_element(By.ID, "tab-alerts").click()
    trigger = f"label:confirmed_fraud:{target}"
    rows = wait_for(
        browser,
        lambda d: [
            r for r in css(d, '#alerts-body tr[data-testid="alert-row"]') if r.get_attribute("data-trigger") == trigger
        ],
        "the raised alert",
    )
    assert {r.get_attribute("data-alert-id") for r in rows} == raised
    assert all(r.get_attribute("data-applicant-id") in service.ring for r in rows)

    if os.environ.get("RINGSIGHT_CONSOLE_SCREENSHOT"):
        browser.get(f"{service.url}/console#/applicant/{target}?depth=2")
        shown(browser, f'#network-svg g[data-node-id="{target}"][data-status="confirmed_fraud"]')
        browser.save_screenshot(os.environ["RINGSIGHT_CONSOLE_SCREENSHOT"])

    # The audit log (read as an admin) records who labelled whom and why.
    audit = httpx.get(f"{service.url}/v1/audit", params={"subject": target}, headers=ADMIN).json()
    labelled = [e for e in audit if e["action"] == "label:confirmed_fraud"]
    assert len(labelled) == 1, audit
    assert labelled[0]["actor"].startswith("investigator") and labelled[0]["detail"]["reason"] == reason
    assert js_errors(browser) == []
