"""The access rules on both backends, through the application's sessions.

PostgreSQL enforces them with Row Level Security, SQLite through the session
(:mod:`cryoprotect.db.visibility`); the same tests and the same access matrix hold on both.
Each test gets a throwaway database seeded with the curated reference data (public, owned by
the system user); the users, molecules, mixtures and measurements added are made up.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, text, update

from cryoprotect.db.access import SERVICE_ROLE, user_session
from cryoprotect.db.importer import import_experiments
from cryoprotect.db.schema import (
    Experiment,
    LabVerification,
    Mixture,
    MixtureComponent,
    ModelVersion,
    Molecule,
    Prediction,
    User,
)
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


@pytest.fixture
def published(two_users):
    """alice's public molecule, experiment and mixture, and bob's private rows that use them:
    a prediction and an experiment on the molecule, and a verification (with notes and his
    prediction) of alice's experiment. All made up."""
    engine, ids = two_users
    alice, bob = ids["alice"], ids["bob"]
    rows = {}
    with user_session(engine, None, SERVICE_ROLE) as session:
        version = ModelVersion(property="tg", version="made-up")
        molecule = Molecule(
            inchikey="PUBLICPUBLICPU-UHFFFAOYSA-N",
            canonical_smiles="CCCCCCCO",
            formula="C7H16O",
            molecular_weight=116.2,
            owner_id=alice,
            visibility="public",
            name="alice's public",
        )
        session.add_all([version, molecule])
        session.flush()
        experiment = Experiment(**MEASUREMENT, molecule_id=molecule.id, owner_id=alice)
        experiment.visibility = "public"
        mixture = Mixture(composition_key="alice-public-mix", owner_id=alice, visibility="public")
        mixture.components = [MixtureComponent(molecule_id=molecule.id, amount=1, unit="level")]
        prediction = Prediction(
            model_version_id=version.id, molecule_id=molecule.id, value=200, owner_id=bob
        )
        bobs = Experiment(**MEASUREMENT, molecule_id=molecule.id, owner_id=bob)
        session.add_all([experiment, mixture, prediction, bobs])
        session.flush()
        verification = LabVerification(
            experiment_id=experiment.id,
            prediction_id=prediction.id,
            verifier_id=bob,
            notes="made-up private notes",
        )
        session.add(verification)
        session.flush()
        rows = {
            "molecule": molecule.id,
            "experiment": experiment.id,
            "mixture": mixture.id,
            "component": mixture.components[0].id,
            "prediction": prediction.id,
            "bobs_experiment": bobs.id,
            "verification": verification.id,
        }
    return engine, ids, rows


MEASUREMENT = {"property": "tg", "value": 200, "unit": "K", "citation": "made up"}


def test_a_verification_is_read_only_by_its_verifier(published):
    engine, ids, rows = published
    for user in (ids["alice"], None):  # the experiment's owner, and nobody
        with user_session(engine, user) as session:
            assert session.get(LabVerification, rows["verification"]) is None
    with user_session(engine, ids["bob"]) as session:
        assert session.get(LabVerification, rows["verification"]).notes == "made-up private notes"


def test_pointing_at_anothers_private_prediction_is_refused_like_a_missing_one(published):
    engine, ids, rows = published
    reasons = []
    for prediction in (rows["prediction"], 999_999):
        with pytest.raises(AccessDenied) as refused, user_session(engine, ids["alice"]) as s:
            s.add(
                LabVerification(
                    experiment_id=rows["experiment"],
                    prediction_id=prediction,
                    verifier_id=ids["alice"],
                )
            )
            s.flush()
        reasons.append(str(refused.value).replace(str(prediction), "N"))
    assert reasons[0] == reasons[1]


def test_users_change_only_their_display_name_and_email(published):
    engine, ids, _ = published
    for change in ({"username": "carol"}, {"username": "bob"}, {"kind": "system"}):
        with pytest.raises(AccessDenied), user_session(engine, ids["alice"]) as session:
            user = session.get(User, ids["alice"])
            for key, value in change.items():
                setattr(user, key, value)
            session.flush()
    with user_session(engine, ids["alice"]) as session:
        session.get(User, ids["alice"]).display_name = "Alice (made up)"
    with user_session(engine, None, SERVICE_ROLE) as session:
        alice = session.get(User, ids["alice"])
        assert (alice.username, alice.display_name) == ("alice", "Alice (made up)")


def test_public_rows_others_depend_on_are_not_deleted_hidden_or_rewritten(published):
    engine, ids, rows = published
    for model, key in ((Molecule, "molecule"), (Experiment, "experiment"), (Mixture, "mixture")):
        with user_session(engine, ids["alice"]) as session:
            gone = session.execute(delete(model).where(model.id == rows[key])).rowcount
        assert gone == 0
    changes = (
        (Molecule, "molecule", "canonical_smiles", "CCCCCCCCl"),
        (Molecule, "molecule", "visibility", "private"),
        (Experiment, "experiment", "value", 250.0),
        (Mixture, "mixture", "visibility", "private"),
    )
    for model, key, column, value in changes:
        with pytest.raises(AccessDenied), user_session(engine, ids["alice"]) as session:
            setattr(session.get(model, rows[key]), column, value)
            session.flush()
    with user_session(engine, ids["alice"]) as session:
        assert (
            session.execute(  # a public mixture's components are fixed
                update(MixtureComponent)
                .where(MixtureComponent.id == rows["component"])
                .values(amount=2)
            ).rowcount
            == 0
        )
        session.get(Molecule, rows["molecule"]).name = "alice's renamed"
        session.get(Experiment, rows["experiment"]).notes = "made-up remark"
    with user_session(engine, ids["bob"]) as session:  # bob's rows and view are intact
        molecule = session.get(Molecule, rows["molecule"])
        assert (molecule.canonical_smiles, molecule.name) == ("CCCCCCCO", "alice's renamed")
        assert session.get(Prediction, rows["prediction"]) is not None
        assert session.get(LabVerification, rows["verification"]) is not None
        assert session.get(MixtureComponent, rows["component"]).amount == 1


def test_a_user_publishes_an_imported_mixture_with_its_components(two_users, tmp_path):
    engine, ids = two_users
    table = tmp_path / "mixture.csv"
    table.write_text(
        "record_id,property,value,unit,components,citation\n"
        "lab:mix,viability,50,% recovery,glycerol:10 %v/v;sucrose:5 %w/v,made-up test fixture\n"
    )
    import_experiments(engine, table, owner="alice", visibility="public")
    with user_session(engine, ids["bob"]) as session:
        mixture = session.scalars(select(Mixture).where(Mixture.owner_id == ids["alice"])).all()
        public = [m for m in mixture if m.visibility == "public"]
        assert len(public) == 1 and len(public[0].components) == 2
