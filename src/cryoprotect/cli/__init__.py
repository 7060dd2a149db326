"""The ``cryoprotect`` command line: a thin face over the package."""
