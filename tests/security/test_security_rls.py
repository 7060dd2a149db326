"""Row Level Security on the real PostgreSQL: the verifier's matrix and attempts to break out.

Each test gets a throwaway database migrated to the newest revision and seeded with the
curated reference data (all of it public, owned by the system user). The users, molecules,
mixtures and measurements added here are made up for the tests.
"""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from cryoprotect.cli.main import app
from cryoprotect.db import migrations
from cryoprotect.db.access import act_as
from cryoprotect.db.repair import repair
from cryoprotect.security.rls import ACTORS, OPERATIONS, verify

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
runner = CliRunner()


def test_the_matrix_has_every_table_operation_and_actor_and_no_leak(two_users):
    engine, _ = two_users
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


def test_an_import_by_a_login_that_cannot_act_as_the_service_is_refused_whole(two_users, tmp_path):
    engine, _ = two_users
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cp_test_login') "
            "THEN CREATE ROLE cp_test_login LOGIN; END IF; END $$"
        )
        connection.exec_driver_sql("GRANT cryoprotect_app TO cp_test_login")
    table = tmp_path / "lab.csv"
    table.write_text(
        "record_id,property,value,unit,smiles,citation\n"
        "lab:1,tg,200,K,CC(C)(C)CC(O)CO,made-up test fixture\n"
    )
    url = engine.url.set(username="cp_test_login").render_as_string(hide_password=False)
    result = runner.invoke(
        app, ["--database-url", url, "import", "experiments", str(table), "--owner", "carol"]
    )
    assert result.exit_code == 1
    assert "refused by the access rules; nothing was imported" in result.output
    assert "permission denied to set role" in result.output
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM users")).scalar_one() == 3
