"""Identity from the login on the real PostgreSQL: people's own logins cannot be anyone else.

Each test gets a throwaway database (seeded, with the made-up users alice and bob of the
``two_users`` fixture) and throwaway login roles (cluster-wide, dropped afterwards): a
person's login linked to alice, a login linked to nobody, the service's dedicated login and
an operator's login. The measurements and proposals written here are made up.
"""

from __future__ import annotations

import pandas as pd
import psycopg
import pytest
from sqlalchemy import Engine, func, select, text
from tests.security.security_support import import_as
from typer.testing import CliRunner

from cryoprotect.cli.main import app
from cryoprotect.db.access import link_login, user_session
from cryoprotect.db.model_versions import record_model_version
from cryoprotect.db.schema import Experiment, Molecule, Prediction, User
from cryoprotect.db.suggestions import record_suggestions
from cryoprotect.db.visibility import AccessDenied
from cryoprotect.security.audit import audit

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
runner = CliRunner()
FORGERIES = (
    "SELECT set_config('app.current_user_id', '{bob}', false)",
    "SET app.current_user_id = '{bob}'",
    "SET ROLE cryoprotect_app; SELECT set_config('app.current_user_id', '{bob}', false)",
    "SET ROLE cryoprotect_app; SET app.current_user_id = '{bob}'",
    "SET ROLE cryoprotect_app; SET LOCAL app.current_user_id = '{bob}'",
)
PUBLIC_MOLECULES = 578  # the curated reference set


@pytest.fixture
def alice_login(two_users, login) -> tuple[str, Engine]:
    """alice's own login (a member of cryoprotect_app), linked to her user."""
    engine, _ = two_users
    name, eng = login("person", "cryoprotect_app")
    link_login(engine, "alice", name)
    return name, eng


def _raw(eng: Engine) -> psycopg.Connection:
    url = eng.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(url, autocommit=True)


def _count(raw: psycopg.Connection, sql: str) -> int:
    return raw.execute(sql).fetchone()[0]


def test_a_persons_login_acts_as_that_person_whatever_it_sets(two_users, alice_login):
    _, ids = two_users
    _, eng = alice_login
    for forgery in FORGERIES:
        with _raw(eng) as raw:
            raw.execute("BEGIN")
            raw.execute(forgery.format(bob=ids["bob"]))
            assert _count(raw, "SELECT cryoprotect_current_user()") == ids["alice"], forgery
            assert _count(raw, "SELECT count(*) FROM molecules WHERE name = 'bob''s'") == 0
            assert _count(raw, "SELECT count(*) FROM molecules WHERE name = 'alice''s'") == 1
            assert (
                raw.execute("UPDATE molecules SET name = 'x' WHERE name = 'bob''s'").rowcount == 0
            )
            assert raw.execute("DELETE FROM molecules WHERE name = 'bob''s'").rowcount == 0
            assert raw.execute("UPDATE users SET display_name = 'Alice'").rowcount == 1  # own row
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                raw.execute(
                    "INSERT INTO experiments (property, value, unit, molecule_id, citation, "
                    f"owner_id) VALUES ('tg', 200, 'K', 1, 'made up', {ids['bob']})"
                )
            raw.execute("ROLLBACK")


def test_a_persons_login_cannot_switch_to_a_trusted_role_or_session(two_users, alice_login):
    _, eng = alice_login
    with _raw(eng) as raw:
        for statement in (
            "SET ROLE cryoprotect_service",
            "SET ROLE cryoprotect_delegate",
            "SET SESSION AUTHORIZATION postgres",
            "GRANT cryoprotect_delegate TO CURRENT_USER",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                raw.execute(statement)


def test_the_application_refuses_to_act_for_someone_else_on_a_persons_login(two_users, alice_login):
    _, ids = two_users
    _, eng = alice_login
    with user_session(eng, ids["alice"]) as session:
        names = set(session.scalars(select(Molecule.name).where(Molecule.owner_id != 1)))
        assert names == {"alice's"}
    for someone_else in (ids["bob"], None):
        with (
            pytest.raises(AccessDenied, match="acts only as user"),
            user_session(eng, someone_else),
        ):
            pass


def test_a_login_linked_to_nobody_sees_only_public_rows(two_users, login):
    _, ids = two_users
    _, eng = login("stranger", "cryoprotect_app")
    with _raw(eng) as raw:
        raw.execute(FORGERIES[2].format(bob=ids["bob"]))
        assert _count(raw, "SELECT count(*) FROM molecules") == PUBLIC_MOLECULES
        assert _count(raw, "SELECT count(*) FROM predictions") == 0


def test_the_services_login_acts_for_any_user(two_users, login):
    _, ids = two_users
    _, eng = login("service", "cryoprotect_app", "cryoprotect_delegate")
    for user in ("alice", "bob"):
        with user_session(eng, ids[user]) as session:
            names = set(session.scalars(select(Molecule.name).where(Molecule.owner_id != 1)))
            assert names == {f"{user}'s"}


def test_an_operators_login_imports_seeds_suggests_and_registers_for_users(
    two_users, login, tmp_path
):
    engine, _ = two_users
    _, eng = login("operator", "cryoprotect_app", "cryoprotect_service")
    imported = import_as(eng, tmp_path, "carol")
    assert imported.exit_code == 0, imported.output
    url = eng.url.render_as_string(hide_password=False)
    seeded = runner.invoke(app, ["--database-url", url, "db", "seed", "--format", "json"])
    assert seeded.exit_code == 0, seeded.output
    assert '"experiments_added": 0' in seeded.output  # seeded already: nothing new
    record_model_version(eng, "tg", "made-up-1", "models/tg", "made-up-hash", {})
    proposals = pd.DataFrame(
        {
            "inchikey": ["PGYPOBZJRVSMDS-UHFFFAOYSA-N"],
            "smiles": ["OCC(O)CCO"],
            "name": ["made-up proposal"],
            "prediction": [190.0],
            "lower": [180.0],
            "upper": [200.0],
            "in_domain": [True],
            "score": [1.0],
            "novelty": [0.5],
        }
    )
    assert len(record_suggestions(eng, "carol", "tg", "made-up-1", proposals)) == 1
    with user_session(engine, None, "cryoprotect_service") as session:
        carol = session.scalar(select(User.id).where(User.username == "carol"))
        assert (
            session.scalar(select(Experiment.owner_id).where(Experiment.record_id == "lab:1"))
            == carol
        )
        assert (
            session.scalar(
                select(func.count()).select_from(Prediction).where(Prediction.owner_id == carol)
            )
            == 1
        )


def test_link_login_refuses_logins_that_may_act_for_others(two_users, login):
    engine, _ = two_users
    operator, _ = login("operator", "cryoprotect_app", "cryoprotect_service")
    service, _ = login("service", "cryoprotect_app", "cryoprotect_delegate")
    for trusted in (operator, service, "postgres"):
        with pytest.raises(ValueError, match="may act for other users or bypass"):
            link_login(engine, "alice", trusted)
    with pytest.raises(LookupError, match="no PostgreSQL role"):
        link_login(engine, "alice", "cp_test_no_such_role")
    person, _ = login("person", "cryoprotect_app")
    url = engine.url.render_as_string(hide_password=False)
    linked = runner.invoke(app, ["--database-url", url, "db", "link-login", "bob", person])
    assert linked.exit_code == 0, linked.output
    unlinked = runner.invoke(app, ["--database-url", url, "db", "link-login", "bob", "--unlink"])
    assert unlinked.exit_code == 0, unlinked.output
    refused = runner.invoke(app, ["--database-url", url, "db", "link-login", "bob", operator])
    assert refused.exit_code == 1 and "may act for other users" in refused.output


def test_the_audit_names_people_who_could_act_for_others(two_users, login):
    engine, ids = two_users
    operator, _ = login("operator", "cryoprotect_app", "cryoprotect_service")
    with engine.connect() as connection:  # granted and linked only inside this transaction
        connection.execute(text("GRANT cryoprotect_delegate TO cryoprotect_reviewer"))
        connection.execute(
            text("UPDATE users SET db_role = :r WHERE id = :u"), {"r": operator, "u": ids["bob"]}
        )
        problems = audit(connection)
        connection.rollback()
    assert problems["role cryoprotect_reviewer"] == [
        "is a member of cryoprotect_delegate: every login of a person could act for others"
    ]
    assert problems[f"login {operator}"] == ["the login of user 'bob' may act for other users"]
    with engine.connect() as connection:
        assert not any(audit(connection).values())
