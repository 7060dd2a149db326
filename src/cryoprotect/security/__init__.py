"""Row Level Security verifier for PostgreSQL: audit, access matrix and attacks.

The names below load their module on first use, so importing the package stays cheap.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "rls": ["RlsReport", "verify"],
    },
)
