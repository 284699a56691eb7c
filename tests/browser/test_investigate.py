"""Investigating in the console: a look-up opens an identifier with the applicants who used
it and its network; identifiers that mask alike are told apart by their tags; a look-up that
finds nothing leaves nothing of the previous subject on screen; an applicant is labelled
confirmed fraud (a refused reason shown by its field) and the alerts it raised are listed;
the neighbourhood view counts the confirmed fraud each identifier reaches within 1-3 hops."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.browser.pages import (
    INVESTIGATOR,
    application,
    call,
    css,
    js_errors,
    open_console,
    shown,
    submit,
    visit,
    wait_for,
)

pytestmark = pytest.mark.browser

RING_PHONE = "+86 139 1000 0001"
RING_SIZE = 4


@dataclass(frozen=True)
class Seeded:
    url: str
    ring: list[str]  # applicant node ids sharing the device and phone, in submission order
    outsider: str  # linked to the ring only through an employer


@pytest.fixture(scope="module")
def seeded(service_url: str) -> Seeded:
    """Four applicants a month apart share one device and one phone; the first also works where
    an outsider works; the second applied again later from a device of their own."""
    url = service_url
    bodies = [
        application(n, month=n, device={"fingerprint": "dfp-ring", "ip": f"198.51.100.{n}"}, phone=RING_PHONE)
        for n in range(1, RING_SIZE + 1)
    ]
    bodies[0]["employer"] = {"name": "Harbour Logistics Co., Ltd."}
    ring = [submit(url, body) for body in bodies]
    outsider = submit(url, application(9, month=9, employer={"name": "Harbour Logistics Co., Ltd."}))
    again = application(2, month=10, device={"fingerprint": "dfp-home", "ip": "198.51.100.42"}, phone=RING_PHONE)
    again["application_id"] = "APP-000102"
    assert submit(url, again) == ring[1]
    return Seeded(url, ring, outsider)


def applicant_nodes(driver: WebDriver) -> list[str]:
    return [n.get_attribute("data-node-id") or "" for n in css(driver, '#network-svg g[data-kind="applicant"]')]


def look_up(driver: WebDriver, kind: str, value: str) -> None:
    Select(shown(driver, "#search-kind")).select_by_value(kind)
    field = driver.find_element(By.ID, "search-value")
    field.clear()
    field.send_keys(value)
    driver.find_element(By.ID, "search-submit").click()


def test_a_look_up_opens_the_identifier_and_who_used_it(browser: WebDriver, seeded: Seeded) -> None:
    open_console(browser, seeded.url, "dev-investigator")
    look_up(browser, "phone", "139-1000-0001")  # as an investigator would type it
    view = shown(browser, '#node-view[data-node-id^="phone:"]')
    phone = view.get_attribute("data-node-id") or ""
    assert "10000001" not in view.text, "the phone is masked"
    assert phone.split(":")[1] not in view.text, "no hashed id where a person reads"
    rows = wait_for(browser, lambda d: css(d, '[data-testid="identifier-applicant"]'), "who used the phone")
    assert {r.get_attribute("data-node-id") for r in rows} == set(seeded.ring)
    users = call("GET", seeded.url, f"/v1/nodes/{phone}/applicants", INVESTIGATOR)
    by_id = {u["applicant_id"]: u for u in users}
    for row in rows:
        user = by_id[row.get_attribute("data-node-id") or ""]
        assert user["display"] in row.text and str(user["applications"]) in row.text
    assert "**************0002" in view.text

    wait_for(browser, lambda d: len(applicant_nodes(d)) == RING_SIZE, f"{RING_SIZE} applicants in the graph")
    assert set(applicant_nodes(browser)) == set(seeded.ring)
    assert css(browser, f'#network-svg g.root[data-node-id="{phone}"]')
    Select(browser.find_element(By.ID, "network-depth")).select_by_value("3")
    wait_for(browser, lambda d: seeded.outsider in applicant_nodes(d), "the outsider at depth 3")
    assert js_errors(browser) == []


def test_identifiers_that_mask_alike_are_told_apart(browser: WebDriver, seeded: Seeded) -> None:
    open_console(browser, seeded.url, "dev-investigator")
    visit(browser, f"#/applicant/{seeded.ring[1]}")
    shown(browser, f'#applicant-view[data-node-id="{seeded.ring[1]}"]')
    devices = [
        c
        for c in css(browser, '#applicant-view [data-testid="identifier-link"]')
        if (c.get_attribute("data-node-id") or "").startswith("device:")
    ]
    assert len(devices) == 2
    masked = [d.find_element(By.CSS_SELECTOR, ".masked").text for d in devices]
    tags = [d.find_element(By.CSS_SELECTOR, '[data-testid="tag"]').text for d in devices]
    assert masked[0] == masked[1] and masked[0].startswith("dfp-") and "*" in masked[0]
    assert tags[0] != tags[1]
    for device, tag in zip(devices, tags, strict=True):
        assert tag == "#" + (device.get_attribute("data-node-id") or "").split(":")[1][:4]
    assert all(d.find_element(By.CSS_SELECTOR, ".chip-kind").text.lower() == "device" for d in devices)


def test_a_look_up_that_finds_nothing_clears_the_previous_subject(browser: WebDriver, seeded: Seeded) -> None:
    open_console(browser, seeded.url, "dev-investigator")
    visit(browser, f"#/applicant/{seeded.ring[0]}")
    shown(browser, f'#applicant-view[data-node-id="{seeded.ring[0]}"]')
    look_up(browser, "phone", "+86 137 0000 9999")
    problem = shown(browser, '#lookup-view [data-testid="problem"]')
    assert problem.get_attribute("data-status") == "404"
    assert not css(browser, "#applicant-view") and not css(browser, "#network-panel")
    assert "**************0001" not in browser.find_element(By.ID, "view").text
    # and a hit after the miss opens its subject
    look_up(browser, "national_id", "110101199003000003")
    shown(browser, f'#applicant-view[data-node-id="{seeded.ring[2]}"]')
    assert not css(browser, "#lookup-view")


def test_an_applicant_is_labelled_confirmed_fraud(browser: WebDriver, seeded: Seeded) -> None:
    open_console(browser, seeded.url, "dev-investigator")
    phone = call("POST", seeded.url, "/v1/lookup", INVESTIGATOR, json={"kind": "phone", "value": RING_PHONE})
    visit(browser, f"#/node/{phone['node_id']}")
    wait_for(browser, lambda d: len(applicant_nodes(d)) == RING_SIZE, "the ring in the graph")
    target = seeded.ring[1]
    shown(browser, f'#network-svg g[data-node-id="{target}"] .shape').click()
    view = shown(browser, f'#applicant-view[data-node-id="{target}"]')
    assert "110101199003000002" not in view.text and view.find_element(By.ID, "subject-display").text
    assert css(browser, '#view [data-testid="application"] [data-testid="reason"]')

    # A too-short reason is refused by the API and the problem is shown next to the form.
    browser.execute_script("document.getElementById('label-reason').value = 'no'")
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
    assert "Labelled confirmed fraud" in flash.text and "Linked applicants re-scored" in flash.text
    raised = {e.get_attribute("data-alert-id") for e in css(browser, '[data-testid="raised-alert"]')}
    assert raised, "confirming fraud in a ring raises alerts on the linked applicants"
    shown(browser, f'#network-svg g[data-node-id="{target}"][data-status="confirmed_fraud"]')

    shown(browser, "#tab-alerts").click()
    trigger = f"label:confirmed_fraud:{target}"
    rows = wait_for(
        browser,
        lambda d: [r for r in css(d, 'tr[data-testid="alert-row"]') if r.get_attribute("data-trigger") == trigger],
        "the raised alerts",
    )
    assert {r.get_attribute("data-alert-id") for r in rows} == raised
    assert all(r.get_attribute("data-applicant-id") in seeded.ring for r in rows)

    audit = httpx.get(f"{seeded.url}/v1/audit", params={"subject": target}, headers={"X-API-Key": "dev-admin"}).json()
    labelled = [e for e in audit if e["action"] == "label:confirmed_fraud"]
    assert len(labelled) == 1 and labelled[0]["detail"]["reason"] == reason
    assert js_errors(browser) == []


def test_the_neighbourhood_counts_the_confirmed_fraud_within_reach(browser: WebDriver, seeded: Seeded) -> None:
    call(
        "POST",
        seeded.url,
        "/v1/labels",
        INVESTIGATOR,
        json={"node_id": seeded.ring[3], "status": "confirmed_fraud", "reason": "identity theft confirmed"},
    )
    employer = call(
        "POST",
        seeded.url,
        "/v1/lookup",
        INVESTIGATOR,
        json={"kind": "employer", "value": "Harbour Logistics Co., Ltd."},
    )["node_id"]
    open_console(browser, seeded.url, "dev-investigator")
    visit(browser, f"#/applicant/{seeded.outsider}")
    shown(browser, '[data-testid="reach-link"]').click()
    shown(browser, f'#reach-view[data-node-id="{seeded.outsider}"][data-hops="2"]')
    through_employer = []
    for hops in (1, 2, 3):
        Select(shown(browser, "#reach-hops")).select_by_value(str(hops))
        shown(browser, f'#reach-view[data-hops="{hops}"]')
        reach = call("GET", seeded.url, f"/v1/nodes/{seeded.outsider}/reach?hops={hops}", INVESTIGATOR)
        rows = css(browser, '[data-testid="reach-row"]')
        assert [
            (r.get_attribute("data-node-id"), int(r.get_attribute("data-confirmed-fraud") or -1)) for r in rows
        ] == [(i["node_id"], i["confirmed_fraud"]) for i in reach["identifiers"]]
        for row, identifier in zip(rows, reach["identifiers"], strict=True):
            assert identifier["node_id"].split(":")[1] not in row.text, "kind, masked value and tag; no hashed id"
        through_employer.append(next(i for i in reach["identifiers"] if i["node_id"] == employer))
    # The outsider's employer reaches nobody flagged among its own users, then the ring's
    # confirmed fraud two links away (employer -> the first ring member -> device or phone).
    assert [i["confirmed_fraud"] > 0 for i in through_employer] == [False, True, True]
    assert through_employer[1]["nearest"] == 2
    row = shown(browser, f'[data-testid="reach-row"][data-node-id="{employer}"]')
    assert "2 links" in row.text
    assert js_errors(browser) == []


def test_a_case_is_opened_from_an_identifier_page(browser: WebDriver, seeded: Seeded) -> None:
    phone = call("POST", seeded.url, "/v1/lookup", INVESTIGATOR, json={"kind": "phone", "value": RING_PHONE})
    open_console(browser, seeded.url, "dev-investigator")
    visit(browser, f"#/node/{phone['node_id']}")
    form = shown(browser, '#node-view [data-testid="open-case"]')
    form.find_element(By.CSS_SELECTOR, '[name="reason"]').send_keys("one phone, four applicants")
    form.find_element(By.CSS_SELECTOR, '[data-testid="open-case-submit"]').click()
    page = shown(browser, '#case-page[data-status="open"]')
    case = call("GET", seeded.url, f"/v1/cases/{page.get_attribute('data-case-id')}", INVESTIGATOR)
    assert (case["subject"], case["subject_kind"], case["source"]) == (phone["node_id"], "identifier", "manual")
    subject = shown(browser, '[data-testid="evidence-subject"]')
    assert phone["display"] in subject.text and phone["node_id"].split(":")[1] not in subject.text
    visit(browser, f"#/node/{phone['node_id']}")
    listed = shown(browser, '#node-view [data-testid="subject-cases"]')
    assert case["case_id"] in listed.text
    assert js_errors(browser) == []
