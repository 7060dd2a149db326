"""The screen's summary page: escaped names and titles, the shared page and stylesheet."""

from __future__ import annotations

from pathlib import Path

import pytest

from cryoprotect.models import registry
from cryoprotect.screening.chunks import ChunkScreener
from cryoprotect.screening.library import read_library
from cryoprotect.screening.report import write_results
from cryoprotect.screening.run import screen

HOSTILE = "<script>alert(1)</script> \"&'"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &#34;&amp;&#39;"
GOALS = {"tg": "maximize", "iri": "minimize"}


@pytest.fixture(scope="module")
def screener(trained_project) -> ChunkScreener:
    models = {t: registry.load(trained_project / "models", t) for t in GOALS}
    return ChunkScreener(models, concentration_mM=22.0)


def test_a_hostile_molecule_name_and_title_are_shown_escaped(screener, tmp_path):
    library = tmp_path / "library.smi"
    library.write_text(f"OCC(O)CO {HOSTILE}\nCS(C)=O made-up-name\n")
    result = screen(read_library(library, 10), screener, GOALS, {"tg": 1.0, "iri": 1.0})
    page = Path(write_results(result, tmp_path / "out", GOALS, 5, HOSTILE)["html"]).read_text()
    assert f"<title>{ESCAPED}</title>" in page and f"<h1>{ESCAPED}</h1>" in page
    assert f"<br>{ESCAPED}</td>" in page
    assert "<script" not in page and HOSTILE not in page
    assert page.count("<svg") == 2 and "<main class='cp-report'>" in page
