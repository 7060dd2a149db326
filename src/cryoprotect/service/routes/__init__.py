"""The service's endpoints, one router module each (``router``), included by ``create_app``."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submodules=["docs", "health", "metrics", "models", "predict"],
    submod_attrs={},
)
