"""Whole screens on the trained test project's models: chunking, bad lines, ranking, outputs.

The library holds real structures from the curated reference molecules plus made-up bad
lines and repeats.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from conftest import REFERENCE_DIR
from cryoprotect.models import registry
from cryoprotect.models.predict import predict_frame
from cryoprotect.screening.chunks import ChunkScreener
from cryoprotect.screening.library import read_library
from cryoprotect.screening.run import screen

CRYOPROTECT = str(Path(sys.executable).parent / "cryoprotect")
GOALS = {"tg": "maximize", "iri": "minimize"}
WEIGHTS = {"tg": 1.0, "iri": 1.0}


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    """60 reference molecules, two unreadable lines, an empty name line, and two repeats."""
    molecules = pd.read_csv(REFERENCE_DIR / "molecules.csv", dtype=str, keep_default_na=False)
    smiles = molecules["canonical_smiles"].head(60).tolist()
    lines = [f"{s} ref-{i}" for i, s in enumerate(smiles)]
    lines[10:10] = ["C1CC(xx made-up-bad", "N(=O)(=O)(=O)(=O)C made-up-valence"]
    lines += [f"{smiles[3]} repeat-a", f"{smiles[7]}.[Na+].[Cl-] repeat-as-salt"]
    path = tmp_path_factory.mktemp("library") / "library.smi"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def screener(trained_project) -> ChunkScreener:
    """Tg and IRI models of the trained test project, IRI at 22 mM."""
    models = {t: registry.load(trained_project / "models", t) for t in GOALS}
    return ChunkScreener(models, concentration_mM=22.0)


def test_chunk_boundaries_do_not_change_the_results(library, screener):
    results = [
        screen(read_library(library, size), screener, GOALS, WEIGHTS).candidates
        for size in (7, 1000)
    ]
    pd.testing.assert_frame_equal(results[0], results[1])


def test_bad_lines_are_listed_and_repeats_dropped(library, screener):
    result = screen(read_library(library, 9), screener, GOALS, WEIGHTS)
    assert result.read == 64
    assert result.invalid["line"].tolist() == [11, 12]
    assert "RDKit cannot parse" in result.invalid["reason"].iloc[0]
    assert result.repeats == 2 and len(result.candidates) == 60
    assert set(result.candidates["name"]) == {f"ref-{i}" for i in range(60)}


def test_ranking_puts_domain_first_then_score(library, screener):
    ranked = screen(read_library(library, 50), screener, GOALS, WEIGHTS).candidates
    assert ranked["rank"].tolist() == list(range(1, 61))
    inside = ranked[["tg_in_domain", "iri_in_domain"]].all(axis=1)
    assert not (inside.astype(int).diff().fillna(0) > 0).any()  # once outside, never back
    for group in (ranked[inside], ranked[~inside]):
        assert group["score"].is_monotonic_decreasing
    front = ranked[ranked["pareto"]]
    for _, row in front.iterrows():
        better = (ranked["tg_prediction"] >= row["tg_prediction"]) & (
            ranked["iri_prediction"] <= row["iri_prediction"]
        )
        strictly = (ranked["tg_prediction"] > row["tg_prediction"]) | (
            ranked["iri_prediction"] < row["iri_prediction"]
        )
        assert not (better & strictly).any()


def test_the_command_writes_tables_summary_and_page(library, trained_project, tmp_path):
    out = tmp_path / "screen"
    done = subprocess.run(
        [
            CRYOPROTECT, "screen", "--library", str(library), "--targets", "tg,iri",
            "--out", str(out), "--chunk-size", "16", "--top", "5", "--format", "json",
            "--no-progress", "--workers", "2",
        ],
        env=os.environ | {"CRYOPROTECT_ROOT_DIR": str(trained_project)},
        capture_output=True, text=True, timeout=300, cwd=trained_project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["molecules_read"], summary["candidates"], summary["invalid"]) == (64, 60, 2)
    candidates = pd.read_parquet(out / "candidates.parquet")
    assert len(candidates) == 60 and candidates["rank"].iloc[0] == 1
    assert pd.read_csv(out / "invalid.csv")["line"].tolist() == [11, 12]
    page = (out / "summary.html").read_text()
    assert page.count("<svg") == 5 and "Pareto front" in page and "https://" not in page
    assert json.loads((out / "summary.json").read_text())["repeats"] == 2


def test_the_command_names_an_unknown_target(library, trained_project, tmp_path):
    done = subprocess.run(
        [CRYOPROTECT, "screen", "--library", str(library), "--targets", "viability",
         "--out", str(tmp_path)],
        env=os.environ | {"CRYOPROTECT_ROOT_DIR": str(trained_project)},
        capture_output=True, text=True, timeout=120, cwd=trained_project,
    )  # fmt: skip
    assert done.returncode == 1
    assert "--targets: choose from tg, iri" in done.stderr + done.stdout


def test_a_local_dask_cluster_gives_the_same_ranking_and_its_workers_stop_before_it(
    library, screener
):
    from cryoprotect.screening.distributed import chunk_runner

    def alive() -> set[int]:
        return {p.pid for p in psutil.Process().children(recursive=True) if p.is_running()}

    here = screen(read_library(library, 9), screener, GOALS, WEIGHTS).candidates
    with chunk_runner("local", workers=2) as cluster:
        before = alive()
        left: list[set[int]] = []
        result = screen(
            read_library(library, 9),
            screener,
            GOALS,
            WEIGHTS,
            runner=cluster.run,
            finished=lambda: cluster.release() or left.append(alive()),
        )
    assert len(before - left[0]) >= 2  # the two worker processes (their nannies too)
    pd.testing.assert_frame_equal(result.candidates, here)
    assert result.read == 64 and result.invalid["line"].tolist() == [11, 12]


def test_a_screener_travels_to_the_workers_once_however_often_it_runs(library, screener):
    """A staged screen runs its full screener twice (calibration, then the passed part)."""
    from distributed import Client

    from cryoprotect.screening.distributed import dask_runner

    with Client(processes=False, n_workers=1, dashboard_address=None) as client:
        sent = []
        scatter = client.scatter
        client.scatter = lambda data, **options: sent.append(data) or scatter(data, **options)
        runner = dask_runner(client, in_flight=2)
        first = [r.read for r in runner(screener, read_library(library, 30))]
        again = [r.read for r in runner(screener, read_library(library, 30))]
        other = ChunkScreener(screener.models, concentration_mM=10.0)
        [r.read for r in runner(other, read_library(library, 30))]
    assert sorted(first) == sorted(again) == [4, 30, 30]
    assert sent == [screener, other]


def test_screen_predicts_what_predict_frame_predicts(library, screener):
    candidates = screen(read_library(library, 9), screener, GOALS, WEIGHTS).candidates
    for name, model in screener.models.items():
        frame = pd.DataFrame({"smiles": candidates["smiles"], "concentration_mM": 22.0})
        alone = predict_frame(model, frame)
        for column in ("prediction", "lower", "upper"):
            np.testing.assert_allclose(candidates[f"{name}_{column}"], alone[column], rtol=1e-12)
        assert (candidates[f"{name}_in_domain"] == (alone["in_domain"] == "true")).all()
        assert (candidates[f"{name}_error"] == alone["error"]).all()


def test_repeated_lines_are_screened_once_and_unusable_repeats_listed(tmp_path, screener):
    molecules = pd.read_csv(REFERENCE_DIR / "molecules.csv", dtype=str, keep_default_na=False)
    smiles = molecules["canonical_smiles"].head(20).tolist()
    lines = [*smiles, "C1CC(xx", *smiles, *smiles[:5], "C1CC(xx"]  # 47 lines, 21 distinct
    path = tmp_path / "repeats.smi"
    path.write_text("\n".join(lines) + "\n")
    sent: list[int] = []

    def counting(screener, chunks):
        for chunk in chunks:
            sent.append(len(chunk))
            yield screener(chunk)

    progress: list[int] = []
    result = screen(
        read_library(path, 8), screener, GOALS, WEIGHTS, runner=counting, progress=progress.append
    )
    assert sent == [8, 8, 5]  # the 21 distinct lines, regrouped to the chunk size
    assert result.read == sum(progress) == 47
    assert result.invalid["line"].tolist() == [21, 47]
    assert result.invalid["reason"].nunique() == 1
    assert len(result.candidates) == 20 and result.repeats == 47 - 20 - 2
    assert result.candidates["line"].max() <= 20
    distinct = tmp_path / "distinct.smi"
    distinct.write_text("\n".join([*smiles, "C1CC(xx"]) + "\n")
    alone = screen(read_library(distinct, 8), screener, GOALS, WEIGHTS).candidates
    pd.testing.assert_frame_equal(alone, result.candidates)


def test_a_library_with_only_a_header_gives_an_empty_screen(tmp_path, screener):
    path = tmp_path / "empty.csv"
    path.write_text("smiles,name\n")
    result = screen(read_library(path, 5), screener, GOALS, WEIGHTS)
    assert (result.read, len(result.candidates), len(result.invalid)) == (0, 0, 0)
