"""The ``components`` field format: ``name-or-SMILES:amount unit`` entries joined by ``;``."""

from __future__ import annotations

import pytest

from cryoprotect.records import ComponentEntry, format_components, parse_components
from cryoprotect.vocabulary import AMOUNT_MAXIMA, AMOUNT_UNITS


def test_parse_design_levels_example():
    entries = parse_components("sucrose:2 level;glycerol:3 level;isoleucine:0 level")
    assert entries == [
        ComponentEntry("sucrose", 2.0, "level"),
        ComponentEntry("glycerol", 3.0, "level"),
        ComponentEntry("isoleucine", 0.0, "level"),
    ]


def test_parse_smiles_example():
    assert parse_components("CS(C)=O:10 %v/v") == [ComponentEntry("CS(C)=O", 10.0, "%v/v")]


def test_parse_mixed_names_and_smiles_in_order():
    entries = parse_components("sucrose:2 level;CS(C)=O:10 %v/v;OCC(O)CO:0.5 M")
    assert [e.identifier for e in entries] == ["sucrose", "CS(C)=O", "OCC(O)CO"]
    assert [e.amount for e in entries] == [2.0, 10.0, 0.5]
    assert [e.unit for e in entries] == ["level", "%v/v", "M"]


def test_whitespace_is_tolerated():
    text = "  sucrose : 2   level ;\tglycerol:3 level ;; "
    assert parse_components(text) == [
        ComponentEntry("sucrose", 2.0, "level"),
        ComponentEntry("glycerol", 3.0, "level"),
    ]


def test_names_with_spaces_and_the_two_word_unit():
    entries = parse_components("trehalose dihydrate:0.1 mole fraction;ethylene glycol:5 %w/v")
    assert entries == [
        ComponentEntry("trehalose dihydrate", 0.1, "mole fraction"),
        ComponentEntry("ethylene glycol", 5.0, "%w/v"),
    ]


@pytest.mark.parametrize("unit", AMOUNT_UNITS)
def test_every_amount_unit_is_accepted(unit):
    assert parse_components(f"glycerol:0.5 {unit}") == [ComponentEntry("glycerol", 0.5, unit)]


@pytest.mark.parametrize(("unit", "most"), AMOUNT_MAXIMA.items())
def test_an_amount_above_the_whole_is_refused(unit, most):
    assert parse_components(f"glycerol:{most:g} {unit}")[0].amount == most
    with pytest.raises(ValueError, match="more than the whole"):
        parse_components(f"glycerol:{most * 1.5:g} {unit}")


def test_scientific_notation_amount():
    assert parse_components("glycerol:1e3 mM")[0].amount == 1000.0


@pytest.mark.parametrize(
    ("text", "bad_entry", "fragment"),
    [
        ("sucrose 2 level", "sucrose 2 level", "is not written as"),
        ("sucrose:2 level;glycerol 3 level", "glycerol 3 level", "is not written as"),
        (":2 level", ":2 level", "is not written as"),
        ("sucrose:two level", "sucrose:two level", "'two' is not a number"),
        ("sucrose:2level", "sucrose:2level", "is not a number"),
        ("sucrose:2 mg", "sucrose:2 mg", "unit 'mg'"),
        ("sucrose:2 level;glycerol:3 mg/ml", "glycerol:3 mg/ml", "unit 'mg/ml'"),
        ("sucrose:2", "sucrose:2", "unit ''"),
        ("sucrose:2 LEVEL", "sucrose:2 LEVEL", "unit 'LEVEL'"),  # units are case-sensitive
    ],
)
def test_bad_entries_raise_naming_the_entry(text, bad_entry, fragment):
    with pytest.raises(ValueError) as caught:
        parse_components(text)
    message = str(caught.value)
    assert repr(bad_entry) in message
    assert fragment in message


@pytest.mark.parametrize("text", ["", "   ", ";", " ; ; ", None])
def test_empty_text_raises(text):
    with pytest.raises(ValueError, match="no components"):
        parse_components(text)


@pytest.mark.parametrize(
    "text",
    [
        "sucrose:2 level;glycerol:3 level;isoleucine:0 level",
        "CS(C)=O:10 %v/v",
        "trehalose dihydrate:0.1 mole fraction;ethylene glycol:5 %w/v",
        "OCC(O)CO:0.25 M;CS(C)=O:1.5 molal",
    ],
)
def test_round_trip(text):
    assert format_components(parse_components(text)) == text


def test_format_normalises_spacing_and_number_spelling():
    assert format_components(parse_components(" sucrose : 2.0 level ; CCO:1e1 mM ")) == (
        "sucrose:2 level;CCO:10 mM"
    )


def test_component_entry_str():
    assert str(ComponentEntry("glycerol", 3.0, "level")) == "glycerol:3 level"
    assert str(ComponentEntry("CS(C)=O", 0.5, "%v/v")) == "CS(C)=O:0.5 %v/v"


@pytest.mark.parametrize("amount", ["nan", "inf", "-1"])
def test_amounts_must_be_finite_and_not_negative(amount):
    with pytest.raises(ValueError, match="finite number >= 0"):
        parse_components(f"glycerol:{amount} M")


def test_amounts_are_written_without_losing_precision():
    entries = parse_components("a:1234567 mM;b:0.1234567 M;c:2 level")
    assert format_components(entries) == "a:1234567 mM;b:0.1234567 M;c:2 level"
