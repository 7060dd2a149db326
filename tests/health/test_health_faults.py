"""Fault injection: every fault is caught by the importer, the database or the health checks.

One table of faults (:data:`FAULTS`), each injected the way it would arrive: in a file given
to ``cryoprotect import experiments`` (the importer must refuse it, naming row and field, and
write nothing); written straight into the tables (the database must refuse it); or written
with the database's safeguards switched off, as a broken tool or a manual repair would (the
health checks must fail, naming the check and the rows). Every fault is tried on SQLite and
on PostgreSQL; ``docs/operations/health.md`` prints the table. The rows are made up for the
tests, not data.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from health_support import MADE_UP_ROWS, scratch_database, unguarded, write_rows
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from conftest import BACKENDS, REPO_ROOT, _database_url
from cryoprotect.db.importer import ImportValidationError, import_experiments
from cryoprotect.db.stats import database_stats
from cryoprotect.health.report import run_health

IMPORTER, DATABASE, HEALTH = "importer", "database", "health"


@dataclass(frozen=True)
class Fault:
    """One injected fault: how it arrives, and where it must be caught on each backend."""

    name: str
    caught_by: dict[str, str]
    """Layer that catches it, by backend."""
    check: str = ""
    """For the importer: the field named; for health: the check that fails."""


def _both(layer: str) -> dict[str, str]:
    return {"sqlite": layer, "postgresql": layer}


# --- faults in a file given to the importer -------------------------------------------------

IMPORTED = {
    "component above 100 %v/v": ({"smiles": "", "components": "glycerol:150 %v/v"}, "components"),
    "component above 100 %w/v": ({"smiles": "", "components": "glycerol:250 %w/v"}, "components"),
    "concentration above 100 %v/v": (
        {"property": "iri", "unit": "%MGS", "concentration": "150", "concentration_unit": "%v/v"},
        "concentration",
    ),
    "text longer than its column (file)": ({"source": "s" * 101}, "source"),
    "NUL character in a field": ({"notes": "a\x00b"}, "notes"),
    "SMILES with trailing text": ({"smiles": "OCC(O)CO junk"}, "smiles"),
    "SMILES with a control character": ({"smiles": "OCC(O)CO\x07"}, "smiles"),
    "value outside the property's range (file)": ({"value": "9000"}, "value"),
    "unit other than the property's (file)": ({"unit": "degC"}, "unit"),
}
"""Fault name -> (changes to a good row, field the importer must name)."""

FILE_SHAPES = ("row with an extra field", "measurement repeated without record_id")


# --- faults written straight into the tables (the database must refuse them) ---------------

DIRECT = {
    "experiment with neither molecule nor mixture (direct)": (
        "INSERT INTO experiments (property, value, unit, citation, owner_id) "
        "SELECT 'tg', 200, 'K', 'made up', owner_id FROM experiments LIMIT 1"
    ),
    "visibility outside the vocabulary (direct)": (
        "UPDATE experiments SET visibility = 'everyone' WHERE record_id = 't:1'"
    ),
    "NULL in a NOT NULL column (direct)": (
        "UPDATE molecules SET formula = NULL WHERE canonical_smiles = 'OCC(O)CO'"
    ),
    "orphan foreign key (direct)": (
        "UPDATE mixture_components SET mixture_id = 999999 "
        "WHERE id = (SELECT MIN(id) FROM mixture_components)"
    ),
    "component above 100 %w/v (direct)": (
        "UPDATE mixture_components SET unit = '%w/v', amount = 250 "
        "WHERE id = (SELECT MIN(id) FROM mixture_components)"
    ),
    "concentration above 100 %v/v (direct)": (
        "UPDATE experiments SET concentration = 150, concentration_unit = '%v/v' "
        "WHERE record_id = 't:3'"
    ),
    "value outside the property's range (direct)": (
        "UPDATE experiments SET value = 5000 WHERE record_id = 't:1'"
    ),
}

LONG_TEXT = "UPDATE experiments SET source = :long WHERE record_id = 't:2'"


# --- faults written with the safeguards off (the health checks must find them) -------------


def _table_of(constraint: str) -> str:
    tables = ("mixture_components", "experiments", "molecules", "mixtures")
    return next(t for t in tables if constraint.startswith(f"ck_{t}_"))


def _unchecked(connection: Connection, constraint: str, sql: str) -> None:
    if connection.dialect.name == "postgresql":
        table = _table_of(constraint)
        connection.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
    connection.execute(text(sql))


def _one(connection: Connection, sql: str) -> int:
    return connection.execute(text(sql)).scalar_one()


def _null_formula(engine: Engine) -> int:
    """Store a NULL in molecules.formula, NOT NULL in the schema; return the molecule's id."""
    with engine.begin() as connection:
        molecule = _one(connection, "SELECT id FROM molecules WHERE canonical_smiles = 'CC(O)CO'")
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ALTER TABLE molecules ALTER COLUMN formula DROP NOT NULL")
            connection.execute(
                text("UPDATE molecules SET formula = NULL WHERE id = :i"), {"i": molecule}
            )
            return molecule
    # SQLite cannot drop NOT NULL: edit the stored table definition, as a repair tool might
    with (
        _schema_edited(
            engine, "molecules", "formula VARCHAR(100) NOT NULL", "formula VARCHAR(100)"
        ),
        engine.begin() as connection,
    ):
        connection.execute(
            text("UPDATE molecules SET formula = NULL WHERE id = :i"), {"i": molecule}
        )
    return molecule


@contextmanager
def _schema_edited(engine: Engine, table: str, old: str, new: str):
    def edit(before: str, after: str) -> None:
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA writable_schema=ON")
            sql = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).scalar_one()
            assert before in sql
            connection.exec_driver_sql(
                "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                (sql.replace(before, after), table),
            )
            connection.exec_driver_sql("PRAGMA writable_schema=OFF")
            connection.commit()
        engine.dispose()  # connections read the schema afresh

    edit(old, new)
    try:
        yield
    finally:
        edit(new, old)


def _record(connection: Connection, record_id: str) -> int:
    return _one(connection, f"SELECT id FROM experiments WHERE record_id = '{record_id}'")


def _inject_health_faults(engine: Engine) -> dict[str, int | None]:
    """Write every health fault into ``engine``; return the row each must be found in."""
    rows: dict[str, int | None] = {"NULL in a NOT NULL column": _null_formula(engine)}
    with unguarded(engine) as c:
        _unchecked(
            c,
            "ck_experiments_exactly_one_subject",
            "INSERT INTO experiments (record_id, property, value, unit, citation, owner_id) "
            "SELECT 'fault:subject', 'tg', 200, 'K', 'made up', owner_id FROM experiments "
            "WHERE record_id = 't:1'",
        )
        rows["experiment with neither molecule nor mixture"] = _record(c, "fault:subject")
        _unchecked(
            c,
            "ck_experiments_visibility",
            "UPDATE experiments SET visibility = 'everyone' WHERE record_id = 't:2'",
        )
        rows["visibility outside the vocabulary"] = _record(c, "t:2")
        _unchecked(
            c,
            "ck_experiments_value_in_property_range",
            "UPDATE experiments SET value = 5000 WHERE record_id = 't:1'",
        )
        rows["value outside the property's range"] = _record(c, "t:1")
        _unchecked(
            c,
            "ck_experiments_concentration_volume_percent_at_most_100",
            "UPDATE experiments SET concentration = 150, concentration_unit = '%v/v' "
            "WHERE record_id = 't:3'",
        )
        rows["concentration above 100 %v/v"] = _record(c, "t:3")
        c.execute(text("UPDATE experiments SET unit = '%MGS' WHERE record_id = 't:5'"))
        rows["unit other than the property's"] = _record(c, "t:5")
        component = _one(c, "SELECT MIN(id) FROM mixture_components")
        _unchecked(
            c,
            "ck_mixture_components_weight_percent_at_most_100",
            f"UPDATE mixture_components SET unit = '%w/v', amount = 250 WHERE id = {component}",
        )
        rows["component above 100 %w/v"] = component
        c.exec_driver_sql(
            "INSERT INTO mixture_components (mixture_id, molecule_id, amount, unit) "
            "SELECT 999999, MIN(id), 1, 'level' FROM molecules"
        )
        rows["orphan foreign key"] = _one(c, "SELECT MAX(id) FROM mixture_components")
        c.exec_driver_sql(
            "INSERT INTO mixtures (composition_key, owner_id, visibility) "
            "SELECT 'fault:empty', owner_id, visibility FROM mixtures"
        )
        rows["mixture without components"] = _one(
            c, "SELECT id FROM mixtures WHERE composition_key = 'fault:empty'"
        )
        smiles = _one(c, "SELECT id FROM molecules WHERE canonical_smiles = 'NCC(=O)O'")
        c.exec_driver_sql(f"UPDATE molecules SET canonical_smiles = 'C1CC' WHERE id = {smiles}")
        rows["SMILES RDKit cannot read"] = smiles
        key = _one(c, "SELECT id FROM molecules WHERE canonical_smiles = 'OCC(O)C(O)CO'")
        c.exec_driver_sql(
            f"UPDATE molecules SET inchikey = 'AAAAAAAAAAAAAA-BBBBBBBBBB-N' WHERE id = {key}"
        )
        rows["InChIKey that disagrees with its SMILES"] = key
        c.exec_driver_sql("DROP INDEX ix_mixture_components_molecule_id")
        rows["dropped index"] = None
    if engine.dialect.name == "sqlite":  # SQLite stores what PostgreSQL refuses
        with engine.begin() as c:
            c.execute(text(LONG_TEXT), {"long": "s" * 150})
            rows["text longer than its column"] = _record(c, "t:2")
    return rows


HEALTH_FAULTS = {
    "NULL in a NOT NULL column": "molecules NOT NULL columns hold values",
    "experiment with neither molecule nor mixture": (
        "experiments rule ck_experiments_exactly_one_subject"
    ),
    "visibility outside the vocabulary": "experiments rule ck_experiments_visibility",
    "value outside the property's range": (
        "experiments rule ck_experiments_value_in_property_range"
    ),
    "concentration above 100 %v/v": (
        "experiments rule ck_experiments_concentration_volume_percent_at_most_100"
    ),
    "unit other than the property's": "orphan experiments.property+unit",
    "component above 100 %w/v": (
        "mixture_components rule ck_mixture_components_weight_percent_at_most_100"
    ),
    "orphan foreign key": "orphan mixture_components.mixture_id",
    "mixture without components": "mixtures have components",
    "SMILES RDKit cannot read": "molecules.canonical_smiles parses",
    "InChIKey that disagrees with its SMILES": "molecules.inchikey agrees with the SMILES",
    "dropped index": "mixture_components matches the schema",
    "text longer than its column": "experiments texts fit their columns",
}
"""Fault name -> the health check that must fail."""


FAULTS: list[Fault] = (
    [Fault(f"file: {name}", _both(IMPORTER), field) for name, (_, field) in IMPORTED.items()]
    + [Fault(f"file: {name}", _both(IMPORTER), "") for name in FILE_SHAPES]
    + [Fault(name, _both(DATABASE)) for name in DIRECT]
    + [Fault("text longer than its column (direct)", {"sqlite": HEALTH, "postgresql": DATABASE})]
    + [
        Fault(f"safeguards off: {name}", _both(HEALTH), check)
        for name, check in HEALTH_FAULTS.items()
        if name != "text longer than its column"
    ]
    + [
        Fault(
            "SQLite integrity_check finds the NULL", {"sqlite": HEALTH}, "SQLite integrity_check"
        ),
        Fault(
            "SQLite foreign_key_check finds the orphan",
            {"sqlite": HEALTH},
            "SQLite foreign_key_check",
        ),
    ]
)
"""The fault-injection table (docs/operations/health.md prints it)."""


def test_the_table_holds_at_least_17_distinct_faults_caught_on_both_backends():
    on_both = [f for f in FAULTS if set(f.caught_by) == {"sqlite", "postgresql"}]
    assert len({f.name for f in on_both}) == len(on_both) >= 17


def test_the_operations_page_prints_the_table():
    page = (REPO_ROOT / "docs" / "operations" / "health.md").read_text()
    for fault in FAULTS:
        assert f"| {fault.name} |" in page, fault.name


# --- the importer ---------------------------------------------------------------------------


@pytest.fixture
def scratch(database_url, tmp_path) -> Engine:
    """A migrated database holding the made-up rows."""
    engine = scratch_database(database_url, tmp_path)
    yield engine
    engine.dispose()


def _refused(engine: Engine, path: Path) -> list[tuple[int, str]]:
    before = database_stats(engine)
    with pytest.raises(ImportValidationError) as caught:
        import_experiments(engine, path, owner="ada")
    assert database_stats(engine) == before, "a refused file wrote something"
    return [(e.line, e.field) for e in caught.value.errors]


@pytest.mark.parametrize("name", list(IMPORTED))
def test_the_importer_refuses_a_file_fault(scratch, tmp_path, name):
    change, field = IMPORTED[name]
    good = {**MADE_UP_ROWS[0], "record_id": "new:1"}
    path = write_rows(tmp_path / "lab.csv", [good, {**good, "record_id": "new:2", **change}])
    assert (3, field) in _refused(scratch, path)


def test_the_importer_refuses_a_row_with_an_extra_field(scratch, tmp_path):
    path = write_rows(tmp_path / "lab.csv", [{**MADE_UP_ROWS[0], "record_id": "new:1"}])
    path.write_text(path.read_text().rstrip("\n") + ",surplus\n")
    assert _refused(scratch, path) == [(2, "(beyond 'notes')")]


def test_the_importer_refuses_a_measurement_repeated_without_record_id(scratch, tmp_path):
    row = {**MADE_UP_ROWS[1], "record_id": "", "value": "345"}
    assert _refused(scratch, write_rows(tmp_path / "lab.csv", [row, row])) == [(3, "record_id")]


# --- the database ---------------------------------------------------------------------------


def _database_refuses(engine: Engine, sql: str, **values) -> bool:
    with engine.connect() as connection:
        try:
            connection.execute(text(sql), values)
        except DBAPIError:
            return True
        finally:
            connection.rollback()
    return False


@pytest.mark.parametrize("name", list(DIRECT))
def test_the_database_refuses_a_directwrite_rows(scratch, name):
    assert _database_refuses(scratch, DIRECT[name])


def test_a_text_longer_than_its_column_is_refused_by_postgresql_and_found_by_health(scratch):
    refused = _database_refuses(scratch, LONG_TEXT, long="s" * 150)
    assert refused == (scratch.dialect.name == "postgresql")
    # SQLite stores it: the health checks find it (see test_health_finds_a_fault)


def test_a_nul_character_is_refused_by_postgresql_and_by_the_importer(scratch, tmp_path):
    # Not in the table: SQLite stores a NUL written past the importer, and no check finds it
    sql = "UPDATE experiments SET notes = :notes WHERE record_id = 't:1'"
    refused = _database_refuses(scratch, sql, notes="a\x00b")
    assert refused == (scratch.dialect.name == "postgresql")
    change, field = IMPORTED["NUL character in a field"]
    path = write_rows(tmp_path / "lab.csv", [{**MADE_UP_ROWS[0], "record_id": "new:1", **change}])
    assert _refused(scratch, path) == [(2, field)]


# --- the health checks ----------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def broken(request, tmp_path_factory):
    """A database with every health fault written into it, and its health report."""
    for url in _database_url(request, tmp_path_factory):
        engine = scratch_database(url, tmp_path_factory.mktemp("rows"))
        rows = _inject_health_faults(engine)
        report = run_health(engine)
        yield engine.dialect.name, rows, {r.name: r for r in report.problems}, report
        engine.dispose()


@pytest.mark.parametrize("name", list(HEALTH_FAULTS))
def test_health_finds_a_fault(broken, name):
    backend, rows, problems, report = broken
    if name not in rows:
        pytest.skip(f"{backend} refuses this fault itself (see the database tests)")
    check = problems.get(HEALTH_FAULTS[name])
    assert check is not None, f"{name}: {HEALTH_FAULTS[name]} did not fail"
    assert check.status == "fail" and check.severity == "critical"
    assert not report.passed
    if rows[name] is not None:
        named = {r.get("id", r.get("code")) for r in check.rows}
        assert rows[name] in named, (name, check.rows)


def test_a_grouped_check_names_the_column_it_found(broken):
    _, rows, problems, _ = broken
    nulls = problems["molecules NOT NULL columns hold values"]
    assert nulls.column == "formula"
    assert nulls.rows == [{"id": rows["NULL in a NOT NULL column"], "broken_column": "formula"}]


def test_sqlites_own_integrity_check_changes_the_verdict(broken):
    backend, _, problems, report = broken
    if backend != "sqlite":
        pytest.skip("PRAGMA integrity_check is SQLite's")
    integrity = problems["SQLite integrity_check"]
    assert (integrity.status, integrity.table, integrity.column) == ("fail", "molecules", "formula")
    assert re.search(r"NULL value in molecules\.formula", integrity.message)
    assert report.diagnostics["integrity_check"] != "ok"
    orphans = problems["SQLite foreign_key_check"]
    assert (orphans.status, orphans.table) == ("fail", "experiments,mixture_components")
