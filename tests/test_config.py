"""Settings: profiles, secrets from files, production refusals, nothing secret in logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from cryoprotect import config
from cryoprotect.cli.env_template import render
from cryoprotect.config import Settings
from cryoprotect.logs import configure_logging
from cryoprotect.service.app import create_app

REPO = Path(__file__).resolve().parents[1]
CRYOPROTECT = str(Path(sys.executable).parent / "cryoprotect")
SECRET = "pw-NOT-TO-LOG-4711"  # a made-up password
GOOD_URL = f"postgresql+psycopg://app:{SECRET}@127.0.0.1:9/cryoprotect?connect_timeout=2"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No CRYOPROTECT_* variable of the machine leaks into these tests."""
    for name in list(os.environ):
        if name.startswith("CRYOPROTECT_") and not name.startswith("CRYOPROTECT_TEST_"):
            monkeypatch.delenv(name)


def test_profiles_choose_the_log_format_unless_it_is_set():
    assert Settings().env == "development" and Settings().log_format == "console"
    assert Settings(env="staging").log_format == "json"
    assert Settings(env="staging", log_format="console").log_format == "console"


def test_a_file_variable_gives_a_setting(tmp_path, monkeypatch):
    url = tmp_path / "database_url"
    url.write_text(GOOD_URL + "\n")
    options = tmp_path / "options"
    options.write_text('{"endpoint_url": "http://127.0.0.1:9000"}')
    monkeypatch.setenv("CRYOPROTECT_DATABASE_URL_FILE", str(url))
    monkeypatch.setenv("CRYOPROTECT_BACKUP_STORAGE_OPTIONS_FILE", str(options))
    settings = Settings()
    assert settings.database_url == GOOD_URL
    assert settings.backup_storage_options == {"endpoint_url": "http://127.0.0.1:9000"}


def test_a_value_and_its_file_together_or_a_missing_file_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CRYOPROTECT_DATABASE_URL_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="CRYOPROTECT_DATABASE_URL_FILE: cannot read .*missing"):
        Settings()
    (tmp_path / "missing").write_text(GOOD_URL)
    monkeypatch.setenv("CRYOPROTECT_DATABASE_URL", "sqlite:///x.db")
    with pytest.raises(ValueError, match="CRYOPROTECT_DATABASE_URL or .*_FILE, not both"):
        Settings()


def test_a_secrets_folder_gives_settings_by_file_name(tmp_path, monkeypatch):
    (tmp_path / "cryoprotect_database_url").write_text(GOOD_URL)
    monkeypatch.setattr(config, "SECRETS_DIR", str(tmp_path))
    assert Settings(_secrets_dir=tmp_path).database_url == GOOD_URL


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "production needs a PostgreSQL database"),
        ("sqlite:///data/cryoprotect.db", "production needs a PostgreSQL database"),
        ("postgresql+psycopg://app@db/cryoprotect", "empty or default password"),
        ("postgresql+psycopg://app:postgres@db/cryoprotect", "empty or default password"),
        ("postgresql+psycopg://app:ChangeMe@db/cryoprotect", "empty or default password"),
    ],
)
def test_production_refuses_the_sqlite_default_and_default_passwords(url, reason):
    with pytest.raises(ValidationError, match=reason):
        Settings(env="production", database_url=url)
    assert Settings(env="staging", database_url=url).refusals() == []


def test_production_accepts_a_real_password():
    settings = Settings(env="production", database_url=GOOD_URL)
    assert settings.refusals() == [] and settings.log_format == "json"


def test_the_cli_refuses_to_start_with_refused_settings():
    env = os.environ | {"CRYOPROTECT_ENV": "production"}
    done = subprocess.run(
        [CRYOPROTECT, "db", "stats"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "the settings cannot be used: production needs a PostgreSQL database" in done.stderr


def test_serve_refuses_a_sqlite_override_in_production(tmp_path):
    secret = tmp_path / "database_url"
    secret.write_text(GOOD_URL)
    env = os.environ | {
        "CRYOPROTECT_ENV": "production",
        "CRYOPROTECT_DATABASE_URL_FILE": str(secret),
    }
    done = subprocess.run(
        [CRYOPROTECT, "--database-url", "sqlite:///x.db", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "production needs a PostgreSQL database" in done.stderr + done.stdout


def test_secrets_appear_in_no_log_line_nor_representation(tmp_path, capsys):
    settings = Settings(env="production", database_url=GOOD_URL, root_dir=tmp_path)
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    configure_logging("DEBUG", "json", stream="stdout")
    try:
        with TestClient(create_app(settings)) as client:
            client.get("/health/ready")
        output = capsys.readouterr().out
    finally:
        configure_logging("INFO", "console")
    started = next(json.loads(line) for line in output.splitlines() if "service ready" in line)
    assert started["settings"]["database"].startswith("postgresql+psycopg://app:***@")
    assert SECRET not in output


def test_the_env_template_documents_every_setting():
    text = (REPO / ".env.template").read_text()
    assert text == render(), "regenerate: cryoprotect config template > .env.template"
    for name in Settings.model_fields:
        assert f"CRYOPROTECT_{name.upper()}=" in text
