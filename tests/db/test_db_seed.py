"""Seeding the curated reference data: counts as curated, and a second seed adds nothing."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from conftest import REFERENCE_DIR
from cryoprotect.db.schema import Experiment, Mixture, Molecule, User
from cryoprotect.db.seed import seed
from cryoprotect.db.stats import database_stats

SUMMARY = json.loads((REFERENCE_DIR / "summary.json").read_text())


def test_seed_loads_every_curated_row(seeded_engine):
    stats = database_stats(seeded_engine)
    assert stats["experiments"] == SUMMARY["experiments"]
    assert stats["molecules"] == SUMMARY["molecules"]
    assert stats["mixtures"] == SUMMARY["experiments"]["viability"]
    assert stats["users"] == 1 and stats["lab_verifications"] == 0


def test_second_seed_adds_nothing(seeded_engine):
    before = database_stats(seeded_engine)
    result = seed(seeded_engine, REFERENCE_DIR)
    assert result.experiments_added == result.molecules_added == result.mixtures_added == 0
    assert result.experiments_skipped == sum(SUMMARY["experiments"].values())
    assert database_stats(seeded_engine) == before


def test_seeded_rows_are_public_cited_and_owned_by_the_reference_user(seeded_engine):
    with Session(seeded_engine) as session:
        owners = set(session.scalars(select(User.username)))
        experiments = session.scalars(select(Experiment)).all()
        visibilities = set(session.scalars(select(Molecule.visibility)))
        visibilities |= set(session.scalars(select(Mixture.visibility)))
    assert owners == {"reference"}
    assert visibilities == {"public"}
    assert all(e.citation and e.visibility == "public" for e in experiments)


def test_viability_mixtures_hold_three_coded_components(seeded_engine):
    with Session(seeded_engine) as session:
        mixtures = session.scalars(select(Mixture)).all()
        names = {c.molecule.name for m in mixtures for c in m.components}
        shapes = {tuple(sorted(c.unit for c in m.components)) for m in mixtures}
    assert names == {"sucrose", "glycerol", "l-isoleucine"}
    assert shapes == {("level", "level", "level")}
