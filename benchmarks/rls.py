"""Queries per second on PostgreSQL with and without Row Level Security, in the same run.

    .venv/bin/python benchmarks/rls.py [--seconds 5]

Creates a throwaway database on CRYOPROTECT_TEST_POSTGRES_URL's server, migrates and seeds it
with the curated reference data plus a made-up private user with 1,000 made-up private
measurements (for volume and for rows the policies must hide), then runs the same mix of
queries for ``--seconds`` each way, one transaction per query as the application does:

- without RLS: as the connecting superuser (which the policies do not bind);
- with RLS: as ``cryoprotect_app`` acting for a user (``SET LOCAL ROLE`` and
  ``set_config('app.current_user_id', ..., true)``, i.e. :func:`cryoprotect.db.access.act_as`).

The mix: a lookup of one measurement by id, the 50 newest Tg measurements with their
molecules, and a count of visible measurements per property.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cryoprotect.config import get_settings
from cryoprotect.db.access import act_as
from cryoprotect.db.engine import make_engine
from cryoprotect.db.migrations import upgrade
from cryoprotect.db.seed import seed

POSTGRES_URL = os.environ.get(
    "CRYOPROTECT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
QUERIES = (
    text("SELECT value FROM experiments WHERE id = 500"),
    text(
        "SELECT e.id, e.value, m.name FROM experiments e JOIN molecules m ON m.id = e.molecule_id "
        "WHERE e.property = 'tg' ORDER BY e.id DESC LIMIT 50"
    ),
    text("SELECT property, count(*) FROM experiments GROUP BY property"),
)


def rate(engine, seconds: float, user_id: int | None) -> float:
    """Return queries per second of the mix, acting for ``user_id`` (``None``: no RLS)."""
    done, deadline = 0, time.perf_counter() + seconds
    with engine.connect() as connection:
        while time.perf_counter() < deadline:
            for query in QUERIES:
                with connection.begin():
                    if user_id is not None:
                        act_as(connection, user_id)
                    connection.execute(query).all()
                done += 1
    return done / seconds


def main() -> None:
    """Build the database, measure both ways, print the rates and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"cryoprotect_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        engine = make_engine(make_url(POSTGRES_URL).set(database=name).render_as_string(False))
        upgrade(engine)
        seed(engine, get_settings().resolved_reference_dir)
        with engine.begin() as connection:
            user = connection.execute(
                text("INSERT INTO users (username) VALUES ('bench') RETURNING id")
            ).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO experiments (property, value, unit, molecule_id, citation, "
                    "owner_id) SELECT 'tg', 150 + g % 100, 'K', 1 + g % 500, 'made up', :u "
                    "FROM generate_series(1, 1000) AS g"
                ),
                {"u": user},
            )
        rate(engine, 1.0, user)  # warm-up
        plain = rate(engine, args.seconds, None)
        bound = rate(engine, args.seconds, user)
        engine.dispose()
        print(f"without RLS (superuser):        {plain:8.0f} queries/s")
        print(f"with RLS (cryoprotect_app):     {bound:8.0f} queries/s")
        print(f"RLS costs {1 - bound / plain:.0%} of the throughput (ratio {bound / plain:.2f})")
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
