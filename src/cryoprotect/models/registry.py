"""Model registry: versions of each target's model under ``models/<target>/<version>/``.

A version folder holds ``estimator.skops`` (the fitted scikit-learn estimator, saved with
skops rather than pickle), ``model.json`` (featurizer settings, the intervals' calibration,
applicability domain, name map) and ``card.json`` (the model card, :class:`ModelCard`).
``models/<target>/registry.json`` names the production version; without one the newest
version serves.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import skops.io as sio

from cryoprotect.files import write_json
from cryoprotect.models.card import ModelCard
from cryoprotect.models.conformal import Calibration, ConformalIntervals

TRUSTED_PREFIXES = ("sklearn.", "numpy.", "builtins.", "scipy.")
VERSION_FILES = ("estimator.skops", "card.json", "model.json")
"""A version folder is complete when it holds all of these (model.json is written last)."""
TRUSTED_TYPES = tuple(
    f"cryoprotect.models.estimators.{name}"
    for name in (
        "ArdGaussianProcess",
        "ExtraTrees",
        "NormalQuantileTransformer",
        "OptionalLastFeature",
        "RandomForest",
    )
)
"""Types a saved estimator may hold: scikit-learn, NumPy, SciPy and our own estimators."""


@dataclass
class TrainedModel:
    """Everything needed to predict a target and to judge the prediction."""

    target: str
    version: str
    estimator: object
    featurizer: dict
    feature_names: list[str]
    calibration: Calibration
    domain: dict
    card: ModelCard
    names: dict[str, str] = field(default_factory=dict)
    _intervals: ConformalIntervals | None = field(default=None, init=False, repr=False)

    @property
    def intervals(self) -> ConformalIntervals:
        """The model's conformal intervals (built once from its calibration)."""
        if self._intervals is None:
            self._intervals = ConformalIntervals(self.calibration)
        return self._intervals


class ModelNotFoundError(LookupError):
    """No trained model of a target (or of the asked version) exists."""


def save(model: TrainedModel, root: Path) -> Path:
    """Write ``model`` as a new version folder under ``root/<target>/`` and return it."""
    final = root / model.target / model.version
    if final.exists():
        raise FileExistsError(f"model version {final} exists already")
    staging = final.with_name(f".{model.version}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    sio.dump(model.estimator, staging / "estimator.skops")
    write_json(staging / "card.json", model.card.to_json_dict(), sort_keys=True)
    write_json(  # written last: a folder with model.json is complete
        staging / "model.json",
        {
            "target": model.target,
            "version": model.version,
            "featurizer": model.featurizer,
            "feature_names": model.feature_names,
            "calibration": model.calibration.to_dict(),
            "domain": model.domain,
            "names": model.names,
        },
        sort_keys=True,
    )
    os.replace(staging, final)
    return final


def versions(root: Path, target: str) -> list[str]:
    """Return the saved versions of ``target``, oldest first (names sort by time)."""
    folder = root / target
    if not folder.is_dir():
        return []
    return sorted(
        p.name
        for p in folder.iterdir()
        if not p.name.startswith(".") and all((p / f).is_file() for f in VERSION_FILES)
    )


def production_version(root: Path, target: str) -> str | None:
    """Return the promoted version of ``target``, if any."""
    registry = root / target / "registry.json"
    return json.loads(registry.read_text()).get("production") if registry.exists() else None


def promote(root: Path, target: str, version: str | None) -> None:
    """Make ``version`` the production model of ``target`` (``None``: none, the newest serves).

    Raises
    ------
    ModelNotFoundError
        If ``version`` is not a saved version of ``target``.
    """
    pointer = root / target / "registry.json"
    if version is None:
        pointer.unlink(missing_ok=True)
        return
    if version not in versions(root, target):
        raise ModelNotFoundError(f"no version {version!r} of {target}")
    write_json(pointer, {"production": version}, sort_keys=True)


def _folder(root: Path, target: str, version: str | None) -> Path:
    """Return the folder of ``version`` (default: production, else the newest)."""
    known = versions(root, target)
    chosen = version or production_version(root, target) or (known[-1] if known else None)
    if chosen is None or chosen not in known:
        raise ModelNotFoundError(
            f"no trained {target} model in {root}; train one with 'cryoprotect train {target}'"
        )
    return root / target / chosen


def read_card(root: Path, target: str, version: str | None = None) -> ModelCard:
    """Return the model card of ``version`` of ``target`` without loading the estimator."""
    text = (_folder(root, target, version) / "card.json").read_text()
    return ModelCard.model_validate_json(text)


def load(root: Path, target: str, version: str | None = None) -> TrainedModel:
    """Load ``version`` of ``target`` (default: production, else the newest)."""
    folder = _folder(root, target, version)
    path = folder / "estimator.skops"
    untrusted = sio.get_untrusted_types(file=path)
    unexpected = [
        t for t in untrusted if not t.startswith(TRUSTED_PREFIXES) and t not in TRUSTED_TYPES
    ]
    if unexpected:
        raise ValueError(f"{path} holds types that are not trusted: {unexpected}")
    estimator = sio.load(path, trusted=untrusted)
    meta = json.loads((folder / "model.json").read_text())
    if "calibration" not in meta:
        raise ValueError(
            f"{folder} was saved without per-molecule interval calibration (an earlier "
            f"CryoProtect); train {target} again with 'cryoprotect train {target}'"
        )
    return TrainedModel(
        target=meta["target"],
        version=meta["version"],
        estimator=estimator,
        featurizer=meta["featurizer"],
        feature_names=meta["feature_names"],
        calibration=Calibration.from_dict(meta["calibration"]),
        domain=meta["domain"],
        names=meta["names"],
        card=read_card(root, target, folder.name),
    )
