"""A restore keeps every other writer out for its duration, and says so; no write is lost.

The databases hold the curated reference data; the writer's users (``made-up writer N``)
are made up for the tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import REFERENCE_DIR
from cryoprotect.backup import postgres_backend, sqlite_backend
from cryoprotect.backup.exclusion import restore_in_progress
from cryoprotect.backup.operations import BUSY, create_backup, restore_backup
from cryoprotect.backup.store import BackupStore
from cryoprotect.db.seed import seed

WRITER = Path(__file__).with_name("live_writer.py")


@pytest.fixture
def seeded(engine):
    seed(engine, REFERENCE_DIR)
    return engine


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


MIN_HOLD_SECONDS = 1.0
WAITED_SECONDS = 0.25  # an attempt that ended this long after the hold began met the hold


def _log(path: Path) -> list[tuple[str, int, float, float]]:
    rows = []
    for line in path.read_text().splitlines():
        kind, number, start, end = line.split()[:4]
        rows.append((kind, int(number), float(start), float(end)))
    return rows


def _wait_for_acks(log: Path, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and sum(r[0] == "ack" for r in _log(log)) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"the writer did not acknowledge {count} writes in {timeout} s")


@pytest.fixture
def hold_times(seeded, monkeypatch) -> dict[str, float]:
    """When the restore's real hold on the database began and ended (filled by the restore).

    The hold lasts at least :data:`MIN_HOLD_SECONDS`, so the writer (one attempt every few
    milliseconds) tries while it is held even when a loaded machine makes the restore itself
    faster than the writer's turn."""
    backend = sqlite_backend if seeded.dialect.name == "sqlite" else postgres_backend
    real, times = backend.hold, {}

    @contextmanager
    def timed(engine, backup_id):
        with real(engine, backup_id) as connection:
            times["began"] = time.time()
            yield connection
            time.sleep(max(0.0, times["began"] + MIN_HOLD_SECONDS - time.time()))
        times["ended"] = time.time()

    monkeypatch.setattr(backend, "hold", timed)
    return times


def test_a_restore_beside_a_live_writer_accounts_for_every_acknowledged_write(
    seeded, tmp_path, hold_times
):
    store = BackupStore(tmp_path / "backups")
    manifest = create_backup(seeded, store)
    log, stop = tmp_path / "writes.log", tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, str(WRITER), _url(seeded), str(log), str(stop)])
    try:
        _wait_for_acks(log, 30)
        outcome = restore_backup(seeded, store, manifest.id, force=True, check_health=False)
        acked_by_now = sum(r[0] == "ack" for r in _log(log))
        _wait_for_acks(log, acked_by_now + 30)
    finally:
        stop.touch()
        writer.wait(timeout=60)
    attempts = _log(log)
    acked = {number for kind, number, _, _ in attempts if kind == "ack"}
    with seeded.connect() as connection:
        names = connection.execute(
            text("SELECT username FROM users WHERE username LIKE 'made-up writer %'")
        ).scalars()
        kept = {int(name.rsplit(" ", 1)[1]) for name in names}
    replaced = outcome.replaced["users"] - manifest.tables["users"]
    # the writer's rows when the restore took the database: the first ones, all acknowledged
    assert replaced >= 30 and set(range(1, replaced + 1)) <= acked
    # every other acknowledged write is in the restored database, nothing else is
    assert acked - set(range(1, replaced + 1)) == kept
    assert min(kept) > replaced and len(kept) >= 30
    # the writer kept trying while the restore held the database: on PostgreSQL its write
    # waits for the hold to end, on SQLite it is refused; either way the attempt began before
    # the hold ended and finished well after it began (nothing acknowledged then was lost)
    began, ended = hold_times["began"], hold_times["ended"]
    during = [a for a in attempts if a[2] <= ended and a[3] >= began + WAITED_SECONDS]
    assert during, "no write was attempted while the restore held the database"
    assert {number for _, number, _, _ in during} & (acked - kept) == set()


def _holder(engine, backup_id: str) -> subprocess.Popen:
    """Start a process holding the database the way a restore does, until it is killed."""
    module = "sqlite_backend" if engine.dialect.name == "sqlite" else "postgres_backend"
    script = textwrap.dedent(
        f"""
        import sys, time
        from cryoprotect.backup.{module} import hold
        from cryoprotect.db.engine import make_engine
        with hold(make_engine(sys.argv[1]), sys.argv[2]):
            print("held", flush=True)
            time.sleep(600)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, _url(engine), backup_id], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_held_database_is_announced_refuses_a_second_restore_and_is_freed_by_a_kill(
    seeded, tmp_path
):
    store = BackupStore(tmp_path / "backups")
    manifest = create_backup(seeded, store)
    assert restore_in_progress(seeded) is None
    holder = _holder(seeded, "20261201T090000000000Z")
    try:
        reason = restore_in_progress(seeded)
        assert reason.startswith("restore of backup 20261201T090000000000Z in progress")
        with pytest.raises(BUSY, match="restore of backup 20261201T090000000000Z in progress"):
            restore_backup(seeded, store, manifest.id, force=True, check_health=False)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    deadline = time.monotonic() + 10
    while restore_in_progress(seeded) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert restore_in_progress(seeded) is None
    restore_backup(seeded, store, manifest.id, force=True, check_health=False)


def test_a_restore_refuses_while_another_connection_keeps_a_transaction_open(
    seeded, tmp_path, monkeypatch
):
    store = BackupStore(tmp_path / "backups")
    manifest = create_backup(seeded, store)
    backend = sqlite_backend if seeded.dialect.name == "sqlite" else postgres_backend
    monkeypatch.setattr(backend, "WAIT_SECONDS", 1)
    other = seeded.connect()
    try:
        other.execute(text("UPDATE users SET display_name = 'made-up' WHERE id = 1"))
        message = "stayed in use" if seeded.dialect.name == "sqlite" else r"kept the tables locked"
        with pytest.raises(BUSY, match=message):
            restore_backup(seeded, store, manifest.id, force=True, check_health=False)
        other.commit()  # the write the restore waited for is kept
    finally:
        other.close()
    with seeded.connect() as connection:
        assert connection.execute(text("SELECT display_name FROM users WHERE id = 1")).scalar()
    assert restore_in_progress(seeded) is None
    if seeded.dialect.name == "sqlite":
        assert not Path(f"{seeded.url.database}-restore").exists()
    assert os.listdir(tmp_path / "backups") == [manifest.id]
