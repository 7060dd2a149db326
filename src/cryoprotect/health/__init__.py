"""Health checks of the database, their reports and history, the GX project and Data Docs.

The names below load their module on first use, so importing the package stays cheap.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "project": ["write_project"],
        "report": ["HealthReport", "read_history", "run_health", "write_report"],
        "schema": ["schema_results"],
    },
)
