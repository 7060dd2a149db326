"""Point-in-time recovery of PostgreSQL: base backups, archived WAL, and replay to a moment.

- The server archives every finished write-ahead log segment into the store's ``wal/``
  folder (``archive_command = 'cryoprotect backup wal-push --store STORE %p'``).
- ``backup create --method base`` stores a ``pg_basebackup`` of the cluster (tar format,
  with the WAL it needs to become consistent).
- To restore the database as it was at a moment, the newest base backup taken before it is
  unpacked into the staging area and started as a private, temporary server (no TCP, its
  own socket folder) that replays the archived WAL up to ``recovery_target_time`` and
  stops there. The CryoProtect database is then dumped from it and restored into the live
  database like any dump: the live server keeps running, other databases of its cluster
  are untouched, and its own timeline and WAL archive go on undisturbed.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from cryoprotect.backup import postgres_backend
from cryoprotect.backup.archive import compress_file, unpack
from cryoprotect.backup.manifest import BaseBackupInfo, Manifest
from cryoprotect.backup.processes import ToolError, run, spawn
from cryoprotect.backup.store import WAL, BackupStore
from cryoprotect.db.migrations import current_revision

SEGMENT = re.compile(r"^[0-9A-F]{24}$")
STORED = ".zst"
BASE_FILES = ("base.tar", "pg_wal.tar", "backup_manifest")
ARCHIVE_WAIT_SECONDS = 120.0
REPLAY_WAIT_SECONDS = 3600.0


class RecoveryError(RuntimeError):
    """Point-in-time recovery cannot reach the asked moment; the message says why."""


class WalConflictError(RuntimeError):
    """A WAL segment of the same name but other content is archived already."""


def _segment_name(timeline: int, lsn: str, segment_bytes: int) -> str:
    """Return the name of the WAL segment holding ``lsn`` (``X/Y``) on ``timeline``."""
    high, low = (int(part, 16) for part in lsn.split("/"))
    number = ((high << 32) | low) // segment_bytes
    per_id = 0x100000000 // segment_bytes
    return f"{timeline:08X}{number // per_id:08X}{number % per_id:08X}"


def _position(name: str) -> str:
    """Return the place of a WAL file in the log, regardless of its timeline."""
    return name[8:24]


def push_wal(store: BackupStore, source: Path) -> bool:
    """Archive the WAL file ``source`` into the store (``archive_command``).

    Returns ``False`` when the same file was archived before (PostgreSQL may retry a
    segment whose archiving it did not see succeed), ``True`` when it is stored now.

    Raises
    ------
    WalConflictError
        If a different file of that name is archived already (another cluster writing to
        the same store?): it is never overwritten.
    """
    name = f"{source.name}{STORED}"
    with store.scratch() as work:
        if store.fs.exists(store.path(WAL, name)):
            fetch_wal(store, source.name, work / "archived", work)
            if (work / "archived").read_bytes() == source.read_bytes():
                return False
            raise WalConflictError(
                f"{source.name} is archived already in {store.url} with other content: "
                "one store (or prefix) per cluster"
            )
        compress_file(source, work / name)
        store.put(work / name, WAL, name)
    return True


def fetch_wal(store: BackupStore, name: str, target: Path, work: Path) -> None:
    """Write the archived WAL file ``name`` to ``target`` (its zstd frame checksum checked).

    Raises
    ------
    FileNotFoundError
        If the archive does not hold it.
    """
    import zstandard

    stored = store.fetch(work, WAL, f"{name}{STORED}")
    with stored.open("rb") as packed, target.open("wb") as raw:
        zstandard.ZstdDecompressor().copy_stream(packed, raw)


def archived(store: BackupStore) -> list[str]:
    """Return the names of the archived WAL files (segments and history files)."""
    return [n.removesuffix(STORED) for n in store.names(WAL) if n.endswith(STORED)]


def prune_wal(store: BackupStore, bases: list[Manifest], dry_run: bool = False) -> list[str]:
    """Delete archived WAL older than the oldest base backup in ``bases``; return the names.

    Nothing is deleted without a base backup (WAL is useless before the first one, but
    an operator setting archiving up may not have taken it yet). Timeline history files
    are always kept.
    """
    starts = [m.base.start_segment for m in bases if m.base]
    if not starts:
        return []
    oldest = min(_position(s) for s in starts)
    removable = [
        name
        for name in archived(store)
        if not name.endswith(".history") and _position(name) < oldest
    ]
    if not dry_run:
        for name in removable:
            store.remove(WAL, f"{name}{STORED}")
    return removable


def create_base_backup(engine: Engine, store: BackupStore, backup_id: str, created=None):
    """Store a ``pg_basebackup`` of the cluster behind ``engine``; return its manifest.

    Raises
    ------
    cryoprotect.backup.processes.ToolError
        If ``pg_basebackup`` fails (it needs a role with REPLICATION and a ``replication``
        line in ``pg_hba.conf``).
    """
    url, env = postgres_backend.libpq(engine)
    with engine.connect() as connection:
        facts = connection.execute(
            text(
                "SELECT (SELECT system_identifier FROM pg_control_system())::text, "
                "current_setting('server_version_num')::int, "
                "(SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size')"
            )
        ).one()
    revision = current_revision(engine)
    with store.new_backup(backup_id) as folder:
        work = folder / ".work"
        command = ["pg_basebackup", "--dbname", url, "--pgdata", str(work), "--format=tar"]
        command += ["--wal-method=stream", "--checkpoint=fast", "--no-password"]
        run([*command, f"--label=cryoprotect {backup_id}"], env=env)
        ended = created or datetime.now(UTC)
        ranges = json.loads((work / "backup_manifest").read_text())["WAL-Ranges"][0]
        files = {}
        for name in BASE_FILES:
            files[f"{name}{STORED}"] = compress_file(work / name, folder / f"{name}{STORED}")
        shutil.rmtree(work)
        manifest = Manifest(
            id=backup_id,
            created=ended.isoformat(),
            kind="postgresql",
            database=engine.url.render_as_string(hide_password=True),
            schema_revision=revision,
            tables={},
            files=files,
            tools={"pg_basebackup": run(["pg_basebackup", "--version"]).stdout.strip()},
            method="base",
            base=BaseBackupInfo(
                timeline=ranges["Timeline"],
                start_lsn=ranges["Start-LSN"],
                end_lsn=ranges["End-LSN"],
                start_segment=_segment_name(ranges["Timeline"], ranges["Start-LSN"], facts[2]),
                system_identifier=facts[0],
                server_version=facts[1],
            ),
        )
        store.commit(manifest, folder)
    return manifest


def archive_now(engine: Engine) -> None:
    """Make the live server archive its WAL up to now, with a commit after every past moment.

    Replay to a moment stops at the first commit after it; that commit must be archived,
    or recovery ends before its target. So a transaction is committed, the WAL segment
    switched, and its archiving awaited.

    Raises
    ------
    RecoveryError
        If the server does not archive WAL, or archiving fails or lags behind.
    """
    with engine.connect() as connection:
        mode = connection.execute(text("SELECT current_setting('archive_mode')")).scalar_one()
        if mode == "off":
            raise RecoveryError(
                "the server does not archive its WAL (archive_mode = off): point-in-time "
                "recovery needs it (see docs/operations/backups.md)"
            )
        connection.execute(text("SELECT pg_current_xact_id()"))
        connection.commit()
        segment = connection.execute(text("SELECT pg_walfile_name(pg_switch_wal())")).scalar_one()
        connection.commit()
        deadline = time.monotonic() + ARCHIVE_WAIT_SECONDS
        while True:
            done, failed = connection.execute(
                text("SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver")
            ).one()
            connection.commit()
            if done and _position(done) >= _position(segment):
                return
            if time.monotonic() > deadline:
                raise RecoveryError(
                    f"WAL segment {segment} was not archived within {ARCHIVE_WAIT_SECONDS:g} s "
                    f"(last archived {done}, last failed {failed}): check archive_command"
                )
            time.sleep(0.2)


def _server_bin(version: int) -> Path:
    """Return the folder of the PostgreSQL server programs of major ``version``."""
    candidates = [Path(f"/usr/lib/postgresql/{version // 10000}/bin")]
    with contextlib.suppress(ToolError, OSError):
        candidates.append(Path(run(["pg_config", "--bindir"]).stdout.strip()))
    for folder in candidates:
        if (folder / "postgres").is_file():
            return folder
    found = shutil.which("postgres")
    if found:
        return Path(found).parent
    raise RecoveryError(f"no PostgreSQL {version // 10000} server programs found to replay WAL")


def _extract(store: BackupStore, manifest: Manifest, name: str, target: Path, work: Path):
    """Unpack and check the stored tar ``name`` of a base backup into the folder ``target``."""
    stored = f"{name}{STORED}"
    raw = work / name
    unpack(store.fetch(work, manifest.id, stored), raw, manifest.files[stored], stored)
    with tarfile.open(raw) as archive:
        archive.extractall(target, filter="tar")  # checked: exactly what the server wrote
    raw.unlink()


def unpack_base(store: BackupStore, manifest: Manifest, data: Path, work: Path) -> None:
    """Unpack base backup ``manifest`` into the data folder ``data``, checking every file.

    Raises
    ------
    cryoprotect.backup.archive.CorruptArchiveError
        If a stored file is truncated or altered.
    """
    data.mkdir(mode=0o700)
    _extract(store, manifest, "base.tar", data, work)
    _extract(store, manifest, "pg_wal.tar", data / "pg_wal", work)
    stored = "backup_manifest.zst"
    unpack(
        store.fetch(work, manifest.id, stored),
        data / "backup_manifest",
        manifest.files[stored],
        stored,
    )


def verify_base(store: BackupStore, manifest: Manifest, work: Path) -> list[str]:
    """Check a base backup: digests, then ``pg_verifybackup`` on the unpacked cluster."""
    data = work / "cluster"
    unpack_base(store, manifest, data, work)
    folder = _server_bin(manifest.base.server_version)
    try:
        run([str(folder / "pg_verifybackup"), "--quiet", str(data)])
    except ToolError as error:
        return [str(error)]
    return []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _configure(data: Path, archive: Path, sockets: Path, port: int, target: datetime | None):
    """Replace the cluster's settings with those of a private server that replays and stops."""
    for name in ("postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf"):
        (data / name).unlink(missing_ok=True)
    (data / "standby.signal").unlink(missing_ok=True)
    goal = (
        f"recovery_target_time = '{target.isoformat()}'"
        if target
        else "recovery_target = 'immediate'"
    )
    (data / "postgresql.conf").write_text(
        f"listen_addresses = ''\nport = {port}\nunix_socket_directories = '{sockets}'\n"
        f'restore_command = \'cp "{archive}/%f" "%p"\'\n{goal}\n'
        "recovery_target_action = 'promote'\narchive_mode = off\nhot_standby = off\n"
        "fsync = off\nmax_connections = 20\nshared_preload_libraries = ''\n"
    )
    (data / "pg_hba.conf").write_text("local all all trust\n")
    (data / "pg_ident.conf").write_text("")
    (data / "recovery.signal").write_text("")


def _prefetch(store: BackupStore, manifest: Manifest, archive: Path, work: Path) -> None:
    """Copy the archived WAL replay may need (from the base backup's start on) to ``archive``."""
    archive.mkdir()
    start = _position(manifest.base.start_segment)
    for name in archived(store):
        if name.endswith(".history") or (SEGMENT.match(name[:24]) and _position(name) >= start):
            fetch_wal(store, name, archive / name, work)


def _hand_over(folder: Path, user: str | None) -> dict:
    """Give ``folder`` to the server's OS user when running as root (it refuses root)."""
    if user is None:
        return {}
    account = pwd.getpwnam(user)
    for path in [folder, *folder.rglob("*")]:
        os.lchown(path, account.pw_uid, account.pw_gid)
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _why_stopped(log: Path) -> str:
    lines = log.read_text(errors="replace").splitlines() if log.is_file() else []
    fatal = [line for line in lines if "FATAL" in line or "PANIC" in line]
    return "; ".join((fatal or lines)[-3:]) or "no log"


def _wait_promoted(process: subprocess.Popen, url: URL, log: Path) -> None:
    engine = create_engine(url, poolclass=NullPool)
    deadline = time.monotonic() + REPLAY_WAIT_SECONDS
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RecoveryError(f"the replay server stopped: {_why_stopped(log)}")
            try:
                with engine.connect() as connection:
                    if not connection.execute(text("SELECT pg_is_in_recovery()")).scalar_one():
                        return
            except Exception:  # noqa: BLE001, S110 (starting up, or still replaying)
                pass
            time.sleep(0.2)
        raise RecoveryError(f"replay did not finish within {REPLAY_WAIT_SECONDS:g} s")
    finally:
        engine.dispose()


def replay(
    store: BackupStore,
    manifest: Manifest,
    engine: Engine,
    target: datetime | None,
    work: Path,
    server_user: str | None,
) -> tuple[Path, dict[str, int]]:
    """Replay base backup ``manifest`` and the archived WAL to ``target`` in a private server.

    ``target`` ``None`` replays only until the base backup is consistent. The database of
    ``engine``'s name is then dumped from the private server into ``work``; returns the
    dump's path and its row counts. ``server_user`` runs the server when this process is
    root.

    Raises
    ------
    RecoveryError
        If the server stops before reaching ``target`` (its log says why, e.g. the archive
        ends before that moment) or does not finish in time.
    """
    data, archive, sockets = work / "cluster", work / "archive", work / "s"  # short socket path
    unpack_base(store, manifest, data, work)
    _prefetch(store, manifest, archive, work)
    sockets.mkdir()
    port = _free_port()
    _configure(data, archive, sockets, port, target)
    account = _hand_over(work, server_user if os.geteuid() == 0 else None)
    log = work / "server.log"
    program = _server_bin(manifest.base.server_version) / "postgres"
    with log.open("wb") as output:
        server = spawn(
            [str(program), "-D", str(data)], stdout=output, stderr=output, cwd=work, **account
        )
    try:
        url = engine.url.set(host=None, port=None, password=None, drivername="postgresql+psycopg")
        url = url.set(query={"host": str(sockets), "port": str(port)})
        _wait_promoted(server, url, log)
        private = create_engine(url, poolclass=NullPool)
        dump = work / "replayed.pgdump"
        try:
            with postgres_backend.dumped(private) as (counts, stream), dump.open("wb") as out:
                shutil.copyfileobj(stream, out, 1 << 20)
        finally:
            private.dispose()
    finally:
        server.send_signal(signal.SIGINT)  # fast shutdown
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    shutil.rmtree(data, ignore_errors=True)
    return dump, counts
