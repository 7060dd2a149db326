"""``cryoprotect backup``: the commands, their JSON and their one-line failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import REFERENCE_DIR
from cryoprotect.cli.main import app
from cryoprotect.config import get_settings
from cryoprotect.db import migrations
from cryoprotect.db.engine import make_engine
from cryoprotect.db.seed import seed

runner = CliRunner()


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """A seeded SQLite database and a backup folder, set through the environment."""
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    seed(engine, REFERENCE_DIR)
    engine.dispose()
    monkeypatch.setenv("CRYOPROTECT_DATABASE_URL", url)
    monkeypatch.setenv("CRYOPROTECT_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.setenv("CRYOPROTECT_BACKUP_KEEP_LAST", "1")
    monkeypatch.setenv("CRYOPROTECT_BACKUP_KEEP_DAILY", "0")
    monkeypatch.setenv("CRYOPROTECT_BACKUP_KEEP_WEEKLY", "0")
    monkeypatch.setenv("CRYOPROTECT_BACKUP_KEEP_MONTHLY", "0")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _run(*args: str):
    return runner.invoke(app, list(args))


def test_create_list_verify_restore_prune(lab):
    created = _run("backup", "create", "--format", "json")
    assert created.exit_code == 0, created.output
    first = json.loads(created.output)
    assert first["path"] == f"{lab / 'backups'}/{first['id']}"
    second = json.loads(_run("backup", "create", "--format", "json").output)
    listed = json.loads(_run("backup", "list", "--format", "json").output)
    assert [row["id"] for row in listed] == [first["id"], second["id"]]
    assert listed[0]["rows"] == first["rows"] and listed[0]["kind"] == "sqlite"
    assert f"backup {first['id']} is sound" in _run("backup", "verify", first["id"]).output
    refused = _run("backup", "restore", first["id"])
    assert refused.exit_code == 1
    assert "holds data in users (1)" in refused.output and "--force" in refused.output
    restored = _run("backup", "restore", first["id"], "--force", "--tables", "experiments")
    assert restored.exit_code == 0, restored.output
    assert "experiments (1581)" in restored.output
    pruned = json.loads(_run("backup", "prune", "--format", "json").output)
    assert pruned["removed"] == [first["id"]] and pruned["kept"] == [second["id"]]


def test_a_damaged_or_missing_backup_fails_with_one_line(lab):
    backup = json.loads(_run("backup", "create", "--format", "json").output)
    stored = next((lab / "backups" / backup["id"]).glob("*.zst"))
    stored.write_bytes(stored.read_bytes()[:100])
    checked = _run("backup", "verify", backup["id"])
    assert checked.exit_code == 1
    assert "is damaged" in checked.output and "truncated or altered" in checked.output
    restored = _run("backup", "restore", backup["id"], "--force")
    assert restored.exit_code == 1 and "truncated or altered" in restored.output
    missing = _run("backup", "verify", "nope")
    assert missing.exit_code == 1 and "no backup 'nope'" in missing.output


def test_restore_at_a_time_before_any_backup_says_so(lab):
    _run("backup", "create")
    result = _run("backup", "restore", "--at", "2001-01-01T00:00:00+00:00", "--force")
    assert result.exit_code == 1
    assert "no backup at or before 2001-01-01T00:00:00+00:00" in result.output


def test_schedule_prints_cron_or_systemd_entries(lab):
    cron = _run("backup", "schedule", "--cron", "0 2 * * *")
    assert cron.exit_code == 0
    line = cron.output.strip()
    assert line.startswith("0 2 * * * cd ")
    assert "sqlite" not in line  # settings come from the project's .env, not the entry
    program = Path(sys.executable).parent / "cryoprotect"
    assert line.endswith(f"&& {program} backup create && {program} backup prune")
    units = _run("backup", "schedule", "--systemd").output
    assert "OnCalendar=*-*-* 03:17:00" in units and "ExecStart=" in units
    assert "EnvironmentFile=-" in units
    bad = _run("backup", "schedule", "--cron", "daily")
    assert bad.exit_code == 1 and "five fields" in bad.output


def test_schedule_run_backs_up_and_prunes_in_a_loop(lab):
    env = os.environ | {"CRYOPROTECT_BACKUP_KEEP_LAST": "2"}
    program = Path(sys.executable).parent / "cryoprotect"
    loop = subprocess.Popen(
        [str(program), "backup", "schedule", "--run", "--every", str(0.5 / 3600)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        rounds = [loop.stderr.readline() for _ in range(3)]
    finally:
        loop.terminate()
        loop.wait(timeout=30)
    assert all(line.startswith("backup ") for line in rounds), rounds
    assert rounds[2].strip().endswith("pruned 1")
    listed = json.loads(_run("backup", "list", "--format", "json").output)
    assert len(listed) == 2


def test_a_broken_backup_is_listed_as_such_and_the_others_still_work(lab):
    first = json.loads(_run("backup", "create", "--format", "json").output)["id"]
    second = json.loads(_run("backup", "create", "--format", "json").output)["id"]
    (lab / "backups" / second / "manifest.json").write_text('{"format_version": 99}')
    listed = json.loads(_run("backup", "list", "--format", "json").output)
    assert [(row["id"], row["broken"]) for row in listed] == [
        (first, None),
        (
            second,
            "unknown manifest format 99 (this version reads 1, 2): written by a newer CryoProtect?",
        ),
    ]
    assert f"{second}  BROKEN: unknown manifest format 99" in _run("backup", "list").output
    restored = _run("backup", "restore", "--force", "--format", "json")
    assert restored.exit_code == 0, restored.output
    assert json.loads(restored.output)["backup_id"] == first
    pruned = _run("backup", "prune")
    assert pruned.exit_code == 0 and f"broken, left alone: {second}" in pruned.output
    refused = _run("backup", "verify", second)
    assert refused.exit_code == 1 and f"backup {second} is broken" in refused.output


def test_schedule_run_logs_a_failed_round_and_goes_on(lab):
    blocker = lab / "blocker"
    blocker.write_text("a file where the backup folder's parent should be")
    env = os.environ | {"CRYOPROTECT_BACKUP_DIR": str(blocker / "backups")}
    program = Path(sys.executable).parent / "cryoprotect"
    command = [str(program), "backup", "schedule", "--run", "--every", str(2 / 3600), "--runs", "2"]
    loop = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        failed = loop.stderr.readline()
        blocker.unlink()
        succeeded = loop.stderr.readline()
        loop.wait(timeout=60)
    finally:
        loop.kill()
    assert failed.startswith("backup failed: NotADirectoryError"), failed
    assert succeeded.startswith("backup ") and succeeded.strip().endswith("pruned 0")
    assert loop.returncode == 0
    assert len(list((lab / "blocker" / "backups").glob("2*"))) == 1
