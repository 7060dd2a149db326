"""Screening of molecule libraries: cheap first passes, staged and distributed runs, ranking.

Also reports, and suggestions of what to measure next. The names below load their module on
first use, so importing the package stays cheap.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "chunks": ["ChunkScreener"],
        "library": ["LibraryFormatError", "count_molecules", "read_library"],
        "prepare": ["Deduplicator"],
        "report": ["write_results"],
        "run": ["screen"],
        "staged": ["screen_in_stages"],
        "suggest": ["propose"],
    },
)
