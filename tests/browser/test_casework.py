"""A case walked through the console, as the desk would: opened from an alert, an analyst
recommends a freeze, the same key cannot decide it (403, the four-eyes rule in words), the
committee decides, the customer's appeal is filed by the analyst and upheld by the committee;
the applicant's label then reads cleared, the case's alerts are resolved and the linked
applicant re-scored. Every step is on the case's timeline and in the audit log (read by an
admin) with the case id as its subject."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from tests.browser.pages import (
    INVESTIGATOR,
    application,
    call,
    choose,
    css,
    fill,
    js_errors,
    label,
    open_console,
    options,
    settled,
    shown,
    submit,
    use_key,
    visit,
    wait_for,
)

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Chain:
    url: str
    first: str  # confirmed fraud
    second: str  # shares a device with the first: alerted
    third: str  # shares a phone with the second only


@pytest.fixture(scope="module")
def chain(service_url: str) -> Chain:
    """Applicants 1 -device- 2 -phone- 3, months apart; 1 is confirmed as fraud, which
    raises an alert on 2."""
    url = service_url
    first = submit(url, application(1, month=5, device={"fingerprint": "dfp-shared", "ip": "198.51.100.1"}))
    second = submit(
        url,
        application(2, month=7, device={"fingerprint": "dfp-shared", "ip": "198.51.100.2"}, phone="+86 138 0000 0022"),
    )
    third = submit(url, application(3, month=9, phone="+86 138 0000 0022"))
    label(url, first, "confirmed_fraud", "chargeback confirmed")
    return Chain(url, first, second, third)


def case_page(driver: WebDriver, status: str) -> WebElement:
    return shown(driver, f'#case-page[data-status="{status}"]')


def step_form(driver: WebDriver, action: str) -> WebElement:
    return shown(driver, f'form[data-testid="step-{action}"]')


def take_step(driver: WebDriver, action: str, reason: str, outcome: str | None = None, **fields: str) -> None:
    form = step_form(driver, action)
    if outcome is not None:
        choose(form, "outcome", outcome)
    for name, text in fields.items():
        fill(form, name, text)
    fill(form, "reason", reason)
    form.find_element(By.CSS_SELECTOR, f'[data-testid="step-{action}-submit"]').click()


def timeline(driver: WebDriver) -> list[tuple[str, str, str]]:
    """(action, outcome, actor's role) of every step shown, oldest first."""
    return [
        (
            s.get_attribute("data-action") or "",
            s.get_attribute("data-outcome") or "",
            (s.get_attribute("data-actor") or "").split(":")[0],
        )
        for s in css(driver, '#case-timeline [data-testid="timeline-step"]')
    ]


def decisions_of(url: str, application_id: str) -> list[dict[str, Any]]:
    return list(call("GET", url, f"/v1/applications/{application_id}", INVESTIGATOR)["decisions"])


def test_a_case_from_an_alert_through_review_and_appeal(browser: WebDriver, chain: Chain) -> None:
    url = chain.url
    open_console(browser, url, "dev-investigator")

    # The alert on the second applicant, raised by the first one's label, reads masked.
    visit(browser, "#/alerts")
    trigger = f"label:confirmed_fraud:{chain.first}"
    row = shown(browser, f'tr[data-testid="alert-row"][data-applicant-id="{chain.second}"][data-trigger="{trigger}"]')
    assert "**************0002" in row.text
    assert chain.second.split(":")[1] not in row.text and chain.first.split(":")[1] not in row.text, "no hashed id"
    fill(row, "reason", "linked to a confirmed fraud by a shared device")
    row.find_element(By.CSS_SELECTOR, '[data-testid="alert-open-case"]').click()

    page = case_page(browser, "open")
    case_id = page.get_attribute("data-case-id") or ""
    assert case_id.startswith("CS-")
    assert css(browser, '[data-testid="evidence-alert"]') and css(
        browser, '[data-testid="evidence-decision"] [data-testid="reason"]'
    )
    assert "**************0002" in shown(browser, "#case-head").text
    alert = next(a for a in call("GET", url, "/v1/alerts", INVESTIGATOR) if a["applicant_id"] == chain.second)
    assert (alert["status"], alert["case_id"]) == ("in_case", case_id)
    stale = browser.current_window_handle
    offered = options(step_form(browser, "decide"), "outcome")  # an open case: what an analyst decides alone
    assert "watch" in offered and "freeze" not in offered

    # The analyst recommends a freeze in a second tab; the first one is left as it was.
    browser.switch_to.new_window("tab")
    open_console(browser, url, "dev-investigator")
    visit(browser, f"#/case/{case_id}")
    case_page(browser, "open")
    take_step(browser, "recommend", "same device as a confirmed fraudster", outcome="freeze")
    page = case_page(browser, "recommended")
    assert page.get_attribute("data-layer") == "committee"
    assert "decide" not in (shown(browser, "#case-actions").get_attribute("data-actions") or "").split()
    assert "four eyes" in shown(browser, '[data-testid="next-step"]').text
    browser.close()
    browser.switch_to.window(stale)

    # The stale page still offers a decision: the same key is refused (403), the rule in words.
    take_step(browser, "decide", "agree with myself", outcome="watch")
    problem = shown(browser, '#step-problem [data-testid="problem"]')
    assert problem.get_attribute("data-status") == "403" and problem.get_attribute("data-rule") == "four_eyes"
    assert "Four eyes" in problem.text and "cannot also decide" in problem.text
    case_page(browser, "recommended")  # read again: no decision was taken
    assert not css(browser, 'form[data-testid="step-decide"]')

    # The committee decides the freeze: the applicant is labelled confirmed fraud.
    use_key(browser, "dev-committee")
    page = case_page(browser, "recommended")
    assert "freeze" in options(step_form(browser, "decide"), "outcome")
    take_step(browser, "decide", "the committee agrees", outcome="freeze")
    page = case_page(browser, "decided")
    assert page.get_attribute("data-outcome") == "freeze"
    decided = css(browser, '[data-testid="timeline-step"][data-action="decide"]')[-1]
    assert "freeze" in decided.text.lower() and "confirmed fraud" in decided.text
    assert shown(browser, '[data-testid="subject-label-now"]').get_attribute("data-status") == "confirmed_fraud"
    assert "re-scored in the background" in decided.text  # the label's re-scoring is queued with it
    settled(url)  # ...and done by the worker: the third applicant, linked by phone, is alerted
    before_upheld = len(decisions_of(url, "APP-000003"))

    # The customer appeals through the analyst, with new evidence; the case reopens.
    use_key(browser, "dev-investigator")
    case_page(browser, "decided")
    evidence = "police report: the device was stolen in June"
    take_step(browser, "appeal", "the customer appeals", evidence=evidence)
    case_page(browser, "appealed")
    appeal = css(browser, '[data-testid="timeline-step"][data-action="appeal"]')[-1]
    assert evidence in appeal.text and "Re-evaluated" in appeal.text
    assert not css(browser, 'form[data-testid="step-decide"]'), "the key that filed the appeal does not decide it"

    # The committee upholds it.
    use_key(browser, "dev-committee")
    case_page(browser, "appealed")
    assert options(step_form(browser, "decide"), "outcome") == ["upheld", "rejected"]
    take_step(browser, "decide", "the police report checks out", outcome="upheld")
    page = case_page(browser, "closed")
    assert page.get_attribute("data-outcome") == "appeal_upheld"
    upheld = css(browser, '[data-testid="timeline-step"][data-action="decide"]')[-1]
    assert "Labels cleared" in upheld.text and "freeze" in upheld.text
    settled(url)
    assert timeline(browser) == [
        ("open", "", "investigator"),
        ("recommend", "freeze", "investigator"),
        ("decide", "freeze", "committee"),
        ("appeal", "", "investigator"),
        ("decide", "upheld", "committee"),
    ]

    # The applicant's label reads cleared.
    visit(browser, f"#/applicant/{chain.second}")
    shown(browser, f'#applicant-view[data-node-id="{chain.second}"][data-status="cleared"]')

    # Its alerts are resolved: the one the case came from, and the one its label raised on the third.
    visit(browser, "#/alerts?status=resolved")
    shown(browser, "#alerts-view")
    resolved = wait_for(browser, lambda d: css(d, 'tr[data-testid="alert-row"]'), "resolved alerts")
    by_case = [r for r in resolved if r.get_attribute("data-alert-id") == alert["alert_id"]]
    assert by_case and by_case[0].get_attribute("data-status") == "resolved"
    raised_by_case = f"label:confirmed_fraud:{chain.second}"
    assert any(
        r.get_attribute("data-applicant-id") == chain.third and r.get_attribute("data-trigger") == raised_by_case
        for r in resolved
    )
    visit(browser, "#/alerts?status=open")
    shown(browser, "#alerts-view")
    assert not [
        r for r in css(browser, 'tr[data-testid="alert-row"]') if r.get_attribute("data-trigger") == raised_by_case
    ]

    # The linked applicant was re-scored when the label was cleared.
    after = decisions_of(url, "APP-000003")
    assert len(after) > before_upheld and after[-1]["trigger"] == "monitoring"
    visit(browser, f"#/applicant/{chain.third}")
    shown(browser, f'#applicant-view[data-node-id="{chain.third}"]')
    shown_decisions = css(browser, '[data-application-id="APP-000003"] [data-testid="decision"]')
    assert len(shown_decisions) == len(after)
    assert shown_decisions[0].get_attribute("data-trigger") == "monitoring"  # newest first

    # The audit log, read by an admin, has every step with the case id as its subject.
    use_key(browser, "dev-admin")
    visit(browser, f"#/audit?subject={case_id}")
    rows = wait_for(browser, lambda d: css(d, 'tr[data-testid="audit-row"]'), "the case's audit events")
    assert {r.get_attribute("data-subject") for r in rows} == {case_id}
    assert [r.get_attribute("data-action") for r in reversed(rows)] == [
        "case:open",
        "case:recommend",
        "case:decide",
        "case:appeal",
        "case:decide",
    ]
    assert [(r.get_attribute("data-actor") or "").split(":")[0] for r in reversed(rows)] == [
        "investigator",
        "investigator",
        "committee",
        "investigator",
        "committee",
    ]
    assert js_errors(browser) == []
