"""Time backup and restore against the plain tools, in the same run, and the health run after.

    .venv/bin/python benchmarks/backup.py [--megabytes 500] [--pg-experiments 100000]
        [--repeat 3] [--skip-postgres] [--full-health]

Builds a scratch SQLite database of about ``--megabytes`` (the curated reference data grown
by made-up copies of its measurements, each with a made-up note; for volume only) and a
throwaway PostgreSQL database of ``--pg-experiments`` experiments on
CRYOPROTECT_TEST_POSTGRES_URL's server, then times, best of ``--repeat`` (ours and the plain
tool taking turns):

- SQLite: ``create_backup`` against ``sqlite3 DB ".backup FILE"``, and ``restore_backup``
  (force, no health checks) against ``sqlite3 TARGET ".restore FILE"``, twice: into a new
  file (each run removes its own target first) and over the data (each target holds the
  database already); then the quick health checks a restore runs by default (schema and
  references), against the restore itself; with ``--full-health`` also every health check
  (``cryoprotect health``);
- PostgreSQL: ``create_backup`` against ``pg_dump -Fc``, and ``restore_backup`` against
  ``pg_restore --single-transaction --clean --if-exists``.

Ours also compresses (zstd), hashes, checks row counts before writing, holds the database
against other writers, writes a manifest and flushes to disk. The ratios (ours / plain
tool, health / restore) are the figures to report; absolute times depend on the machine.

Figures (501 MB, ``--repeat 2`` and ``3``, two shared cores, 2026-12): backup 1.03-1.07,
restore into a new file 0.98-0.99 (the checked backup is renamed into place; the page copy
before it, run alternately: 1.85 and 1.30), over the data 1.02-1.26 (the code before
restores over data went through a write-ahead log, run alternately: 1.52 and 1.06), health
after restore 0.13-0.22. Disk syncs on this machine vary by up to 3x from run to run, so compare
several runs; ten interleaved restores over the data gave medians of 0.87 (log) and 1.07
(rollback journal) times the sqlite3 shell's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cryoprotect.backup.operations import create_backup, quick_health, restore_backup
from cryoprotect.backup.store import BackupStore
from cryoprotect.config import get_settings
from cryoprotect.db.engine import make_engine
from cryoprotect.db.migrations import upgrade
from cryoprotect.db.seed import seed
from health import COPY_COLUMNS, grow

POSTGRES_URL = os.environ.get(
    "CRYOPROTECT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def timed(action: Callable[[], object]) -> float:
    """Return the wall time of one run of ``action``."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def best_of_turns(
    repeat: int,
    actions: dict[str, Callable[[], object]],
    setup: Callable[[str], object] | None = None,
) -> dict[str, float]:
    """Run the ``actions`` in turn ``repeat`` times; return each one's shortest wall time.

    ``setup(name)``, if given, runs untimed before each run of the action ``name``.
    """
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeat):
        for name, action in actions.items():
            if setup:
                setup(name)
            times[name].append(timed(action))
    return {name: min(values) for name, values in times.items()}


def _sh(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603


def _line(step: str, ours: float, plain: float, label: str = "plain") -> None:
    print(f"  {step:25s} ours {ours:7.3f} s  {label} {plain:7.3f} s  ratio {ours / plain:5.2f}")


def grow_to_size(engine, path: Path, megabytes: int) -> int:
    """Add made-up copies of the experiments until the file reaches ``megabytes``."""
    note = "'made-up copy ' || hex(randomblob(32))"
    select = COPY_COLUMNS.replace(", notes", f", {note}")
    target, batch = megabytes * 1_000_000, 0
    with engine.connect() as connection:
        count = connection.execute(text("SELECT COUNT(*) FROM experiments")).scalar()
        while (size := path.stat().st_size) < target:
            batch += 1
            more = max(1, min(count, int(count * (target - size) / size)))
            connection.execute(
                text(
                    f"INSERT INTO experiments (record_id, {COPY_COLUMNS}) "  # noqa: S608
                    f"SELECT 'synthetic:{batch}:' || id, {select} FROM experiments LIMIT :n"
                ),
                {"n": more},
            )
            connection.commit()
            count += more
    return count


def bench_sqlite(folder: Path, megabytes: int, repeat: int, full_health: bool) -> None:
    """Time SQLite backups and restores, ours and the sqlite3 shell's, and the health run."""
    path = folder / "lab.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    seed(engine, get_settings().resolved_reference_dir)
    rows = grow_to_size(engine, path, megabytes)
    store = BackupStore(folder / "backups")
    plain, target = folder / "plain.db", make_engine(f"sqlite:///{folder / 'target.db'}")
    backups = best_of_turns(
        repeat,
        {
            "plain": lambda: _sh("sqlite3", str(path), f".backup {plain}"),
            "ours": lambda: create_backup(engine, store),
        },
    )
    backup_id = store.manifests()[-1].id
    targets = {"plain": folder / "plain-target.db", "ours": folder / "target.db"}
    restores = {
        "plain": lambda: _sh("sqlite3", str(targets["plain"]), f".restore {plain}"),
        "ours": lambda: restore_backup(target, store, backup_id, force=True, check_health=False),
    }

    def remove_target(name: str) -> None:  # its own only: the other's must keep the data
        targets[name].unlink(missing_ok=True)

    into_new = best_of_turns(repeat, restores, setup=remove_target)
    over_full = best_of_turns(repeat, restores)  # each target holds the database already
    health = best_of_turns(repeat, {"quick": lambda: quick_health(target)})["quick"]
    print(f"SQLite ({rows:,} experiments, {path.stat().st_size / 1e6:,.0f} MB)")
    _line("backup", backups["ours"], backups["plain"])
    _line("restore into a new file", into_new["ours"], into_new["plain"])
    _line("restore over the data", over_full["ours"], over_full["plain"])
    _line("health after restore", health, over_full["ours"], "restore")
    if full_health:
        from cryoprotect.health.report import run_health

        every = timed(lambda: run_health(target))
        _line("every health check", every, over_full["ours"], "restore")


def bench_postgres(folder: Path, experiments: int, repeat: int) -> None:
    """Time PostgreSQL backups and restores, ours and pg_dump/pg_restore's."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    names = [f"cryoprotect_bench_{uuid.uuid4().hex[:8]}" for _ in range(3)]
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        source_url, target_url, plain_url = (
            make_url(POSTGRES_URL).set(database=n).render_as_string(hide_password=False)
            for n in names
        )
        engine, target = make_engine(source_url), make_engine(target_url)
        upgrade(engine)
        seed(engine, get_settings().resolved_reference_dir)
        rows = grow(engine, experiments)
        libpq = [
            make_url(u).set(drivername="postgresql").render_as_string(hide_password=False)
            for u in (source_url, plain_url)
        ]
        dump = folder / "plain.pgdump"
        store = BackupStore(folder / "pg-backups")
        backups = best_of_turns(
            repeat,
            {
                "plain": lambda: _sh("pg_dump", "-Fc", "-f", str(dump), libpq[0]),
                "ours": lambda: create_backup(engine, store),
            },
        )
        backup_id = store.manifests()[-1].id
        restore_plain = ["pg_restore", "--single-transaction", "--clean", "--if-exists"]
        restores = best_of_turns(
            repeat,
            {
                "plain": lambda: _sh(*restore_plain, "-d", libpq[1], str(dump)),
                "ours": lambda: restore_backup(
                    target, store, backup_id, force=True, check_health=False
                ),
            },
        )
        engine.dispose()
        target.dispose()
        print(f"PostgreSQL ({rows:,} experiments)")
        _line("backup", backups["ours"], backups["plain"])
        _line("restore", restores["ours"], restores["plain"])
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    """Build the databases, time ours and the plain tools, print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=500)
    parser.add_argument("--pg-experiments", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--full-health", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bench_sqlite(Path(folder), args.megabytes, args.repeat, args.full_health)
        if not args.skip_postgres:
            bench_postgres(Path(folder), args.pg_experiments, args.repeat)


if __name__ == "__main__":
    main()
