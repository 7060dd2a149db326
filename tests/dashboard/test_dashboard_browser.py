"""The served dashboard in a real browser: ``cryoprotect dashboard`` (Voila) and Chromium.

Playwright drives Debian's Chromium (``/usr/bin/chromium``; ``.ci/run`` installs it). The
test opens every tab, checks that the plots of all three targets rendered and that no error
or traceback shows, predicts from a SMILES, and saves a screenshot of each tab (to
``CRYOPROTECT_SCREENSHOT_DIR`` when set, else the test's temporary folder).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
TARGETS = {"Tg": "tg", "IRI": "iri", "Viability": "viability"}
PLOTS = ("parity", "residuals", "shap-bar", "shap-beeswarm", "intervals", "versions")
LOAD_TIMEOUT_MS = 90_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard_url(trained_project, reference_database):
    """The address of ``cryoprotect dashboard`` serving the trained project."""
    command = [
        str(Path(sys.executable).parent / "cryoprotect"),
        "--database-url",
        reference_database,
        "dashboard",
        "--project-dir",
        str(trained_project),
        "--port",
        str(_free_port()),
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith("CryoProtect dashboard: http://127.0.0.1:"), line
        yield line.split(": ", 1)[1].strip()
    finally:
        server.terminate()
        assert server.wait(timeout=30) == 0


@pytest.fixture(scope="module")
def page(dashboard_url):
    assert CHROMIUM.is_file(), "Chromium is missing: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(dashboard_url, timeout=LOAD_TIMEOUT_MS)
        page.wait_for_selector(".cp-overview table", timeout=LOAD_TIMEOUT_MS)
        yield page
        browser.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = os.environ.get("CRYOPROTECT_SCREENSHOT_DIR")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _no_error_shown(page: Page) -> None:
    text = page.inner_text("body")
    assert "Traceback" not in text
    assert "There was an error when executing cell" not in text
    assert page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    assert page.locator(".jp-RenderedText[data-mime-type*='error']").count() == 0
    assert page.errors == []


def _screenshot(page: Page, path: Path) -> None:
    """Capture the whole dashboard (Voila scrolls inside the page, so grow the viewport)."""
    height = page.evaluate("document.querySelector('.cp-dashboard').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 400, 12_000)})
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_overview_lists_all_three_models(page, screenshots):
    overview = page.inner_text(".cp-overview table")
    assert all(name in overview for name in TARGETS.values())
    _no_error_shown(page)
    _screenshot(page, screenshots / "dashboard-overview.png")


@pytest.mark.parametrize("title", list(TARGETS))
def test_every_target_tab_renders_its_plots(page, screenshots, title):
    name = TARGETS[title]
    page.get_by_role("tab", name=title, exact=True).click()
    page.wait_for_selector(f"img[data-plot='{name}-parity']", state="visible", timeout=60_000)
    for kind in PLOTS:
        image = page.locator(f"img[data-plot='{name}-{kind}']")
        assert image.count() == 1, kind
        assert image.evaluate("img => img.complete && img.naturalWidth > 200"), kind
    assert page.locator(".cp-card").filter(has_text="model version").count() >= 1
    _no_error_shown(page)
    _screenshot(page, screenshots / f"dashboard-{name}.png")


def test_a_smiles_gets_predictions_and_a_bad_one_a_message(page, screenshots):
    page.get_by_role("tab", name="Predict", exact=True).click()
    page.fill(".cp-molecule-input input", "OCC(O)CO")
    page.click(".cp-predict-button")
    page.wait_for_selector(".cp-prediction table", timeout=60_000)
    rows = page.locator(".cp-prediction table tr")
    assert rows.count() == 4  # a header and tg, iri, viability
    tg = rows.nth(1).inner_text()
    assert "tg" in tg and "K" in tg
    value = float(rows.nth(1).locator("td.num").first.inner_text())
    assert 50 < value < 500
    assert page.locator(".cp-prediction svg").count() == 1
    _no_error_shown(page)
    _screenshot(page, screenshots / "dashboard-predict.png")
    page.fill(".cp-molecule-input input", "C1CC(xx")
    page.click(".cp-predict-button")
    page.wait_for_selector(".cp-prediction .cp-message", timeout=30_000)
    assert "neither a known molecule name nor a valid SMILES" in page.inner_text(".cp-message")
    _no_error_shown(page)


def test_health_tab_shows_the_latest_report_and_links_its_data_docs(page, screenshots):
    page.get_by_role("tab", name="Health", exact=True).click()
    page.wait_for_selector(".cp-health", state="visible")
    assert "checks passed" in page.inner_text(".cp-health")
    assert "Backups" in page.inner_text(".cp-backups")
    _screenshot(page, screenshots / "dashboard-health.png")
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Great Expectations Data Docs").click()
    docs = opened.value
    docs.wait_for_selector(".bootstrap-table", timeout=30_000)  # its scripts load from Voila
    index = docs.inner_text("body")
    assert "Validation Results" in index and "experiments" in index
    docs.screenshot(path=str(screenshots / "dashboard-data-docs.png"))
    docs.close()
