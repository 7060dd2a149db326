"""The documentation site: a real, strict, offline `mkdocs build` of docs/ and mkdocs.yml.

The strict build is what `quickstart.py lint` and CI's lint job run; these tests also show that
it really fails on a broken link or anchor, and that every subpackage of cryoprotect has an
API reference page rendered from its docstrings.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs"
PACKAGE = REPO_ROOT / "src" / "cryoprotect"
MKDOCS = Path(sys.executable).with_name("mkdocs")

pytestmark = pytest.mark.slow


def build(project: Path, site: Path) -> subprocess.CompletedProcess:
    """Run `mkdocs build --strict` of the project folder into ``site``."""
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(site)],
        cwd=project,
        capture_output=True,
        text=True,
        env=os.environ | {"NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )


def subpackages() -> list[str]:
    """The folders of the package that hold Python modules (with or without __init__.py)."""
    return sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and any(p.glob("*.py")))


def nav_pages(nav) -> list[str]:
    """Every page file named in mkdocs.yml's nav."""
    pages = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages.extend(nav_pages(value) if isinstance(value, list) else [value])
    return pages


def _config() -> dict:
    return yaml.load((REPO_ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "site"
    result = build(REPO_ROOT, out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_the_strict_build_makes_every_page_of_the_nav(site):
    pages = nav_pages(_config()["nav"])
    on_disk = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert set(pages) == on_disk, "every page is in the nav, and the nav names only pages"
    for page in pages:
        html = site / Path(page).with_suffix(".html")
        assert html.is_file(), page
        assert "<h1" in html.read_text(), page
    for page in ("operations/runbook", "operations/monitoring", "operations/deployment"):
        assert (site / f"{page}.html").is_file(), page


def test_every_subpackage_has_a_reference_page_with_its_docstrings(site):
    assert {"chem", "models", "db", "cli", "backup"} <= set(subpackages())
    for name in subpackages():
        page = DOCS / "reference" / f"{name}.md"
        assert page.is_file(), f"no API reference page for cryoprotect.{name}"
        assert f"::: cryoprotect.{name}\n" in page.read_text(), name
        html = (site / "reference" / f"{name}.html").read_text()
        assert f'id="cryoprotect.{name}"' in html, name
        assert re.search(rf'id="cryoprotect\.{name}\.\w+', html), f"{name}: no module rendered"


def test_public_functions_are_rendered_with_their_numpy_docstrings(site):
    html = (site / "reference" / "chem.html").read_text()
    for function, sections in (
        ("structures.parse_smiles", ("Raises",)),
        ("structures.standardize", ("Parameters", "Returns")),
    ):
        anchor = f'id="cryoprotect.chem.{function}"'
        assert anchor in html, function
        rendered = html[html.index(anchor) :].split('class="doc doc-heading"')[1]
        for section in sections:
            assert f'<span class="doc-section-title">{section}:</span>' in rendered, function
        assert "<table" in rendered, f"{function}: the sections are not laid out"


def test_the_site_loads_nothing_from_the_internet(site):
    for page in site.rglob("*.html"):
        html = page.read_text()
        assert not re.search(r'<script[^>]+src="https?://', html), page
        assert not re.search(r'<link[^>]+rel="stylesheet"[^>]+href="https?://', html), page
        assert "fonts.googleapis.com" not in html and "fonts.gstatic.com" not in html, page
    assert (site / "search" / "search_index.js").is_file(), "search works from file://"


def test_the_runbook_has_a_section_for_each_alert_anchor(site):
    html = (site / "operations" / "runbook.html").read_text()
    for rules in (REPO_ROOT / "monitoring" / "prometheus" / "rules").glob("*alerts.yml"):
        for url in re.findall(r"runbook_url: (\S+)", rules.read_text()):
            page, anchor = url.split("#")
            assert page == "docs/operations/runbook.md"
            assert f'id="{anchor}"' in html, url


def _copy_of_the_docs(tmp_path: Path) -> Path:
    """A project folder with the docs, their configuration, and what they include."""
    project = tmp_path / "project"
    shutil.copytree(DOCS, project / "docs")
    shutil.copy2(REPO_ROOT / "mkdocs.yml", project / "mkdocs.yml")
    (project / "src").symlink_to(REPO_ROOT / "src")
    (project / "data" / "reference").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "data" / "reference" / "README.md", project / "data" / "reference")
    return project


@pytest.mark.parametrize(
    "link",
    ["[gone](no-such-page.md)", "[gone](models.md#no-such-section)", "[gone](#nowhere-here)"],
)
def test_a_broken_link_fails_the_strict_build(tmp_path, link):
    project = _copy_of_the_docs(tmp_path)
    page = project / "docs" / "pipeline.md"
    page.write_text(page.read_text() + f"\nSee {link}.\n")
    result = build(project, tmp_path / "site")
    assert result.returncode != 0
    target = link.split("(")[1].rstrip(")")
    assert "pipeline.md" in result.stderr and target.split("#")[-1] in result.stderr, result.stderr
