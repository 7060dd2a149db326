"""Time a full health check on the seeded database and on one grown to 100,000 experiments.

    .venv/bin/python benchmarks/health.py [--experiments 100000]

Builds a scratch SQLite database with the curated reference data, times ``run_health`` on it,
then adds made-up copies of the reference measurements (values and records are synthetic,
for timing only, in a throwaway database) until it holds the requested number of
experiments, and times it again. The ratio is the cost of the larger database against the
seeded one in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from cryoprotect.config import get_settings
from cryoprotect.db.engine import make_engine
from cryoprotect.db.migrations import upgrade
from cryoprotect.db.seed import seed
from cryoprotect.health.report import run_health

COPY_COLUMNS = (
    "property, value, unit, uncertainty, molecule_id, mixture_id, reported_name, concentration, "
    "concentration_unit, assay, cell_type, cooling_rate_k_per_min, medium, source, reference, "
    "citation, doi, notes, owner_id, visibility"
)


def timed_health(engine) -> tuple[float, bool]:
    """Run the full health check; return its wall time and verdict."""
    start = time.perf_counter()
    report = run_health(engine)
    return time.perf_counter() - start, report.passed


def grow(engine, target: int) -> int:
    """Add synthetic copies of the experiments until there are ``target``; return the count."""
    with engine.begin() as connection:
        count = connection.execute(text("SELECT COUNT(*) FROM experiments")).scalar()
        batch = 0
        while count < target:
            batch += 1
            connection.execute(
                text(
                    f"INSERT INTO experiments (record_id, {COPY_COLUMNS}) "
                    f"SELECT 'synthetic:{batch}:' || id, {COPY_COLUMNS} FROM experiments "
                    f"WHERE record_id NOT LIKE 'synthetic:%' LIMIT :n"
                ),
                {"n": target - count},
            )
            count = connection.execute(text("SELECT COUNT(*) FROM experiments")).scalar()
    return count


def main() -> None:
    """Build, time, grow, time again, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'health.db'}")
        upgrade(engine)
        seed(engine, get_settings().resolved_reference_dir)
        run_health(engine)  # warm-up: imports and first connections
        seeded, healthy = timed_health(engine)
        print(f"seeded database (1,053 experiments): {seeded:6.2f} s, healthy: {healthy}")
        count = grow(engine, args.experiments)
        grown, healthy = timed_health(engine)
        print(f"grown database ({count:,} experiments):  {grown:6.2f} s, healthy: {healthy}")
        print(f"ratio grown / seeded: {grown / seeded:.1f}")


if __name__ == "__main__":
    main()
