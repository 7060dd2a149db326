"""Alembic migrations on SQLite and PostgreSQL: upgrade, downgrade, agreement with models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint, inspect, select
from sqlalchemy.orm import Session

from cryoprotect.db import migrations
from cryoprotect.db.engine import make_engine
from cryoprotect.db.schema import Base, PropertyDef, check_name
from cryoprotect.vocabulary import PROPERTIES

TABLES = {
    "users",
    "properties",
    "molecules",
    "molecule_synonyms",
    "mixtures",
    "mixture_components",
    "experiments",
    "model_versions",
    "predictions",
    "lab_verifications",
    "shares",
}


def test_upgrade_creates_every_table_at_head(engine):
    assert migrations.current_revision(engine) == migrations.head_revision(engine) is not None
    assert set(inspect(engine).get_table_names()) >= TABLES


def test_migrated_schema_matches_the_models(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_property_definitions_match_the_vocabulary(engine):
    with Session(engine) as session:
        rows = {p.code: p for p in session.scalars(select(PropertyDef))}
    assert set(rows) == set(PROPERTIES)
    for code, definition in PROPERTIES.items():
        row = rows[code]
        assert (row.unit, row.min_value, row.max_value, row.in_solution) == (
            definition.unit,
            definition.min_value,
            definition.max_value,
            definition.in_solution,
        )


def test_every_foreign_key_column_is_indexed(engine):
    inspector = inspect(engine)
    unindexed = []
    for table in TABLES:
        indexed = [tuple(ix["column_names"]) for ix in inspector.get_indexes(table)]
        indexed += [tuple(uq["column_names"]) for uq in inspector.get_unique_constraints(table)]
        for fk in inspector.get_foreign_keys(table):
            columns = tuple(fk["constrained_columns"])
            if not any(cols[: len(columns)] == columns for cols in indexed):
                unindexed.append((table, columns))
    assert unindexed == []


def test_downgrade_to_base_and_upgrade_again(database_url):
    eng = make_engine(database_url)
    migrations.upgrade(eng)
    migrations.downgrade(eng, "base")
    assert migrations.current_revision(eng) is None
    assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
    migrations.upgrade(eng)
    assert set(inspect(eng).get_table_names()) >= TABLES
    eng.dispose()


def test_every_check_constraint_of_the_models_is_in_the_database(engine):
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_check_constraints(table.name)}
        wanted = {check_name(c) for c in table.constraints if isinstance(c, CheckConstraint)}
        assert wanted <= present, (table.name, wanted - present)
