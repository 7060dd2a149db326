"""Readable feature names: descriptor meanings, fragment counts, Morgan bits, MACCS, slots."""

from __future__ import annotations

from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from cryoprotect.chem.feature_names import morgan_bit_fragments, readable


def test_descriptor_fragment_and_pooled_names():
    assert readable("MolLogP") == "logP (Wildman-Crippen)"
    assert readable("fr_Al_OH") == "number of aliphatic hydroxyl groups"
    assert readable("mean_TPSA") == "mean of components: topological polar surface area"
    assert readable("slot2_amount") == "amount of component 2 (by molecular weight)"
    assert readable("maccs_159") == "MACCS 159: [#8] more than 1 times"
    assert readable("something_else") == "something_else"


def test_morgan_bits_are_named_by_their_substructure():
    bits = morgan_bit_fragments(["OCC(O)CO"], radius=1, size=2048)
    generator = rdFingerprintGenerator.GetMorganGenerator(
        radius=1, fpSize=2048, includeChirality=True
    )
    counts = generator.GetCountFingerprintAsNumPy(Chem.MolFromSmiles("OCC(O)CO"))
    assert set(bits) == set(map(int, counts.nonzero()[0]))
    assert all(Chem.MolFromSmiles(f, sanitize=False) is not None for f in bits.values())
    hydroxyl = next(bit for bit, fragment in bits.items() if fragment in ("CO", "OC"))
    assert readable(f"morgan_{hydroxyl}", bits) in ("count of CO", "count of OC")
    assert readable("morgan_7", {}) == "Morgan bit 7"
