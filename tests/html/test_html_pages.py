"""The four HTML outputs (pipeline report, screening page, health report, dashboard) share
the base page, its stylesheet and its scope."""

from __future__ import annotations

import re
import shutil

import ipywidgets as widgets

from cryoprotect.dashboard.app import build_dashboard
from cryoprotect.html import macro
from cryoprotect.models import registry
from cryoprotect.models.targets import TARGETS
from cryoprotect.params import load_params
from cryoprotect.pipeline.layout import Layout
from cryoprotect.pipeline.report import build_report
from cryoprotect.screening.chunks import ChunkScreener
from cryoprotect.screening.library import read_library
from cryoprotect.screening.report import summary_html
from cryoprotect.screening.run import screen


def _pages(project, tmp_path) -> dict[str, str]:
    layout = Layout(project)
    models = {t: registry.load(layout.models, t) for t in ("tg", "iri")}
    library = tmp_path / "library.smi"
    library.write_text("OCC(O)CO glycerol\nCS(C)=O dmso\n")
    goals = {"tg": "maximize", "iri": "minimize"}
    weights = {"tg": 1.0, "iri": 1.0}
    result = screen(read_library(library, 10), ChunkScreener(models, 22.0), goals, weights)
    return {
        "pipeline": build_report(layout, load_params(layout.params), list(TARGETS)),
        "screening": summary_html(result, goals, 2, "a screen"),
        "health": (layout.reports / "health" / "latest.html").read_text(),
    }


def test_every_page_is_the_base_page_with_the_shared_stylesheet(trained_project, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(trained_project, project, ignore=shutil.ignore_patterns("src"))
    stylesheet = macro("stylesheet")
    for name, page in _pages(project, tmp_path).items():
        assert page.startswith("<!DOCTYPE html>\n<html lang='en'>\n<head>\n"), name
        assert page.count("<style") == 1 and page.count(stylesheet) == 1, name
        assert re.search(r"<body>\n<main class='cp-report'>\n<h1>.+</h1>", page), name
        assert page.endswith("</main>\n</body>\n</html>\n"), name
        assert not re.search(r"(src|href)=['\"]?(https?:)?//", page), name  # nothing fetched

    dashboard = build_dashboard(project, None)
    header = dashboard.children[0]
    assert isinstance(header, widgets.HTML) and header.value.count(stylesheet) == 1
    assert "cp-report" in dashboard._dom_classes  # the stylesheet's rules apply inside
