"""Backups and restores on the real SQLite and PostgreSQL: round trips, refusals, damage.

The databases hold the curated reference data; the changes made to them between backup
and restore (deleted rows, renamed molecules, an added user) are made up for the tests.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from conftest import REFERENCE_DIR
from cryoprotect.backup import sqlite_backend
from cryoprotect.backup.archive import CorruptArchiveError
from cryoprotect.backup.consistency import InconsistentRestoreError
from cryoprotect.backup.manifest import MANIFEST
from cryoprotect.backup.operations import (
    RestoreRefusedError,
    create_backup,
    find_backup,
    restore_backup,
    verify_backup,
)
from cryoprotect.backup.store import BackupNotFoundError, BackupStore
from cryoprotect.db import migrations
from cryoprotect.db.engine import make_engine
from cryoprotect.db.schema import Base
from cryoprotect.db.seed import seed


@pytest.fixture
def seeded(engine):
    """A fresh database of either backend holding the curated reference data."""
    seed(engine, REFERENCE_DIR)
    return engine


@pytest.fixture
def store(tmp_path) -> BackupStore:
    return BackupStore(tmp_path / "backups")


def state(engine) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    with engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
        }


def _change(engine) -> None:
    """Made-up edits: delete measurements, rename a molecule, add a user."""
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM experiments WHERE id > 1000"))
        connection.execute(text("UPDATE molecules SET name = 'renamed' WHERE id = 1"))
        connection.execute(text("INSERT INTO users (username) VALUES ('made-up user')"))


def test_round_trip_restores_the_backed_up_state(seeded, store):
    before = state(seeded)
    manifest = create_backup(seeded, store)
    assert manifest.tables["experiments"] == 1581
    assert [m.id for m in store.manifests()] == [manifest.id]
    assert verify_backup(store, manifest.id) == []
    _change(seeded)
    assert state(seeded) != before
    outcome = restore_backup(seeded, store, manifest.id, force=True, check_health=False)
    assert outcome.problems == []
    assert state(seeded) == before


def test_restore_into_an_empty_database_needs_no_force(seeded, store, tmp_path, database_url):
    manifest = create_backup(seeded, store)
    if seeded.dialect.name == "sqlite":
        fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    else:
        fresh = seeded  # PostgreSQL: empty the same database instead of creating another
        migrations.downgrade(fresh, "base")
    outcome = restore_backup(fresh, store, manifest.id, check_health=True)
    assert outcome.health["healthy"] and outcome.problems == []
    assert outcome.rows["molecules"] == manifest.tables["molecules"]


def test_a_database_holding_data_is_not_overwritten_without_force(seeded, store):
    manifest = create_backup(seeded, store)
    _change(seeded)
    changed = state(seeded)
    with pytest.raises(RestoreRefusedError, match="holds data in users .*pass --force"):
        restore_backup(seeded, store, manifest.id, check_health=False)
    assert state(seeded) == changed


def test_partial_restore_of_one_table_leaves_the_others_untouched(seeded, store):
    manifest = create_backup(seeded, store)
    before = state(seeded)
    with seeded.begin() as connection:
        connection.execute(text("UPDATE experiments SET value = value + 1 WHERE id <= 10"))
        connection.execute(text("UPDATE molecules SET name = 'renamed' WHERE id <= 5"))
    changed = state(seeded)
    outcome = restore_backup(
        seeded, store, manifest.id, tables=["experiments"], force=True, check_health=False
    )
    assert outcome.tables == ["experiments"] and outcome.problems == []
    after = state(seeded)
    assert after["experiments"] == before["experiments"]
    assert after["molecules"] == changed["molecules"] != before["molecules"]
    assert {t: rows for t, rows in after.items() if t != "experiments"} == {
        t: rows for t, rows in changed.items() if t != "experiments"
    }


def test_partial_restore_that_would_orphan_rows_changes_nothing(seeded, store):
    manifest = create_backup(seeded, store)
    with seeded.begin() as connection:  # a made-up molecule measured after the backup
        connection.execute(
            text(
                "INSERT INTO molecules (inchikey, canonical_smiles, name, formula, "
                "molecular_weight, owner_id) VALUES ('XXXXXXXXXXXXXX-UHFFFAOYSA-N', 'CCCCO', "
                "'made-up', 'C4H10O', 74.12, 1)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO experiments (property, value, unit, molecule_id, citation, owner_id) "
                "SELECT 'tg', 150, 'K', id, 'made-up', 1 FROM molecules WHERE name = 'made-up'"
            )
        )
    changed = state(seeded)
    with pytest.raises(InconsistentRestoreError, match=r"experiments.molecule_id -> molecules"):
        restore_backup(
            seeded, store, manifest.id, tables=["molecules"], force=True, check_health=False
        )
    assert state(seeded) == changed


def _refused_after_a_change(engine, store: BackupStore, backup_id: str, reason: str) -> None:
    """Change the database, then check a forced restore of ``backup_id`` leaves it as it is."""
    _change(engine)
    changed = state(engine)
    with pytest.raises(CorruptArchiveError, match=reason):
        restore_backup(engine, store, backup_id, force=True, check_health=False)
    assert state(engine) == changed


def _stored_file(store: BackupStore, backup_id: str) -> Path:
    return next(p for p in (Path(store.root) / backup_id).iterdir() if p.name != MANIFEST)


@pytest.mark.parametrize("damage", ["truncate", "alter"])
def test_a_damaged_backup_fails_verify_and_restore(seeded, store, damage):
    manifest = create_backup(seeded, store)
    path = _stored_file(store, manifest.id)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(data[:-50] + bytes([data[-50] ^ 0x01]) + data[-49:])
    problems = verify_backup(store, manifest.id)
    assert len(problems) == 1 and "truncated or altered" in problems[0]
    _refused_after_a_change(seeded, store, manifest.id, "truncated or altered")


def test_a_backup_of_a_newer_schema_is_refused(seeded, store):
    manifest = create_backup(seeded, store)
    path = Path(store.root) / manifest.id / MANIFEST
    data = json.loads(path.read_text())
    data["schema_revision"] = "9999_from_the_future"
    path.write_text(json.dumps(data))
    with pytest.raises(RestoreRefusedError, match="newer than this code knows"):
        restore_backup(seeded, store, manifest.id, force=True, check_health=False)


def test_at_picks_the_newest_backup_at_or_before_the_time(seeded, store):
    times = [datetime(2026, 11, day, 3, tzinfo=UTC) for day in (1, 2, 3)]
    ids = [create_backup(seeded, store, now=moment).id for moment in times]
    assert find_backup(store).id == ids[2]
    assert find_backup(store, at=times[1] + timedelta(hours=5)).id == ids[1]
    assert find_backup(store, at=times[1]).id == ids[1]
    with pytest.raises(BackupNotFoundError, match="at or before 2026-10-31"):
        find_backup(store, at=times[0] - timedelta(days=1))
    with pytest.raises(BackupNotFoundError):
        find_backup(store, "no-such-backup")


def test_unknown_tables_are_named(seeded, store):
    manifest = create_backup(seeded, store)
    with pytest.raises(RestoreRefusedError, match="unknown table.s. nonsense; the tables are"):
        restore_backup(seeded, store, manifest.id, tables=["nonsense"], force=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_sqlite_database_in_wal_mode_is_copied_with_the_backup_api(seeded, store):
    with seeded.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode = WAL").scalar() == "wal"
    before = state(seeded)
    manifest = create_backup(seeded, store)
    assert verify_backup(store, manifest.id) == []
    _change(seeded)
    restore_backup(seeded, store, manifest.id, force=True, check_health=False)
    assert state(seeded) == before


def test_an_edited_row_count_fails_verify_and_restore_before_anything_is_written(seeded, store):
    manifest = create_backup(seeded, store)
    path = Path(store.root) / manifest.id / MANIFEST
    data = json.loads(path.read_text())
    data["tables"]["experiments"] += 1  # the archive itself is intact
    path.write_text(json.dumps(data))
    problems = verify_backup(store, manifest.id)
    assert problems == ["experiments: 1581 rows in the backup, its manifest says 1582"]
    _refused_after_a_change(seeded, store, manifest.id, "experiments: 1581 rows in the backup")


def test_the_outcome_counts_what_was_replaced_and_the_quick_health_checks(seeded, store):
    manifest = create_backup(seeded, store)
    _change(seeded)  # 581 experiments deleted, one user added
    outcome = restore_backup(seeded, store, manifest.id, force=True)
    assert outcome.replaced["experiments"] == 1000 and outcome.rows["experiments"] == 1581
    assert outcome.replaced["users"] == outcome.rows["users"] + 1
    assert outcome.health == {"healthy": True, "problems": [], "scope": "schema and references"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_sqlite_copy_restored_while_unpacking_is_rolled_back_by_a_late_check(
    seeded, store, monkeypatch
):
    """Pages are copied as the backup unpacks; the last step waits for the row counts."""
    monkeypatch.setattr(sqlite_backend, "STEP_PAGES", 8)  # many steps even for this database
    before = state(seeded)
    manifest = create_backup(seeded, store)
    _change(seeded)
    changed = state(seeded)
    path = Path(store.root) / manifest.id / MANIFEST
    data = json.loads(path.read_text())
    path.write_text(json.dumps(data | {"tables": data["tables"] | {"molecules": 1}}))
    with pytest.raises(CorruptArchiveError, match="molecules: .* rows in the backup, its manif"):
        restore_backup(seeded, store, manifest.id, force=True, check_health=False)
    assert state(seeded) == changed  # the copied pages were rolled back
    path.write_text(json.dumps(data))
    restore_backup(seeded, store, manifest.id, force=True, check_health=False)
    assert state(seeded) == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_sqlite_copy_over_data_goes_through_a_log_and_into_a_new_file_does_not(
    seeded, store, tmp_path, monkeypatch
):
    """Over data no old page is journaled; either way the file keeps its rollback journal."""
    monkeypatch.setattr(sqlite_backend, "STEP_PAGES", 8)  # the log is looked for at each step
    manifest = create_backup(seeded, store)
    before = state(seeded)
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    logged = []
    for engine in (seeded, fresh):
        path = sqlite_backend.database_path(engine)
        log, seen = path.with_name(f"{path.name}-wal"), []
        restore_backup(
            engine, store, manifest.id, force=True, check_health=False,
            progress=lambda *_call, log=log, seen=seen: seen.append(log.exists()),
        )  # fmt: skip
        logged.append(any(seen))
        assert not log.exists() and state(engine) == before
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"
    assert logged == [True, False]  # over data, into a new file


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_sqlite_copy_into_a_new_file_is_checked_then_renamed_into_place_and_stays_held(
    seeded, store, tmp_path, monkeypatch
):
    """No page is copied into a file the restore creates; others wait until the hold ends."""
    manifest = create_backup(seeded, store)
    before = state(seeded)
    path = tmp_path / "new" / "fresh.db"
    path.parent.mkdir()
    fresh = make_engine(f"sqlite:///{path}")
    path_of_manifest = Path(store.root) / manifest.id / MANIFEST
    data = json.loads(path_of_manifest.read_text())
    path_of_manifest.write_text(json.dumps(data | {"tables": data["tables"] | {"users": 99}}))
    with pytest.raises(CorruptArchiveError, match="users: .* rows in the backup, its manifest"):
        restore_backup(fresh, store, manifest.id, check_health=False)
    with fresh.connect() as connection:  # the empty database the hold created, nothing more
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM sqlite_master").scalar() == 0
    path_of_manifest.write_text(json.dumps(data))
    path.unlink()

    def no_page_copy(*_args, **_kwargs):
        raise AssertionError("pages were copied")

    real, seen = sqlite_backend.hold, []

    @contextmanager
    def held(engine, backup_id):
        with real(engine, backup_id) as connection:
            yield connection
            other = sqlite3.connect(path, timeout=0)
            try:
                other.execute("SELECT COUNT(*) FROM molecules")
            except sqlite3.OperationalError as error:
                seen.append(str(error))
            finally:
                other.close()

    monkeypatch.setattr(sqlite_backend, "replace_all", no_page_copy)
    monkeypatch.setattr(sqlite_backend, "hold", held)
    outcome = restore_backup(fresh, store, manifest.id, check_health=False)
    assert seen == ["database is locked"]  # the renamed file was held as the restore's own
    assert outcome.rows == manifest.tables and state(fresh) == before
    assert sorted(os.listdir(path.parent)) == ["fresh.db"]  # no signal, journal or leftover
    assert [p.name for p in store.staging.iterdir()] == [manifest.id]  # no scratch folder


def test_create_and_restore_report_progress(seeded, store):
    """Bytes read for a backup; bytes copied (SQLite) or tables loaded (PostgreSQL) back."""
    calls = []
    manifest = create_backup(seeded, store, progress=lambda *call: calls.append(call))
    done, total, unit = calls[-1]
    assert unit == "B" and done == manifest.files[next(iter(manifest.files))].raw_bytes
    assert total in (done, None)  # a dump's size is not known in advance
    calls.clear()
    restore_backup(
        seeded, store, manifest.id, force=True, check_health=False,
        progress=lambda *call: calls.append(call),
    )  # fmt: skip
    done, total, unit = calls[-1]
    assert unit == ("B" if seeded.dialect.name == "sqlite" else "table") and done == total
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    calls.clear()
    restore_backup(
        seeded, store, manifest.id, tables=["molecules", "experiments"], force=True,
        check_health=False, progress=lambda *call: calls.append(call),
    )  # fmt: skip
    assert calls == [(1, 2, "table"), (2, 2, "table")]
