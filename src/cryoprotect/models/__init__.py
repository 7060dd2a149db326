"""Models of Tg, IRI and viability: estimators, validation, uncertainty, domain and registry.

Pure: arrays and data frames in and out, no database, web or CLI.

The names below load their module on first use, so importing the package stays cheap.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "card": ["ModelCard"],
        "domain": ["TanimotoDomain"],
        "explain": ["Explanation", "explain_sample"],
        "feature_table": ["read_feature_table", "write_feature_table"],
        "predict": ["UnusableInputError", "predict_frame", "read_input"],
        "registry": ["ModelNotFoundError", "TrainedModel"],
        "targets": ["target"],
        "thresholds": ["gate"],
        "training": ["train_model"],
        "tuning": ["TuningResult", "tune"],
    },
)
