"""Swagger UI at /docs works offline, in a real browser (headless Chromium through Selenium).

The page must load every file from the endpoint itself (no CDN), list the
operations, and send an authorised request from the page ("Authorize", then
"Execute" on POST /score). Needs Debian's ``chromium`` and ``chromium-driver``
(``.ci/run`` installs them); without them the test is skipped and says so.
Set ``AUTOML_LOCAL_DOCS_SCREENSHOT=<file.png>`` to keep the screenshot (the
README's is made that way).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _live import Server, run_server

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,2300",
)


@pytest.fixture
def browser() -> Iterator[Any]:
    if CHROMIUM is None or DRIVER is None:
        pytest.skip(
            "Chromium is not installed: `apt-get install -y chromium chromium-driver` "
            "(Debian) runs the browser test of /docs"
        )
    os.environ["SE_OFFLINE"] = "true"  # never let Selenium Manager fetch a driver or browser
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, make_endpoint: Any) -> Iterator[Server]:
    folder = make_endpoint(tmp_path_factory.mktemp("docs") / "bank-ep", {"blue": 100})
    with run_server(folder) as server:
        yield server


def test_docs_page_works_offline_and_sends_an_authorised_request(
    server: Server, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 30)
    browser.get(f"{server.url}/docs")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".opblock-summary-path")))
    paths = {e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert {"/", "/score", "/swagger.json"} <= {p.replace("\u200b", "") for p in paths}

    # Every file the page loaded came from the endpoint: nothing from a CDN.
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert loaded and all(url.startswith(server.url) for url in loaded), loaded

    browser.find_element(By.CSS_SELECTOR, "button.authorize").click()
    key_box = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".modal-ux input")))
    key_box.send_keys(f"Bearer {server.endpoint.primary_key}")
    browser.find_element(By.CSS_SELECTOR, ".modal-ux .auth-btn-wrapper .authorize").click()
    browser.find_element(By.CSS_SELECTOR, ".modal-ux .btn-done").click()

    score = browser.find_element(By.ID, "operations-default-RunMLService")
    score.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    execute = wait.until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "#operations-default-RunMLService .execute"))
    )
    execute.click()
    status = wait.until(
        ec.visibility_of_element_located(
            (
                By.CSS_SELECTOR,
                "#operations-default-RunMLService .live-responses-table tbody "
                ".response-col_status",
            )
        )
    )
    body = score.find_element(
        By.CSS_SELECTOR, ".live-responses-table .response-col_description pre"
    )
    assert status.text.strip() == "200", body.text
    assert body.text.strip().replace("\n", "").replace(" ", "") in ('["yes"]', '["no"]')
    records = server.endpoint.log_records("blue")
    assert records and records[-1]["status"] == 200  # the server saw the page's request

    target = Path(os.environ.get("AUTOML_LOCAL_DOCS_SCREENSHOT") or tmp_path / "swagger.png")
    target.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(target))
