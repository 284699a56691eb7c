"""A ring in the console: the plain-language summary of why it scored as it did, a picture of
its members and the identifiers they share (confirmed fraud highlighted, a link for every use),
no dump of internal features; a case opened from the ring shows the ring as frozen evidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.pages import (
    ADMIN,
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

SIZE = 5


@dataclass(frozen=True)
class Ring:
    url: str
    detail: dict[str, Any]
    fraudster: str


@pytest.fixture(scope="module")
def ring(service_url: str) -> Ring:
    """Five applicants within a week share one device and one phone; the first is confirmed
    fraud; a batch run finds the ring."""
    url = service_url
    members = [
        submit(
            url,
            application(
                n,
                month=10,
                day=n,
                device={"fingerprint": "dfp-ring", "ip": f"198.51.100.{n}"},
                phone="+86 139 1000 0001",
            ),
        )
        for n in range(1, SIZE + 1)
    ]
    label(url, members[0], "confirmed_fraud", "chargeback confirmed")
    run = call("POST", url, "/v1/rings/runs", ADMIN, json={})
    assert run["rings"] == 1, run
    (found,) = call("GET", url, "/v1/rings", INVESTIGATOR)
    return Ring(url, call("GET", url, f"/v1/rings/{found['ring_id']}", INVESTIGATOR), members[0])


def test_the_ring_page_says_why_and_draws_who_shares_what(browser: WebDriver, ring: Ring) -> None:
    detail = ring.detail
    open_console(browser, ring.url, "dev-investigator")
    visit(browser, "#/rings")
    row = shown(browser, f'tr[data-testid="ring-row"][data-ring-id="{detail["ring_id"]}"]')
    assert detail["features"]["summary"][:60] in row.text
    row.find_element(By.TAG_NAME, "a").click()

    page = shown(browser, f'#ring-detail[data-ring-id="{detail["ring_id"]}"]')
    assert shown(browser, '[data-testid="ring-summary"]').text == detail["features"]["summary"]
    assert "log_odds" not in page.text and "telemetry_applications" not in browser.find_element(By.ID, "view").text

    members = {m["node_id"] for m in detail["members"]}
    identifiers = {i["node_id"] for i in detail["identifiers"]}
    wait_for(browser, lambda d: len(css(d, "#ring-svg line.edge")) == SIZE * len(identifiers), "a link for every use")
    drawn = {n.get_attribute("data-node-id"): n for n in css(browser, '#ring-svg g[data-testid="graph-node"]')}
    assert set(drawn) == members | identifiers
    flagged = {n for n, g in drawn.items() if g.get_attribute("data-status") == "confirmed_fraud"}
    assert flagged == {ring.fraudster}
    assert "status-confirmed_fraud" in (drawn[ring.fraudster].get_attribute("class") or "")
    assert css(browser, f'#ring-svg g[data-node-id="{ring.fraudster}"] circle.halo')
    for edge in css(browser, "#ring-svg line.edge"):
        assert edge.get_attribute("data-source") in members and edge.get_attribute("data-target") in identifiers

    # Members read masked with a tag; the features are there for whoever opens the details.
    rows = css(browser, '[data-testid="ring-member"]')
    assert {r.get_attribute("data-node-id") for r in rows} == members
    assert all("*" in r.text and "#" in r.text for r in rows)
    details = shown(browser, '[data-testid="ring-features"]')
    details.find_element(By.TAG_NAME, "summary").click()
    wait_for(browser, lambda d: "log_odds" in details.text, "the features once opened")
    assert js_errors(browser) == []


def test_a_case_opened_from_the_ring_freezes_it_as_evidence(browser: WebDriver, ring: Ring) -> None:
    detail = ring.detail
    open_console(browser, ring.url, "dev-investigator")
    visit(browser, f"#/ring/{detail['ring_id']}")
    form = shown(browser, '.ring-cases [data-testid="open-case"]')
    fill(form, "reason", "a device and a phone shared by five applicants")
    form.find_element(By.CSS_SELECTOR, '[data-testid="open-case-submit"]').click()

    page = shown(browser, '#case-page[data-status="open"]')
    case = call("GET", ring.url, f"/v1/cases/{page.get_attribute('data-case-id')}", INVESTIGATOR)
    assert case["subject"] == detail["ring_id"] and case["source"] == "ring"
    evidence = shown(browser, '[data-testid="evidence-ring"]')
    assert evidence.find_element(By.CSS_SELECTOR, '[data-testid="ring-summary"]').text == detail["features"]["summary"]
    frozen = {m.get_attribute("data-node-id") for m in css(evidence, '[data-testid="ring-member"]')}
    assert frozen == {m["node_id"] for m in case["evidence"]["ring"]["members"]}
    wait_for(
        browser,
        lambda d: len(css(d, "#ring-svg g[data-testid='graph-node']")) == SIZE + len(detail["identifiers"]),
        "the ring's picture on the case",
    )
    assert css(browser, f'#ring-svg g[data-node-id="{ring.fraudster}"][data-status="confirmed_fraud"]')
    assert js_errors(browser) == []
