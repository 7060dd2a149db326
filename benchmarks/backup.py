"""Time backup and restore of a database with 100,000 experiments against the plain tools.

    .venv/bin/python benchmarks/backup.py [--experiments 100000] [--repeat 3] [--skip-postgres]

Builds a scratch SQLite database (and a throwaway PostgreSQL database on
CRYOPROTECT_TEST_POSTGRES_URL's server) with the curated reference data grown by made-up
copies of its measurements (for volume only), then times, in the same run and the best of
``--repeat``:

- SQLite: ``create_backup`` against ``sqlite3 DB ".backup FILE"``, and ``restore_backup``
  (force, no health checks) against ``sqlite3 NEW ".restore FILE"``;
- PostgreSQL: ``create_backup`` against ``pg_dump -Fc``, and ``restore_backup`` against
  ``pg_restore --single-transaction --clean --if-exists``.

Ours also compresses (zstd), hashes, writes a manifest and flushes to disk. The ratios
(ours / plain tool) are what the README and the closing notes report.
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

from cryoprotect.backup.operations import create_backup, restore_backup
from cryoprotect.backup.store import BackupStore
from cryoprotect.config import get_settings
from cryoprotect.db.engine import make_engine
from cryoprotect.db.migrations import upgrade
from cryoprotect.db.seed import seed
from health import grow

POSTGRES_URL = os.environ.get(
    "CRYOPROTECT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def best(repeat: int, action: Callable[[], object]) -> float:
    """Return the shortest wall time of ``repeat`` runs of ``action``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def _sh(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603


def _report(kind: str, rows: int, figures: dict[str, float]) -> None:
    print(f"{kind} ({rows:,} experiments)")
    for step, plain in (("backup", "plain_backup"), ("restore", "plain_restore")):
        ratio = figures[step] / figures[plain]
        print(
            f"  {step:8s} ours {figures[step]:6.3f} s  plain {figures[plain]:6.3f} s  "
            f"ratio {ratio:4.2f}"
        )


def bench_sqlite(folder: Path, experiments: int, repeat: int) -> None:
    """Time SQLite backups and restores, ours and the sqlite3 shell's."""
    engine = make_engine(f"sqlite:///{folder / 'lab.db'}")
    upgrade(engine)
    seed(engine, get_settings().resolved_reference_dir)
    rows = grow(engine, experiments)
    store = BackupStore(folder / "backups")
    figures = {
        "plain_backup": best(
            repeat, lambda: _sh("sqlite3", str(folder / "lab.db"), f".backup {folder / 'plain.db'}")
        ),
        "backup": best(repeat, lambda: create_backup(engine, store)),
    }
    backup_id = store.manifests()[-1].id
    target = make_engine(f"sqlite:///{folder / 'target.db'}")
    figures["plain_restore"] = best(
        repeat, lambda: _sh("sqlite3", str(folder / "target.db"), f".restore {folder / 'plain.db'}")
    )
    figures["restore"] = best(
        repeat,
        lambda: restore_backup(target, store, backup_id, force=True, check_health=False),
    )
    _report("SQLite", rows, figures)


def bench_postgres(folder: Path, experiments: int, repeat: int) -> None:
    """Time PostgreSQL backups and restores, ours and pg_dump/pg_restore's."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    names = [f"cryoprotect_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        source_url, target_url = (
            make_url(POSTGRES_URL).set(database=n).render_as_string(hide_password=False)
            for n in names
        )
        engine, target = make_engine(source_url), make_engine(target_url)
        upgrade(engine)
        seed(engine, get_settings().resolved_reference_dir)
        rows = grow(engine, experiments)
        libpq = [
            make_url(u).set(drivername="postgresql").render_as_string(hide_password=False)
            for u in (source_url, target_url)
        ]
        dump = folder / "plain.pgdump"
        store = BackupStore(folder / "pg-backups")
        figures = {
            "plain_backup": best(repeat, lambda: _sh("pg_dump", "-Fc", "-f", str(dump), libpq[0])),
            "backup": best(repeat, lambda: create_backup(engine, store)),
        }
        backup_id = store.manifests()[-1].id
        figures["plain_restore"] = best(
            repeat,
            lambda: _sh(
                "pg_restore",
                "--single-transaction",
                "--clean",
                "--if-exists",
                "--no-owner",
                "-d",
                libpq[1],
                str(dump),
            ),
        )
        figures["restore"] = best(
            repeat,
            lambda: restore_backup(target, store, backup_id, force=True, check_health=False),
        )
        engine.dispose()
        target.dispose()
        _report("PostgreSQL", rows, figures)
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    """Build the databases, time ours and the plain tools, print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bench_sqlite(Path(folder), args.experiments, args.repeat)
        if not args.skip_postgres:
            bench_postgres(Path(folder), args.experiments, args.repeat)


if __name__ == "__main__":
    main()
