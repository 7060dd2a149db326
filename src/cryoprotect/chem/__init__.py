"""Chemistry: structure parsing and standardisation, featurizers, mixtures (pure: no database).

The names below load their module on first use, so importing the package stays cheap.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "cache": ["FeatureCache", "featurize_cached"],
        "depict": ["structure_html"],
        "feature_names": ["morgan_bit_fragments", "readable"],
        "featurizers": ["Features", "MoleculeFeaturizer", "featurize_together"],
        "mixtures": ["Component", "MixtureFeaturizer", "common_basis"],
        "structures": [
            "InvalidStructureError",
            "Structure",
            "is_organic",
            "parse_smiles",
            "rdkit_quiet",
            "standardize",
        ],
    },
)
