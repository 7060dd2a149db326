"""Files the package needs at run time besides its code: the migrations and the reference data.

In a checkout they are the repository's own folders, ``migrations/`` and ``data/reference/``.
A wheel carries copies of both under ``cryoprotect/_data/`` (``[tool.hatch.build]`` in
pyproject.toml), so ``cryoprotect db upgrade`` and ``db seed`` work from a plain install.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGED = {"migrations": "migrations", "reference": "data/reference"}
"""The packaged copies under ``cryoprotect/_data/``, by name: their place in the checkout."""


def checkout_root() -> Path | None:
    """Return the checkout this package runs from, or ``None`` for an installed package.

    The package lives at ``<root>/src/cryoprotect``; a checkout is recognised by the
    ``pyproject.toml`` beside ``src``.
    """
    candidate = PACKAGE_DIR.parents[1]
    if (candidate / "pyproject.toml").is_file() and (candidate / "src" / "cryoprotect").is_dir():
        return candidate
    return None


def resource_dir(name: str) -> Path:
    """Return the folder ``name`` (``migrations``, ``reference``): the checkout's, else the wheel's.

    Raises
    ------
    KeyError
        If ``name`` is not one of :data:`PACKAGED`.
    """
    relative = PACKAGED[name]
    root = checkout_root()
    return root / relative if root is not None else PACKAGE_DIR / "_data" / relative
