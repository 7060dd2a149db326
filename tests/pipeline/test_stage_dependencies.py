"""Every DVC stage declares the project code it runs, so editing that code reruns the stage.

The export stage runs every time (``always_changed``), so it needs no code dependencies.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dvc.repo import Repo
from tests.pipeline.stage_imports import module_file, stage_modules

ROOT = Path(__file__).resolve().parents[2]


def _stages() -> dict[str, object]:
    with Repo(str(ROOT)) as repo:
        return {s.addressing: s for s in repo.index.stages if not s.always_changed}


STAGES = _stages()


def _covered(path: Path, deps: list[str]) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    return any(relative == dep or relative.startswith(dep.rstrip("/") + "/") for dep in deps)


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_deps_cover_the_code_it_imports(name: str) -> None:
    """A stage's deps hold every project module its notebook or command imports, transitively."""
    stage = STAGES[name]
    deps = [dep.def_path for dep in stage.deps]
    modules = stage_modules(stage.cmd, ROOT)
    assert modules, f"{name}: found no project code in {stage.cmd!r}"
    missing = sorted(
        str(module_file(m).relative_to(ROOT)) for m in modules if not _covered(module_file(m), deps)
    )
    assert not missing, f"{name} runs code its deps do not list: {missing}"


def test_the_analysis_sees_lazy_imports_and_notebooks() -> None:
    """The analysis finds the modules behind a notebook and a command, lazy imports included."""
    report = stage_modules("papermill notebooks/report.ipynb out.ipynb", ROOT)
    assert {"cryoprotect.pipeline.report", "cryoprotect.pipeline.figures"} <= report
    health = stage_modules("cryoprotect health --output-dir reports/health", ROOT)
    assert "cryoprotect.health.report" in health  # imported inside the command's function
