"""Faults: backups killed half-way, broken manifests, a dump under Row Level Security,
the wrong database kind.

The grown databases hold copies of the reference measurements (made up, for volume only).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import REFERENCE_DIR
from cryoprotect.backup.consistency import table_names
from cryoprotect.backup.manifest import MANIFEST
from cryoprotect.backup.operations import (
    RestoreRefusedError,
    create_backup,
    find_backup,
    restore_backup,
    verify_backup,
)
from cryoprotect.backup.operations import prune as prune_backups
from cryoprotect.backup.postgres_backend import rls_blind_spots
from cryoprotect.backup.rotation import RotationPolicy
from cryoprotect.backup.store import PARTIAL, BackupStore, BrokenBackupError
from cryoprotect.db import migrations
from cryoprotect.db.engine import make_engine
from cryoprotect.db.seed import seed

COPIES = (
    "property, value, unit, molecule_id, mixture_id, concentration, concentration_unit, "
    "citation, owner_id"
)
PROGRAM = Path(sys.executable).parent / "cryoprotect"


NOISE = {
    "sqlite": "hex(randomblob(64))",
    "postgresql": "md5(random()::text) || md5(random()::text)",
}


def _grow(engine, rounds: int) -> None:
    """Add ``rounds`` x 10,000 made-up copies of the reference measurements."""
    noise = NOISE[engine.dialect.name]
    with engine.begin() as connection:
        for _ in range(rounds):
            connection.execute(
                text(
                    f"INSERT INTO experiments ({COPIES}, notes) SELECT {COPIES}, "  # noqa: S608
                    f"'made-up copy ' || {noise} FROM experiments LIMIT 10000"
                )
            )


@pytest.fixture
def grown(engine):
    """The database of either backend with the reference data and 60,000 made-up copies."""
    seed(engine, REFERENCE_DIR)
    _grow(engine, 6)
    return engine


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _kill_half_way(grown, folder: Path, tmp: Path) -> list[int]:
    """Run ``backup create`` and kill -9 it while it writes; return its children's pids."""
    env = os.environ | {"CRYOPROTECT_BACKUP_DIR": str(folder), "TMPDIR": str(tmp)}
    command = [str(PROGRAM), "--database-url", grown.url.render_as_string(hide_password=False)]
    for _ in range(5):
        process = subprocess.Popen([*command, "backup", "create"], env=env)
        while process.poll() is None:
            written = [p for p in folder.glob(f"{PARTIAL}*/*.zst") if p.stat().st_size > 4096]
            children = _children(process.pid)
            if written and children:
                process.send_signal(signal.SIGKILL)
                process.wait()
                return children
            time.sleep(0.001)
    raise AssertionError("the backup always finished before it could be killed half-way")


def _leftovers(folder: Path, older: str) -> set[str]:
    return {p.name for p in folder.iterdir()} - {older}


@pytest.mark.slow
def test_a_backup_killed_half_way_leaves_only_its_staging_folder_and_no_process(grown, tmp_path):
    """kill -9 of ``backup create``: its child (cat or pg_dump) dies too, nothing outside
    its ``.partial-`` folder remains, older backups are intact, the next run clears it."""
    folder, tmp = tmp_path / "backups", tmp_path / "tmp"
    tmp.mkdir()
    store = BackupStore(folder)
    older = create_backup(grown, store)
    children = _kill_half_way(grown, folder, tmp)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in children), "a child outlived the killed backup"
    if grown.dialect.name == "postgresql":
        # the server ends the dead pg_dump's session once it sees the connection closed
        deadline, dumping = time.monotonic() + 10, None
        while dumping != 0 and time.monotonic() < deadline:
            with grown.connect() as connection:
                dumping = connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' "
                        "AND datname = current_database()"
                    )
                ).scalar()
            time.sleep(0.05)
        assert dumping == 0, "the killed pg_dump's session stayed on the server"
    assert list(tmp.iterdir()) == []  # nothing in the temporary folder
    partial = {p for p in _leftovers(folder, older.id) if not p.endswith(".lock")}
    assert len(partial) == 1 and partial.pop().startswith(PARTIAL)
    assert [m.id for m in store.manifests()] == [older.id] and verify_backup(store, older.id) == []
    newer = create_backup(grown, store)  # the next backup sweeps the leftovers first
    assert _leftovers(folder, older.id) == {newer.id}
    _kill_half_way(grown, folder, tmp)
    result = prune_backups(store, RotationPolicy(last=2))  # and so does prune
    assert len(result["partials"]) == 1 and _leftovers(folder, older.id) == {newer.id}


def _backups(store: BackupStore, engine, count: int) -> list[str]:
    return [create_backup(engine, store).id for _ in range(count)]


def test_a_broken_manifest_affects_only_its_own_backup(engine, tmp_path):
    seed(engine, REFERENCE_DIR)
    store = BackupStore(tmp_path / "backups")
    oldest, malformed, future, newest = _backups(store, engine, 4)
    root = Path(store.root)
    (root / malformed / MANIFEST).write_text('{"id": "cut off here')
    data = json.loads((root / future / MANIFEST).read_text())
    (root / future / MANIFEST).write_text(json.dumps(data | {"format_version": 99}))
    (root / newest / MANIFEST).write_text(json.dumps(data | {"tables": "many"}))
    manifests, broken = store.listing()
    assert [m.id for m in manifests] == [oldest]
    assert broken[malformed].startswith("not valid JSON")
    assert broken[future].startswith("unknown manifest format 99")
    assert broken[newest] == "tables: Input should be an object"
    with pytest.raises(BrokenBackupError, match=f"backup {future} is broken: unknown manifest"):
        verify_backup(store, future)
    with pytest.raises(BrokenBackupError):
        restore_backup(engine, store, future, force=True)
    assert find_backup(store).id == oldest  # the newest whole one
    outcome = restore_backup(engine, store, force=True, check_health=False)
    assert outcome.backup_id == oldest
    another = create_backup(engine, store).id
    result = prune_backups(store, RotationPolicy(last=1, daily=0, weekly=0, monthly=0))
    assert result["removed"] == [oldest] and result["kept"] == [another]
    assert set(result["broken"]) == {malformed, future, newest}
    assert {p.name for p in root.iterdir()} == {malformed, future, newest, another}


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_sqlite_backup_cannot_restore_into_postgresql(tmp_path, engine):
    source = make_engine(f"sqlite:///{tmp_path / 'source.db'}")
    migrations.upgrade(source)
    store = BackupStore(tmp_path / "backups")
    manifest = create_backup(source, store)
    with pytest.raises(RestoreRefusedError, match="backup .* is of a sqlite database"):
        restore_backup(engine, store, manifest.id, force=True)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_role_bound_by_row_level_security_may_not_dump(engine, tmp_path):
    seed(engine, REFERENCE_DIR)
    role = f"bound_{os.getpid()}"  # a made-up log-in role without BYPASSRLS
    with engine.begin() as connection:
        connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
        connection.execute(text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS"))
        connection.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
    bound = make_engine(engine.url.set(username=role).render_as_string(hide_password=False))
    try:
        tables = sorted([*table_names(), "alembic_version"])  # every table has forced RLS
        assert rls_blind_spots(bound) == tables
        with pytest.raises(
            PermissionError, match="bound by Row Level Security on alembic_version, experiments"
        ):
            create_backup(bound, BackupStore(tmp_path / "backups"))
        leftovers = (
            list((tmp_path / "backups").iterdir()) if (tmp_path / "backups").exists() else []
        )
        assert leftovers == []
        assert rls_blind_spots(engine) == []  # the superuser sees every row
    finally:
        bound.dispose()
        with engine.begin() as connection:
            connection.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"))
            connection.execute(text(f"DROP ROLE {role}"))
