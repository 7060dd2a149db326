"""Molecule featurization: masked invalid rows, named features, parallel batches, the cache.

Every value here is computed by RDKit from real structures; the one number planted in the
cache file (``CACHE_SENTINEL``) is made up to show that a cached row is read, not recomputed.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem
from sklearn.base import clone

import cryoprotect.chem.featurizers as featurizers_module
from cryoprotect.chem.cache import FeatureCache, featurize_cached
from cryoprotect.chem.descriptors import descriptor_row
from cryoprotect.chem.featurizers import (
    DESCRIPTOR_SETS,
    FRAGMENT_DESCRIPTORS,
    PHYSCHEM_DESCRIPTORS,
    MoleculeFeaturizer,
    featurize_together,
)
from cryoprotect.chem.parallel import batches, parallelized

L_ALANINE = "C[C@H](N)C(=O)O"
D_ALANINE = "C[C@@H](N)C(=O)O"
VALID = ["OCC(O)CO", "CS(C)=O", "CCO", "OCC1OC(O)C(O)C(O)C1O", "NCC(=O)O", L_ALANINE]
CACHE_SENTINEL = -12345.0


def small(**overrides) -> MoleculeFeaturizer:
    """A quick featurizer: physico-chemical descriptors and a short fingerprint."""
    return MoleculeFeaturizer(**{"descriptors": "physchem", "morgan_size": 64, **overrides})


def test_invalid_and_empty_smiles_are_masked_with_a_reason():
    features = small().featurize(["OCC(O)CO", "C1CC", "", "CS(C)=O", "   "])
    assert features.valid.tolist() == [True, False, False, True, False]
    assert features.errors[0] is None and features.errors[3] is None
    assert "C1CC" in features.errors[1]
    assert features.errors[2] == features.errors[4] == "empty SMILES"
    mask = np.ma.getmaskarray(features.values)
    assert mask[[1, 2, 4]].all()
    assert not mask[[0, 3]].any()
    molwt = features.names.index("MolWt")
    assert features.values[0, molwt] == pytest.approx(92.094, abs=1e-3)
    assert features.values[3, molwt] == pytest.approx(78.136, abs=1e-3)


def test_valid_rows_do_not_depend_on_invalid_neighbours():
    alone = small().featurize(["OCC(O)CO", "CCO"]).values
    mixed = small().featurize(["C1CC", "OCC(O)CO", "", "CCO"]).values
    np.testing.assert_array_equal(mixed[[1, 3]].filled(np.nan), alone.filled(np.nan))


def test_a_batch_of_only_invalid_structures_is_all_masked():
    features = small().featurize(["", "C1CC"])
    assert features.values.shape == (2, len(features.names))
    assert np.ma.getmaskarray(features.values).all()
    assert all(features.errors)


@pytest.mark.parametrize("descriptors", sorted(DESCRIPTOR_SETS))
def test_feature_names_match_columns(descriptors):
    featurizer = MoleculeFeaturizer(descriptors=descriptors, morgan_size=32, maccs=True)
    features = featurizer.featurize(["OCC(O)CO", "c1ccccc1O"])
    names = list(featurizer.get_feature_names_out())
    assert features.names == names
    assert features.values.shape == (2, len(names))
    assert len(set(names)) == len(names)
    assert names[: len(DESCRIPTOR_SETS[descriptors])] == list(DESCRIPTOR_SETS[descriptors])
    tail = names[len(DESCRIPTOR_SETS[descriptors]) :]
    assert tail == [f"morgan_{i}" for i in range(32)] + [f"maccs_{i}" for i in range(167)]


def test_descriptor_sets_are_what_they_say():
    assert DESCRIPTOR_SETS["none"] == ()
    assert DESCRIPTOR_SETS["physchem"] == PHYSCHEM_DESCRIPTORS
    fragments = DESCRIPTOR_SETS["fragments"]
    assert fragments == FRAGMENT_DESCRIPTORS and len(fragments) > 50
    assert all(name.startswith("fr_") for name in fragments)
    assert not any(name.startswith("fr_") for name in PHYSCHEM_DESCRIPTORS)
    assert set(DESCRIPTOR_SETS["physchem+fragments"]) == set(PHYSCHEM_DESCRIPTORS) | set(fragments)
    assert set(DESCRIPTOR_SETS["physchem+fragments"]) <= set(DESCRIPTOR_SETS["all"])


def test_fragment_counts_are_functional_group_counts():
    featurizer = MoleculeFeaturizer(descriptors="fragments", morgan_size=0)
    features = featurizer.featurize(["OCC(O)CO", "CCO", "c1ccccc1"])
    column = features.names.index("fr_Al_OH")
    assert features.values[:, column].tolist() == [3.0, 1.0, 0.0]


def test_no_descriptors_and_no_fingerprint_gives_zero_columns():
    features = MoleculeFeaturizer(descriptors="none", morgan_size=0).featurize(["CCO", "C1CC"])
    assert features.values.shape == (2, 0)
    assert features.valid.tolist() == [True, False]


def test_unknown_descriptor_set_raises():
    featurizer = MoleculeFeaturizer(descriptors="everything")
    with pytest.raises(ValueError, match="unknown descriptor set 'everything'"):
        featurizer.featurize(["CCO"])
    with pytest.raises(ValueError, match="unknown descriptor set"):
        featurizer.get_feature_names_out()


@pytest.mark.parametrize(("chirality", "differ"), [(True, True), (False, False)])
def test_chirality_setting_decides_whether_enantiomers_differ(chirality, differ):
    featurizer = MoleculeFeaturizer(
        descriptors="none", morgan_size=2048, morgan_chirality=chirality
    )
    values = featurizer.featurize([L_ALANINE, D_ALANINE]).values
    assert (not np.array_equal(values[0], values[1])) is differ


def test_fingerprint_holds_counts_not_bits():
    values = MoleculeFeaturizer(descriptors="none", morgan_size=2048).featurize(["CCCCCCCC"])
    assert values.values.max() > 1


def test_parallel_batches_give_the_same_features():
    smiles = [*VALID, "C1CC", "", D_ALANINE]
    serial = small(n_jobs=1).featurize(smiles)
    parallel = small(n_jobs=2, batch_size=2).featurize(smiles)
    assert parallel.errors == serial.errors
    assert parallel.names == serial.names
    np.testing.assert_array_equal(
        np.ma.getmaskarray(parallel.values), np.ma.getmaskarray(serial.values)
    )
    np.testing.assert_array_equal(parallel.values.filled(np.nan), serial.values.filled(np.nan))


def test_get_params_and_clone_round_trip():
    featurizer = MoleculeFeaturizer(
        descriptors="fragments",
        morgan_radius=3,
        morgan_size=16,
        morgan_chirality=False,
        maccs=True,
        n_jobs=2,
        batch_size=7,
    )
    copy = clone(featurizer)
    assert copy is not featurizer
    assert copy.get_params() == featurizer.get_params()
    assert copy.get_params()["descriptors"] == "fragments"
    rebuilt = MoleculeFeaturizer(**featurizer.get_params())
    np.testing.assert_array_equal(
        rebuilt.transform(["CCO", "OCC(O)CO"]), featurizer.transform(["CCO", "OCC(O)CO"])
    )


def test_settings_leave_out_how_the_work_is_run():
    one = small(n_jobs=1, batch_size=500, progress=False).settings()
    other = small(n_jobs=2, batch_size=3, progress=True).settings()
    assert one == other
    assert {"n_jobs", "batch_size", "progress"}.isdisjoint(one)
    assert small(morgan_size=32).settings() != one


# --- the feature cache -------------------------------------------------------------------


def test_second_call_reads_the_cache_and_computes_nothing(tmp_path):
    featurizer = small()
    cache = FeatureCache(tmp_path)
    keys = [f"key-{i}" for i in range(len(VALID))]
    first = featurize_cached(featurizer, VALID, keys, cache)
    path = cache.path(featurizer)
    assert path.is_file()
    assert [f.name for f in tmp_path.iterdir()] == [path.name]
    stamp, content = path.stat().st_mtime_ns, path.read_bytes()
    fresh = featurizer.featurize(VALID)
    np.testing.assert_array_equal(first.values.filled(np.nan), fresh.values.filled(np.nan))

    time.sleep(0.01)
    second = featurize_cached(featurizer, VALID, keys, cache)
    assert path.stat().st_mtime_ns == stamp and path.read_bytes() == content
    np.testing.assert_array_equal(second.values.filled(np.nan), first.values.filled(np.nan))
    assert second.errors == first.errors and second.names == first.names

    # Plant a made-up value in the cache: a cached row is read back as it is, not recomputed.
    table = pd.read_parquet(path)
    table.loc["key-0", "MolWt"] = CACHE_SENTINEL
    table.to_parquet(path)
    third = featurize_cached(featurizer, VALID, keys, cache)
    assert third.values[0, third.names.index("MolWt")] == CACHE_SENTINEL


def test_only_new_molecules_are_added_to_the_cache(tmp_path):
    featurizer = small()
    cache = FeatureCache(tmp_path)
    featurize_cached(featurizer, VALID[:2], VALID[:2], cache)
    assert sorted(cache.load(featurizer).index) == sorted(VALID[:2])
    result = featurize_cached(featurizer, VALID[1:4], VALID[1:4], cache)
    assert sorted(cache.load(featurizer).index) == sorted(VALID[:4])
    expected = featurizer.featurize(VALID[1:4]).values
    np.testing.assert_array_equal(result.values.filled(np.nan), expected.filled(np.nan))


def test_invalid_rows_are_masked_and_never_cached(tmp_path):
    featurizer = small()
    cache = FeatureCache(tmp_path)
    smiles = ["OCC(O)CO", "C1CC", "", "CCO"]
    keys = ["glycerol", "broken", "empty", "ethanol"]
    for _ in range(2):  # the second time the invalid rows are computed again, not cached
        result = featurize_cached(featurizer, smiles, keys, cache)
        assert result.valid.tolist() == [True, False, False, True]
        assert "C1CC" in result.errors[1] and result.errors[2] == "empty SMILES"
        assert np.ma.getmaskarray(result.values)[[1, 2]].all()
        assert not np.ma.getmaskarray(result.values)[[0, 3]].any()
        assert sorted(cache.load(featurizer).index) == ["ethanol", "glycerol"]


def test_repeated_keys_get_the_same_row(tmp_path):
    featurizer = small()
    result = featurize_cached(
        featurizer, ["CCO", "OCC(O)CO", "CCO"], ["e", "g", "e"], FeatureCache(tmp_path)
    )
    np.testing.assert_array_equal(result.values[0], result.values[2])
    assert len(FeatureCache(tmp_path).load(featurizer)) == 2


def test_without_a_cache_the_features_are_computed(tmp_path):
    featurizer = small()
    result = featurize_cached(featurizer, ["CCO", "C1CC"], ["CCO", "C1CC"], None)
    expected = featurizer.featurize(["CCO", "C1CC"])
    assert result.errors == expected.errors
    np.testing.assert_array_equal(result.values[0], expected.values[0])
    assert list(tmp_path.iterdir()) == []


def test_each_featurizer_setting_has_its_own_cache_file(tmp_path):
    cache = FeatureCache(tmp_path)
    short, long = small(morgan_size=16), small(morgan_size=32)
    assert cache.path(short) != cache.path(long)
    assert cache.path(small(morgan_chirality=False)) != cache.path(small())
    assert cache.path(small(n_jobs=2, batch_size=3)) == cache.path(small())
    one = featurize_cached(short, ["CCO"], ["CCO"], cache)
    other = featurize_cached(long, ["CCO"], ["CCO"], cache)
    assert one.values.shape == (1, len(PHYSCHEM_DESCRIPTORS) + 16)
    assert other.values.shape == (1, len(PHYSCHEM_DESCRIPTORS) + 32)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [cache.path(short).name, cache.path(long).name]
    )


# --- parallel batches --------------------------------------------------------------------


def _tag_slowly(batch):
    """Return ``(item, batch length)``; the first batch is the slowest to finish."""
    if batch[0] == 0:
        time.sleep(0.3)
    return [(item, len(batch)) for item in batch]


def test_batches_split_in_order():
    assert batches(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert batches([], 3) == []


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_parallelized_keeps_the_input_order(n_jobs):
    items = list(range(11))
    result = parallelized(_tag_slowly, items, n_jobs=n_jobs, batch_size=3)
    assert [item for item, _ in result] == items
    assert [size for _, size in result] == [3] * 9 + [2] * 2


def test_featurizing_together_gives_each_featurizer_its_own_features(monkeypatch):
    featurizers = [
        small(),
        small(morgan_size=0, maccs=True),
        MoleculeFeaturizer(descriptors="none", morgan_size=128, morgan_radius=3),
    ]
    smiles = [*VALID, "C1CC", "", D_ALANINE]
    alone = [f.featurize(smiles) for f in featurizers]
    calls: list[str] = []

    def counted(mol, names):
        calls.append(Chem.MolToSmiles(mol))
        return descriptor_row(mol, names)

    monkeypatch.setattr(featurizers_module, "descriptor_row", counted)
    together = featurize_together(featurizers, smiles)
    # the shared descriptor set once per readable molecule; the empty and unparseable skipped
    assert len(calls) == len(set(calls)) == len(VALID) + 1
    for one, other in zip(alone, together, strict=True):
        assert (other.names, other.errors) == (one.names, one.errors)
        np.testing.assert_array_equal(
            np.ma.getmaskarray(other.values), np.ma.getmaskarray(one.values)
        )
        np.testing.assert_array_equal(other.values.filled(np.nan), one.values.filled(np.nan))


def test_values_beyond_float32_are_missing_not_infinite():
    # a 134-atom peptide from PubChem whose Ipc (2.4e39) exceeds float32, which trees work in
    peptide = (
        "C[C@H]([C@@H](C(=O)N[C@@H](C(C)C)C(=O)NCC(=O)N[C@@H](CC(=O)O)C(=O)N[C@@H](C(C)C)C(=O)N"
        "[C@@H](CC(=O)N)C(=O)N[C@@H]([C@@H](C)O)C(=O)N[C@@H](CC(=O)O)C(=O)N[C@@H](CCCNC(=N)N)"
        "C(=O)N1CCC[C@H]1C(=O)NCC(=O)N[C@@H](CC(C)C)C(=O)N[C@@H](CC(C)C)C(=O)N[C@@H](CC(=O)O)"
        "C(=O)N[C@@H](CC(C)C)C(=O)N[C@@H](CCCCN)C(=O)O)NC(=O)[C@H](C)NC(=O)[C@H](CCC(=O)N)N)O"
    )
    features = MoleculeFeaturizer(descriptors="all", morgan_size=0).featurize([peptide, "CCO"])
    assert features.errors == [None, None]
    row = features.values[0].filled(np.nan)
    assert np.isnan(row[features.names.index("Ipc")])
    assert np.isfinite(row[features.names.index("MolWt")])
    assert np.all(np.isnan(row) | (np.abs(row) <= np.finfo(np.float32).max))


def test_invalid_rows_are_nan_in_a_plain_scikit_learn_pipeline():
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    featurizer = small()
    scaled = Pipeline([("features", featurizer), ("scale", StandardScaler())])
    rows = scaled.fit(VALID).transform(["CCO", "xx", "C CO"])
    assert np.isfinite(rows[0]).all()
    assert np.isnan(rows[1:]).all()  # never uninitialised memory
    model = Pipeline([("features", small()), ("model", LinearRegression())])
    model.fit(VALID, np.arange(len(VALID), dtype=float))
    with pytest.raises(ValueError, match="NaN"):
        model.predict(["CCO", "xx"])  # a model that cannot use a missing row says so


@pytest.mark.parametrize("junk", ["C CO", "OCC(O)CO junk text", "CCO\u0000", "CCO\U0001f600"])
def test_junk_text_is_an_invalid_row_not_its_leading_fragment(junk):
    features = small().featurize(["CCO", junk])
    assert features.valid.tolist() == [True, False]
    assert "SMILES" in features.errors[1] and "character" in features.errors[1]


def test_a_molecule_beyond_the_heavy_atom_limit_is_refused_at_once():
    chain = "C" * 1000  # a legal SMILES: a chain of 1,000 carbons
    started = time.process_time()
    features = MoleculeFeaturizer(descriptors="fast", maccs=True).featurize([chain, "CCO"])
    assert time.process_time() - started < 1.0
    assert features.valid.tolist() == [False, True]
    assert "1000 heavy atoms, more than the 150" in features.errors[0]


def test_a_molecule_at_the_heavy_atom_limit_is_featurized():
    features = MoleculeFeaturizer(descriptors="fast", maccs=True).featurize(["C" * 150])
    assert features.valid.tolist() == [True]


def test_descriptor_rows_are_rdkit_s_own_values():
    from rdkit.Chem import Descriptors

    for smiles in VALID:
        mol = Chem.MolFromSmiles(smiles)
        expected = Descriptors.CalcMolDescriptors(Chem.MolFromSmiles(smiles), missingVal=np.nan)
        row = descriptor_row(mol, list(expected))
        np.testing.assert_allclose(row, list(expected.values()), rtol=1e-12, equal_nan=True)


def test_the_fast_set_leaves_out_only_the_costly_descriptors():
    from cryoprotect.chem.descriptors import ALL_DESCRIPTORS, COSTLY

    assert set(ALL_DESCRIPTORS) - set(DESCRIPTOR_SETS["fast"]) == set(COSTLY)
    assert {"qed", "Ipc", "AvgIpc", "SPS"} == set(COSTLY)
