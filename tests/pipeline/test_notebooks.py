"""The pipeline notebooks: reviewable sources, and a real kernel runs them with nbval (lax).

Papermill injects fast made-up parameters (see ``pipeline_workspace``) into copies, which
nbval then runs top to bottom in a separate pytest process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

from conftest import REPO_ROOT
from cryoprotect.db.engine import make_engine
from cryoprotect.db.migrations import upgrade
from cryoprotect.db.model_versions import is_recorded, production_version
from cryoprotect.models import registry
from cryoprotect.params import load_params
from cryoprotect.pipeline.layout import Layout
from cryoprotect.pipeline.steps import build_features
from pipeline_workspace import make_workspace

NOTEBOOKS = ["features", "tune", "train", "explain", "report"]
SERVED = ["dashboard"]
"""Notebooks Voila serves rather than the pipeline runs (tested in a browser)."""


@pytest.mark.parametrize("name", NOTEBOOKS + SERVED)
def test_committed_notebooks_are_stripped_and_parameterized(name):
    notebook = nbformat.read(REPO_ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code)
    tagged = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code[0]
    assert "project_dir = None" in tagged[0].source
    assert notebook.cells[0].cell_type == "markdown"


def migrated_database(path: Path) -> str:
    """Return the URL of a new SQLite database at ``path``, migrated to the newest revision."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.mark.slow
def test_notebooks_run_under_nbval(reference_snapshot, tmp_path):
    root = make_workspace(tmp_path / "project", reference_snapshot)
    database = migrated_database(tmp_path / "cryoprotect.db")  # train records its model here
    prepared = []
    for order, name in enumerate(NOTEBOOKS):
        parameters = {"project_dir": str(root)}
        parameters |= {"targets": ["viability"]} if name == "report" else {"target": "viability"}
        path = tmp_path / "run" / f"{order}-{name}.ipynb"
        path.parent.mkdir(exist_ok=True)
        papermill.execute_notebook(
            str(root / "notebooks" / f"{name}.ipynb"),
            str(path),
            parameters=parameters,
            prepare_only=True,
        )
        prepared.append(str(path))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q"]
        + ["--rootdir", str(tmp_path / "run"), *prepared],
        cwd=tmp_path / "run",
        env=os.environ | {"CRYOPROTECT_DATABASE_URL": database},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert f"{sum(_code_cells(p) for p in prepared)} passed" in result.stdout
    assert (root / "reports" / "index.html").is_file()
    assert (root / "metrics" / "viability.json").is_file()


def _code_cells(path: str) -> int:
    notebook = nbformat.read(path, as_version=4)
    return sum(cell.cell_type == "code" for cell in notebook.cells)


@pytest.mark.slow
def test_the_train_notebook_promotes_only_when_its_parameter_says_so(
    reference_snapshot, tmp_path, monkeypatch
):
    """Run as dvc.yaml runs it (``promote`` true), then as a scientist would (the default)."""
    layout = Layout(make_workspace(tmp_path / "project", reference_snapshot))
    build_features(layout, "viability", load_params(layout.params))
    url = migrated_database(tmp_path / "cryoprotect.db")
    monkeypatch.setenv("CRYOPROTECT_DATABASE_URL", url)  # the kernel's settings read it
    engine = make_engine(url)

    def run(**parameters) -> list[str]:
        papermill.execute_notebook(
            str(layout.root / "notebooks" / "train.ipynb"),
            str(tmp_path / f"train-{len(parameters)}.ipynb"),
            parameters={"project_dir": str(layout.root), "target": "viability", **parameters},
            progress_bar=False,
        )
        return registry.versions(layout.models, "viability")

    (promoted,) = run(promote=True)
    assert registry.production_version(layout.models, "viability") == promoted
    assert production_version(engine, "viability") == promoted
    (_, unpromoted) = run()  # registered and recorded as a candidate, not promoted
    assert is_recorded(engine, "viability", unpromoted)
    assert registry.production_version(layout.models, "viability") == promoted
    assert production_version(engine, "viability") == promoted
    engine.dispose()
