"""The committed ``data/reference/`` tables: reproducible from the real sources, and valid.

The published source tables live outside the repository, at ``../shared/data/reference``
next to the checkout, or wherever ``CRYOPROTECT_SOURCE_DIR`` points. Without them the
reproduction test is skipped; the validity checks of the committed files always run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from cryoprotect.chem.structures import standardize
from cryoprotect.curation.build import curate, write
from cryoprotect.curation.sources import SOURCES
from cryoprotect.records import EXPERIMENT_COLUMNS, MOLECULE_COLUMNS, parse_components
from cryoprotect.vocabulary import AMOUNT_UNITS, PROPERTIES

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMITTED = REPO_ROOT / "data" / "reference"
CURATED_FILES = (
    *(f"experiments_{p}.csv" for p in PROPERTIES),
    "molecules.csv",
    "rejects.csv",
    "summary.json",
)


def source_dir() -> Path:
    configured = os.environ.get("CRYOPROTECT_SOURCE_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "data" / "reference"


@pytest.fixture(scope="module")
def sources() -> Path:
    folder = source_dir()
    missing = [s.filename for s in SOURCES if not (folder / s.filename).is_file()]
    if not folder.is_dir() or missing:
        pytest.skip(
            f"published source tables not found in {folder} (missing: "
            f"{', '.join(missing) or 'the folder'}); set CRYOPROTECT_SOURCE_DIR to their folder"
        )
    return folder


def read_committed(filename: str) -> pd.DataFrame:
    return pd.read_csv(COMMITTED / filename, dtype=str, keep_default_na=False)


def test_curating_the_sources_reproduces_the_committed_files(sources, tmp_path):
    written = write(curate(sources), tmp_path)
    assert sorted(p.name for p in written) == sorted(CURATED_FILES)
    different = [
        name
        for name in CURATED_FILES
        if (tmp_path / name).read_bytes() != (COMMITTED / name).read_bytes()
    ]
    assert not different, f"re-curated files differ from data/reference/: {different}"


def test_committed_files_exist():
    assert all((COMMITTED / name).is_file() for name in CURATED_FILES)


@pytest.mark.parametrize("prop", list(PROPERTIES))
def test_committed_experiments_are_valid(prop):
    frame = read_committed(f"experiments_{prop}.csv")
    definition = PROPERTIES[prop]
    assert list(frame.columns) == list(EXPERIMENT_COLUMNS)
    assert len(frame) > 0
    assert frame.record_id.is_unique
    problems = []
    for record in frame.to_dict("records"):
        rid = record["record_id"]
        if not record["citation"].strip():
            problems.append(f"{rid}: no citation")
        if record["property"] != prop or record["property"] not in PROPERTIES:
            problems.append(f"{rid}: property {record['property']!r}")
        if record["unit"] != definition.unit:
            problems.append(f"{rid}: unit {record['unit']!r}")
        value = float(record["value"])
        if not definition.min_value <= value <= definition.max_value:
            problems.append(f"{rid}: value {value} outside the range of {prop}")
    assert not problems, problems[:20]


@pytest.mark.parametrize("prop", ["tg", "iri"])
def test_committed_structures_match_their_inchikeys(prop):
    frame = read_committed(f"experiments_{prop}.csv")
    strip = PROPERTIES[prop].in_solution
    problems = []
    cache: dict[str, str] = {}
    for record in frame.to_dict("records"):
        smiles = record["smiles"]
        if not smiles:
            problems.append(f"{record['record_id']}: no SMILES")
            continue
        if smiles not in cache:
            cache[smiles] = standardize(smiles, strip_counterions=strip).inchikey
        if cache[smiles] != record["inchikey"]:
            problems.append(f"{record['record_id']}: {smiles} is {cache[smiles]}")
    assert not problems, problems[:20]


def test_committed_molecules_cover_the_experiments():
    molecules = read_committed("molecules.csv")
    assert list(molecules.columns) == list(MOLECULE_COLUMNS)
    assert molecules.inchikey.is_unique
    keys = set(molecules.inchikey)
    for prop in ("tg", "iri"):
        assert set(read_committed(f"experiments_{prop}.csv").inchikey) <= keys


def test_committed_viability_components_resolve_to_one_molecule():
    molecules = read_committed("molecules.csv")
    index: dict[str, set[str]] = {}
    for row in molecules.to_dict("records"):
        for name in [row["name"], *filter(None, row["synonyms"].split("|"))]:
            index.setdefault(name.casefold(), set()).add(row["inchikey"])
    frame = read_committed("experiments_viability.csv")
    assert (frame.smiles == "").all()
    for text in frame.components:
        for entry in parse_components(text):
            assert entry.unit in AMOUNT_UNITS
            assert len(index.get(entry.identifier.casefold(), ())) == 1, entry.identifier


def test_committed_summary_matches_the_tables():
    summary = json.loads((COMMITTED / "summary.json").read_text(encoding="utf-8"))
    for prop in PROPERTIES:
        frame = read_committed(f"experiments_{prop}.csv")
        assert summary["experiments"][prop] == len(frame)
        assert summary["experiments_by_source"][prop] == frame.source.value_counts().to_dict()
    assert summary["molecules"] == len(read_committed("molecules.csv"))
    rejects = read_committed("rejects.csv")
    assert summary["rejects"] == len(rejects)
    assert summary["rejects_by_reason"] == rejects.reason.value_counts().to_dict()
