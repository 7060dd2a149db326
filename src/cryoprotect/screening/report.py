"""Writing a screen's results: Parquet tables, a JSON summary and an HTML page of the best.

``DIR/candidates.parquet`` holds every usable molecule, ranked; ``DIR/invalid.csv`` the lines
that could not be used and why; ``DIR/summary.json`` the counts, timing and model versions;
``DIR/summary.html`` the counts, the objectives and the top candidates drawn. The page is
self-contained (no network needed to view it).
"""

from __future__ import annotations

import json
from pathlib import Path

from cryoprotect.chem.depict import structure_html
from cryoprotect.files import write_text_atomically
from cryoprotect.html import Markup, render
from cryoprotect.models.targets import TARGETS
from cryoprotect.screening.run import ScreenResult


def summary_html(result: ScreenResult, goals: dict[str, str], top: int, title: str) -> str:
    """Return the HTML page: counts, objectives, and the ``top`` candidates drawn."""
    summary = result.summary()
    summary |= {f"stage: {k}": v for k, v in summary.pop("stages", {}).items() if k != "seconds"}
    candidates = [
        row | {"drawing": Markup(structure_html(row["smiles"], 200, 140))}
        for row in result.candidates.head(top).to_dict("records")
    ]
    return render(
        "screening_report.html.j2",
        title=title,
        counts=[(k.replace("_", " "), v) for k, v in summary.items() if k != "model_versions"],
        objectives=", ".join(f"{t} ({g})" for t, g in goals.items()),
        versions=", ".join(f"{t} {v}" for t, v in result.model_versions.items()),
        units={target: TARGETS[target].unit for target in goals},
        candidates=candidates,
    )


def write_results(
    result: ScreenResult, out: Path, goals: dict[str, str], top: int, title: str
) -> dict[str, Path]:
    """Write the tables, the summary and the page under ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "candidates": out / "candidates.parquet",
        "invalid": out / "invalid.csv",
        "summary": out / "summary.json",
        "html": out / "summary.html",
    }
    partial = paths["candidates"].with_suffix(".parquet.partial")
    result.candidates.to_parquet(partial, index=False)
    partial.replace(paths["candidates"])
    write_text_atomically(paths["invalid"], result.invalid.to_csv(index=False))
    write_text_atomically(paths["summary"], json.dumps(result.summary(), indent=2) + "\n")
    write_text_atomically(paths["html"], summary_html(result, goals, top, title))
    return paths
