"""Signing in to the console with an API key: a refused key and a scorer's key get a clear
message and no workspace; a reviewer's key names its role and actor; only an admin sees the
audit log; the key stays in this tab only and "Forget" drops it."""

from __future__ import annotations

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.pages import css, js_errors, open_console, shown, use_key, visit, wait_for

pytestmark = pytest.mark.browser


def test_refused_keys_get_a_clear_message(browser: WebDriver, service_url: str) -> None:
    open_console(browser, service_url)
    use_key(browser, "not-a-key")
    wait_for(browser, lambda d: "401" in d.find_element(By.ID, "auth-message").text, "the 401 message")
    assert "refused" in browser.find_element(By.ID, "auth-message").text
    assert not browser.find_element(By.ID, "workspace").is_displayed()

    use_key(browser, "dev-scorer")
    wait_for(browser, lambda d: "403" in d.find_element(By.ID, "auth-message").text, "the 403 message")
    assert "scorer" in browser.find_element(By.ID, "auth-message").text
    assert not browser.find_element(By.ID, "workspace").is_displayed()
    assert js_errors(browser) == []


@pytest.mark.parametrize("key", ["dev-investigator", "dev-senior", "dev-committee"])
def test_reviewers_sign_in_without_the_audit_log(browser: WebDriver, service_url: str, key: str) -> None:
    who = httpx.get(f"{service_url}/v1/whoami", headers={"X-API-Key": key}).json()
    open_console(browser, service_url, key)
    status = browser.find_element(By.ID, "key-status").text
    assert who["role"] in status and who["actor"] in status
    assert browser.execute_script("return sessionStorage.getItem('ringsight.apiKey')") == key
    assert not browser.find_element(By.ID, "tab-audit").is_displayed()
    shown(browser, "#queue-view")  # the case queue is the first page
    visit(browser, "#/audit")
    assert not css(browser, "#audit-view"), "the audit route shows the queue to a non-admin"
    browser.find_element(By.ID, "key-forget").click()
    wait_for(browser, lambda d: not d.find_element(By.ID, "workspace").is_displayed(), "signed out")
    assert browser.execute_script("return sessionStorage.getItem('ringsight.apiKey')") is None
    assert js_errors(browser) == []


def test_an_admin_reads_the_audit_log(browser: WebDriver, service_url: str) -> None:
    looked = httpx.post(
        f"{service_url}/v1/lookup",
        json={"kind": "phone", "value": "+86 139 0000 0000"},
        headers={"X-API-Key": "dev-investigator"},
    )
    assert looked.status_code == 404  # audited all the same
    open_console(browser, service_url, "dev-admin")
    shown(browser, "#tab-audit").click()
    shown(browser, "#audit-view")
    rows = css(browser, 'tr[data-testid="audit-row"]')
    assert "lookup" in [r.get_attribute("data-action") for r in rows]
    expected = httpx.get(f"{service_url}/v1/audit", headers={"X-API-Key": "dev-admin"}).json()
    assert [r.get_attribute("data-action") for r in rows] == [e["action"] for e in expected]
    assert js_errors(browser) == []
