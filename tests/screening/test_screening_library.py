"""Reading libraries in chunks, standardising, deduplicating, and ranking."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from cryoprotect.screening.library import LibraryFormatError, count_molecules, read_library
from cryoprotect.screening.prepare import Deduplicator
from cryoprotect.screening.ranking import pareto_front, weighted_score

SMI = (
    "# made-up library for the tests\nOCC(O)CO glycerol\n\nCS(C)=O\nnot-a-smiles broken one\nOCCO\n"
)


def _all(path, size):
    return pd.concat(list(read_library(path, size)), ignore_index=True)


def test_smiles_files_keep_line_numbers_and_names_in_any_chunking(tmp_path):
    plain = tmp_path / "lib.smi"
    plain.write_text(SMI)
    packed = tmp_path / "lib.smi.gz"
    packed.write_bytes(gzip.compress(SMI.encode()))
    for path in (plain, packed):
        for size in (1, 2, 100):
            frame = _all(path, size)
            assert frame["line"].tolist() == [2, 4, 5, 6]
            assert frame["name"].tolist() == ["glycerol", "", "broken one", ""]
        assert count_molecules(path) == 4


def test_csv_and_parquet_tables(tmp_path):
    table = pd.DataFrame({"SMILES": ["OCCO", "OCC(O)CO", ""], "id": ["a", "b", "c"]})
    csv = tmp_path / "lib.csv.gz"
    table.to_csv(csv, index=False, compression="gzip")
    parquet = tmp_path / "lib.parquet"
    table.to_parquet(parquet)
    for path, first in ((csv, 2), (parquet, 1)):
        frame = _all(path, 2)
        assert frame["line"].tolist() == [first, first + 1, first + 2]
        assert frame["smiles"].tolist() == ["OCCO", "OCC(O)CO", ""]
        assert frame["name"].tolist() == ["a", "b", "c"]
        assert count_molecules(path) == 3


def test_unknown_formats_and_tables_without_smiles_are_refused(tmp_path):
    with pytest.raises(LibraryFormatError, match="unknown library format"):
        list(read_library(tmp_path / "lib.sdf"))
    (tmp_path / "lib.csv").write_text("structure\nOCCO\n")
    with pytest.raises(LibraryFormatError, match="no 'smiles' column"):
        list(read_library(tmp_path / "lib.csv"))


def test_standardising_sets_aside_bad_lines_and_drops_repeats():
    chunk = pd.DataFrame(
        {
            "line": [1, 2, 3, 4, 5],
            "smiles": ["OCC(O)CO", "C1CC", "", "OCC(O)CO.O", "[Na+].[Cl-].OCCO"],
            "name": ["glycerol", "", "", "glycerol hydrate", "salt"],
        }
    )
    dedup = Deduplicator()
    first = dedup.prepare(chunk)
    assert first.molecules["line"].tolist() == [1, 5]
    assert first.molecules["smiles"].tolist() == ["OCC(O)CO", "OCCO"]  # parents
    assert first.repeats == 1
    assert first.invalid["line"].tolist() == [2, 3]
    assert "empty SMILES" in first.invalid["reason"].tolist()
    again = dedup.prepare(chunk.iloc[[0]])
    assert again.repeats == 1 and again.molecules.empty  # seen in an earlier chunk


def test_the_pareto_front_matches_brute_force():
    rng = np.random.default_rng(0)
    for columns in (2, 3):
        for _ in range(20):
            values = rng.integers(0, 5, size=(30, columns)).astype(float)
            brute = [
                not any((other >= row).all() and (other > row).any() for other in values)
                for row in values
            ]
            assert pareto_front(values).tolist() == brute
    with_gap = np.array([[1.0, 2.0], [np.inf * -1, 5.0], [2.0, 1.0]])
    assert pareto_front(with_gap).tolist() == [True, False, True]


def test_the_weighted_score_turns_goals_into_z_scores():
    frame = pd.DataFrame({"tg_prediction": [200.0, 300.0, 250.0], "iri_prediction": [10, 50, 30]})
    score = weighted_score(frame, {"tg": "maximize", "iri": "minimize"}, {"tg": 1, "iri": 2})
    z = np.array([-1.0, 1.0, 0.0]) * np.sqrt(1.5)  # population z-scores of 3 evenly spaced values
    assert score == pytest.approx(z + 2 * -z)
