"""Recorded predictions and lab verifications on real SQLite and PostgreSQL.

Every prediction, interval, model version and measurement here is made up for the tests
(the made-up users alice and bob come from the ``two_users`` fixture).
"""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select

from cryoprotect.db.access import SERVICE_ROLE, link_login, user_session
from cryoprotect.db.importer import import_frame
from cryoprotect.db.predictions import (
    NotRegisteredError,
    PredictionRow,
    record_predictions,
    rows_from_frame,
)
from cryoprotect.db.schema import (
    LabVerification,
    Mixture,
    ModelVersion,
    Molecule,
    Prediction,
    User,
)
from cryoprotect.db.verifications import add_verification, verification_table
from cryoprotect.db.visibility import AccessDenied
from verification_fixtures import made_up_prediction as _row


def _count(engine, model, **where) -> int:
    with user_session(engine, None, SERVICE_ROLE) as session:
        query = select(func.count()).select_from(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        return session.scalar(query)


def test_recorded_predictions_belong_to_the_acting_user_alone(two_users):
    engine, ids = two_users
    rows = [
        _row("CC(C)(C)CC(O)CO"),  # a structure outside the reference set
        _row("C1CC(xx"),  # invalid: not recorded
        _row("OCC(O)CO", error="made-up failure"),  # had an error: not recorded
        _row("OCC(O)CO", value=float("nan")),  # no value: not recorded
        PredictionRow(
            target="viability",
            model_version="made-up-v",
            inputs={"components": "glycerol:10 %v/v;CS(C)=O:5 %v/v"},
            prediction=70.0,
            lower=60.0,
            upper=80.0,
            confidence=0.8,
            in_domain=False,
            components=[("OCC(O)CO", 10.0, "%v/v"), ("CS(C)=O", 5.0, "%v/v")],
        ),
    ]
    recorded = record_predictions(engine, "alice", rows)
    assert [i is None for i in recorded] == [False, True, True, True, False]
    with user_session(engine, ids["alice"]) as session:
        mine = {p.id: p for p in session.scalars(select(Prediction))}
        assert set(mine) == {recorded[0], recorded[4]}
        tg, mixture = mine[recorded[0]], mine[recorded[4]]
        assert (tg.value, tg.lower, tg.upper, tg.confidence, tg.in_domain) == (
            190.0,
            180.0,
            200.0,
            0.9,
            True,
        )
        assert tg.inputs == {"smiles": "CC(C)(C)CC(O)CO"} and tg.owner_id == ids["alice"]
        molecule = session.get(Molecule, tg.molecule_id)
        assert (molecule.owner_id, molecule.visibility) == (ids["alice"], "private")
        assert mixture.mixture_id is not None and mixture.molecule_id is None
        assert session.get(Mixture, mixture.mixture_id).owner_id == ids["alice"]
        versions = session.execute(
            select(ModelVersion.property, ModelVersion.version, ModelVersion.stage)
        ).all()
        assert set(versions) >= {
            ("tg", "made-up-1", "candidate"),
            ("viability", "made-up-v", "candidate"),
        }
    with user_session(engine, ids["bob"]) as session:
        assert session.scalars(select(Prediction.id)).all() == []


def test_a_failing_write_records_nothing(two_users):
    engine, _ = two_users
    broken = _row("OCCO", value=190.0, lower=200.0, upper=210.0)  # value outside its interval
    with pytest.raises(Exception, match="interval_contains_value"):
        record_predictions(engine, "carol", [_row("CC(C)(C)CC(O)CO"), broken])
    assert _count(engine, Prediction) == 0
    assert _count(engine, User, username="carol") == 0
    assert _count(engine, Molecule, canonical_smiles="CC(C)(C)CC(O)CO") == 0


def test_without_registering_unknown_users_and_versions_are_refused(two_users):
    engine, _ = two_users
    with pytest.raises(NotRegisteredError, match="no user 'carol'"):
        record_predictions(engine, "carol", [_row("OCCO")], register=False)
    with pytest.raises(NotRegisteredError, match="tg made-up-1"):
        record_predictions(engine, "alice", [_row("OCCO")], register=False)
    record_predictions(engine, "alice", [_row("OCCO")])  # registers made-up-1
    assert record_predictions(engine, "alice", [_row("OCCCO")], register=False)[0] is not None
    assert _count(engine, Prediction) == 2


def test_rows_from_a_batch_output_keep_inputs_and_resolve_names():
    output = pd.DataFrame(
        {
            "components": ["glycerol:10 %v/v;CS(C)=O:5 %v/v", "nonsense"],
            "prediction": [70.0, float("nan")],
            "lower": [60.0, float("nan")],
            "upper": [80.0, float("nan")],
            "in_domain": ["true", "false"],
            "model_version": ["made-up-v", "made-up-v"],
            "error": ["", "made-up error"],
        }
    )
    rows = rows_from_frame(output, "viability", 0.9, ["components"], {"glycerol": "OCC(O)CO"}.get)
    assert rows[0].components == [("OCC(O)CO", 10.0, "%v/v"), ("CS(C)=O", 5.0, "%v/v")]
    assert rows[0].inputs == {"components": "glycerol:10 %v/v;CS(C)=O:5 %v/v"}
    assert rows[0].in_domain is True and rows[0].prediction == 70.0
    assert rows[1].components == [] and rows[1].error == "made-up error"


MEASURED = (
    "record_id,property,value,unit,smiles,citation\n"
    "lab:in,tg,195,K,CC(C)(C)CC(O)CO,made-up test fixture\n"
    "lab:out,tg,230,K,OCCCCO,made-up test fixture\n"
)


def test_verifications_compare_measured_with_predicted(two_users, tmp_path):
    engine, ids = two_users
    first, second, pending = record_predictions(
        engine,
        "alice",
        [
            _row("CC(C)(C)CC(O)CO"),
            _row("OCCCCO", value=150.0),
            _row("OCCO"),
        ],
    )
    path = tmp_path / "lab.csv"
    path.write_text(MEASURED)
    with user_session(engine, ids["alice"]) as session:
        alice = session.get(User, ids["alice"])
        import_frame(session, pd.read_csv(path, dtype=str), owner=alice)
    planned = add_verification(engine, "alice", second, status="planned")
    assert add_verification(engine, "alice", first, "lab:in") != planned
    assert add_verification(engine, "alice", second, "lab:out", "refuted") == planned
    add_verification(engine, "alice", pending, status="in_progress")
    table = verification_table(engine, "tg", measured_only=True).set_index("prediction_id")
    assert set(table.index) == {first, second}
    assert table.loc[first, ["measured", "predicted", "lower", "upper"]].tolist() == [
        195.0,
        190.0,
        180.0,
        200.0,
    ]
    assert bool(table.loc[first, "inside"]) is True
    assert bool(table.loc[second, "inside"]) is False and table.loc[second, "measured"] == 230.0
    assert table.loc[second, "status"] == "refuted" and table.loc[first, "confidence"] == 0.9
    everything = verification_table(engine, "tg")
    assert len(everything) == 3 and everything["inside"].isna().sum() == 1
    with user_session(engine, ids["alice"]) as session:
        assert session.scalar(select(func.count()).select_from(LabVerification)) == 3


def test_a_verification_must_check_the_users_own_prediction(two_users):
    engine, _ = two_users
    (alices,) = record_predictions(engine, "alice", [_row("OCCO")])
    with pytest.raises(LookupError, match="bob has no prediction"):
        add_verification(engine, "bob", alices, status="planned")
    with pytest.raises(LookupError, match="no experiment with record_id"):
        add_verification(engine, "alice", alices, "lab:none")
    with pytest.raises(ValueError, match="without a measurement"):
        add_verification(engine, "alice", alices)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_persons_login_records_only_for_that_person(two_users, login):
    engine, ids = two_users
    record_predictions(engine, "alice", [_row("OCCO")])  # registers the model version
    name, eng = login("person", "cryoprotect_app")
    link_login(engine, "bob", name)
    (own,) = record_predictions(eng, "bob", [_row("OCCCO")])
    with pytest.raises(AccessDenied, match="acts only as user"):
        record_predictions(eng, "alice", [_row("OCCCCO")])
    with user_session(eng, ids["bob"]) as session:  # RLS: bob reads his own, not alice's
        assert session.scalars(select(Prediction.id)).all() == [own]
    assert _count(engine, Prediction, owner_id=ids["alice"]) == 1
