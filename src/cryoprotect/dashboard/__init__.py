"""The review dashboard (Voila): review data, figures, HTML views, the prediction form.

The names below load their module on first use, so importing the package stays cheap.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "app": ["build_dashboard"],
        "predictor": ["Predictor"],
        "review": ["TargetReview", "load_review"],
    },
)
