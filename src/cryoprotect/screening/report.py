"""Writing a screen's results: Parquet tables, a JSON summary and an HTML page of the best.

``DIR/candidates.parquet`` holds every usable molecule, ranked; ``DIR/invalid.csv`` the lines
that could not be used and why; ``DIR/summary.json`` the counts, timing and model versions;
``DIR/summary.html`` the counts, the objectives and the top candidates drawn. The page is
self-contained (no network needed to view it).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd

from cryoprotect.chem.depict import structure_html
from cryoprotect.files import write_text_atomically
from cryoprotect.models.targets import TARGETS
from cryoprotect.screening.run import ScreenResult

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.5em; vertical-align: middle; }
th { background: #f3f3f3; } .out { color: #a4161a; } figure { margin: 0; }
"""


def _cell(row, target: str) -> str:
    value = row[f"{target}_prediction"]
    estimate = row.get(f"{target}_first_pass")
    if pd.isna(value) and estimate is not None and not pd.isna(estimate):
        unit = html.escape(TARGETS[target].unit)
        return f"<td>about {estimate:.1f} {unit} (first pass only)</td>"
    if pd.isna(value):
        return f"<td>{html.escape(str(row[f'{target}_error']))}</td>"
    note = "" if row[f"{target}_in_domain"] else " <span class='out'>(out of domain)</span>"
    return (
        f"<td>{value:.1f} [{row[f'{target}_lower']:.1f}, {row[f'{target}_upper']:.1f}] "
        f"{html.escape(TARGETS[target].unit)}{note}</td>"
    )


def summary_html(result: ScreenResult, goals: dict[str, str], top: int, title: str) -> str:
    """Return the HTML page: counts, objectives, and the ``top`` candidates drawn."""
    summary = result.summary()
    summary |= {f"stage: {k}": v for k, v in summary.pop("stages", {}).items() if k != "seconds"}
    counts = "".join(
        f"<tr><th>{html.escape(k.replace('_', ' '))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in summary.items()
        if k != "model_versions"
    )
    objectives = ", ".join(f"{t} ({g})" for t, g in goals.items())
    head = "".join(f"<th>{t} (90% interval)</th>" for t in goals)
    rows = []
    for row in result.candidates.head(top).to_dict("records"):
        legend = html.escape(str(row["name"] or f"line {row['line']}"))
        rows.append(
            f"<tr><td>{row['rank']}</td><td>{structure_html(row['smiles'], 200, 140)}"
            f"<br>{legend}</td>{''.join(_cell(row, t) for t in goals)}"
            f"<td>{row['score']:.2f}</td><td>{'yes' if row['pareto'] else ''}</td></tr>"
        )
    versions = ", ".join(f"{t} {v}" for t, v in result.model_versions.items())
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<table>{counts}</table><p>Objectives: {html.escape(objectives)}; models: "
        f"{html.escape(versions)}. Candidates inside every model's applicability domain rank "
        "first.</p>"
        f"<h2>Top {min(top, len(result.candidates))} candidates</h2><table><tr><th>rank</th>"
        f"<th>structure</th>{head}<th>score</th><th>Pareto front</th></tr>{''.join(rows)}</table>"
        "</body></html>"
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
