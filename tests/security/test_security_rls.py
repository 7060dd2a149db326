"""Row Level Security on the real PostgreSQL: the verifier's matrix and attempts to break out.

Each test gets a throwaway database migrated to the newest revision and seeded with the
curated reference data (all of it public, owned by the system user). The users, molecules,
mixtures and measurements added here are made up for the tests.
"""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, ProgrammingError
from typer.testing import CliRunner

from conftest import REFERENCE_DIR
from cryoprotect.cli.main import app
from cryoprotect.db import migrations
from cryoprotect.db.access import act_as, user_session
from cryoprotect.db.schema import Experiment, Mixture, MixtureComponent, Molecule, User
from cryoprotect.db.seed import seed
from cryoprotect.security.rls import ACTORS, OPERATIONS, verify

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
runner = CliRunner()


@pytest.fixture
def lab(engine):
    """The seeded database with two made-up users, each owning one private molecule."""
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


def test_the_matrix_has_every_table_operation_and_actor_and_no_leak(lab):
    engine, _ = lab
    report = verify(engine)
    assert report.passed, report.to_dict()["leaks"] + report.to_dict()["blocked"]
    assert len(report.probes) == 11 * len(OPERATIONS) * len(ACTORS)
    assert not any(report.audit.values())
    with engine.connect() as connection:  # the probe rows were rolled back
        assert (
            connection.execute(
                text("SELECT count(*) FROM users WHERE username LIKE 'rls-verify-%'")
            ).scalar_one()
            == 0
        )


def test_a_table_without_rls_fails_the_verifier_with_leaks(lab):
    engine, _ = lab
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE shares NO FORCE ROW LEVEL SECURITY"))
        connection.execute(text("ALTER TABLE shares DISABLE ROW LEVEL SECURITY"))
        connection.execute(text("DROP POLICY predictions_select ON predictions"))
    report = verify(engine)
    assert not report.passed
    assert "row level security is not enabled" in report.audit["shares"]
    leaks = {(p.table, p.operation, p.actor) for p in report.probes if p.leak}
    assert ("shares", "select", "other") in leaks and ("shares", "delete", "anonymous") in leaks
    blocked = {(p.table, p.operation, p.actor) for p in report.probes if p.blocked}
    assert ("predictions", "select", "owner") in blocked
    url = engine.url.render_as_string(hide_password=False)
    result = runner.invoke(app, ["rls", "verify", "--database-url", url])
    assert result.exit_code == 1
    assert "LEAK other select shares" in result.output and "FAILED" in result.output


def test_users_see_their_own_and_public_rows_through_the_orm(lab):
    engine, ids = lab
    with user_session(engine, ids["alice"]) as session:
        names = set(session.scalars(select(Molecule.name).where(Molecule.owner_id != 1)))
        assert names == {"alice's"}
        assert session.scalar(select(func.count()).select_from(Molecule)) == 578 + 1
    with user_session(engine, None) as session:  # nobody: public rows only
        assert session.scalar(select(func.count()).select_from(Molecule)) == 578
        assert session.scalar(select(func.count()).select_from(Mixture)) == 184


def test_a_forged_owner_is_refused(lab):
    engine, ids = lab
    forged = Experiment(
        property="tg",
        value=200,
        unit="K",
        molecule_id=1,
        citation="made up",
        owner_id=ids["alice"],
    )
    refused = pytest.raises(ProgrammingError, match="row-level security")
    with refused, user_session(engine, ids["bob"]) as session:
        session.add(forged)
        session.flush()


def test_nobody_attaches_to_anothers_mixture_or_private_molecule(lab):
    engine, ids = lab
    with engine.connect() as connection:
        alice_mixture = connection.execute(
            text("SELECT id FROM mixtures WHERE composition_key = 'alice-mix'")
        ).scalar_one()
        alice_molecule = connection.execute(
            text("SELECT id FROM molecules WHERE name = 'alice''s'")
        ).scalar_one()
    attempts = [
        MixtureComponent(mixture_id=alice_mixture, molecule_id=1, amount=1, unit="level"),
        Experiment(
            property="tg",
            value=200,
            unit="K",
            molecule_id=alice_molecule,
            citation="made up",
            owner_id=ids["bob"],
        ),
    ]
    for attempt in attempts:
        refused = pytest.raises(ProgrammingError, match="row-level security")
        with refused, user_session(engine, ids["bob"]) as session:
            session.add(attempt)
            session.flush()


def test_without_a_user_nothing_can_be_written(lab):
    engine, ids = lab
    refused = pytest.raises(ProgrammingError, match="row-level security")
    with refused, user_session(engine, None) as session:
        session.add(User(username="sneaky"))
        session.flush()


def test_raw_sql_as_the_application_role_is_bound_too(lab):
    engine, ids = lab
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as raw:
        raw.execute("SET ROLE cryoprotect_app")
        assert raw.execute("SELECT count(*) FROM molecules").fetchone()[0] == 578
        raw.execute("SELECT set_config('app.current_user_id', %s, false)", (str(ids["bob"]),))
        assert raw.execute("SELECT count(*) FROM molecules WHERE owner_id <> 1").fetchone()[0] == 1
        assert raw.execute("DELETE FROM molecules WHERE name = 'alice''s'").rowcount == 0
        assert raw.execute("UPDATE experiments SET value = 0").rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            raw.execute("ALTER TABLE molecules DISABLE ROW LEVEL SECURITY")


def test_the_reviewer_reads_only_and_the_service_role_bypasses(lab):
    engine, ids = lab
    refused = pytest.raises(DBAPIError, match="permission denied")
    with refused, user_session(engine, ids["alice"], role="cryoprotect_reviewer") as session:
        session.execute(text("UPDATE molecules SET name = name"))
    with user_session(engine, None, role="cryoprotect_service") as session:
        assert session.scalar(select(func.count()).select_from(Molecule)) == 578 + 2


def test_migrations_downgrade_and_upgrade_again(lab):
    engine, _ = lab
    migrations.downgrade(engine, "0001")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM pg_policies")).scalar_one() == 0
    migrations.upgrade(engine)  # the roles exist already: created only when missing
    assert verify(engine).passed


def test_act_as_rejects_unknown_roles(lab):
    engine, _ = lab
    with engine.connect() as connection, pytest.raises(ValueError, match="unknown role"):
        act_as(connection, 1, role="postgres")
