"""The overview for risk managers draws what GET /v1/overview answers: decisions per day by
band and by action, by channel and by product; alerts by tier and status and by age; cases
by status and layer and by age; rings per run. Every bar and cell is checked against the API."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.browser.pages import (
    ADMIN,
    INVESTIGATOR,
    application,
    call,
    css,
    js_errors,
    label,
    open_console,
    shown,
    submit,
    visit,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def url(service_url: str) -> str:
    """Applications on two channels and two products, a ring of four, a confirmed fraud (which
    raises alerts), a case opened from one of them, and a batch run."""
    for n in range(1, 9):
        shared = (
            {"device": {"fingerprint": "dfp-ring", "ip": f"198.51.100.{n}"}, "phone": "+86 139 1000 0001"}
            if n <= 4
            else {}
        )
        submit(
            service_url,
            application(
                n,
                month=11,
                day=n,
                channel="app" if n % 2 else "web",
                product="cash_loan" if n % 3 else "instalment",
                **shared,
            ),
        )
    first = call("GET", service_url, "/v1/applications/APP-000001", INVESTIGATOR)["applicant_id"]
    alerts = label(service_url, first, "confirmed_fraud", "chargeback confirmed")
    assert alerts
    call("POST", service_url, "/v1/cases", INVESTIGATOR, json={"alert_id": alerts[0]["alert_id"], "reason": "linked"})
    call("POST", service_url, "/v1/rings/runs", ADMIN, json={})
    return service_url


def bars(driver: WebDriver, testid: str) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for bar in css(driver, f'svg[data-testid="{testid}"] rect[data-testid="bar"]'):
        counts[(bar.get_attribute("data-category") or "", bar.get_attribute("data-series") or "")] += int(
            bar.get_attribute("data-count") or 0
        )
    return counts


def expected(rows: list[dict[str, Any]], category: str, series: str) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for row in rows:
        if row["count"]:
            counts[(str(row[category]), str(row[series]))] += int(row["count"])
    return counts


def cells(driver: WebDriver, testid: str) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for row in css(driver, f'table[data-testid="{testid}"] tbody tr[data-category]'):
        for cell in css(row, "td[data-series]"):
            if int(cell.get_attribute("data-count") or 0):
                counts[(row.get_attribute("data-category") or "", cell.get_attribute("data-series") or "")] += int(
                    cell.get_attribute("data-count") or 0
                )
    return counts


def test_the_overview_draws_what_the_api_counts(browser: WebDriver, url: str) -> None:
    open_console(browser, url, "dev-investigator")
    visit(browser, "#/overview")
    assert Select(shown(browser, "#overview-days")).first_selected_option.get_attribute("value") == "30"
    visit(browser, "#/overview?days=365")
    view = shown(browser, "#overview-view")
    o = call("GET", url, "/v1/overview?days=365", INVESTIGATOR)
    total = sum(r["count"] for r in o["decisions"]["by_day"])
    assert total > 0 and view.get_attribute("data-total-decisions") == str(total)

    d = o["decisions"]
    assert bars(browser, "chart-decisions-band") == expected(d["by_day"], "day", "band")
    assert bars(browser, "chart-decisions-action") == expected(d["by_day"], "day", "action")
    assert bars(browser, "chart-channel") == expected(d["by_channel"], "channel", "band")
    assert bars(browser, "chart-product") == expected(d["by_product"], "product", "band")
    assert {c for c, _ in bars(browser, "chart-channel")} == {"app", "web"}
    assert cells(browser, "table-alerts") == expected(o["alerts"]["by_tier_status"], "tier", "status")
    assert bars(browser, "chart-alerts-age") == expected(o["alerts"]["open_by_age"], "age", "tier")
    assert cells(browser, "table-cases") == expected(o["cases"]["by_status_layer"], "status", "layer")
    assert bars(browser, "chart-cases-age") == expected(o["cases"]["open_by_age"], "age", "layer")
    assert sum(cells(browser, "table-cases").values()) == 1, "the one case opened"
    runs = css(browser, '[data-testid="ring-run"]')
    assert [r.get_attribute("data-run-id") for r in runs] == [r["run_id"] for r in o["rings"]["runs"]]
    assert len(runs) == 1
    assert js_errors(browser) == []
