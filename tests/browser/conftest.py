"""Fixtures of the console's browser tests: the real service in a subprocess on a fresh
SQLite file per test module (seeded through the HTTP API by each module), and one headless
Chromium for the session.

Needs Debian's ``chromium`` and ``chromium-driver`` (``make browser``). Without them the
tests skip locally and fail when ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.pages import running_service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROME_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1300",
)


@pytest.fixture(scope="session", autouse=True)
def _chromium_installed() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        reason = f"browser tests need {' and '.join(missing)} (install them with `make browser`)"
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)


def chrome(profile: Path, *extra: str, network_log: bool = False) -> WebDriver:
    """A headless Chromium with a profile of its own, keeping the browser log (and, with
    ``network_log``, every request it makes, as DevTools events in the performance log)."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (*CHROME_ARGS, f"--user-data-dir={profile}", *extra):
        options.add_argument(arg)
    logs = {"browser": "ALL", **({"performance": "ALL"} if network_log else {})}
    options.set_capability("goog:loggingPrefs", logs)
    return webdriver.Chrome(service=DriverService(executable_path=str(CHROMEDRIVER)), options=options)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    driver = chrome(profile)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def service_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real service of this test module's own (empty store, development keys)."""
    with running_service(tmp_path_factory.mktemp("console")) as url:
        yield url
