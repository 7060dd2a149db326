"""The quick start's checks of the machine: which Debian tools are missing, and PostgreSQL.

The install itself (apt-get, starting the cluster) was checked on a machine without those
packages (docs/development.md); these tests cover the decisions around it.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

from conftest import REPO_ROOT


@pytest.fixture
def quickstart():
    spec = importlib.util.spec_from_file_location("quickstart", REPO_ROOT / "scripts/quickstart.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_tools_name_each_debian_package_once(quickstart, tmp_path, monkeypatch):
    monkeypatch.setattr(
        quickstart, "_which", lambda c: str(tmp_path / c) if c == "shellcheck" else None
    )
    missing = quickstart.missing_debian_packages()
    assert missing == [
        "chromium",
        "prometheus",
        "prometheus-alertmanager",
        "nginx",
        "nodejs",
        "npm",
    ]


def test_tools_found_in_sbin_are_not_missing(quickstart, monkeypatch, tmp_path):
    sbin = tmp_path / "sbin"
    sbin.mkdir()
    for command, _ in quickstart.DEBIAN_TOOLS:
        (sbin / command).write_text("#!/bin/sh\n")
        (sbin / command).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'empty'}{os.pathsep}{sbin}")
    assert quickstart.missing_debian_packages() == []


def test_an_unreachable_remote_postgres_stops_with_what_to_do(quickstart, monkeypatch):
    monkeypatch.delenv("CRYOPROTECT_TEST_POSTGRES", raising=False)
    url = "postgresql+psycopg://postgres@db.invalid:5999/postgres"
    monkeypatch.setenv("CRYOPROTECT_TEST_POSTGRES_URL", url)
    with pytest.raises(SystemExit, match="not reachable on db.invalid:5999.*TEST_POSTGRES=skip"):
        quickstart.ensure_postgres()


def test_postgres_check_is_skipped_when_asked(quickstart, monkeypatch):
    monkeypatch.setenv("CRYOPROTECT_TEST_POSTGRES", "skip")
    monkeypatch.setenv("CRYOPROTECT_TEST_POSTGRES_URL", "postgresql://x@db.invalid:1/x")
    quickstart.ensure_postgres()


@pytest.mark.postgres
def test_the_test_server_answers(quickstart):
    if os.environ.get("CRYOPROTECT_TEST_POSTGRES") == "skip":
        pytest.skip("CRYOPROTECT_TEST_POSTGRES=skip")
    quickstart.ensure_postgres()
