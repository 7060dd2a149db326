"""The ``model_versions`` table: which trained models exist and which one serves."""

from __future__ import annotations

from sqlalchemy import Engine, select, update

from cryoprotect.db.access import SERVICE_ROLE, user_session
from cryoprotect.db.schema import ModelVersion


def record_model_version(
    engine: Engine, target: str, version: str, path: str, data_hash: str, metrics: dict
) -> None:
    """Register a newly trained model version as a candidate (as the service role)."""
    with user_session(engine, None, SERVICE_ROLE) as session:
        session.add(
            ModelVersion(
                property=target,
                version=version,
                stage="candidate",
                artifact_path=path,
                data_hash=data_hash,
                metrics=metrics,
            )
        )


def is_recorded(engine: Engine, target: str, version: str) -> bool:
    """Return whether ``version`` of ``target`` is in ``model_versions``."""
    with user_session(engine, None, SERVICE_ROLE) as session:
        return _row_id(session, target, version) is not None


def production_version(engine: Engine, target: str) -> str | None:
    """Return the version of ``target`` that ``model_versions`` marks production, if any."""
    with user_session(engine, None, SERVICE_ROLE) as session:
        return session.scalar(
            select(ModelVersion.version).where(
                ModelVersion.property == target, ModelVersion.stage == "production"
            )
        )


def _row_id(session, target: str, version: str) -> int | None:
    return session.scalar(
        select(ModelVersion.id).where(
            ModelVersion.property == target, ModelVersion.version == version
        )
    )


def set_production(engine: Engine, target: str, version: str) -> None:
    """Make ``version`` the production model of ``target``; the previous one is archived.

    Runs as the service role: model versions are reference data.
    """
    with user_session(engine, None, SERVICE_ROLE) as session:
        known = _row_id(session, target, version)
        if known is None:
            raise LookupError(f"model version {version!r} of {target} is not registered")
        session.execute(
            update(ModelVersion)
            .where(ModelVersion.property == target, ModelVersion.stage == "production")
            .values(stage="archived")
        )
        session.execute(
            update(ModelVersion).where(ModelVersion.id == known).values(stage="production")
        )
