"""Where the pipeline's files live, relative to the project folder (the one with dvc.yaml)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def find_project(start: Path | None = None) -> Path:
    """Return the nearest folder at or above ``start`` (default: cwd) holding ``dvc.yaml``.

    Raises
    ------
    FileNotFoundError
        If no folder up to the file-system root has one.
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").is_file():
            return folder
    raise FileNotFoundError(f"no dvc.yaml in {here} or above: not inside a CryoProtect project")


@dataclass(frozen=True)
class Layout:
    """The pipeline's files in project folder ``root`` (the contract with ``dvc.yaml``).

    ``models_dir`` and ``cache_dir`` put the registry and the feature cache elsewhere (the
    settings' folders, for ``cryoprotect train`` working in a scratch folder).
    """

    root: Path
    models_dir: Path | None = None
    cache_dir: Path | None = None

    @property
    def params(self) -> Path:
        """The parameters file."""
        return self.root / "params.yaml"

    @property
    def snapshot(self) -> Path:
        """The database snapshot folder."""
        return self.root / "data" / "snapshot"

    @property
    def cache(self) -> Path:
        """The feature cache (keyed by molecule and featurizer settings; not a stage output)."""
        return self.cache_dir or self.root / "data" / "cache"

    @property
    def models(self) -> Path:
        """The model registry."""
        return self.models_dir or self.root / "models"

    @property
    def reports(self) -> Path:
        """Reports: executed notebooks, plots data, explanations, the HTML summary."""
        return self.root / "reports"

    def features(self, target: str) -> Path:
        """Return the feature table of ``target``."""
        return self.root / "data" / "features" / f"{target}.parquet"

    def tuning(self, target: str) -> Path:
        """Return the tuning folder of ``target`` (Optuna study, best parameters)."""
        return self.models / "tuning" / target

    def metrics(self, target: str) -> Path:
        """Return the metrics file of ``target`` (read by ``dvc metrics``)."""
        return self.root / "metrics" / f"{target}.json"

    def plots(self, target: str) -> Path:
        """Return the out-of-fold predictions of ``target`` (read by ``dvc plots``)."""
        return self.reports / "plots" / f"{target}.csv"

    def explanation(self, target: str) -> Path:
        """Return the SHAP importance table of ``target``."""
        return self.reports / "explain" / f"{target}.csv"

    def shap_values(self, target: str) -> Path:
        """Return the SHAP values of ``target``'s explained sample (``.npz``)."""
        return self.reports / "explain" / f"{target}.npz"


def enter_project(project_dir: str | Path | None = None) -> Layout:
    """Change into the project folder (default: found from cwd) and return its layout.

    Notebooks call this first, so they run the same from JupyterLab (started in
    ``notebooks/``), from nbval and from Papermill under DVC (started in the project folder).
    """
    root = Path(project_dir).resolve() if project_dir else find_project()
    os.chdir(root)
    return Layout(root)
