"""Featurizer throughput against a plain RDKit loop, parallel speed-up and cache speed-up.

Real molecules: the SMILES of the PubChem identifier table shipped in the ``chemicals``
package (install with ``pip install -e .[bench]``). Every figure is a ratio measured in the
same run, so the machine's speed cancels out:

* ``vs_plain``: featurizer throughput on one core / a plain RDKit loop computing the same
  features (target >= 0.9);
* ``two_workers``: time on one worker / time on two (target >= 1.7 for >= 5,000 molecules);
* ``cached_rerun``: first ``featurize_cached`` / fully cached rerun (target >= 50).

    python benchmarks/featurizers.py --molecules 5000 [--output reports/benchmarks/featurizers.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from rdkit import Chem, RDLogger
from rdkit.Chem import Descriptors, MACCSkeys, rdFingerprintGenerator
from real_molecules import real_smiles

from cryoprotect.chem.cache import FeatureCache, featurize_cached
from cryoprotect.chem.featurizers import DESCRIPTOR_SETS, MoleculeFeaturizer

RDLogger.DisableLog("rdApp.*")
CONFIGS = {
    "physchem": {"descriptors": "physchem", "morgan_size": 0},
    "fragments": {"descriptors": "fragments", "morgan_size": 0},
    "all": {"descriptors": "all", "morgan_size": 0},
    "morgan1024": {"descriptors": "none", "morgan_size": 1024},
    "tg_model (all+maccs)": {"descriptors": "all", "morgan_size": 0, "maccs": True},
}


def plain_loop(smiles: list[str], settings: dict) -> np.ndarray:
    """Compute the same features with RDKit alone: the practical floor of the cost."""
    functions = dict(Descriptors._descList)
    names = DESCRIPTOR_SETS[settings["descriptors"]]
    size = settings.get("morgan_size", 0)
    generator = rdFingerprintGenerator.GetMorganGenerator(
        radius=2, fpSize=size or 1, includeChirality=True
    )
    rows = []
    for text in smiles:
        mol = Chem.MolFromSmiles(text)
        row = [functions[n](mol) for n in names]
        if size:
            row.extend(generator.GetCountFingerprintAsNumPy(mol))
        if settings.get("maccs"):
            row.extend(MACCSkeys.GenMACCSKeys(mol))
        rows.append(row)
    return np.array(rows, dtype=float)


def timed(fn) -> float:
    """Return the wall time of ``fn()`` in seconds."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    """Run the benchmarks and print (and optionally write) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--molecules", type=int, default=5000)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    smiles = real_smiles(args.molecules)
    results = {"molecules": len(smiles), "sets": {}}
    for label, settings in CONFIGS.items():
        plain = timed(lambda s=settings: plain_loop(smiles, s))
        one = timed(lambda s=settings: MoleculeFeaturizer(**s, n_jobs=1).transform(smiles))
        results["sets"][label] = {
            "plain_ms_per_molecule": 1000 * plain / len(smiles),
            "ms_per_molecule": 1000 * one / len(smiles),
            "vs_plain": plain / one,
        }
        print(
            f"{label:22} plain {1000 * plain / len(smiles):7.3f} ms/mol   featurizer "
            f"{1000 * one / len(smiles):7.3f} ms/mol   ratio {plain / one:5.2f}",
            flush=True,
        )
    heavy = CONFIGS["all"]
    one = results["sets"]["all"]["ms_per_molecule"] * len(smiles) / 1000
    two = timed(lambda: MoleculeFeaturizer(**heavy, n_jobs=2).transform(smiles))
    results["two_workers"] = one / two
    print(f"two workers ('all' descriptors): {one / two:.2f}x", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        cache = FeatureCache(Path(folder))
        featurizer = MoleculeFeaturizer(**heavy)
        first = timed(lambda: featurize_cached(featurizer, smiles, smiles, cache))
        rerun = timed(lambda: featurize_cached(featurizer, smiles, smiles, cache))
    results["cached_rerun"] = first / rerun
    print(f"fully cached rerun: {first / rerun:.0f}x faster ({first:.1f} s -> {rerun:.3f} s)")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
