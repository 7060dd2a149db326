"""Cost of predicting one new molecule, against scikit-learn's own transformer and trees.

    .venv/bin/python benchmarks/cold_predict.py [--count 300] [--target tg]

Needs a trained project (``dvc repro``). Takes ``--count`` distinct real molecules (the PubChem
identifier table of the ``chemicals`` package) that are not training molecules and predicts
each one alone, as a service request does:

- ``predict_frame``: the whole path (standardising, featurizing, domain, model, interval);
- ``estimator``: the production estimator on one feature row, ours;
- ``estimator_sklearn``: the same fitted estimator with scikit-learn's ``QuantileTransformer``
  and tree ensembles' ``predict`` in place of ours (the baseline: the same numbers, computed
  per column and per tree), in the same run.

Prints p50/p99 per line (ms), the baseline ratio, and the top functions of a profile of the
whole path with each estimator.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import io
import json
import pstats
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
from real_molecules import real_smiles
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
from sklearn.preprocessing import QuantileTransformer

from cryoprotect.models import registry
from cryoprotect.models.estimators import ExtraTrees, NormalQuantileTransformer, RandomForest
from cryoprotect.models.features import feature_matrix
from cryoprotect.models.predict import model_domain, predict_frame
from cryoprotect.models.targets import target

ROOT = Path(__file__).resolve().parents[1]
BASELINE_CLASSES = {
    NormalQuantileTransformer: QuantileTransformer,
    ExtraTrees: ExtraTreesRegressor,
    RandomForest: RandomForestRegressor,
}


def as_sklearn(estimator):
    """Return a copy of ``estimator`` whose transformers and trees are scikit-learn's own."""
    baseline = copy.deepcopy(estimator)
    seen: set[int] = set()

    def swap(node) -> None:
        if id(node) in seen or not hasattr(node, "get_params"):
            return
        seen.add(id(node))
        if type(node) in BASELINE_CLASSES:
            node.__class__ = BASELINE_CLASSES[type(node)]
        for value in list(vars(node).values()):
            for item in value if isinstance(value, list | tuple) else [value]:
                item = item[-1] if isinstance(item, tuple) else item
                swap(item)

    swap(baseline)
    return baseline


def percentiles(seconds: list[float]) -> dict:
    """Return p50 and p99 of ``seconds`` in milliseconds."""
    ordered = sorted(s * 1000 for s in seconds)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return {"p50_ms": round(statistics.median(ordered), 2), "p99_ms": round(p99, 2)}


def timed_each(action, inputs) -> list[float]:
    """Return the wall time of ``action`` on each input alone."""
    times = []
    for item in inputs:
        started = time.perf_counter()
        action(item)
        times.append(time.perf_counter() - started)
    return times


def profile_top(action, inputs, lines: int = 8) -> list[str]:
    """Return the functions with the most cumulative time over ``inputs``."""
    profiler = cProfile.Profile()
    profiler.enable()
    for item in inputs:
        action(item)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(lines)
    return [line for line in out.getvalue().splitlines() if line.strip()][-lines:]


def main() -> None:
    """Measure ours and the baseline on the same distinct molecules."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--target", default="tg")
    args = parser.parse_args()
    model = registry.load(ROOT / "models", args.target)
    domain = model_domain(model)
    candidates = list(dict.fromkeys(real_smiles(args.count * 2)))
    similarity = domain.similarity(candidates)
    molecules = [s for s, sim in zip(candidates, similarity, strict=True) if sim < 1.0]
    molecules = molecules[: args.count]  # none is a training molecule (similarity 1)
    frames = [pd.DataFrame({"smiles": [s], "concentration_mM": [22.0]}) for s in molecules]
    for frame in frames[:3]:
        predict_frame(model, frame, domain=domain)  # imports and lazy set-up, not timed
    whole = timed_each(lambda f: predict_frame(model, f, domain=domain), frames)
    matrix = feature_matrix(target(model.target), model.featurizer, pd.concat(frames))
    values = np.ma.filled(matrix.values.astype(float), np.nan)
    one_rows = [values[i : i + 1] for i in range(len(values)) if matrix.errors[i] is None]
    baseline = as_sklearn(model.estimator)
    ours_times = timed_each(model.estimator.predict, one_rows)
    base_times = timed_each(baseline.predict, one_rows)
    assert np.allclose(
        np.concatenate([model.estimator.predict(r) for r in one_rows[:20]]),
        np.concatenate([baseline.predict(r) for r in one_rows[:20]]),
    )
    ours, base = percentiles(ours_times), percentiles(base_times)
    ratio = round(base["p50_ms"] / ours["p50_ms"], 1)
    print(json.dumps({"target": args.target, "molecules": len(frames), **percentiles(whole)}))
    print(json.dumps({"line": "estimator", **ours}))
    print(json.dumps({"line": "estimator_sklearn", **base, "p50_ratio_to_ours": ratio}))
    print("profile of the whole path, ours (tottime):")
    print("\n".join(profile_top(lambda f: predict_frame(model, f, domain=domain), frames[:100])))
    print("profile of the estimator, scikit-learn's (tottime):")
    print("\n".join(profile_top(baseline.predict, one_rows[:100])))


if __name__ == "__main__":
    main()
