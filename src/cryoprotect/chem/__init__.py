"""Chemistry: structure parsing and standardisation (pure functions, no database)."""

from cryoprotect.chem.structures import InvalidStructureError, Structure, standardize

__all__ = ["InvalidStructureError", "Structure", "standardize"]
