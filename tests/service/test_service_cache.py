"""The result cache: least recently used entries go first; cached results equal computed ones."""

from __future__ import annotations

from cryoprotect.service.predictions import (
    LoadedModels,
    ResultCache,
    check_structures,
    predict_checked,
    remember,
    split_cached,
)
from cryoprotect.service.schemas import PredictItem


def _items(*smiles: str) -> list[PredictItem]:
    return [PredictItem(targets=["tg", "iri"], smiles=s, concentration_mM=5) for s in smiles]


def test_the_result_cache_drops_the_least_recently_used():
    cache = ResultCache(2)
    cache.put(("a",), {"v": 1})
    cache.put(("b",), {"v": 2})
    assert cache.get(("a",)) == {"v": 1}  # now the most recent
    cache.put(("c",), {"v": 3})
    assert cache.get(("b",)) is None and cache.get(("a",)) and cache.get(("c",))


def test_cached_results_equal_the_computed_ones(trained_project):
    loaded = LoadedModels.load(trained_project / "models")
    cache = ResultCache(100)
    items = _items("OCC(O)CO", "OCCO")
    structures = check_structures(items, lambda name: None)
    assert split_cached(cache, items, structures, 0.9) == ({}, [0, 1])
    computed = predict_checked(loaded, items, structures, lambda name: None, 0.9)
    remember(cache, items, structures, computed, 0.9)
    found, missing = split_cached(cache, items[::-1], structures[::-1], 0.9)
    assert missing == []
    assert found[0] == [{**r, "item": 0} for r in computed[2:]]
    assert found[1] == [{**r, "item": 1} for r in computed[:2]]
    assert split_cached(cache, items, structures, 0.8) == ({}, [0, 1])  # other intervals
    partly = _items("OCCO", "CCCCO")
    found, missing = split_cached(cache, partly, check_structures(partly, lambda n: None), 0.9)
    assert list(found) == [0] and missing == [1]
