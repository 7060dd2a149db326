"""Scratch databases for the health tests: a few made-up measurements, and faults written past
the database's safeguards. The values are made up for the tests; they are not data."""

from __future__ import annotations

import csv
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from cryoprotect.db.engine import make_engine
from cryoprotect.db.importer import import_experiments
from cryoprotect.db.migrations import upgrade
from cryoprotect.records import EXPERIMENT_COLUMNS

MADE_UP_ROWS = [
    {"record_id": "t:1", "property": "tg", "value": "190", "unit": "K", "smiles": "OCC(O)CO"},
    {"record_id": "t:2", "property": "tg", "value": "340", "unit": "K", "smiles": "OCC(O)C(O)CO"},
    {
        "record_id": "t:3",
        "property": "iri",
        "value": "45",
        "unit": "%MGS",
        "smiles": "NCC(=O)O",
        "concentration": "22",
        "concentration_unit": "mM",
    },
    {
        "record_id": "t:4",
        "property": "viability",
        "value": "61",
        "unit": "% recovery",
        "components": "OCC(O)CO:10 %v/v;CS(C)=O:5 %v/v",
    },
    {"record_id": "t:5", "property": "tg", "value": "250", "unit": "K", "smiles": "CC(O)CO"},
]


def write_rows(path: Path, rows: list[dict]) -> Path:
    """Write ``rows`` as an experiment table (each with a made-up citation) at ``path``."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(EXPERIMENT_COLUMNS))
        writer.writeheader()
        writer.writerows({"citation": "made-up test fixture", **row} for row in rows)
    return path


def scratch_database(url: str, folder: Path, rows: list[dict] = MADE_UP_ROWS) -> Engine:
    """Migrate the database at ``url`` and import ``rows`` into it as the user ada."""
    engine = make_engine(url)
    upgrade(engine)
    import_experiments(engine, write_rows(folder / "rows.csv", rows), owner="ada")
    return engine


@contextmanager
def unguarded(engine: Engine):
    """A transaction with foreign keys (and on SQLite, CHECK constraints) not enforced."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.exec_driver_sql("PRAGMA ignore_check_constraints=ON")
        else:
            connection.exec_driver_sql("SET session_replication_role = replica")
        connection.commit()  # the settings hold for the session
        with connection.begin():
            yield connection
