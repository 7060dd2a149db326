"""Faults: a backup killed half-way, a dump under Row Level Security, the wrong database kind.

The grown database holds copies of the reference measurements (made up, for volume only).
"""

from __future__ import annotations

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
from cryoprotect.backup.operations import (
    RestoreRefusedError,
    create_backup,
    restore_backup,
    verify_backup,
)
from cryoprotect.backup.operations import prune as prune_backups
from cryoprotect.backup.postgres_backend import rls_blind_spots
from cryoprotect.backup.rotation import RotationPolicy
from cryoprotect.backup.store import PARTIAL, BackupStore
from cryoprotect.db import migrations
from cryoprotect.db.engine import make_engine
from cryoprotect.db.seed import seed

COPIES = (
    "property, value, unit, molecule_id, mixture_id, concentration, concentration_unit, "
    "citation, owner_id"
)


@pytest.fixture
def grown(tmp_path):
    """A SQLite database of the reference data plus ~60,000 made-up copies of measurements."""
    engine = make_engine(f"sqlite:///{tmp_path / 'grown.db'}")
    migrations.upgrade(engine)
    seed(engine, REFERENCE_DIR)
    with engine.begin() as connection:
        for _ in range(6):
            connection.execute(
                text(
                    f"INSERT INTO experiments ({COPIES}, notes) SELECT {COPIES}, "  # noqa: S608
                    "'made-up copy ' || hex(randomblob(64)) FROM experiments LIMIT 10000"
                )
            )
    yield engine
    engine.dispose()


@pytest.mark.slow
def test_a_backup_killed_half_way_is_never_listed_and_older_ones_survive(grown, tmp_path):
    folder = tmp_path / "backups"
    store = BackupStore(folder)
    older = create_backup(grown, store)
    env = os.environ | {"CRYOPROTECT_BACKUP_DIR": str(folder)}
    command = [str(Path(sys.executable).parent / "cryoprotect"), "--database-url"]
    command += [grown.url.render_as_string(hide_password=False), "backup", "create"]
    caught = 0
    for _ in range(5):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        while process.poll() is None:
            if any(p.name.startswith(PARTIAL) for p in folder.iterdir()):
                process.send_signal(signal.SIGKILL)
                caught += 1
                break
            time.sleep(0.0005)
        process.wait()
        listed = [m.id for m in store.manifests()]
        assert listed[0] == older.id
        assert all(verify_backup(store, backup_id) == [] for backup_id in listed)
        if caught:
            break
    assert caught, "the backup always finished before it could be killed half-way"
    assert store.partials()
    assert [m.id for m in store.manifests()] == [older.id]
    result = prune_backups(store, RotationPolicy(last=1))
    assert result["partials"] and store.partials() == []
    assert [m.id for m in store.manifests()] == [older.id]


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
        assert not (tmp_path / "backups").exists() or not list((tmp_path / "backups").iterdir())
        assert rls_blind_spots(engine) == []  # the superuser sees every row
    finally:
        bound.dispose()
        with engine.begin() as connection:
            connection.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"))
            connection.execute(text(f"DROP ROLE {role}"))
