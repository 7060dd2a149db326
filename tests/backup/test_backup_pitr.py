"""Point-in-time recovery on PostgreSQL, live: a cluster of the test's own that archives its
WAL into the backup store through ``cryoprotect backup wal-push``.

The cluster is made with ``initdb`` in a temporary folder (as the ``postgres`` OS user when
the tests run as root) on a port of its own, with ``archive_mode = on``. The users written
at t1 and t2 (``made-up t1 user``, ...) are made up for the test.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import REFERENCE_DIR
from cryoprotect.backup import pitr
from cryoprotect.backup.operations import (
    RestoreRefusedError,
    create_backup,
    prune,
    restore_backup,
    verify_backup,
)
from cryoprotect.backup.processes import run, spawn
from cryoprotect.backup.rotation import RotationPolicy
from cryoprotect.backup.store import WAL, BackupStore
from cryoprotect.db import migrations
from cryoprotect.db.engine import make_engine
from cryoprotect.db.seed import seed

PROGRAM = Path(sys.executable).parent / "cryoprotect"
SERVER_USER = "postgres"


def _server_bin() -> Path:
    return Path(run(["pg_config", "--bindir"]).stdout.strip())


def _as_server_user() -> dict:
    if os.geteuid() != 0:
        return {}
    account = pwd.getpwnam(SERVER_USER)
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _give(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, SERVER_USER, SERVER_USER)


@pytest.fixture(scope="module")
def cluster():
    """A running cluster archiving into ``store``; yields (engine URL, store folder)."""
    folder = Path(tempfile.mkdtemp(prefix="cryoprotect-pitr-"))
    folder.chmod(0o755)  # the server's OS user reaches its data, the store and the sockets
    data, store, sockets = folder / "data", folder / "store", folder / "s"
    for path in (data, store, sockets):
        path.mkdir(mode=0o700)
        _give(path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bin_dir = _server_bin()
    subprocess.run(
        [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        cwd=folder,
        **_as_server_user(),
    )
    archive = f"{PROGRAM} backup wal-push --store {store} %p"
    settings = {
        "port": str(port),
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": str(sockets),
        "archive_mode": "on",
        "archive_command": archive,
        "wal_level": "replica",
        "fsync": "off",
    }
    options = [item for name, value in settings.items() for item in ("-c", f"{name}={value}")]
    log = (folder / "server.log").open("wb")
    server = spawn(
        [str(bin_dir / "postgres"), "-D", str(data), *options],
        stdout=log,
        stderr=log,
        cwd=folder,
        **_as_server_user(),
    )
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/lab"
    admin = create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", isolation_level="AUTOCOMMIT"
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with admin.connect() as connection:
                connection.execute(text("CREATE DATABASE lab"))
            break
        except Exception:
            if time.monotonic() > deadline or server.poll() is not None:
                raise
            time.sleep(0.2)
    admin.dispose()
    engine = make_engine(url)
    migrations.upgrade(engine)
    seed(engine, REFERENCE_DIR)
    engine.dispose()
    try:
        yield url, store
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def live(cluster):
    """An engine on the archiving cluster's database, and its backup store."""
    url, folder = cluster
    engine = make_engine(url)
    yield engine, BackupStore(folder)
    engine.dispose()


def _users(engine, prefix: str) -> list[str]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                text("SELECT username FROM users WHERE username LIKE :p ORDER BY username"),
                {"p": f"{prefix}%"},
            ).scalars()
        )


def _add_users(engine, names: list[str]) -> None:
    with engine.begin() as connection:
        for name in names:
            connection.execute(text("INSERT INTO users (username) VALUES (:n)"), {"n": name})


@pytest.mark.slow
@pytest.mark.postgres
def test_restore_at_a_moment_between_two_writes_gives_exactly_the_first(cluster, live):
    url, folder = cluster
    engine, store = live
    base = create_backup(engine, store, method="base")
    assert base.method == "base" and base.base.timeline == 1
    assert verify_backup(store, base.id) == []
    first = [f"made-up t1 user {n}" for n in range(3)]
    second = [f"made-up t2 user {n}" for n in range(2)]
    _add_users(engine, first)
    time.sleep(1.1)
    moment = datetime.now(UTC)
    time.sleep(1.1)
    _add_users(engine, second)
    with engine.connect() as connection:
        experiments = connection.execute(text("SELECT count(*) FROM experiments")).scalar()
    env = os.environ | {"CRYOPROTECT_DATABASE_URL": url, "CRYOPROTECT_BACKUP_DIR": str(folder)}
    restored = subprocess.run(
        [
            str(PROGRAM),
            "backup",
            "restore",
            "--at",
            moment.isoformat(),
            "--force",
            "--format",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert restored.returncode == 0, restored.stdout + restored.stderr
    outcome = json.loads(restored.stdout)
    assert outcome["backup_id"] == base.id and outcome["at"] == moment.isoformat()
    assert outcome["replaced"]["users"] == outcome["rows"]["users"] + len(second)
    assert _users(engine, "made-up t") == first
    assert outcome["rows"]["experiments"] == experiments
    assert outcome["health"]["healthy"]


@pytest.mark.slow
@pytest.mark.postgres
def test_a_moment_before_any_base_backup_or_in_the_future_is_refused(live):
    engine, store = live
    with pytest.raises(LookupError, match="no base backup at or before 2001-01-01"):
        restore_backup(engine, store, at=datetime(2001, 1, 1, tzinfo=UTC), force=True)
    with pytest.raises(RestoreRefusedError, match="is in the future"):
        restore_backup(engine, store, at=datetime(2999, 1, 1, tzinfo=UTC), force=True)


@pytest.mark.slow
@pytest.mark.postgres
def test_prune_removes_wal_no_kept_base_backup_needs(live):
    engine, store = live
    older = create_backup(engine, store, method="base")
    _add_users(engine, ["made-up t3 user"])
    newer = create_backup(engine, store, method="base")
    outcome = restore_backup(engine, store, older.id, force=True, check_health=False)
    assert outcome.at is None and _users(engine, "made-up t3") == []  # as the base backup ends
    pitr.archive_now(engine)
    before = pitr.archived(store)
    assert any(name[8:24] < newer.base.start_segment[8:24] for name in before)
    result = prune(store, RotationPolicy(last=1, daily=0, weekly=0, monthly=0))
    assert older.id in result["removed"] and newer.id in result["kept"]
    after = pitr.archived(store)
    assert result["wal_removed"] and set(after) == set(before) - set(result["wal_removed"])
    assert all(name[8:24] >= newer.base.start_segment[8:24] for name in after)


def test_wal_push_stores_once_and_never_overwrites_other_content(tmp_path):
    store = BackupStore(tmp_path / "backups")
    segment = tmp_path / "000000010000000000000007"
    segment.write_bytes(os.urandom(1 << 16) * 8)  # made-up WAL content
    assert pitr.push_wal(store, segment) is True
    assert pitr.push_wal(store, segment) is False  # a retry of the same file
    assert store.names(WAL) == ["000000010000000000000007.zst"]
    segment.write_bytes(os.urandom(1 << 16))
    with pytest.raises(pitr.WalConflictError, match="archived already .* with other content"):
        pitr.push_wal(store, segment)
    back = tmp_path / "back"
    with store.scratch() as work:
        pitr.fetch_wal(store, segment.name, back, work)
    assert back.stat().st_size == 8 << 16
    assert [p.name for p in Path(store.root).iterdir()] == [WAL]  # no scratch left
