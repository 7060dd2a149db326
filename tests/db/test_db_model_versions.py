"""Model versions in the database: registered as candidates, one production per target."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cryoprotect.db.model_versions import record_model_version, set_production
from cryoprotect.db.schema import ModelVersion


def stages(engine) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.execute(select(ModelVersion.version, ModelVersion.stage)).all()
    return dict(rows)


def test_promotion_archives_the_previous_production_model(engine):
    for version in ("v1", "v2"):
        record_model_version(engine, "tg", version, f"models/tg/{version}", "hash", {"mae": 1.0})
    record_model_version(engine, "iri", "v1", "models/iri/v1", "hash", {"mae": 2.0})
    assert set(stages(engine).values()) == {"candidate"}
    set_production(engine, "tg", "v1")
    set_production(engine, "tg", "v2")
    with Session(engine) as session:
        rows = session.execute(
            select(ModelVersion.property, ModelVersion.version, ModelVersion.stage)
        ).all()
    assert sorted(rows) == [
        ("iri", "v1", "candidate"),
        ("tg", "v1", "archived"),
        ("tg", "v2", "production"),
    ]


def test_unknown_version_cannot_be_promoted(engine):
    with pytest.raises(LookupError, match="not registered"):
        set_production(engine, "tg", "nope")
