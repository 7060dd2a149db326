"""Active learning: proposals are good, novel and diverse, and are recorded as planned checks.

Users alice and bob, and their private molecules, are made up (the ``two_users`` fixture).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator
from sqlalchemy import select

from cryoprotect.db.access import user_session
from cryoprotect.db.schema import LabVerification, ModelVersion, Prediction
from cryoprotect.db.suggestions import record_suggestions, unmeasured_molecules
from cryoprotect.db.verifications import verification_table
from cryoprotect.models import registry
from cryoprotect.screening.suggest import acquisition, diverse_top, propose

CRYOPROTECT = str(Path(sys.executable).parent / "cryoprotect")
GENERATOR = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


def _similarity(a: str, b: str) -> float:
    prints = [GENERATOR.GetFingerprint(Chem.MolFromSmiles(s)) for s in (a, b)]
    return DataStructs.TanimotoSimilarity(*prints)


def test_acquisition_weighs_benefit_against_uncertainty():
    prediction = np.array([10.0, 20.0, 30.0])
    width = np.array([60.0, 40.0, 20.0])
    assert np.argmax(acquisition(prediction, width, "maximize", 0.0)) == 2
    assert np.argmax(acquisition(prediction, width, "minimize", 0.0)) == 0
    assert np.argmax(acquisition(prediction, width, "maximize", 5.0)) == 0
    assert np.isnan(acquisition(prediction, np.array([60.0, np.nan, 20.0]), "maximize", 1.0)[1])


def test_proposals_rank_by_the_interval_width_of_each_molecule(trained_project):
    model = registry.load(trained_project / "models", "tg")
    pool = pd.DataFrame(
        {"smiles": ["OCC(O)CO", "OCC(O)C(O)C(O)CO", "CCCCCCCCCCCCCCCCCC(=O)OP(=O)(O)O", "CCO"]}
    )
    pool["inchikey"] = pool["name"] = pool["smiles"]
    flat = propose(model, pool, "maximize", 4, kappa=0.0, min_distance=0.0)
    curious = propose(model, pool, "maximize", 4, kappa=10.0, min_distance=0.0)
    assert flat["width"].nunique() > 1  # intervals follow the molecule
    assert (np.diff(curious["width"]) <= 1e-9).all()  # widest first
    assert flat["prediction"].tolist() == sorted(flat["prediction"], reverse=True)


def test_diverse_top_skips_near_copies_and_unscored_candidates():
    smiles = ["CCCCCCCCO", "CCCCCCCCCO", "OCC(O)CO", "c1ccccc1O", "CCO"]
    scores = np.array([5.0, 4.9, 3.0, np.nan, 1.0])
    chosen = diverse_top(smiles, scores, n=4, min_distance=0.4)
    assert chosen == [0, 2, 4]  # 1 is too like 0; 3 has no score
    for i in chosen:
        for j in chosen:
            assert i == j or _similarity(smiles[i], smiles[j]) <= 0.6


@pytest.fixture
def iri_model(trained_project):
    """The IRI model of the trained test project."""
    return registry.load(trained_project / "models", "iri")


def test_suggestions_are_recorded_as_planned_checks_only_their_owner_sees(two_users, iri_model):
    engine, ids = two_users
    pool = unmeasured_molecules(engine, "iri", "alice")
    assert "alice's" in set(pool["name"]) and "bob's" not in set(pool["name"])
    proposals = propose(iri_model, pool, "minimize", 5, concentration_mM=22.0)
    planned = record_suggestions(engine, "alice", "iri", iri_model.version, proposals, 22.0)
    assert len(planned) == 5
    with user_session(engine, ids["alice"]) as session:
        rows = session.execute(
            select(LabVerification.status, LabVerification.experiment_id, Prediction.value)
            .join(Prediction, LabVerification.prediction_id == Prediction.id)
            .join(ModelVersion, Prediction.model_version_id == ModelVersion.id)
            .where(ModelVersion.version == iri_model.version)
        ).all()
    assert sorted(r.value for r in rows) == sorted(proposals["prediction"])
    assert {(r.status, r.experiment_id) for r in rows} == {("planned", None)}
    with user_session(engine, ids["bob"]) as session:
        assert session.scalars(select(LabVerification.id)).all() == []
    again = unmeasured_molecules(engine, "iri", "alice")
    assert len(again) == len(pool) - 5  # planned molecules are not proposed twice
    table = verification_table(engine, "iri")
    assert len(table) == 5 and table["measured"].isna().all()


def test_the_command_proposes_from_a_file_and_records_unless_dry_run(
    trained_project, reference_database, tmp_path
):
    import shutil

    database = tmp_path / "lab.db"
    shutil.copy(reference_database.removeprefix("sqlite:///"), database)
    pool = tmp_path / "pool.smi"
    pool.write_text("OCC(O)C(O)CO erythritol\nOCCOCCO\nCC(O)C(O)C\nOC1CCCCC1O\nC1CC(xx bad\n")
    env = os.environ | {
        "CRYOPROTECT_ROOT_DIR": str(trained_project),
        "CRYOPROTECT_DATABASE_URL": f"sqlite:///{database}",
    }
    base = [CRYOPROTECT, "suggest", "--target", "tg", "--n", "3", "--pool", str(pool)]
    base += ["--owner", "carol", "--format", "json", "--min-distance", "0"]
    dry = subprocess.run([*base, "--dry-run"], env=env, capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert all(p["verification_id"] is None for p in json.loads(dry.stdout)["proposals"])
    done = subprocess.run(base, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    proposals = json.loads(done.stdout)["proposals"]
    assert len(proposals) == 3 and all(p["verification_id"] for p in proposals)
    assert pd.Series([p["score"] for p in proposals]).is_monotonic_decreasing
    from cryoprotect.db.engine import make_engine

    table = verification_table(make_engine(f"sqlite:///{database}"), "tg")
    assert len(table) == 3
