"""Dropping repeated library lines before any work: regrouping, counts, unusable repeats.

The SMILES here are small real molecules; the names and line numbers are made up.
"""

from __future__ import annotations

import pandas as pd

from cryoprotect.screening.prepare import RepeatFilter


def chunk(lines: list[int], smiles: list[str]) -> pd.DataFrame:
    """A library chunk as :func:`read_library` yields it."""
    return pd.DataFrame({"line": lines, "smiles": smiles, "name": [""] * len(lines)})


def test_new_lines_are_regrouped_to_the_chunk_size_and_repeats_counted():
    chunks = [
        chunk([1, 2, 3], ["CCO", "OCC(O)CO", "CCO"]),
        chunk([4, 5, 6], ["CS(C)=O", "CCO", "NCC(=O)O"]),
        chunk([7, 8], ["C1CC", "CS(C)=O"]),
    ]
    dropped: list[int] = []
    out = list(RepeatFilter().new_lines(chunks, dropped.append))
    assert [c["line"].tolist() for c in out] == [[1, 2, 4], [6, 7]]
    assert dropped == [1, 1, 1]


def test_empty_chunks_are_skipped():
    empty = chunk([], [])
    out = list(RepeatFilter().new_lines([empty, chunk([1], ["CCO"]), empty]))
    assert [c["line"].tolist() for c in out] == [[1]]
    assert list(RepeatFilter().new_lines([empty])) == []


def test_chunks_of_one_line_pass_one_at_a_time():
    chunks = [chunk([i], [s]) for i, s in enumerate(["CCO", "CCO", "CO"], start=1)]
    out = list(RepeatFilter().new_lines(chunks))
    assert [c["line"].tolist() for c in out] == [[1], [3]]


def test_repeats_of_unusable_lines_carry_the_first_reason():
    repeated = RepeatFilter()
    chunks = [chunk([1, 2, 3, 4], ["C1CC", "CCO", "C1CC", "CCO"]), chunk([5], ["C1CC"])]
    list(repeated.new_lines(chunks))
    unusable = pd.DataFrame({"line": [1], "input_smiles": ["C1CC"], "reason": ["unclosed ring"]})
    found = repeated.repeats_of(unusable)
    assert found.to_dict("list") == {
        "line": [3, 5],
        "input_smiles": ["C1CC", "C1CC"],
        "reason": ["unclosed ring", "unclosed ring"],
    }


def test_the_filter_keeps_exactly_the_first_of_each_text_across_many_chunks():
    """Enough chunks for the digest runs to merge several times; a set of texts agrees."""
    texts = [f"C{'C' * (i % 97)}O{'N' * (i % 13)}" for i in range(5000)]
    chunks = [chunk(list(range(s, s + 50)), texts[s : s + 50]) for s in range(0, 5000, 50)]
    repeated = RepeatFilter()
    kept = pd.concat(list(repeated.new_lines(chunks)))["line"].tolist()
    first: dict[str, int] = {}
    for line, text in enumerate(texts):
        first.setdefault(text, line)
    assert kept == sorted(first.values())
    assert len(repeated.repeat_lines) == 5000 - len(first)
    assert len(repeated.runs) <= 8
