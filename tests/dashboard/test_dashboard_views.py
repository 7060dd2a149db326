"""HTML fragments of the dashboard: escaping, model cards, health, structures."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta

import pandas as pd

from cryoprotect.chem.depict import molecule_svg, structure_html
from cryoprotect.dashboard.review import load_review
from cryoprotect.dashboard.views import card_html, health_html, table_html, worst_html
from cryoprotect.models.card import Gate
from cryoprotect.pipeline.layout import Layout


def test_tables_escape_text_and_align_numbers():
    html = table_html(pd.DataFrame({"name": ["<b>x</b>"], "value": [1.23456]}), digits=2)
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "<td class='num'>1.23</td>" in html


def test_model_card_shows_version_data_and_a_failed_gate(trained_project):
    review = load_review(Layout(trained_project), "tg")
    html = card_html(review)
    assert review.card.version in html
    assert review.card.data.snapshot_hash[:16] in html
    assert "meets its thresholds" in html
    failing = copy.deepcopy(review)
    failing.card.validation.gate = Gate(passed=False, failures=["MAE 99 > 15"])
    assert "misses: MAE 99 &gt; 15" in card_html(failing)


def test_worst_compounds_are_drawn(trained_project):
    html = worst_html(load_review(Layout(trained_project), "tg"), count=3)
    assert html.count("<svg") == 3
    assert "measurements" in html


def test_depiction_of_a_bad_smiles_falls_back_to_text():
    assert molecule_svg("OCC(O)CO").startswith("<svg")
    assert "<code>C1CC(xx</code>" in structure_html("C1CC(xx")


def test_health_view_names_failed_checks_and_the_report_age(trained_project):
    folder = Layout(trained_project).reports / "health"
    report = json.loads((folder / "latest.json").read_text())
    assert "Every check passed." in health_html(report, [])
    broken = copy.deepcopy(report)
    broken["summary"] |= {"healthy": False, "failed": 1}
    broken["checks"][0] |= {"status": "fail", "unexpected_count": 2, "message": ""}
    later = datetime.fromisoformat(report["summary"]["created"]) + timedelta(hours=2)
    html = health_html(broken, [report["summary"]], now=later)
    assert "a critical check failed" in html
    assert broken["checks"][0]["name"] in html
    assert "2.0 h ago" in html
    assert "Recent runs" in html
    assert "Data Docs" not in html
    linked = health_html(report, [], data_docs="voila/files/reports/health/data_docs/index.html")
    assert "<a href='voila/files/reports/health/data_docs/index.html'" in linked


def test_health_view_without_a_report_says_how_to_make_one():
    assert "cryoprotect health" in health_html(None, [])


HOSTILE = "<script>alert(1)</script> \"&'"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &#34;&amp;&#39;"


def test_hostile_text_in_a_health_report_is_shown_escaped(trained_project):
    folder = Layout(trained_project).reports / "health"
    report = json.loads((folder / "latest.json").read_text())
    report["summary"] |= {"database": HOSTILE, "healthy": False}
    report["checks"][0] |= {"status": "fail", "name": HOSTILE, "message": HOSTILE}
    html = health_html(report, [report["summary"]], data_docs=HOSTILE)
    assert html.count(ESCAPED) == 4  # database, check, detail, link
    assert "<script" not in html and HOSTILE not in html
