"""Feature names a chemist can read: descriptor meanings and Morgan-bit substructures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rdkit import Chem
from rdkit.Chem import Fragments, MACCSkeys, rdFingerprintGenerator

DESCRIPTOR_LABELS = {
    "MolWt": "molecular weight (g/mol)",
    "HeavyAtomCount": "heavy atoms",
    "NumHeteroatoms": "heteroatoms",
    "NumValenceElectrons": "valence electrons",
    "MolLogP": "logP (Wildman-Crippen)",
    "MolMR": "molar refractivity",
    "TPSA": "topological polar surface area",
    "LabuteASA": "approximate surface area (Labute)",
    "NumHDonors": "H-bond donors",
    "NumHAcceptors": "H-bond acceptors",
    "NHOHCount": "NH and OH groups",
    "NOCount": "N and O atoms",
    "NumRotatableBonds": "rotatable bonds",
    "FractionCSP3": "fraction of sp3 carbons",
    "RingCount": "rings",
    "NumAromaticRings": "aromatic rings",
    "NumAliphaticRings": "aliphatic rings",
    "NumAtomStereoCenters": "stereocentres",
    "BertzCT": "molecular complexity (Bertz)",
    "qed": "drug-likeness (QED)",
    "log10_concentration_mM": "log10 concentration (mM)",
    "melting_point_K": "measured melting point (K)",
    "mix_n_components": "number of components present",
    "mix_total_amount": "total amount",
    "mix_max_fraction": "largest component fraction",
}


def morgan_bit_fragments(
    smiles: Sequence[str], radius: int, size: int, chirality: bool = True
) -> dict[int, str]:
    """Return, for each Morgan bit set in ``smiles``, its most frequent substructure (SMILES)."""
    generator = rdFingerprintGenerator.GetMorganGenerator(
        radius=radius, fpSize=size, includeChirality=chirality
    )
    seen: dict[int, Counter] = {}
    for text in smiles:
        mol = Chem.MolFromSmiles(text)
        if mol is None:
            continue
        output = rdFingerprintGenerator.AdditionalOutput()
        output.AllocateBitInfoMap()
        generator.GetCountFingerprintAsNumPy(mol, additionalOutput=output)
        for bit, environments in output.GetBitInfoMap().items():
            atom, depth = environments[0]
            bonds = Chem.FindAtomEnvironmentOfRadiusN(mol, depth, atom)
            atoms = {atom} | {
                index
                for b in bonds
                for index in (
                    mol.GetBondWithIdx(b).GetBeginAtomIdx(),
                    mol.GetBondWithIdx(b).GetEndAtomIdx(),
                )
            }
            fragment = Chem.MolFragmentToSmiles(
                mol, atomsToUse=sorted(atoms), bondsToUse=list(bonds) or None, canonical=True
            )
            seen.setdefault(bit, Counter())[fragment] += 1
    return {bit: counts.most_common(1)[0][0] for bit, counts in seen.items()}


def readable(name: str, morgan: dict[int, str] | None = None) -> str:
    """Return a readable label for feature ``name`` (descriptor, fragment count or bit)."""
    base, prefix = name, ""
    for pooled in ("mean_", "sum_"):
        if name.startswith(pooled):
            base, prefix = name[len(pooled) :], f"{pooled[:-1]} of components: "
    if base in DESCRIPTOR_LABELS:
        return prefix + DESCRIPTOR_LABELS[base]
    if base.startswith("fr_") and getattr(Fragments, base, None) is not None:
        doc = (getattr(Fragments, base).__doc__ or base).strip().split("\n")[0]
        return prefix + doc[0].lower() + doc[1:]
    if base.startswith("morgan_"):
        bit = int(base.split("_")[1])
        fragment = (morgan or {}).get(bit)
        return prefix + (f"count of {fragment}" if fragment else f"Morgan bit {bit}")
    if base.startswith("maccs_"):
        key = int(base.split("_")[1])
        pattern, more_than = MACCSkeys.smartsPatts.get(key, ("?", 0))
        count = f" more than {more_than} times" if more_than else ""
        return prefix + f"MACCS {key}: {pattern}{count}"
    if base.startswith("slot"):
        slot, _, what = base[4:].partition("_")
        return prefix + f"{what.replace('_', ' ')} of component {slot} (by molecular weight)"
    return prefix + base
