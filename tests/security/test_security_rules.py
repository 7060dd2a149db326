"""The access rules on both backends, through the application's sessions.

PostgreSQL enforces them with Row Level Security, SQLite through the session
(:mod:`cryoprotect.db.visibility`); the same tests and the same access matrix hold on both.
Each test gets a throwaway database seeded with the curated reference data (public, owned by
the system user); the users, molecules, mixtures and measurements added are made up.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text, update

from cryoprotect.db.access import user_session
from cryoprotect.db.schema import Experiment, Mixture, MixtureComponent, Molecule, User
from cryoprotect.db.visibility import AccessDenied
from cryoprotect.security.rls import ACTORS, OPERATIONS, RlsReport, orm_access_matrix


def assert_refused(engine, user_id, row) -> None:
    """Storing ``row`` while acting for ``user_id`` is refused."""
    with pytest.raises(AccessDenied), user_session(engine, user_id) as session:
        session.add(row)
        session.flush()


def test_users_see_their_own_and_public_rows_through_the_orm(two_users):
    engine, ids = two_users
    with user_session(engine, ids["alice"]) as session:
        names = set(session.scalars(select(Molecule.name).where(Molecule.owner_id != 1)))
        assert names == {"alice's"}
        assert session.scalar(select(func.count()).select_from(Molecule)) == 578 + 1
    with user_session(engine, None) as session:  # nobody: public rows only
        assert session.scalar(select(func.count()).select_from(Molecule)) == 578
        assert session.scalar(select(func.count()).select_from(Mixture)) == 184


def test_a_forged_owner_is_refused(two_users):
    engine, ids = two_users
    forged = Experiment(
        property="tg",
        value=200,
        unit="K",
        molecule_id=1,
        citation="made up",
        owner_id=ids["alice"],
    )
    assert_refused(engine, ids["bob"], forged)


def test_nobody_attaches_to_anothers_mixture_or_private_molecule(two_users):
    engine, ids = two_users
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
        assert_refused(engine, ids["bob"], attempt)


def test_without_a_user_nothing_can_be_written(two_users):
    engine, ids = two_users
    assert_refused(engine, None, User(username="sneaky"))


def test_the_reviewer_reads_only_and_the_service_role_bypasses(two_users):
    engine, ids = two_users
    refused = pytest.raises(AccessDenied)
    with refused, user_session(engine, ids["alice"], role="cryoprotect_reviewer") as session:
        session.execute(update(Molecule).values(name=Molecule.name))
    with user_session(engine, None, role="cryoprotect_service") as session:
        assert session.scalar(select(func.count()).select_from(Molecule)) == 578 + 2


def test_the_same_access_matrix_holds_through_the_orm(two_users):
    engine, _ = two_users
    report = RlsReport(probes=orm_access_matrix(engine))
    assert len(report.probes) == 11 * len(OPERATIONS) * len(ACTORS)
    assert report.passed, [p for p in report.probes if p.leak or p.blocked]


def test_an_update_statement_touches_only_the_users_rows(two_users):
    engine, ids = two_users
    with user_session(engine, ids["bob"]) as session:
        renamed = session.execute(update(Molecule).values(name="taken over")).rowcount
    assert renamed == 1  # bob's own molecule only
    with engine.connect() as connection:
        assert (
            connection.execute(
                text("SELECT count(*) FROM molecules WHERE name = 'taken over'")
            ).scalar_one()
            == 1
        )
