"""params.yaml validation and the threshold gate of training.

The training data of the gate test are made up (a noisy function of two features).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import REPO_ROOT
from cryoprotect.models.targets import TARGETS, TargetSpec
from cryoprotect.models.thresholds import gate
from cryoprotect.models.training import TrainSettings, train_model, training_arrays
from cryoprotect.params import ParamsError, load_params


def test_the_repository_params_are_valid_for_every_target():
    params = load_params(REPO_ROOT / "params.yaml")
    assert set(params.targets) == set(TARGETS)
    settings = TrainSettings.from_params(params, "tg")
    assert settings.thresholds["mae"] == params.targets["tg"].thresholds.mae
    assert settings.holdout_fraction == params.holdout_fraction


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("targets: {tg: {estimator: svr}}", "targets.tg.thresholds"),
        ("holdout_fraction: 2\ntargets: {}", "holdout_fraction"),
        ("cv: {group_by: family}\ntargets: {}", "cv.group_by"),
        ("targets: {}\nsurprise: 1", "surprise"),
    ],
)
def test_invalid_params_name_the_field(tmp_path, text, field):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ParamsError, match=field.replace(".", r"\.")):
        load_params(path)


def test_missing_or_broken_params_file(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("targets: [unclosed")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(tmp_path / "bad.yaml")


def test_gate_compares_cv_mae_and_coverage():
    thresholds = {"mae": 10.0, "coverage_min": 0.85, "coverage_max": 0.95}
    assert gate(9.0, 0.9, thresholds)["passed"]
    failed = gate(12.5, 0.80, thresholds)
    assert not failed["passed"]
    assert failed["failures"] == [
        "cross-validated MAE 12.50 > 10.0",
        "interval coverage 0.800 outside [0.85, 0.95]",
    ]


def test_training_records_the_holdout_and_the_gate():
    rng = np.random.default_rng(1)
    smiles = ["C" * n + "O" for n in range(1, 41)] + ["O" + "C" * n + "O" for n in range(2, 42)]
    frame = pd.DataFrame(
        {
            "group": smiles,
            "smiles": smiles,
            "value": [100 + 5 * len(s) + rng.normal() for s in smiles],
        }
    )
    spec = TargetSpec("made_up", "molecule", "K", ("smiles",))
    settings = TrainSettings(
        n_splits=3,
        estimator="extra_trees",
        estimator_params={"n_estimators": 20},
        featurizer={"descriptors": "physchem", "morgan_size": 0},
        holdout_fraction=0.25,
        thresholds={"mae": 0.001},
    )
    arrays = training_arrays(spec, frame, settings.featurizer)
    validation = train_model(spec, arrays, settings).model.card.validation
    assert validation.holdout.rows == 20
    assert validation.gate.passed is False
    assert validation.gate.failures[0].startswith("cross-validated MAE")


def test_the_holdout_split_is_seeded_and_keeps_groups_whole():
    from cryoprotect.models.training import TrainingArrays, holdout_split

    groups = np.repeat(np.arange(40), 2)
    arrays = TrainingArrays(
        pd.DataFrame(index=range(80)), np.zeros((80, 1)), np.zeros(80), groups, ["x"], 0
    )
    kept, held = holdout_split(arrays, 0.25, seed=3)
    again, _ = holdout_split(arrays, 0.25, seed=3)
    assert np.array_equal(kept, again)
    assert not set(groups[kept]) & set(groups[held])
    assert len(set(groups[held])) == 10
