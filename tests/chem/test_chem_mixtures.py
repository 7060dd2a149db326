"""Mixture features: composition-weighted pooling, unit conversion, masked bad mixtures.

The amounts (levels, molar and %w/v values) are made up for the tests; molecular weights and
descriptors come from RDKit and are recomputed independently here.
"""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import Descriptors

from cryoprotect.chem.cache import FeatureCache
from cryoprotect.chem.featurizers import PHYSCHEM_DESCRIPTORS, MoleculeFeaturizer
from cryoprotect.chem.mixtures import (
    COMPOSITION_FEATURES,
    Component,
    IncompatibleUnitsError,
    MixtureFeaturizer,
    common_basis,
)

GLYCEROL = "OCC(O)CO"
DMSO = "CS(C)=O"
SUCROSE = "OCC1OC(OC2(CO)OC(CO)C(O)C2O)C(O)C(O)C1O"
ETHANOL = "CCO"


def weight(smiles: str) -> float:
    return Descriptors.MolWt(Chem.MolFromSmiles(smiles))


def logp(smiles: str) -> float:
    return Descriptors.MolLogP(Chem.MolFromSmiles(smiles))


@pytest.fixture
def featurizer() -> MixtureFeaturizer:
    return MixtureFeaturizer(MoleculeFeaturizer(descriptors="physchem", morgan_size=0), slots=3)


def row(features, index: int) -> dict[str, float]:
    assert features.errors[index] is None, features.errors[index]
    return dict(zip(features.names, features.values[index].tolist(), strict=True))


def test_feature_names(featurizer):
    names = list(featurizer.get_feature_names_out())
    n = len(PHYSCHEM_DESCRIPTORS)
    assert names[:n] == [f"mean_{d}" for d in PHYSCHEM_DESCRIPTORS]
    assert names[n : 2 * n] == [f"sum_{d}" for d in PHYSCHEM_DESCRIPTORS]
    assert names[2 * n : 2 * n + 3] == list(COMPOSITION_FEATURES)
    assert names[2 * n + 3 :] == [
        f"slot{i}_{f}" for i in (1, 2, 3) for f in ("amount", "fraction", "molecular_weight")
    ]
    assert len(MixtureFeaturizer(slots=0).get_feature_names_out()) == 2 * n + 3


def test_hand_computed_mixture_of_levels(featurizer):
    mixture = [Component(GLYCEROL, 2, "level"), Component(DMSO, 1, "level")]
    features = featurizer.featurize([mixture])
    got = row(features, 0)
    mw_gly, mw_dmso = weight(GLYCEROL), weight(DMSO)
    assert mw_gly == pytest.approx(92.094, abs=1e-3) and mw_dmso == pytest.approx(78.136, abs=1e-3)
    assert got["mean_MolWt"] == pytest.approx((2 * mw_gly + 1 * mw_dmso) / 3)
    assert got["sum_MolWt"] == pytest.approx(2 * mw_gly + 1 * mw_dmso)
    assert got["mean_MolLogP"] == pytest.approx((2 * logp(GLYCEROL) + logp(DMSO)) / 3)
    assert got["sum_NumHDonors"] == pytest.approx(2 * 3 + 1 * 0)
    assert got["mix_n_components"] == 2
    assert got["mix_total_amount"] == 3
    assert got["mix_max_fraction"] == pytest.approx(2 / 3)
    # Slots are filled lightest first: DMSO (78.1) before glycerol (92.1); slot 3 is empty.
    assert (got["slot1_amount"], got["slot1_fraction"]) == (1, pytest.approx(1 / 3))
    assert got["slot1_molecular_weight"] == pytest.approx(mw_dmso)
    assert (got["slot2_amount"], got["slot2_fraction"]) == (2, pytest.approx(2 / 3))
    assert got["slot2_molecular_weight"] == pytest.approx(mw_gly)
    assert got["slot3_amount"] == got["slot3_fraction"] == got["slot3_molecular_weight"] == 0


def test_order_of_components_does_not_matter(featurizer):
    one = [Component(GLYCEROL, 2, "level"), Component(DMSO, 1, "level")]
    features = featurizer.featurize([one, one[::-1]])
    np.testing.assert_allclose(features.values[0], features.values[1])


def test_a_pure_component_pools_to_its_own_features(featurizer):
    molecule = MoleculeFeaturizer(descriptors="physchem", morgan_size=0)
    own = molecule.featurize([GLYCEROL]).values[0]
    features = featurizer.featurize([[Component(GLYCEROL, 5, "%v/v")]])
    n = len(PHYSCHEM_DESCRIPTORS)
    np.testing.assert_allclose(features.values[0, :n], own)
    np.testing.assert_allclose(features.values[0, n : 2 * n], 5 * own)
    assert row(features, 0)["mix_max_fraction"] == 1


def test_components_beyond_the_slots_count_in_pooling_only():
    featurizer = MixtureFeaturizer(MoleculeFeaturizer(descriptors="physchem", morgan_size=0), 2)
    mixture = [Component(s, 1, "M") for s in (SUCROSE, GLYCEROL, ETHANOL)]
    got = row(featurizer.featurize([mixture]), 0)
    assert got["mix_n_components"] == 3
    assert got["mean_MolWt"] == pytest.approx(sum(map(weight, (SUCROSE, GLYCEROL, ETHANOL))) / 3)
    assert got["slot1_molecular_weight"] == pytest.approx(weight(ETHANOL))
    assert got["slot2_molecular_weight"] == pytest.approx(weight(GLYCEROL))
    assert "slot3_amount" not in got


def test_molar_units_convert_to_one_basis(featurizer):
    amounts, unit = common_basis([Component(GLYCEROL, 1, "M"), Component(DMSO, 500, "mM")])
    assert unit == "M"
    np.testing.assert_allclose(amounts, [1.0, 0.5])
    got = row(featurizer.featurize([[Component(GLYCEROL, 1, "M"), Component(DMSO, 500, "mM")]]), 0)
    assert got["mix_total_amount"] == pytest.approx(1.5)
    assert got["mix_max_fraction"] == pytest.approx(2 / 3)
    assert got["mean_MolWt"] == pytest.approx(2 / 3 * weight(GLYCEROL) + 1 / 3 * weight(DMSO))
    assert got["slot1_fraction"] == pytest.approx(1 / 3)  # DMSO, the lighter
    assert got["slot2_fraction"] == pytest.approx(2 / 3)


def test_weight_per_volume_converts_through_molecular_weight():
    # 9.2094 %w/v glycerol = 92.094 g/L = 1.0 mol/L; 34.23 %w/v sucrose = 342.3 g/L ≈ 1 mol/L.
    amounts, unit = common_basis(
        [
            Component(GLYCEROL, 9.2094, "%w/v"),
            Component(SUCROSE, 34.2297, "%w/v"),
            Component(DMSO, 250, "mM"),
        ]
    )
    assert unit == "M"
    np.testing.assert_allclose(
        amounts,
        [9.2094 * 10 / weight(GLYCEROL), 34.2297 * 10 / weight(SUCROSE), 0.25],
    )
    np.testing.assert_allclose(amounts, [1.0, 1.0, 0.25], atol=1e-4)


def test_a_shared_unconvertible_unit_is_kept_as_it_is():
    amounts, unit = common_basis([Component(GLYCEROL, 10, "%v/v"), Component(DMSO, 5, "%v/v")])
    assert unit == "%v/v"
    np.testing.assert_array_equal(amounts, [10, 5])


def test_molar_units_always_become_mol_per_litre(featurizer):
    molar = [Component(GLYCEROL, 1, "M"), Component(DMSO, 0.5, "M")]
    millimolar = [Component(GLYCEROL, 1000, "mM"), Component(DMSO, 500, "mM")]
    amounts, unit = common_basis(millimolar)
    assert unit == "M"
    np.testing.assert_allclose(amounts, [1.0, 0.5])
    rows = featurizer.featurize([molar, millimolar]).values.filled(np.nan)
    np.testing.assert_allclose(rows[0], rows[1])
    grams, unit = common_basis([Component(GLYCEROL, 9.2094, "%w/v")])
    assert unit == "M"
    np.testing.assert_allclose(grams, [1.0], rtol=1e-4)


@pytest.mark.parametrize(
    "units",
    [("%v/v", "M"), ("level", "mM"), ("molal", "M"), ("mole fraction", "%w/v")],
)
def test_incompatible_units_raise_and_mask_the_row(featurizer, units):
    mixture = [Component(GLYCEROL, 1, units[0]), Component(DMSO, 1, units[1])]
    with pytest.raises(IncompatibleUnitsError, match="cannot be put on one basis"):
        common_basis(mixture)
    good = [Component(GLYCEROL, 1, "M")]
    features = featurizer.featurize([mixture, good])
    assert features.valid.tolist() == [False, True]
    assert all(u in features.errors[0] for u in units)
    assert np.ma.getmaskarray(features.values[0]).all()
    assert not np.ma.getmaskarray(features.values[1]).any()


def test_all_zero_amounts_give_zero_pooled_features(featurizer):
    mixture = [Component(GLYCEROL, 0, "M"), Component(DMSO, 0, "M")]
    got = row(featurizer.featurize([mixture]), 0)
    pooled = [v for k, v in got.items() if k.startswith(("mean_", "sum_"))]
    assert pooled and all(v == 0 for v in pooled)
    assert got["mix_n_components"] == 0
    assert got["mix_total_amount"] == 0
    assert got["mix_max_fraction"] == 0
    assert got["slot1_amount"] == got["slot1_fraction"] == 0
    assert all(np.isfinite(list(got.values())))


def test_a_zero_amount_component_is_not_counted(featurizer):
    mixture = [Component(GLYCEROL, 2, "level"), Component(DMSO, 0, "level")]
    got = row(featurizer.featurize([mixture]), 0)
    assert got["mix_n_components"] == 1
    assert got["mean_MolWt"] == pytest.approx(weight(GLYCEROL))
    assert got["mix_max_fraction"] == 1


def test_invalid_component_masks_its_mixture_only(featurizer):
    bad = [Component(GLYCEROL, 1, "M"), Component("C1CC", 1, "M")]
    good = [Component(GLYCEROL, 1, "M"), Component(DMSO, 1, "M")]
    features = featurizer.featurize([bad, good, []])
    assert features.valid.tolist() == [False, True, False]
    assert "invalid component 'C1CC'" in features.errors[0]
    assert features.errors[2] == "no components"
    assert np.ma.getmaskarray(features.values[[0, 2]]).all()
    assert row(features, 1)["mix_n_components"] == 2


def test_cached_and_uncached_features_agree(featurizer, tmp_path):
    mixtures = [
        [Component(GLYCEROL, 2, "level"), Component(DMSO, 1, "level")],
        [Component(SUCROSE, 1, "M"), Component(ETHANOL, 100, "mM")],
    ]
    plain = featurizer.featurize(mixtures).values
    cache = FeatureCache(tmp_path)
    for _ in range(2):
        cached = featurizer.featurize(mixtures, cache).values
        np.testing.assert_allclose(cached, plain)
    assert len(cache.load(featurizer.molecule)) == 4


def test_default_molecule_featurizer_is_physchem():
    names = list(MixtureFeaturizer().get_feature_names_out())
    assert names[0] == f"mean_{PHYSCHEM_DESCRIPTORS[0]}"
    assert len(names) == 2 * len(PHYSCHEM_DESCRIPTORS) + 3 + 9
