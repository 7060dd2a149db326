"""``/docs`` and ``/redoc`` render in Chromium with every request outside the service blocked.

Playwright drives Debian's Chromium; any request to another host is aborted and recorded, so
the pages pass only if they need nothing but the service (the assets come from the package).
The one outside request allowed is ReDoc's small "Redocly" logo, an image it hides when it
cannot load; no script, style sheet, font or data may come from elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from live_server import serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT_MS = 60_000


def test_docs_and_redoc_work_offline(service_settings, tmp_path):
    assert CHROMIUM.is_file(), "Chromium is missing: apt-get install chromium"
    with (
        serving(service_settings, tmp_path / "out.txt") as (base, _),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-background-networking"],
        )
        page = browser.new_page()
        outside, errors = [], []

        def only_the_service(route):
            if route.request.url.startswith(base):
                route.continue_()
            else:
                outside.append((route.request.resource_type, route.request.url))
                route.abort()

        page.route("**/*", only_the_service)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{base}/docs", timeout=TIMEOUT_MS)
        page.wait_for_selector(".opblock-summary-path", timeout=TIMEOUT_MS)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        title = page.locator(".title").first.inner_text()
        page.screenshot(path=str(tmp_path / "docs.png"))
        page.goto(f"{base}/redoc", timeout=TIMEOUT_MS)
        page.wait_for_selector("h1", timeout=TIMEOUT_MS)
        page.wait_for_selector("text=Predict one or more targets", timeout=TIMEOUT_MS)
        redoc_heading = page.locator("h1").first.inner_text()
        browser.close()
    assert {"/predict", "/models", "/health", "/health/ready", "/health/db"} <= {
        p.replace("\u200b", "") for p in paths
    }
    assert title.startswith("CryoProtect prediction service")
    assert redoc_heading.startswith("CryoProtect prediction service")
    assert [kind for kind, _ in outside if kind != "image"] == [] and errors == []
