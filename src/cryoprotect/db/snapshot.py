"""Snapshots of the database for the pipeline: the tables models learn from, as Parquet.

A snapshot folder holds one ``<table>.parquet`` per table in :data:`SNAPSHOT_TABLES` (rows in
primary-key order) and ``manifest.json`` (schema revision and row counts). Audit columns
(:data:`EXCLUDED_COLUMNS`) are left out, so exporting an unchanged database gives
byte-identical files and the pipeline downstream of the snapshot does not rerun.
Tables the pipeline writes (model versions, predictions) are not part of a snapshot.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Boolean, DateTime, Engine, Float, Integer, Table, create_engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from cryoprotect.db.migrations import current_revision, head_revision
from cryoprotect.db.schema import Base

SNAPSHOT_TABLES = (
    "properties",
    "users",
    "molecules",
    "molecule_synonyms",
    "mixtures",
    "mixture_components",
    "experiments",
)
EXCLUDED_COLUMNS = frozenset({"created_at", "email"})
"""Audit and personal columns no model needs."""
MANIFEST = "manifest.json"


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def snapshot_columns(name: str) -> list[str]:
    """Return the columns of table ``name`` that a snapshot keeps."""
    return [c.name for c in _table(name).columns if c.name not in EXCLUDED_COLUMNS]


def _arrow_type(column) -> pa.DataType:
    kind = column.type
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, Integer):
        return pa.int64()
    if isinstance(kind, Float):
        return pa.float64()
    if isinstance(kind, DateTime):
        return pa.timestamp("us", tz="UTC")
    return pa.string()


def _write_atomically(folder: Path, write) -> None:
    """Fill a staging folder with ``write(staging)``, then swap it in for ``folder``."""
    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        write(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    previous = folder.with_name(f".{folder.name}.previous")
    shutil.rmtree(previous, ignore_errors=True)
    if folder.exists():
        os.replace(folder, previous)
    os.replace(staging, folder)
    shutil.rmtree(previous, ignore_errors=True)


def export_snapshot(engine: Engine, folder: Path) -> dict:
    """Write the snapshot tables of ``engine``'s database to ``folder``; return the manifest.

    The export reads every table in one transaction and replaces ``folder`` only when all
    files are written.
    """
    manifest = {"schema_revision": current_revision(engine), "tables": {}}

    def write(staging: Path) -> None:
        with engine.connect() as connection, connection.begin():
            for name in SNAPSHOT_TABLES:
                table = _table(name)
                columns = [table.c[c] for c in snapshot_columns(name)]
                query = select(*columns).order_by(*table.primary_key.columns)
                rows = connection.execute(query).all()
                arrays = {
                    c.name: pa.array([row[i] for row in rows], type=_arrow_type(c))
                    for i, c in enumerate(columns)
                }
                pq.write_table(pa.table(arrays), staging / f"{name}.parquet")
                manifest["tables"][name] = len(rows)
        text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        (staging / MANIFEST).write_text(text)

    _write_atomically(Path(folder), write)
    return manifest


def read_table(folder: Path, name: str) -> list[dict]:
    """Return the rows of table ``name`` in snapshot ``folder`` as dictionaries."""
    return pq.read_table(Path(folder) / f"{name}.parquet").to_pylist()


class SnapshotError(ValueError):
    """A snapshot cannot be loaded; the message names the table, row and field."""


def load_snapshot(folder: Path) -> Engine:
    """Load snapshot ``folder`` into an in-memory SQLite database with the full schema.

    Every row passes the schema's constraints (types, ranges, units, foreign keys) on the way
    in, so the database functions that serve the CLI serve the pipeline too.

    Raises
    ------
    SnapshotError
        If a table file is missing or a row breaks a constraint.
    """
    try:
        return _load(Path(folder), row_by_row=False)
    except IntegrityError:  # load again row by row, only to name the row that breaks a rule
        return _load(Path(folder), row_by_row=True)


def _load(folder: Path, row_by_row: bool) -> Engine:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    tables = [_table(name) for name in SNAPSHOT_TABLES]
    Base.metadata.create_all(engine, tables=tables)
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        for table in tables:
            path = folder / f"{table.name}.parquet"
            if not path.is_file():
                raise SnapshotError(f"{path} is missing")
            rows = read_table(folder, table.name)
            if not row_by_row:
                if rows:
                    connection.execute(table.insert(), rows)
                continue
            for number, row in enumerate(rows, start=1):
                try:
                    connection.execute(table.insert(), row)
                except IntegrityError as error:
                    raise SnapshotError(
                        f"{table.name} row {number} (id {row.get('id', row.get('code'))}): "
                        f"{error.orig}"
                    ) from None
    return engine


def check_snapshot(folder: Path) -> list[str]:
    """Check snapshot ``folder`` against the schema; return the problems found (none: valid).

    Checks that every table file is there with the expected columns and the row count of the
    manifest, that the snapshot was taken at the newest schema revision, and that every row
    meets the schema's constraints (value ranges and units per property, amounts, references).
    """
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        return [f"{folder / MANIFEST}: cannot be read ({error})"]
    problems = []
    head = head_revision(create_engine("sqlite://"))
    if manifest.get("schema_revision") != head:
        problems.append(
            f"snapshot taken at schema revision {manifest.get('schema_revision')!r}, "
            f"the code expects {head!r}: run 'cryoprotect db upgrade' and export again"
        )
    for name in SNAPSHOT_TABLES:
        path = folder / f"{name}.parquet"
        if not path.is_file():
            problems.append(f"{path} is missing")
            continue
        schema = pq.read_schema(path)
        expected = snapshot_columns(name)
        if schema.names != expected:
            missing = sorted(set(expected) - set(schema.names))
            extra = sorted(set(schema.names) - set(expected))
            problems.append(f"{name}: columns differ (missing {missing}, unexpected {extra})")
            continue
        rows = pq.read_metadata(path).num_rows
        listed = manifest.get("tables", {}).get(name)
        if rows != listed:
            problems.append(f"{name}: {rows} rows, the manifest lists {listed}")
    if problems:
        return problems
    try:
        load_snapshot(folder).dispose()
    except SnapshotError as error:
        problems.append(str(error))
    return problems
