"""Structure standardisation: identity is the standard InChIKey, stereochemistry kept."""

from __future__ import annotations

import pytest
from rdkit import Chem

from cryoprotect.chem.structures import (
    InvalidStructureError,
    Structure,
    is_organic,
    standardize,
)

L_ALANINE = "C[C@H](N)C(=O)O"
D_ALANINE = "C[C@@H](N)C(=O)O"


@pytest.mark.parametrize(
    ("smiles", "canonical", "inchikey", "formula", "weight"),
    [
        ("OCC(O)CO", "OCC(O)CO", "PEDCQBHIVMGVHV-UHFFFAOYSA-N", "C3H8O3", 92.094),
        # RDKit's normaliser writes the sulfoxide charge-separated; the InChIKey is DMSO's.
        ("CS(C)=O", "C[S+](C)[O-]", "IAZDPXIOMUYVGZ-UHFFFAOYSA-N", "C2H6OS", 78.136),
        ("CCO", "CCO", "LFQSCWFLJHTTHZ-UHFFFAOYSA-N", "C2H6O", 46.069),
    ],
)
def test_standardize_known_molecules(smiles, canonical, inchikey, formula, weight):
    structure = standardize(smiles)
    assert structure == Structure(canonical, inchikey, formula, weight)


def test_canonical_smiles_is_a_fixed_point():
    first = standardize("CS(C)=O")
    again = standardize(first.canonical_smiles)
    assert again == first


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("OCC(O)CO", "C(O)C(CO)O"),
        ("CS(C)=O", "C[S+](C)[O-]"),
        ("c1ccccc1O", "Oc1ccccc1"),
        ("C1=CC=CC=C1O", "Oc1ccccc1"),  # Kekulé and aromatic spellings
        ("C[C@H](N)C(=O)O", "N[C@@H](C)C(=O)O"),  # L-alanine written from the other end
    ],
)
def test_two_spellings_give_one_identity(one, other):
    assert standardize(one) == standardize(other)


def test_surrounding_whitespace_is_ignored():
    assert standardize("  OCC(O)CO\n") == standardize("OCC(O)CO")


def test_stereochemistry_is_kept():
    l_form, d_form = standardize(L_ALANINE), standardize(D_ALANINE)
    assert l_form.inchikey == "QNAYBMKLOCPYGJ-REOHCLBHSA-N"
    assert d_form.inchikey == "QNAYBMKLOCPYGJ-UWTATZPHSA-N"
    assert l_form.canonical_smiles != d_form.canonical_smiles
    unspecified = standardize("CC(N)C(=O)O")
    assert unspecified.inchikey == "QNAYBMKLOCPYGJ-UHFFFAOYSA-N"
    # Same connectivity: the first block of the InChIKey is shared.
    assert {s.inchikey.split("-")[0] for s in (l_form, d_form, unspecified)} == {"QNAYBMKLOCPYGJ"}


def test_stereochemistry_is_kept_when_stripping_counterions():
    zwitterion = standardize("C[C@H]([NH3+])C(=O)[O-]", strip_counterions=True)
    assert zwitterion.inchikey == standardize(L_ALANINE).inchikey


@pytest.mark.parametrize(
    ("smiles", "kind"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
        ("C1CC", "unparseable"),  # unclosed ring
        ("C(C", "unparseable"),  # unclosed branch
        ("not a smiles", "malformed"),
        ("notasmiles", "unparseable"),
        ("C[C](C)(C)(C)C", "unparseable"),  # pentavalent carbon
        ("[H][H]", "no_heavy_atoms"),  # hydrogen: RDKit's SPS divides by the heavy atoms
    ],
)
def test_invalid_smiles_raise_with_kind(smiles, kind):
    with pytest.raises(InvalidStructureError) as caught:
        standardize(smiles)
    assert caught.value.kind == kind
    assert isinstance(caught.value, ValueError)
    if smiles and smiles.strip():
        assert repr(smiles.strip()) in str(caught.value)


@pytest.mark.parametrize(
    "smiles",
    [
        "CCCCCC(=O)[O-].[Na+]",  # sodium hexanoate
        "O.OCC1OC(O)C(O)C(O)C1O",  # glucose hydrate
        "CCO.OCC(O)CO",  # a mixture
    ],
)
def test_multiple_fragments_rejected_without_stripping(smiles):
    with pytest.raises(InvalidStructureError) as caught:
        standardize(smiles)
    assert caught.value.kind == "multiple_fragments"
    assert "2 fragments" in str(caught.value)


@pytest.mark.parametrize(
    ("salt", "parent"),
    [
        ("CCCCCC(=O)[O-].[Na+]", "CCCCCC(=O)O"),
        ("[Na+].CCCCCC(=O)[O-]", "CCCCCC(=O)O"),  # counterion first
        ("C[NH3+].[Cl-]", "CN"),
        ("O.OCC1OC(O)C(O)C(O)C1O", "OCC1OC(O)C(O)C(O)C1O"),  # water removed
    ],
)
def test_strip_counterions_gives_the_neutral_parent(salt, parent):
    stripped = standardize(salt, strip_counterions=True)
    assert stripped == standardize(parent)
    assert stripped.canonical_smiles == parent
    assert "+" not in stripped.formula and "-" not in stripped.formula


def test_strip_counterions_keeps_a_mixture_of_two_organics_rejected():
    # Glycerol and glucose are on no counterion or solvent list: still two fragments.
    with pytest.raises(InvalidStructureError) as caught:
        standardize("OCC(O)CO.OCC1OC(O)C(O)C(O)C1O", strip_counterions=True)
    assert caught.value.kind == "multiple_fragments"


@pytest.mark.parametrize("smiles", ["CCO.OCC(O)CO", "CN(C)C=O.OCC(O)CO", "[Na+].[Cl-]"])
def test_strip_counterions_never_drops_an_organic_fragment(smiles):
    # An organic co-solvent makes the input a mixture; salt alone leaves nothing organic.
    with pytest.raises(InvalidStructureError) as caught:
        standardize(smiles, strip_counterions=True)
    assert caught.value.kind == "multiple_fragments"


def test_strip_counterions_removes_water_and_inorganic_ions():
    assert standardize("O.[K+].OCC(O)C(=O)[O-]", strip_counterions=True) == standardize(
        "OCC(O)C(=O)O"
    )


def test_strip_counterions_leaves_a_neutral_molecule_alone():
    assert standardize("OCC(O)CO", strip_counterions=True) == standardize("OCC(O)CO")


@pytest.mark.parametrize(
    ("smiles", "organic"),
    [
        ("OCC(O)CO", True),
        ("CS(C)=O", True),
        ("CCCCCC(=O)[O-].[Na+]", True),
        ("O=S(=O)([O-])O.[NH4+]", False),  # ammonium bisulfate
        ("[Na+].[Cl-]", False),
        ("O", False),
    ],
)
def test_is_organic(smiles, organic):
    assert is_organic(smiles) is organic


@pytest.mark.parametrize(
    ("smiles", "kind"),
    [("C1CC", "unparseable"), ("notasmiles", "unparseable"), ("not a smiles", "malformed")],
)
def test_is_organic_raises_on_bad_smiles(smiles, kind):
    with pytest.raises(InvalidStructureError) as caught:
        is_organic(smiles)
    assert caught.value.kind == kind


@pytest.mark.parametrize("strip", [False, True])
@pytest.mark.parametrize(
    "smiles",
    ["C[N+]1=NOC(=C1)[O-]", "CC1=C([N+](=NN1C)C)[S-]"],  # 3-methylsydnone; a mesoionic thiolate
)
def test_a_mesoionic_ring_keeps_a_structure_rdkit_can_read(smiles, strip):
    structure = standardize(smiles, strip_counterions=strip)
    assert Chem.MolFromSmiles(structure.canonical_smiles) is not None
    assert structure.inchikey == Chem.MolToInchiKey(Chem.MolFromSmiles(smiles))


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("C CO", "whitespace at character 2"),
        ("OCC(O)CO junk text", "whitespace at character 9"),
        ("CC\tO", "whitespace at character 3"),
        ("CCO\u0000", "'\\x00' at character 4"),
        ("CCO\U0001f600", "'\\U0001f600' at character 4"),
        ("CC\ud800O", "'\\ud800' at character 3"),
        ("CCO\u200b", "'\\u200b' at character 4"),
    ],
)
def test_text_that_is_not_one_smiles_is_refused_not_read_as_its_first_part(text, said):
    with pytest.raises(InvalidStructureError, match="SMILES") as raised:
        standardize(text)
    assert raised.value.kind == "malformed"
    assert said in str(raised.value)


def test_an_overlong_text_is_refused_before_rdkit_reads_it():
    with pytest.raises(InvalidStructureError, match="longer than") as raised:
        standardize("C" * 100_000)
    assert raised.value.kind == "malformed"
    assert len(str(raised.value)) < 200
