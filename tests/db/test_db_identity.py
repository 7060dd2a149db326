"""Structures and record ids belong to their owner: private copies never collide or leak.

The measurement values here are made up for the tests; they are not data.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tests.db.test_db_importer import write_table

from cryoprotect.db import migrations
from cryoprotect.db.access import SERVICE_ROLE, user_session
from cryoprotect.db.importer import ImportValidationError, import_experiments
from cryoprotect.db.schema import Experiment, MixtureComponent, Molecule, User

SMILES = "CC(C)(C)CC(O)CO"  # 4,4-dimethylpentane-1,2-diol: not in the reference set
ROW = {
    "record_id": "lab:1",
    "property": "tg",
    "value": "200",
    "unit": "K",
    "name": "made-up diol",
    "smiles": SMILES,
}


def _owners_of(engine, name: str) -> list[str]:
    with user_session(engine, None, SERVICE_ROLE) as session:
        return sorted(
            session.scalars(
                select(User.username)
                .join(Molecule, Molecule.owner_id == User.id)
                .where(Molecule.name == name)
            )
        )


def test_two_users_import_one_structure_privately_without_seeing_each_other(two_users, tmp_path):
    engine, ids = two_users
    for user in ("alice", "bob"):
        result = import_experiments(
            engine, write_table(tmp_path / f"{user}.csv", [ROW]), owner=user
        )
        assert (result.molecules_added, result.experiments_added) == (1, 1)
    assert _owners_of(engine, "made-up diol") == ["alice", "bob"]
    for user in ("alice", "bob"):
        with user_session(engine, ids[user]) as session:
            molecules = session.execute(
                select(Molecule.id, Molecule.owner_id).where(Molecule.name == "made-up diol")
            ).all()
            assert [owner for _, owner in molecules] == [ids[user]]
            experiment = session.scalars(select(Experiment).where(Experiment.record_id == "lab:1"))
            assert experiment.one().molecule_id == molecules[0].id


def test_a_record_id_is_unique_per_owner(two_users, tmp_path):
    engine, _ = two_users
    import_experiments(engine, write_table(tmp_path / "a.csv", [ROW]), owner="alice")
    with pytest.raises(ImportValidationError, match="row 2, field 'record_id': 'lab:1' is already"):
        import_experiments(engine, write_table(tmp_path / "b.csv", [ROW]), owner="alice")
    result = import_experiments(engine, write_table(tmp_path / "c.csv", [ROW]), owner="bob")
    assert result.experiments_added == 1


def test_a_public_structure_is_reused_not_copied(two_users, tmp_path):
    engine, ids = two_users
    glycerol = {**ROW, "name": "glycerol", "smiles": "OCC(O)CO"}
    result = import_experiments(engine, write_table(tmp_path / "a.csv", [glycerol]), owner="alice")
    assert result.molecules_added == 0
    with user_session(engine, ids["alice"]) as session:
        molecule = session.scalars(
            select(Molecule)
            .join(Experiment, Experiment.molecule_id == Molecule.id)
            .where(Experiment.record_id == "lab:1")
        ).one()
        assert (molecule.visibility, molecule.owner_id) == ("public", 1)


def test_private_names_resolve_only_for_their_owner(two_users, tmp_path):
    engine, ids = two_users
    mixture = {
        "record_id": "lab:mix",
        "property": "viability",
        "value": "50",
        "unit": "% recovery",
        "components": "alice's:5 %v/v;glycerol:10 %v/v",
    }
    with pytest.raises(ImportValidationError) as refused:
        import_experiments(engine, write_table(tmp_path / "bob.csv", [mixture]), owner="bob")
    assert [(e.line, e.field) for e in refused.value.errors] == [(2, "components")]
    assert '"alice\'s" is neither a known molecule name nor a valid SMILES' in str(refused.value)
    import_experiments(engine, write_table(tmp_path / "alice.csv", [mixture]), owner="alice")
    with user_session(engine, ids["alice"]) as session:
        owners = session.scalars(
            select(Molecule.owner_id)
            .join(MixtureComponent, MixtureComponent.molecule_id == Molecule.id)
            .where(MixtureComponent.mixture.has(owner_id=ids["alice"]))
        ).all()
    assert sorted(owners) == [1, ids["alice"]]


def test_the_downgrade_refuses_while_two_owners_hold_one_structure(two_users, tmp_path):
    engine, _ = two_users
    for user in ("alice", "bob"):
        import_experiments(engine, write_table(tmp_path / f"{user}.csv", [ROW]), owner=user)
    with pytest.raises(RuntimeError, match="cannot make molecules.inchikey unique again"):
        migrations.downgrade(engine, "0003")
    assert migrations.current_revision(engine) == migrations.head_revision(engine)
