"""The pipeline's report page: escaped card text, the shared page and stylesheet."""

from __future__ import annotations

import json
import shutil

from cryoprotect.models.targets import TARGETS
from cryoprotect.params import load_params
from cryoprotect.pipeline.layout import Layout
from cryoprotect.pipeline.report import build_report

HOSTILE = "<script>alert(1)</script> \"&'"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &#34;&amp;&#39;"


def test_a_hostile_code_version_is_shown_escaped(trained_project, tmp_path):
    root = tmp_path / "project"
    shutil.copytree(trained_project, root, ignore=shutil.ignore_patterns("src"))
    layout = Layout(root)
    cards = list((layout.models / "tg").rglob("card.json"))
    assert cards
    for path in cards:
        path.write_text(json.dumps(json.loads(path.read_text()) | {"code_version": HOSTILE}))
    page = build_report(layout, load_params(layout.params), list(TARGETS))
    assert f"<tr><th>code version</th><td>{ESCAPED}</td></tr>" in page
    assert "<script" not in page and HOSTILE not in page
    assert page == (layout.reports / "index.html").read_text()
    for name in TARGETS:
        for kind in ("parity", "residuals", "shap-bar"):
            assert f"data-plot='{name}-{kind}'" in page
