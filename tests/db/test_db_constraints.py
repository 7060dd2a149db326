"""The database itself rejects invalid rows, even when the importer is bypassed.

Rows are written with SQLAlchemy Core straight to the tables; each rejected insert runs in a
savepoint so one transaction can try many.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from cryoprotect.db.schema import (
    Experiment,
    LabVerification,
    Mixture,
    MixtureComponent,
    Molecule,
    Share,
    User,
)
from cryoprotect.vocabulary import PROPERTIES

GLYCEROL = {
    "inchikey": "PEDCQBHIVMGVHV-UHFFFAOYSA-N",
    "canonical_smiles": "OCC(O)CO",
    "formula": "C3H8O3",
    "molecular_weight": 92.094,
}


@pytest.fixture
def conn(engine):
    """A connection in a transaction with one user, one molecule and one mixture."""
    with engine.connect() as connection, connection.begin() as outer:
        user = connection.execute(insert(User).values(username="ada").returning(User.id))
        uid = user.scalar_one()
        other = connection.execute(insert(User).values(username="bob").returning(User.id))
        mid = connection.execute(
            insert(Molecule).values(owner_id=uid, **GLYCEROL).returning(Molecule.id)
        ).scalar_one()
        xid = connection.execute(
            insert(Mixture).values(owner_id=uid, composition_key="k").returning(Mixture.id)
        ).scalar_one()
        connection.info.update(user=uid, other=other.scalar_one(), molecule=mid, mixture=xid)
        yield connection
        outer.rollback()


def experiment(conn: Connection, **values) -> dict:
    row = {
        "property": "tg",
        "value": 190.0,
        "unit": "K",
        "citation": "test fixture",
        "owner_id": conn.info["user"],
        "molecule_id": conn.info["molecule"],
    }
    row.update(values)
    return row


def rejected(conn: Connection, statement) -> bool:
    """Return whether the database rejects ``statement`` with an integrity error."""
    savepoint = conn.begin_nested()
    try:
        conn.execute(statement)
    except IntegrityError:
        savepoint.rollback()
        return True
    savepoint.rollback()
    return False


@pytest.mark.parametrize("code", sorted(PROPERTIES))
def test_values_outside_the_property_range_are_rejected(conn, code):
    prop = PROPERTIES[code]
    for value, bad in [
        (prop.min_value, False),
        (prop.max_value, False),
        (prop.min_value - 0.01, True),
        (prop.max_value + 0.01, True),
    ]:
        row = experiment(conn, property=code, unit=prop.unit, value=value)
        assert rejected(conn, insert(Experiment).values(row)) is bad, (code, value)


def test_unit_must_be_the_property_unit(conn):
    assert rejected(conn, insert(Experiment).values(experiment(conn, unit="degC")))
    assert rejected(conn, insert(Experiment).values(experiment(conn, unit="%MGS")))


def test_unknown_property_is_rejected(conn):
    assert rejected(conn, insert(Experiment).values(experiment(conn, property="density")))


def test_exactly_one_subject(conn):
    both = experiment(conn, mixture_id=conn.info["mixture"])
    neither = experiment(conn, molecule_id=None)
    assert rejected(conn, insert(Experiment).values(both))
    assert rejected(conn, insert(Experiment).values(neither))
    mixture_only = experiment(conn, molecule_id=None, mixture_id=conn.info["mixture"])
    assert not rejected(conn, insert(Experiment).values(mixture_only))


def test_missing_required_fields_are_rejected(conn):
    for name in ("citation", "value", "owner_id"):
        assert rejected(conn, insert(Experiment).values(experiment(conn, **{name: None}))), name


def test_conditions_are_checked(conn):
    for bad in (
        {"uncertainty": -1.0},
        {"concentration": -5.0, "concentration_unit": "mM"},
        {"concentration": 5.0},
        {"concentration": 5.0, "concentration_unit": "mg"},
        {"cooling_rate_k_per_min": 0.0},
        {"visibility": "secret"},
    ):
        assert rejected(conn, insert(Experiment).values(experiment(conn, **bad))), bad


def test_dangling_references_are_rejected(conn):
    assert rejected(conn, insert(Experiment).values(experiment(conn, molecule_id=999_999)))
    assert rejected(conn, insert(Experiment).values(experiment(conn, owner_id=999_999)))


def test_mixture_components_amounts_and_units(conn):
    def component(**values):
        row = {
            "mixture_id": conn.info["mixture"],
            "molecule_id": conn.info["molecule"],
            "amount": 1.0,
            "unit": "M",
        }
        return insert(MixtureComponent).values({**row, **values})

    assert rejected(conn, component(unit="mg"))
    assert rejected(conn, component(amount=-1.0))
    assert rejected(conn, component(unit="mole fraction", amount=1.5))
    assert rejected(conn, component(unit="%v/v", amount=120.0))
    assert not rejected(conn, component(unit="level", amount=0.0))


def test_duplicate_inchikey_is_rejected(conn):
    other = {**GLYCEROL, "canonical_smiles": "C(O)C(O)CO"}
    assert rejected(conn, insert(Molecule).values(owner_id=conn.info["user"], **other))
    short = {**GLYCEROL, "inchikey": "NOT-AN-INCHIKEY"}
    assert rejected(conn, insert(Molecule).values(owner_id=conn.info["user"], **short))


def test_on_delete_rules(conn):
    conn.execute(insert(Experiment).values(experiment(conn)))
    conn.execute(
        insert(MixtureComponent).values(
            mixture_id=conn.info["mixture"], molecule_id=conn.info["molecule"], amount=1, unit="M"
        )
    )
    # A molecule with measurements, or in a mixture, stays; so does a user owning data.
    assert rejected(conn, Molecule.__table__.delete().where(Molecule.id == conn.info["molecule"]))
    assert rejected(conn, User.__table__.delete().where(User.id == conn.info["user"]))
    # Deleting a mixture removes its components (they are part of it).
    conn.execute(Mixture.__table__.delete().where(Mixture.id == conn.info["mixture"]))
    assert conn.execute(select(MixtureComponent)).all() == []


def test_shares_and_verifications(conn):
    share = {"owner_id": conn.info["user"], "grantee_id": conn.info["other"]}
    assert rejected(conn, insert(Share).values(share))  # no target
    assert rejected(
        conn,
        insert(Share).values(
            molecule_id=conn.info["molecule"], mixture_id=conn.info["mixture"], **share
        ),
    )
    assert rejected(
        conn, insert(Share).values(molecule_id=conn.info["molecule"], permission="own", **share)
    )
    assert rejected(
        conn,
        insert(Share).values(
            molecule_id=conn.info["molecule"],
            owner_id=conn.info["user"],
            grantee_id=conn.info["user"],
        ),
    )
    assert not rejected(conn, insert(Share).values(molecule_id=conn.info["molecule"], **share))
    eid = conn.execute(insert(Experiment).values(experiment(conn)).returning(Experiment.id))
    eid = eid.scalar_one()
    verification = {"experiment_id": eid, "verifier_id": conn.info["other"]}
    assert rejected(conn, insert(LabVerification).values(status="done", **verification))
    assert not rejected(conn, insert(LabVerification).values(**verification))
    assert rejected(conn, update(Experiment).where(Experiment.id == eid).values(value=-3.0))
