"""Performance diagnostics: unindexed foreign keys, representative query plans, table sizes."""

from __future__ import annotations

import time

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from cryoprotect.db.schema import Base

REPRESENTATIVE_QUERIES = {
    "training rows of one property": (
        "SELECT e.id, e.value, m.inchikey, m.canonical_smiles FROM experiments e "
        "JOIN molecules m ON m.id = e.molecule_id WHERE e.property = 'tg' ORDER BY e.id"
    ),
    "formulations with their components": (
        "SELECT x.id, c.amount, c.unit, m.canonical_smiles FROM mixtures x "
        "JOIN mixture_components c ON c.mixture_id = x.id "
        "JOIN molecules m ON m.id = c.molecule_id ORDER BY x.id"
    ),
    "molecule by InChIKey": (
        "SELECT id FROM molecules WHERE inchikey = 'LYCAIKOWRPUZTN-UHFFFAOYSA-N'"
    ),
    "measurements of one molecule": (
        "SELECT e.id, e.property, e.value FROM experiments e "
        "WHERE e.molecule_id = (SELECT MIN(id) FROM molecules)"
    ),
    "molecule by name or synonym": (
        "SELECT m.id FROM molecules m LEFT JOIN molecule_synonyms s ON s.molecule_id = m.id "
        "WHERE m.name = 'glycerol' OR s.synonym = 'glycerol'"
    ),
}
"""Queries the workbench runs all the time; their timings and plans show slow spots."""


def unindexed_foreign_keys(engine: Engine) -> list[dict]:
    """Return the foreign keys whose columns do not lead any index of their table."""
    inspector = inspect(engine)
    missing = []
    for table in inspector.get_table_names():
        leading = [tuple(i["column_names"]) for i in inspector.get_indexes(table)]
        leading += [tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)]
        leading.append(tuple(inspector.get_pk_constraint(table)["constrained_columns"]))
        for key in inspector.get_foreign_keys(table):
            columns = tuple(key["constrained_columns"])
            if not any(index[: len(columns)] == columns for index in leading):
                missing.append({"table": table, "columns": list(columns)})
    return missing


def _plan(connection, dialect: str, sql: str) -> list[str]:
    if dialect == "sqlite":
        rows = connection.execute(text(f"EXPLAIN QUERY PLAN {sql}")).all()
        return [str(row[-1]) for row in rows]
    return [str(row[0]) for row in connection.execute(text(f"EXPLAIN {sql}")).all()]


def query_timings(engine: Engine) -> list[dict]:
    """Time each representative query once and give its plan; slowest first."""
    dialect = engine.dialect.name
    timings = []
    with engine.connect() as connection:
        for name, sql in REPRESENTATIVE_QUERIES.items():
            try:
                start = time.perf_counter()
                rows = len(connection.execute(text(sql)).all())
                elapsed = time.perf_counter() - start
                plan = _plan(connection, dialect, sql)
            except SQLAlchemyError as error:
                timings.append({"query": name, "error": str(error).splitlines()[0]})
                continue
            timings.append({"query": name, "seconds": elapsed, "rows": rows, "plan": plan})
    return sorted(timings, key=lambda t: -t.get("seconds", float("inf")))


def table_sizes(engine: Engine) -> list[dict]:
    """Return row counts (and sizes in bytes where the database reports them) per table."""
    sizes = []
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            try:
                rows = connection.execute(text(f"SELECT COUNT(*) FROM {table.name}")).scalar()
            except SQLAlchemyError:
                sizes.append({"table": table.name, "rows": None, "bytes": None})
                connection.rollback()
                continue
            size = None
            if engine.dialect.name == "postgresql":
                size = connection.execute(
                    text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": table.name}
                ).scalar()
            sizes.append({"table": table.name, "rows": rows, "bytes": size})
    return sizes


def database_bytes(engine: Engine) -> int | None:
    """Return the size of the whole database in bytes."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            pages = connection.execute(text("PRAGMA page_count")).scalar()
            return pages * connection.execute(text("PRAGMA page_size")).scalar()
        if engine.dialect.name == "postgresql":
            return connection.execute(text("SELECT pg_database_size(current_database())")).scalar()
    return None


def integrity_check(engine: Engine) -> str | None:
    """Return SQLite's ``PRAGMA integrity_check`` verdict (``ok`` when sound); None elsewhere."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as connection:
        rows = connection.execute(text("PRAGMA integrity_check")).all()
    return "; ".join(str(row[0]) for row in rows)


def slow_statements(engine: Engine, limit: int = 5) -> list[dict] | None:
    """Return PostgreSQL's slowest statements by mean time (pg_stat_statements), if enabled."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        enabled = connection.execute(
            text("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
        ).scalar()
        if not enabled:
            return None
        try:
            rows = connection.execute(
                text(
                    "SELECT query, calls, mean_exec_time FROM pg_stat_statements "
                    "ORDER BY mean_exec_time DESC LIMIT :n"
                ),
                {"n": limit},
            ).all()
        except SQLAlchemyError:
            return None
    return [{"query": q, "calls": c, "mean_ms": m} for q, c, m in rows]


def diagnostics(engine: Engine) -> dict:
    """Collect every diagnostic of the database behind ``engine``."""
    return {
        "unindexed_foreign_keys": unindexed_foreign_keys(engine),
        "queries": query_timings(engine),
        "tables": table_sizes(engine),
        "database_bytes": database_bytes(engine),
        "integrity_check": integrity_check(engine),
        "pg_stat_statements": slow_statements(engine),
    }
