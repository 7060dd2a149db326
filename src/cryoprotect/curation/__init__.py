"""Curation: the published source tables turned into ``data/reference/``, cited per row.

The names below load their module on first use, so importing the package stays cheap.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "build": ["CurationError", "curate", "write"],
    },
)
