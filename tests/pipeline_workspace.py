"""Small pipeline projects for tests: the real dvc.yaml and notebooks with fast parameters.

The parameters below are made up for speed (few trees, two tuning trials, loose thresholds);
they say nothing about the models' quality.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import REPO_ROOT

FAST_PARAMS = """
seed: 0
n_jobs: 1
cv: {n_splits: 3, group_by: compound}
holdout_fraction: 0.15
confidence: 0.9
domain_threshold: 0.3
explain: {rows: 5}
targets:
  tg:
    featurizer: {descriptors: physchem, morgan_size: 0}
    estimator: extra_trees
    estimator_params: {n_estimators: 10}
    thresholds: {mae: 60.0, coverage_min: 0.5, coverage_max: 1.0}
    tuning: {trials: 2}
  iri:
    featurizer: {descriptors: physchem, morgan_size: 64}
    estimator: extra_trees
    estimator_params: {n_estimators: 10}
    thresholds: {mae: 60.0, coverage_min: 0.5, coverage_max: 1.0}
    tuning: {trials: 2}
  viability:
    featurizer: {descriptors: none, morgan_size: 0, pooled: false, slots: 3}
    estimator: extra_trees
    estimator_params: {n_estimators: 10}
    thresholds: {mae: 20.0, coverage_min: 0.5, coverage_max: 1.0}
    tuning: {trials: 2}
"""


def make_workspace(root: Path, snapshot: Path | None = None) -> Path:
    """Create a project at ``root``: dvc.yaml, notebooks, fast params and optionally a snapshot.

    The package source and the GX project are copied too, since stages depend on them (the
    code that runs is the installed package).
    """
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "dvc.yaml", root / "dvc.yaml")
    shutil.copytree(
        REPO_ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns("*.md")
    )
    shutil.copytree(REPO_ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO_ROOT / "gx", root / "gx", ignore=shutil.ignore_patterns("uncommitted"))
    (root / "params.yaml").write_text(FAST_PARAMS)
    if snapshot is not None:
        shutil.copytree(snapshot, root / "data" / "snapshot")
    return root
