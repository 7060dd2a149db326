"""A screen of a million distinct lines: time, peak memory and stage times, in one run.

    .venv/bin/python benchmarks/screening_million.py [--lines 1000000] [--workers 2]

Needs a trained project (``dvc repro``). The library holds the ``chemicals`` package's
56,566 PubChem structures and made-up derivatives of them
(:func:`real_molecules.derived_smiles`: a small group written before each SMILES), every line
distinct, so the whole screen's cost is measured, not the repeat filter's. Runs
``cryoprotect screen --targets tg,iri`` as configured (the first pass on every line, the full
models on the most promising ``screen.first_pass.fraction``) on a local cluster of
``--workers`` processes, and prints one JSON line: seconds, molecules/s, peak resident memory
of the command and its workers, the counts (candidates, invalid lines, repeated molecules) and
the stage times. How much of the best the first pass keeps is measured on real structures by
``benchmarks/screening.py`` (a full screen of a million lines takes hours here).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from real_molecules import derived_smiles

from screening import figures, run_screen


def main() -> None:
    """Screen ``--lines`` distinct lines with the first pass; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    lines = derived_smiles(args.lines)
    with tempfile.TemporaryDirectory() as folder:
        library = Path(folder) / "library.smi"
        library.write_text("\n".join(lines) + "\n")
        run = run_screen(library, Path(folder) / "out", args.workers)
    counts = {k: run[k] for k in ("molecules_read", "candidates", "invalid", "repeats")}
    print(
        json.dumps(
            {"lines": len(lines), "workers": args.workers, "cpus": os.cpu_count()}
            | figures(run, len(lines))
            | counts
            | {"stages": run.get("stages")}
            | {"load_average_1min_at_end": round(os.getloadavg()[0], 2)}
        )
    )


if __name__ == "__main__":
    main()
