"""Shared fixtures: throwaway databases on SQLite and on the real PostgreSQL server.

PostgreSQL tests use the server at ``CRYOPROTECT_TEST_POSTGRES_URL`` (default: the local
server on 127.0.0.1:5432 as user postgres) and create a database per test, dropped afterwards.
An unreachable server fails those tests; ``CRYOPROTECT_TEST_POSTGRES=skip`` skips them on a
workstation without PostgreSQL (CI never sets it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from cryoprotect.db import migrations
from cryoprotect.db.engine import make_engine

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = REPO_ROOT / "data" / "reference"
POSTGRES_URL = os.environ.get(
    "CRYOPROTECT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the PostgreSQL server's maintenance database."""
    if os.environ.get("CRYOPROTECT_TEST_POSTGRES") == "skip":
        pytest.skip("CRYOPROTECT_TEST_POSTGRES=skip")
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        pytest.fail(
            f"PostgreSQL is unreachable at {make_url(POSTGRES_URL).render_as_string()}: "
            f"{error.orig}. Start it (see README), or set CRYOPROTECT_TEST_POSTGRES=skip."
        )
    _create_cluster_roles(engine)
    yield engine
    engine.dispose()


ROLES_LOCK = 7270001
"""The advisory lock (on the maintenance database) under which the cluster's roles are made."""


def _create_cluster_roles(admin: Engine) -> None:
    """Migrate a scratch database once, so the roles the migrations create exist.

    Roles belong to the whole server: tests running in parallel (pytest-xdist) would otherwise
    race to create them on a new server. Each worker takes the same advisory lock first.
    """
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ROLES_LOCK})
        try:
            for url in _throwaway_postgres(admin):
                scratch = make_engine(url)
                migrations.upgrade(scratch)
                scratch.dispose()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ROLES_LOCK})


def _throwaway_postgres(admin: Engine) -> Iterator[str]:
    name = f"cryoprotect_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _database_url(request, tmp_path_factory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        yield from _throwaway_postgres(request.getfixturevalue("postgres_admin"))


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path_factory) -> Iterator[str]:
    """The URL of a new, empty database (SQLite file or PostgreSQL database)."""
    yield from _database_url(request, tmp_path_factory)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a new database migrated to the newest revision."""
    eng = make_engine(database_url)
    migrations.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def seeded_engine(request, tmp_path_factory) -> Iterator[Engine]:
    """A migrated database holding the curated reference data, shared by a module's tests."""
    from cryoprotect.db.seed import seed

    for url in _database_url(request, tmp_path_factory):
        eng = make_engine(url)
        migrations.upgrade(eng)
        seed(eng, REFERENCE_DIR)
        yield eng
        eng.dispose()


@pytest.fixture(scope="session")
def reference_database(tmp_path_factory) -> str:
    """URL of a SQLite database holding the curated reference data (read-only for tests)."""
    from cryoprotect.db.seed import seed

    url = f"sqlite:///{tmp_path_factory.mktemp('reference') / 'reference.db'}"
    eng = make_engine(url)
    migrations.upgrade(eng)
    seed(eng, REFERENCE_DIR)
    eng.dispose()
    return url


@pytest.fixture(scope="session")
def reference_snapshot(reference_database, tmp_path_factory) -> Path:
    """A pipeline snapshot of :func:`reference_database` (read-only for tests)."""
    from cryoprotect.db.snapshot import export_snapshot

    folder = tmp_path_factory.mktemp("reference-snapshot") / "snapshot"
    export_snapshot(make_engine(reference_database), folder)
    return folder


@pytest.fixture(scope="session")
def trained_project(reference_database, reference_snapshot, tmp_path_factory) -> Path:
    """A project with features, models, SHAP values, a health report and Data Docs (read-only).

    The pipeline's steps run on the reference snapshot with the fast made-up parameters of
    ``pipeline_workspace`` (few trees, three folds): real models of the curated data, untuned.
    """
    from cryoprotect.health.report import run_health, write_report
    from cryoprotect.models.targets import TARGETS
    from cryoprotect.params import load_params
    from cryoprotect.pipeline.layout import Layout
    from cryoprotect.pipeline.steps import build_features, explain_target, train_target
    from pipeline_workspace import make_workspace

    root = make_workspace(tmp_path_factory.mktemp("trained") / "project", reference_snapshot)
    layout = Layout(root)
    params = load_params(layout.params)
    for name in TARGETS:
        build_features(layout, name, params)
        train_target(layout, name, params, promote=True)  # registry only: no database
        explain_target(layout, name, params.explain.rows)
    engine = make_engine(reference_database)
    folder = layout.reports / "health"
    write_report(run_health(engine, folder), folder)
    engine.dispose()
    return root


@pytest.fixture
def two_users(engine):
    """A seeded database of either backend, two made-up users (alice, bob) with a private
    molecule each, and a private mixture of alice's; returns the engine and their ids."""
    from cryoprotect.db.seed import seed

    seed(engine, REFERENCE_DIR)
    with engine.begin() as connection:
        ids = {}
        for name in ("alice", "bob"):
            ids[name] = connection.execute(
                text("INSERT INTO users (username) VALUES (:n) RETURNING id"), {"n": name}
            ).scalar_one()
        for name, key, smiles in (
            ("alice", "AAAAAAAAAAAAAA", "CCCCCO"),
            ("bob", "BBBBBBBBBBBBBB", "CCCCCCO"),
        ):
            connection.execute(
                text(
                    "INSERT INTO molecules (inchikey, canonical_smiles, formula, molecular_weight, "
                    "owner_id, name) VALUES (:k, :s, 'CxHyO', 88.1, :o, :n)"
                ),
                {"k": f"{key}-UHFFFAOYSA-N", "s": smiles, "o": ids[name], "n": f"{name}'s"},
            )
        connection.execute(
            text("INSERT INTO mixtures (composition_key, owner_id) VALUES ('alice-mix', :o)"),
            {"o": ids["alice"]},
        )
    return engine, ids


@pytest.fixture
def service_settings(trained_project, reference_database, tmp_path):
    """Settings of a prediction service on the trained test project, its reference database
    and a new, empty backup folder; one predictor process, background checks every 0.2 s."""
    from cryoprotect.config import Settings

    return Settings(
        root_dir=trained_project,
        database_url=reference_database,
        backup_dir=str(tmp_path / "backups"),
        service_workers=1,
        ready_check_interval=0.2,
    )


@pytest.fixture
def client(service_settings):
    """A test client of the prediction service for :func:`service_settings`, started."""
    from fastapi.testclient import TestClient

    from cryoprotect.service.app import create_app

    with TestClient(create_app(service_settings)) as started:
        wait_for_readings(started)
        yield started


def wait_for_readings(client, seconds: float = 30.0) -> None:
    """Wait until every background probe of ``client``'s service has read once."""
    import time

    service = client.app.state.service
    deadline = time.monotonic() + seconds
    while any(p.last is None for p in service.probes.values()):
        assert time.monotonic() < deadline, "the service's probes never read"
        time.sleep(0.05)


@pytest.fixture
def login(two_users, postgres_admin) -> Iterator[Callable[..., tuple[str, Engine]]]:
    """Make a throwaway login role, a member of ``roles``; return its name and engine."""
    engine, _ = two_users
    made: list[tuple[str, Engine]] = []

    def make(kind: str, *roles: str) -> tuple[str, Engine]:
        name = f"cp_test_{kind}_{uuid.uuid4().hex[:8]}"
        with postgres_admin.connect() as connection:
            connection.execute(text(f"CREATE ROLE {name} LOGIN IN ROLE {', '.join(roles)}"))
        made.append((name, make_engine(engine.url.set(username=name).render_as_string(False))))
        return made[-1]

    yield make
    for name, eng in made:
        eng.dispose()
        with postgres_admin.connect() as connection:
            connection.execute(text(f"DROP ROLE IF EXISTS {name}"))
