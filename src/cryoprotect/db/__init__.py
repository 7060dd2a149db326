"""The database: schema, engines, access, migrations, import, seed, datasets, snapshots.

It may use :mod:`cryoprotect.chem`; it knows nothing of the models. The names below load their
module on first use, so importing the package stays cheap. The seed and repair functions are
``cryoprotect.db.seed.seed`` and ``cryoprotect.db.repair.repair``.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "access": ["act_as", "bind"],
        "datasets": ["frame_hash", "measured_melting_points", "molecule_names", "training_frame"],
        "engine": ["make_engine"],
        "importer": ["ImportValidationError", "import_experiments"],
        "migrations": ["current_revision", "head_revision", "upgrade"],
        "model_versions": ["record_model_version", "set_production"],
        "snapshot": ["check_snapshot", "export_snapshot", "load_snapshot"],
        "stats": ["database_stats"],
        "suggestions": ["record_suggestions", "unmeasured_molecules"],
        "verifications": ["verification_table"],
        "visibility": ["AccessDenied"],
    },
)
