"""Concurrent requests predicted together, each getting its own results; the result cache."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from cryoprotect.service.batching import MicroBatcher
from cryoprotect.service.predictions import (
    LoadedModels,
    ResultCache,
    cached_results,
    check_structures,
    predict_checked,
)
from cryoprotect.service.schemas import PredictItem


def _items(*smiles: str) -> list[PredictItem]:
    return [PredictItem(targets=["tg", "iri"], smiles=s, concentration_mM=5) for s in smiles]


def test_requests_queued_while_busy_run_as_one_batch_and_get_their_own_results():
    calls: list[list[str]] = []
    busy, release = threading.Event(), threading.Event()

    def predict(items, structures):
        if not calls:
            busy.set()
            release.wait(10)  # hold the worker so the next requests queue up
        calls.append([item.smiles for item in items])
        return [
            {"item": i, "target": t, "smiles": item.smiles}
            for i, item in enumerate(items)
            for t in item.wanted()
        ]

    batcher = MicroBatcher(predict)
    try:
        with ThreadPoolExecutor(4) as pool:
            pool.submit(batcher.submit, _items("C"), [[]])
            assert busy.wait(10)
            later = [
                pool.submit(batcher.submit, _items(*group), [[]] * len(group))
                for group in (["CC", "CCC"], ["CCCC"], ["CCCCC"])
            ]
            while batcher._queue.qsize() < 3:
                threading.Event().wait(0.01)
            release.set()
            answers = [f.result(10) for f in later]
    finally:
        batcher.close()
    assert calls == [["C"], ["CC", "CCC", "CCCC", "CCCCC"]]
    assert [(r["item"], r["target"], r["smiles"]) for r in answers[0]] == [
        (0, "tg", "CC"),
        (0, "iri", "CC"),
        (1, "tg", "CCC"),
        (1, "iri", "CCC"),
    ]
    assert [(r["item"], r["smiles"]) for r in answers[2]] == [(0, "CCCCC"), (0, "CCCCC")]


def test_an_error_reaches_every_request_of_the_batch():
    def predict(items, structures):
        raise RuntimeError("model exploded")

    batcher = MicroBatcher(predict)
    try:
        with pytest.raises(RuntimeError, match="model exploded"):
            batcher.submit(_items("C"), [[]])
        with pytest.raises(RuntimeError, match="model exploded"):  # the worker lives on
            batcher.submit(_items("CC"), [[]])
    finally:
        batcher.close()


def test_the_result_cache_drops_the_least_recently_used():
    cache = ResultCache(2)
    cache.put(("a",), {"v": 1})
    cache.put(("b",), {"v": 2})
    assert cache.get(("a",)) == {"v": 1}  # now the most recent
    cache.put(("c",), {"v": 3})
    assert cache.get(("b",)) is None and cache.get(("a",)) and cache.get(("c",))


def test_cached_results_equal_the_computed_ones(trained_project):
    loaded = LoadedModels.load(trained_project / "models", cache_size=100)
    items = _items("OCC(O)CO", "OCCO")
    structures = check_structures(items, lambda name: None)
    assert cached_results(loaded, items, structures, 0.9) is None
    computed = predict_checked(loaded, items, structures, lambda name: None, 0.9)
    again = cached_results(loaded, items[::-1], structures[::-1], 0.9)
    assert again == [{**r, "item": 1 - r["item"]} for r in computed[2:] + computed[:2]]
    assert cached_results(loaded, items, structures, 0.8) is None  # other intervals
