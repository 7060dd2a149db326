"""Feature tables round-trip training arrays, mixtures and missing values included.

The arrays here are made up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryoprotect.chem.mixtures import Component
from cryoprotect.models.feature_table import (
    feature_table_summary,
    read_feature_names,
    read_feature_table,
    write_feature_table,
)
from cryoprotect.models.training import TrainingArrays


def test_mixture_arrays_round_trip(tmp_path):
    mixtures = [
        [Component("OCC(O)CO", 3.0, "level"), Component("CS(C)=O", 10.0, "%v/v")],
        [Component("O=C(O)CCC(N)C(=O)O", 0.5, "M")],
    ]
    arrays = TrainingArrays(
        data=pd.DataFrame({"group": ["a", "b"], "components": mixtures, "value": [50.0, 70.0]}),
        X=np.array([[1.0, np.nan], [2.5, 3.0]]),
        y=np.array([50.0, 70.0]),
        groups=np.array(["a", "b"]),
        feature_names=["n_components", "slot1:MolWt"],
        left_out=4,
    )
    path = tmp_path / "deep" / "viability.parquet"
    write_feature_table(arrays, path, {"glycerol": "OCC(O)CO"})
    loaded = read_feature_table(path)
    assert loaded.data["components"].tolist() == mixtures
    np.testing.assert_array_equal(loaded.X, arrays.X)
    np.testing.assert_array_equal(loaded.y, arrays.y)
    assert loaded.groups.tolist() == ["a", "b"]
    assert loaded.feature_names == arrays.feature_names
    assert loaded.left_out == 4
    assert read_feature_names(path) == {"glycerol": "OCC(O)CO"}
    assert feature_table_summary(loaded) == {
        "rows": 2,
        "groups": 2,
        "features": 2,
        "left_out": 4,
        "features_with_missing_values": 1,
    }
