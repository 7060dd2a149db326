"""The packaging files agree: pyproject.toml's pins, uv.lock, requirements/ and environment.yml."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from conftest import REPO_ROOT

UV = Path(sys.executable).parent / "uv"
WORKBENCH_ONLY = ("shap", "numba", "llvmlite", "great-expectations", "dvc", "jupyterlab")
WORKBENCH_ONLY += ("jupyter-server", "ipykernel", "dask", "distributed", "optuna", "papermill")
WORKBENCH_ONLY += ("voila", "matplotlib")


def _quickstart():
    spec = importlib.util.spec_from_file_location("quickstart", REPO_ROOT / "scripts/quickstart.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _project() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]


def _pins(*extras: str) -> set[Requirement]:
    project = _project()
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return {Requirement(line) for line in lines if not line.startswith(project["name"])}


def _locked(text: str) -> dict[str, str]:
    """Name -> version of every ``name==version`` line of a requirement file."""
    found = re.findall(r'^\s*(?:- ")?([A-Za-z0-9_.\-]+)==([^ ;"\\]+)', text, re.MULTILINE)
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in found}


def _normal(requirement: Requirement) -> str:
    return re.sub(r"[-_.]+", "-", requirement.name).lower()


def test_every_requirement_is_pinned_exactly():
    for requirement in _pins(*_project()["optional-dependencies"]):
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", str(requirement)


def test_uv_lock_is_current_with_pyproject():
    result = subprocess.run(
        [UV, "lock", "--check", "--offline"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr + "\nrun: python3 scripts/quickstart.py lock"


@pytest.mark.parametrize("name", ["service", "workbench", "dev"])
def test_requirement_files_are_the_lock_exported(name):
    quickstart = _quickstart()
    path = quickstart.requirements_file(name)
    assert path.read_text() == quickstart.export_requirements(UV, name), (
        f"{path.name} differs from uv.lock: run python3 scripts/quickstart.py lock"
    )
    text = path.read_text()
    assert "--hash=sha256:" in text
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 4)[4])
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)


def test_environment_yml_is_the_locked_workbench_set():
    quickstart = _quickstart()
    text = (REPO_ROOT / "environment.yml").read_text()
    assert text == quickstart.render_environment_yml(UV), "run python3 scripts/quickstart.py lock"
    environment = yaml.safe_load(text)
    assert "python=3.11" in environment["dependencies"]
    pip = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    assert pip[-1] == "-e ."
    conda = _locked(text)
    workbench = _locked(quickstart.requirements_file("workbench").read_text())
    assert conda == workbench
    for pin in _pins("service", "operations", "workbench"):
        assert conda[_normal(pin)] == str(pin.specifier).removeprefix("=="), str(pin)
    for tool in ("pytest", "ruff", "playwright", "chemicals"):
        assert tool not in conda, f"{tool} is a development tool, not part of environment.yml"


def test_locked_sets_hold_their_pins_and_the_service_set_no_workbench():
    quickstart = _quickstart()
    sets = {n: _locked(quickstart.requirements_file(n).read_text()) for n in quickstart.LOCK_SETS}
    extras = {
        "service": ("service",),
        "operations": ("service", "operations"),
        "workbench": ("service", "operations", "workbench"),
    }
    extras["dev"] = tuple(_project()["optional-dependencies"])
    for name, locked in sets.items():
        for pin in _pins(*extras[name]):
            assert locked.get(_normal(pin)) == str(pin.specifier).removeprefix("=="), (name, pin)
    for heavy in WORKBENCH_ONLY:
        assert heavy not in sets["service"], f"the service set pulls in {heavy}"
        assert heavy in sets["workbench"], heavy
    assert "great-expectations" in sets["operations"]
    service, operations, workbench = (set(sets[n]) for n in ("service", "operations", "workbench"))
    assert service < operations < workbench < set(sets["dev"])


def test_quickstart_refuses_a_stale_lock(tmp_path, monkeypatch):
    quickstart = _quickstart()
    (tmp_path / "requirements").mkdir()
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(pyproject)
    dev = (REPO_ROOT / "requirements" / "dev.txt").read_text()
    (tmp_path / "requirements" / "dev.txt").write_text(dev)
    monkeypatch.setattr(quickstart, "ROOT", tmp_path)
    quickstart.check_lock_is_current()

    changed = pyproject.replace('"pytest==', '"crepes==0.8.0",\n    "pytest==', 1)
    (tmp_path / "pyproject.toml").write_text(changed)
    with pytest.raises(SystemExit, match="quickstart.py lock"):
        quickstart.check_lock_is_current()
