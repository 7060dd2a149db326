"""Feature tables: a target's training arrays saved as one Parquet file between pipeline steps.

Columns are the training rows' own columns (mixture components as JSON), ``cv_group`` and
one ``x:<feature>`` column per feature; the count of rows left out travels in the file's
metadata.
"""

from __future__ import annotations

import json
from dataclasses import astuple
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cryoprotect.chem.mixtures import Component
from cryoprotect.models.training import TrainingArrays

PREFIX = "x:"
GROUP = "cv_group"
METADATA_KEY = b"cryoprotect"


def write_feature_table(
    arrays: TrainingArrays, path: Path, names: dict[str, str] | None = None
) -> None:
    """Save ``arrays`` to ``path`` (Parquet), creating its folder.

    ``names`` (molecule name -> SMILES, for models that resolve names) is kept alongside.
    """
    data = arrays.data.copy()
    if "components" in data:
        data["components"] = [json.dumps([astuple(c) for c in m]) for m in data["components"]]
    features = pd.DataFrame(arrays.X, columns=[PREFIX + n for n in arrays.feature_names])
    frame = pd.concat([data, pd.DataFrame({GROUP: arrays.groups}), features], axis=1)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    extra = {"left_out": arrays.left_out, "names": names or {}}
    metadata = {**table.schema.metadata, METADATA_KEY: json.dumps(extra, sort_keys=True)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.replace_schema_metadata(metadata), path)


def read_feature_table(path: Path) -> TrainingArrays:
    """Load training arrays saved by :func:`write_feature_table`."""
    table = pq.read_table(path)
    extra = json.loads(table.schema.metadata[METADATA_KEY])
    frame = table.to_pandas()
    feature_columns = [c for c in frame.columns if c.startswith(PREFIX)]
    data = frame.drop(columns=[*feature_columns, GROUP])
    if "components" in data:
        data["components"] = [[Component(*c) for c in json.loads(m)] for m in data["components"]]
    return TrainingArrays(
        data=data,
        X=frame[feature_columns].to_numpy(dtype=float),
        y=data["value"].to_numpy(dtype=float),
        groups=frame[GROUP].astype(str).to_numpy(),
        feature_names=[c.removeprefix(PREFIX) for c in feature_columns],
        left_out=int(extra["left_out"]),
    )


def read_feature_names(path: Path) -> dict[str, str]:
    """Return the molecule names saved with a feature table."""
    return json.loads(pq.read_schema(path).metadata[METADATA_KEY])["names"]


def feature_table_summary(arrays: TrainingArrays) -> dict:
    """Rows, groups, features, rows left out and features with missing values."""
    return {
        "rows": len(arrays.y),
        "groups": len(set(arrays.groups)),
        "features": len(arrays.feature_names),
        "left_out": arrays.left_out,
        "features_with_missing_values": int(np.isnan(arrays.X).any(axis=0).sum()),
    }
