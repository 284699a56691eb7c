"""Alerts and the case queue in the console: alert rows read masked with their tier and
status and move on (acknowledged, resolved) with a reason; the queue shows mine and
unassigned cases, by layer, status, tier and age, and a case is assigned from its page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.pages import (
    INVESTIGATOR,
    application,
    call,
    css,
    fill,
    js_errors,
    label,
    open_console,
    shown,
    submit,
    visit,
    wait_for,
)

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Desk:
    url: str
    ring: list[str]
    alerts: list[dict[str, Any]]  # raised by confirming ring[0], one per linked applicant


@pytest.fixture(scope="module")
def desk(service_url: str) -> Desk:
    url = service_url
    ring = [
        submit(
            url,
            application(
                n, month=n, device={"fingerprint": "dfp-ring", "ip": f"198.51.100.{n}"}, phone="+86 139 1000 0001"
            ),
        )
        for n in range(1, 6)
    ]
    raised = label(url, ring[0], "confirmed_fraud", "chargeback confirmed")
    assert len(raised) >= 3, raised
    return Desk(url, ring, raised)


def rows(driver: WebDriver) -> dict[str, Any]:
    return {r.get_attribute("data-alert-id") or "": r for r in css(driver, 'tr[data-testid="alert-row"]')}


def test_alert_rows_read_masked_and_move_on(browser: WebDriver, desk: Desk) -> None:
    open_console(browser, desk.url, "dev-investigator")
    visit(browser, "#/alerts")
    shown(browser, "#alerts-view")
    listed = rows(browser)
    assert set(listed) == {a["alert_id"] for a in desk.alerts}
    for alert in desk.alerts:
        row = listed[alert["alert_id"]]
        assert row.get_attribute("data-tier") == alert["tier"] and row.get_attribute("data-status") == "open"
        shown_alert = call("GET", desk.url, f"/v1/alerts/{alert['alert_id']}", INVESTIGATOR)
        assert shown_alert["applicant_display"] and shown_alert["applicant_display"] in row.text
        assert alert["applicant_key"] not in row.text and desk.ring[0].split(":")[1] not in row.text, "no hashed ids"

    first, second = desk.alerts[0]["alert_id"], desk.alerts[1]["alert_id"]
    row = listed[first]
    row.find_element(By.CSS_SELECTOR, '[data-testid="alert-acknowledge"]').click()  # no reason yet
    problem = shown(browser, f'tr[data-alert-id="{first}"] [data-testid="problem"]')
    assert problem.get_attribute("data-field") == "reason"
    fill(row, "reason", "looking into it")
    row.find_element(By.CSS_SELECTOR, '[data-testid="alert-acknowledge"]').click()
    shown(browser, '#alerts-flash [data-testid="flash"]')
    assert first not in rows(browser), "the open list no longer has it"
    row = rows(browser)[second]
    fill(row, "reason", "a family sharing a phone")
    row.find_element(By.CSS_SELECTOR, '[data-testid="alert-resolve"]').click()
    wait_for(browser, lambda d: second not in rows(d), "the resolved alert leaves the open list")

    visit(browser, "#/alerts?status=acknowledged")
    acknowledged = wait_for(browser, lambda d: rows(d), "the acknowledged alert")
    assert set(acknowledged) == {first}
    assert not css(acknowledged[first], '[data-testid="alert-acknowledge"]'), "acknowledged once"
    visit(browser, "#/alerts?status=")
    every = wait_for(browser, lambda d: rows(d), "all alerts")
    assert every[second].get_attribute("data-status") == "resolved"
    assert "a family sharing a phone" in every[second].text
    tier = desk.alerts[0]["tier"]
    visit(browser, f"#/alerts?status=&tier={tier}")
    shown(browser, "#alerts-view")
    assert {r.get_attribute("data-tier") for r in rows(browser).values()} == {tier}
    assert js_errors(browser) == []


def queue(driver: WebDriver, hash_route: str) -> dict[str, Any]:
    visit(driver, hash_route)
    shown(driver, "#queue-view")
    return {r.get_attribute("data-case-id") or "": r for r in css(driver, 'tr[data-testid="case-row"]')}


def test_the_queue_by_owner_layer_status_tier_and_age(browser: WebDriver, desk: Desk) -> None:
    alert = next(
        a for a in desk.alerts if call("GET", desk.url, f"/v1/alerts/{a['alert_id']}", INVESTIGATOR)["status"] == "open"
    )
    from_alert = call(
        "POST", desk.url, "/v1/cases", INVESTIGATOR, json={"alert_id": alert["alert_id"], "reason": "linked"}
    )
    by_hand = call("POST", desk.url, "/v1/cases", INVESTIGATOR, json={"subject": desk.ring[4], "reason": "by hand"})
    a, b = from_alert["case_id"], by_hand["case_id"]
    open_console(browser, desk.url, "dev-investigator")

    assert set(queue(browser, "#/cases?scope=unassigned")) == {a, b}
    assert queue(browser, "#/cases?scope=mine") == {}

    # Assigned to me from the case page: mine, no longer unassigned.
    visit(browser, f"#/case/{b}")
    form = shown(browser, 'form[data-testid="step-assign"]')
    fill(form, "reason", "I take this one")
    form.find_element(By.CSS_SELECTOR, '[data-testid="step-assign-submit"]').click()
    step = shown(browser, '[data-testid="timeline-step"][data-action="assign"]')
    assert "(you)" in step.text
    assert set(queue(browser, "#/cases?scope=mine")) == {b}
    assert set(queue(browser, "#/cases?scope=unassigned")) == {a}

    # A recommended freeze waits at the committee layer.
    call(
        "POST",
        desk.url,
        f"/v1/cases/{a}/steps",
        INVESTIGATOR,
        json={"action": "recommend", "outcome": "freeze", "reason": "same device as a fraudster"},
    )
    assert set(queue(browser, "#/cases?scope=all&layer=committee")) == {a}
    assert set(queue(browser, "#/cases?scope=all&status=recommended")) == {a}
    assert set(queue(browser, "#/cases?scope=all&status=open")) == {b}
    shown_rows = queue(browser, f"#/cases?scope=all&tier={alert['tier']}")
    assert set(shown_rows) == {a} and shown_rows[a].get_attribute("data-tier") == alert["tier"]
    assert set(queue(browser, "#/cases?scope=all&tier=none")) == {b}
    assert queue(browser, "#/cases?scope=all&age=3600") == {}, "both were opened just now"
    oldest_first = list(queue(browser, "#/cases?scope=all&sort=oldest"))
    assert oldest_first == [a, b]
    assert js_errors(browser) == []
