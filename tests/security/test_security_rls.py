"""Row Level Security on the real PostgreSQL: the verifier's matrix and attempts to break out.

Each test gets a throwaway database migrated to the newest revision and seeded with the
curated reference data (all of it public, owned by the system user). The users, molecules,
mixtures and measurements added here are made up for the tests.
"""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from tests.security.security_support import import_as
from typer.testing import CliRunner

from cryoprotect.cli.main import app
from cryoprotect.db import migrations
from cryoprotect.db.access import act_as, user_session
from cryoprotect.db.repair import repair
from cryoprotect.db.visibility import AccessDenied
from cryoprotect.security.attacks import FORGERIES
from cryoprotect.security.rls import ACTORS, OPERATIONS, verify

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
runner = CliRunner()


def test_the_matrix_and_the_attacks_cover_every_table_and_find_no_leak(two_users):
    engine, _ = two_users
    report = verify(engine)
    assert report.passed, report.to_dict()["leaks"] + report.to_dict()["blocked"]
    matrix = 11 * len(OPERATIONS)
    assert len(report.probes) == matrix * len(ACTORS)
    logins = {p.actor for p in report.attacks if p.actor.startswith(("person's", "login"))}
    assert logins >= {f"person's login forging the owner by {way}" for way in FORGERIES}
    forged = [p for p in report.attacks if "forging" in p.actor or "acting for" in p.actor]
    assert len(forged) == (len(FORGERIES) + 2) * matrix
    kinds = {p.operation for p in report.attacks}
    assert {
        "verify against a prediction: tell another's private one from a missing one",
        "rename onto a new username",
        "delete a public molecule others use",
        "rewrite a public molecule's SMILES",
        "make a public molecule private",
        "read a new table granted to it",
        "switch to the service role",
    } <= kinds
    assert report.to_dict()["probes"] == len(report.probes) + len(report.attacks) == 581
    assert not any(report.audit.values())
    assert {"alembic_version", "event trigger cryoprotect_secure_new_relations"} <= set(
        report.audit
    )
    with engine.connect() as connection:  # the probe rows were rolled back
        assert (
            connection.execute(
                text("SELECT count(*) FROM users WHERE username LIKE 'rls-verify-%'")
            ).scalar_one()
            == 0
        )


def test_a_table_without_rls_fails_the_verifier_with_leaks(two_users):
    engine, _ = two_users
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


def test_raw_sql_as_the_application_role_is_bound_too(two_users):
    engine, ids = two_users
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


def test_migrations_downgrade_and_upgrade_again(two_users):
    engine, _ = two_users
    migrations.downgrade(engine, "0001")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM pg_policies")).scalar_one() == 0
    migrations.upgrade(engine)  # the roles exist already: created only when missing
    assert verify(engine).passed


def test_act_as_rejects_unknown_roles(two_users):
    engine, _ = two_users
    with engine.connect() as connection, pytest.raises(ValueError, match="unknown role"):
        act_as(connection, 1, role="postgres")


def test_repair_refuses_a_role_that_cannot_see_every_row(two_users):
    engine, _ = two_users
    with engine.connect() as connection:
        connection.exec_driver_sql("SET ROLE cryoprotect_app")
        with pytest.raises(PermissionError, match="bypasses Row Level Security"):
            repair(connection)
        connection.exec_driver_sql("RESET ROLE")
        assert repair(connection, dry_run=True) == []  # as the superuser: nothing orphaned


def test_an_import_by_a_login_that_cannot_act_as_the_service_is_refused_whole(
    two_users, login, tmp_path
):
    engine, _ = two_users
    _, person = login("person", "cryoprotect_app")
    result = import_as(person, tmp_path, "carol")
    assert result.exit_code == 1
    assert "refused by the access rules; nothing was imported" in result.output
    assert "permission denied to set role" in result.output
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM users")).scalar_one() == 3


def test_the_attacks_catch_a_trusted_setting_and_each_reopened_leak(two_users):
    engine, _ = two_users
    with engine.begin() as connection:  # undo this revision's fixes, one by one
        connection.execute(
            text(
                "CREATE OR REPLACE FUNCTION cryoprotect_current_user() RETURNS integer "
                "LANGUAGE sql STABLE AS $$ SELECT NULLIF(current_setting('app.current_user_id', "
                "true), '')::integer $$"
            )
        )
        connection.execute(text("GRANT UPDATE ON users TO cryoprotect_app"))
        connection.execute(text("DROP TRIGGER molecules_keep_published ON molecules"))
        connection.execute(text("DROP POLICY lab_verifications_select ON lab_verifications"))
        connection.execute(
            text(
                "CREATE POLICY lab_verifications_select ON lab_verifications FOR SELECT "
                "TO cryoprotect_app USING (experiment_id IN (SELECT id FROM experiments))"
            )
        )
    report = verify(engine)
    assert not report.passed
    leaks = {(p.actor, p.operation, p.table) for p in report.attacks if p.leak}
    for way in FORGERIES:
        actor = f"person's login forging the owner by {way}"
        assert {(actor, "select", "predictions"), (actor, "delete", "molecules")} <= leaks
    assert ("login of nobody forging the owner by set_config", "select", "molecules") in leaks
    assert ("other", "rename onto a new username", "users") in leaks
    assert ("other", "rewrite a public molecule's SMILES", "molecules") in leaks
    assert ("other", "make a public molecule private", "molecules") in leaks
    assert ("anonymous", "read a verification of a public experiment", "lab_verifications") in leaks
    url = engine.url.render_as_string(hide_password=False)
    result = runner.invoke(app, ["rls", "verify", "--database-url", url])
    assert result.exit_code == 1
    assert "LEAK other rewrite a public molecule's SMILES molecules" in result.output


def test_a_new_table_granted_to_the_application_stays_closed(two_users):
    engine, ids = two_users
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE lab_notes (id serial PRIMARY KEY, secret text)"))
        connection.execute(text("INSERT INTO lab_notes (secret) VALUES ('made-up secret')"))
        connection.execute(text("GRANT ALL ON lab_notes TO cryoprotect_app"))
        connection.execute(text("GRANT USAGE ON SEQUENCE lab_notes_id_seq TO cryoprotect_app"))
    with user_session(engine, ids["alice"]) as session:
        assert session.execute(text("SELECT count(*) FROM lab_notes")).scalar_one() == 0
    with pytest.raises(AccessDenied), user_session(engine, ids["alice"]) as session:
        session.execute(text("INSERT INTO lab_notes (secret) VALUES ('x')"))
    report = verify(engine)
    assert report.passed and report.audit["lab_notes"] == []
    with engine.begin() as connection:
        connection.execute(text("ALTER EVENT TRIGGER cryoprotect_secure_new_relations DISABLE"))
        connection.execute(text("CREATE TABLE lab_secrets AS SELECT 'made-up secret' AS secret"))
        connection.execute(text("GRANT SELECT ON lab_secrets TO cryoprotect_app"))
        connection.execute(text("CREATE VIEW every_molecule AS SELECT * FROM molecules"))
        connection.execute(text("GRANT SELECT ON every_molecule TO cryoprotect_reviewer"))
    with user_session(engine, ids["alice"]) as session:  # what the trigger prevents
        assert session.execute(text("SELECT count(*) FROM lab_secrets")).scalar_one() == 1
    report = verify(engine)
    assert not report.passed
    assert report.audit["lab_secrets"] == [
        "row level security is not enabled",
        "row level security is not forced",
    ]
    assert report.audit["every_molecule"] == [
        "a view the application roles may read runs with its owner's rights"
    ]
    assert report.audit["event trigger cryoprotect_secure_new_relations"]


def test_verify_needs_a_superuser(login):
    _, eng = login("migrator", "cryoprotect_app")
    url = eng.url.render_as_string(hide_password=False)
    result = runner.invoke(app, ["rls", "verify", "--database-url", url])
    assert result.exit_code == 1
    assert "rls verify needs a superuser connection" in result.output
