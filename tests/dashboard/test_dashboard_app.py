"""The dashboard's widgets, driven in-process as a browser would drive them through Voila."""

from __future__ import annotations

import json
import shutil

import ipywidgets as widgets
import pytest

from cryoprotect.backup.operations import create_backup
from cryoprotect.backup.store import BackupStore
from cryoprotect.dashboard.app import build_dashboard
from cryoprotect.db.engine import make_engine


def _all(widget) -> list:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _all(child)
    return found


def _find(widget, css: str):
    matches = [w for w in _all(widget) if css in getattr(w, "_dom_classes", ())]
    assert matches, f"no widget with class {css}"
    return matches[0]


def _html(widget) -> str:
    return "".join(w.value for w in _all(widget) if isinstance(w, widgets.HTML))


@pytest.fixture
def dashboard(trained_project, reference_database):
    engine = make_engine(reference_database)
    yield build_dashboard(trained_project, engine)
    engine.dispose()


def _tab(dashboard) -> widgets.Tab:
    return next(w for w in _all(dashboard) if isinstance(w, widgets.Tab))


def test_tabs_overview_first_and_every_target_drawn_when_opened(dashboard):
    tab = _tab(dashboard)
    assert tab.titles == ("Overview", "Tg", "IRI", "Viability", "Predict", "Health")
    overview = _html(tab.children[0])
    assert all(name in overview for name in ("tg", "iri", "viability"))
    assert "data-plot" not in _html(tab.children[1])  # drawn on first opening
    for index, name in enumerate(["tg", "iri", "viability"], start=1):
        tab.selected_index = index
        page = _html(tab.children[index])
        for kind in ("parity", "residuals", "shap-bar", "shap-beeswarm", "intervals", "versions"):
            assert f"data-plot='{name}-{kind}'" in page, (name, kind)
        assert "No lab verifications" in page


def test_parity_switches_between_fold_and_source_colours(dashboard):
    tab = _tab(dashboard)
    tab.selected_index = 1
    switch = next(w for w in _all(tab.children[1]) if isinstance(w, widgets.ToggleButtons))
    assert "coloured by fold" in _html(tab.children[1])
    switch.value = "source"
    assert "coloured by source" in _html(tab.children[1])


def test_the_form_predicts_and_explains_bad_input(dashboard):
    form = _tab(dashboard).children[4]
    _find(form, "cp-molecule-input").value = "OCC(O)CO"
    _find(form, "cp-predict-button").click()
    result = _find(form, "cp-prediction").value
    assert "<svg" in result and "<table>" in result
    assert all(f"<td>{name}</td>" in result for name in ("tg", "iri", "viability"))
    _find(form, "cp-molecule-input").value = "C1CC(xx"
    _find(form, "cp-predict-button").click()
    result = _find(form, "cp-prediction").value
    assert "cp-message" in result and "neither a known molecule name nor a valid SMILES" in result
    assert "Traceback" not in result


def test_a_hostile_molecule_is_named_escaped_in_the_message(dashboard):
    form = _tab(dashboard).children[4]
    _find(form, "cp-molecule-input").value = "<script>alert(1)</script> \"&'"
    _find(form, "cp-predict-button").click()
    result = _find(form, "cp-prediction").value
    assert "cp-message" in result and "<script" not in result
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &#34;&amp;\\&#39;" in result  # repr()


def test_the_health_tab_reruns_the_checks(trained_project, reference_database, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(trained_project, project, ignore=shutil.ignore_patterns("src"))
    engine = make_engine(reference_database)
    health = _tab(build_dashboard(project, engine)).children[5]
    history = project / "reports" / "health" / "history.jsonl"
    before = len(history.read_text().splitlines())
    _find(health, "cp-health-button").click()
    assert len(history.read_text().splitlines()) == before + 1
    latest = json.loads((project / "reports" / "health" / "latest.json").read_text())
    assert latest["summary"]["created"] in _find(health, "cp-health").value
    engine.dispose()


def test_a_project_without_models_shows_what_to_run(tmp_path):
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    tab = _tab(build_dashboard(tmp_path, None))
    assert "Run &#39;dvc repro&#39;" in _html(tab.children[1])
    assert "cryoprotect health" in _html(tab.children[5])
    form = tab.children[4]
    _find(form, "cp-molecule-input").value = "OCC(O)CO"
    _find(form, "cp-predict-button").click()
    assert "cryoprotect train tg" in _find(form, "cp-prediction").value


def test_the_health_tab_lists_backups(trained_project, reference_database, tmp_path):
    engine = make_engine(reference_database)
    store = BackupStore(tmp_path / "backups")
    empty = _tab(build_dashboard(trained_project, engine, store)).children[5]
    assert "No backup in" in _find(empty, "cp-backups").value
    manifest = create_backup(engine, store)
    health = _tab(build_dashboard(trained_project, engine, store)).children[5]
    shown = _find(health, "cp-backups").value
    assert "1 backups in" in shown and manifest.id in shown and "0.0 h old" in shown
    engine.dispose()
