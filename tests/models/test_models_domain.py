"""Applicability domain: nearest-neighbour Tanimoto similarity to the training molecules."""

from __future__ import annotations

import numpy as np
import pytest

from cryoprotect.models.domain import TanimotoDomain

SUGARS = [
    "OCC1OC(O)C(O)C(O)C1O",  # glucose
    "OCC1OC(OC2(CO)OC(CO)C(O)C2O)C(O)C(O)C1O",  # sucrose
    "OCC(O)C(O)C(O)C(O)CO",  # sorbitol
    "OCC(O)CO",  # glycerol
]
PERFLUORODECANE = "FC(F)(F)" + "C(F)(F)" * 8 + "C(F)(F)F"


@pytest.fixture
def domain() -> TanimotoDomain:
    return TanimotoDomain(SUGARS, threshold=0.3)


def test_training_molecules_have_similarity_one_and_are_in(domain):
    np.testing.assert_allclose(domain.similarity(SUGARS), 1.0)
    assert domain.contains(SUGARS).all()


def test_a_very_different_molecule_is_out(domain):
    similarity = domain.similarity([PERFLUORODECANE])
    assert 0.0 <= similarity[0] < 0.3
    assert domain.contains([PERFLUORODECANE]).tolist() == [False]


def test_a_close_analogue_is_in_and_less_than_identical(domain):
    mannitol = "OC[C@@H](O)[C@@H](O)[C@H](O)[C@H](O)CO"  # sorbitol's stereoisomer
    erythritol = "OCC(O)C(O)CO"
    similarity = domain.similarity([mannitol, erythritol])
    assert (similarity >= 0.3).all() and (similarity <= 1.0).all()
    assert domain.contains([mannitol, erythritol]).all()


def test_unparseable_gives_nan_and_out(domain):
    similarity = domain.similarity(["C1CC", "OCC(O)CO"])
    assert np.isnan(similarity[0])
    assert similarity[1] == 1.0
    assert domain.contains(["C1CC", "OCC(O)CO"]).tolist() == [False, True]


def test_empty_smiles_is_out(domain):
    # RDKit parses '' as a molecule without atoms, so its similarity is 0 rather than NaN.
    assert domain.contains([""]).tolist() == [False]


def test_threshold_is_inclusive_and_decides():
    query = ["OCC(O)C(O)CO"]
    similarity = TanimotoDomain(SUGARS).similarity(query)[0]
    assert 0 < similarity < 1
    assert TanimotoDomain(SUGARS, threshold=similarity).contains(query).tolist() == [True]
    assert TanimotoDomain(SUGARS, threshold=similarity + 1e-9).contains(query).tolist() == [False]


def test_reference_is_deduplicated_and_unparseable_entries_are_ignored():
    domain = TanimotoDomain([*SUGARS, SUGARS[0], "C1CC"])
    assert domain.reference == sorted({*SUGARS, "C1CC"})
    np.testing.assert_allclose(domain.similarity(SUGARS), 1.0)


def test_an_empty_reference_contains_nothing():
    domain = TanimotoDomain([])
    assert np.isnan(domain.similarity(["CCO"])).all()
    assert domain.contains(["CCO"]).tolist() == [False]
