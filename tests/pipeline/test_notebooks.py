"""The pipeline notebooks: reviewable sources, and a real kernel runs them with nbval (lax).

Papermill injects fast made-up parameters (see ``pipeline_workspace``) into copies, which
nbval then runs top to bottom in a separate pytest process.
"""

from __future__ import annotations

import subprocess
import sys

import nbformat
import papermill
import pytest

from conftest import REPO_ROOT
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


@pytest.mark.slow
def test_notebooks_run_under_nbval(reference_snapshot, tmp_path):
    root = make_workspace(tmp_path / "project", reference_snapshot)
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
