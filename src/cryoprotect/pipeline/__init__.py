"""The reproducible pipeline's steps, called by the notebooks that DVC runs with Papermill.

export -> validate -> features@target -> tune@target -> train@target -> explain@target
-> report -> gate; see ``dvc.yaml`` and :mod:`cryoprotect.pipeline.layout` for the files.

The names below load their module on first use, so importing the package stays cheap.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "figures": ["importance_figure", "parity_figure", "residual_figure", "tuning_figure"],
        "layout": ["Layout", "enter_project", "find_project"],
        "metrics": ["regression_gate", "target_metrics"],
        "report": ["build_report"],
        "steps": ["build_features", "explain_target", "train_target", "tune_target"],
    },
)
