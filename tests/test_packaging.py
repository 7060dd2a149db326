"""The packaging files agree: environment.yml pins exactly what pyproject.toml pins."""

from __future__ import annotations

import tomllib

import yaml
from packaging.requirements import Requirement

from conftest import REPO_ROOT


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines += [r for r in extra if not r.startswith(project["name"])]
    return {str(Requirement(line)) for line in lines}


def _conda_pip_requirements() -> set[str]:
    environment = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    return {str(Requirement(line)) for line in pip if not line.startswith("-e")}


def test_environment_yml_lists_the_pyproject_pins():
    assert _conda_pip_requirements() == _pyproject_requirements()


def test_every_requirement_is_pinned_exactly():
    for text in _pyproject_requirements():
        specifiers = list(Requirement(text).specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", text
