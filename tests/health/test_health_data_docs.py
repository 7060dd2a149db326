"""Data Docs render offline: every CDN asset of GX's pages is served from the site itself.

The browser test builds the Data Docs of a health run on a database with a fault (made-up
rows), opens them from the file system in Debian's Chromium with every network request
refused, and reads the validation results there.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from health_support import MADE_UP_ROWS, scratch_database
from sqlalchemy import text

from cryoprotect.health.data_docs import (
    ASSETS,
    LOCAL_FILES,
    VENDOR,
    external_resources,
    make_offline,
    offline_page,
)
from cryoprotect.health.report import run_health

CHROMIUM = Path("/usr/bin/chromium")


def _gx_templates() -> Path:
    import great_expectations

    return Path(great_expectations.__file__).parent / "render" / "view"


def test_every_asset_the_gx_templates_fetch_has_a_copy_here():
    fetched = set()
    for template in _gx_templates().rglob("*.j2"):
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", template.read_text()):
            fetched |= set(re.findall(r"""(?:src|href)=["'](https?://[^"']+)["']""", tag))
    assert fetched, "the GX templates moved: check great_expectations/render/view/templates"
    assert fetched <= set(LOCAL_FILES), sorted(fetched - set(LOCAL_FILES))
    for local in LOCAL_FILES.values():
        assert (ASSETS / local.relative_to(VENDOR)).is_file(), local


def test_a_page_is_pointed_at_the_local_copies(tmp_path):
    site = tmp_path / "site"
    page = site / "validations" / "suite" / "run.html"
    html = (
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/'
        'bootstrap.min.css"/>'
        '<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" '
        'integrity="sha384-xyz" crossorigin="anonymous"></script>'
        '<script src="https://example.org/tracker.js"></script>'
        "<style>.brand { background: url('https://example.org/logo.png') 0 0; }</style>"
        '<a href="https://greatexpectations.io">Great Expectations</a>'
    )
    offline = offline_page(html, site, page)
    assert '<link rel="stylesheet" href="../../static/vendor/bootstrap.min.css"/>' in offline
    assert '<script src="../../static/vendor/bootstrap.min.js"></script>' in offline
    assert "<!-- offline: https://example.org/tracker.js left out -->" in offline
    assert "background: none 0 0" in offline
    assert '<a href="https://greatexpectations.io">' in offline  # a link, not a fetch
    assert external_resources(offline) == []


@pytest.fixture(scope="module")
def data_docs(tmp_path_factory) -> Path:
    """The Data Docs of a health run on a SQLite database with a value out of range."""
    folder = tmp_path_factory.mktemp("health")
    engine = scratch_database(f"sqlite:///{folder / 'health.db'}", folder, MADE_UP_ROWS[:1])
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA ignore_check_constraints=ON")
        connection.execute(text("UPDATE experiments SET value = 5000"))
        connection.commit()
    report = run_health(engine, folder)
    engine.dispose()
    assert not report.passed
    return folder / "data_docs"


def test_no_page_of_a_run_fetches_from_the_network(data_docs):
    pages = list(data_docs.rglob("*.html"))
    assert len(pages) >= 2 * 12  # a validation page and a suite page per suite, and the index
    for page in pages:
        assert external_resources(page.read_text()) == [], page
    assert make_offline(data_docs) == 0  # nothing left to rewrite


@pytest.mark.browser
@pytest.mark.slow
def test_chromium_renders_the_validation_results_offline(data_docs, tmp_path):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), "Chromium is missing: apt-get install chromium"
    fetched: list[str] = []

    def refuse_the_network(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            fetched.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.route("**/*", refuse_the_network)
        page.goto((data_docs / "index.html").as_uri())
        page.wait_for_selector(".bootstrap-table")  # bootstrap-table (local JS) ran
        index = page.inner_text("body")
        assert "experiments" in index and "Failed" in index
        assert (
            page.evaluate("getComputedStyle(document.querySelector('nav.navbar')).position")
            == "sticky"
        )  # Bootstrap's CSS applies
        page.screenshot(path=str(tmp_path / "data-docs-index.png"))
        failed = next(data_docs.glob("validations/experiments/**/*.html"))
        page.goto(failed.as_uri())
        rule = "a row breaking the rule ck_experiments_value_in_property_range"
        page.wait_for_selector(f"text={rule}")
        row = page.locator("tr", has_text=rule).last.inner_text()
        assert "value <= 800.0" in row and row.rstrip().endswith("1")  # one unexpected row
        icons = "document.fonts.load('900 1em \"Font Awesome 6 Free\"').then(f => f.length)"
        assert page.evaluate(icons) >= 1  # the icon font, from the local copy
        page.screenshot(path=str(tmp_path / "data-docs-validation.png"), full_page=True)
        browser.close()
    assert fetched == [], fetched
    assert errors == [], errors
