"""Each subpackage names its public API in ``__all__``, loaded lazily so that imports stay cheap."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import subprocess
import sys

import pytest

import cryoprotect

SUBPACKAGES = sorted(
    info.name for info in pkgutil.walk_packages(cryoprotect.__path__, "cryoprotect.") if info.ispkg
)
HEAVY = ("rdkit", "sklearn", "pandas", "shap", "optuna", "fastapi")
"""Libraries that take a noticeable time to import; the command's help must not need them."""
HELP = "from cryoprotect.cli.main import run; run(['--help'])"
"""What the ``cryoprotect --help`` executable runs."""


def test_every_subpackage_is_listed():
    assert {"cryoprotect.chem", "cryoprotect.db", "cryoprotect.backup"} <= set(SUBPACKAGES)


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_every_public_name_resolves_and_is_documented(name):
    package = importlib.import_module(name)
    assert (package.__doc__ or "").strip(), f"{name} has no docstring"
    assert isinstance(vars(package).get("__all__"), list), f"{name} has no explicit __all__"
    assert package.__all__, f"{name} exports nothing"
    submodules = {info.name for info in pkgutil.iter_modules(package.__path__)}
    for public in package.__all__:
        value = getattr(package, public)
        assert (value.__doc__ or "").strip(), f"{name}.{public} has no docstring"
        if inspect.ismodule(value):
            assert value.__name__ == f"{name}.{public}"
            continue
        assert inspect.isclass(value) or callable(value), f"{name}.{public}"
        own = value.__module__ == name or value.__module__.startswith(f"{name}.")
        assert own, f"{name}.{public} is not its own"
        # A name that is also a submodule's would be the function or the module depending on
        # what was imported before.
        assert public not in submodules, f"{name}.{public} is also a submodule"


def test_importing_every_subpackage_loads_no_heavy_library():
    code = (
        f"import sys\nfor name in {SUBPACKAGES!r}:\n    __import__(name)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_command_s_help_loads_no_heavy_library():
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", HELP],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Usage" in result.stdout
    loaded = set(re.findall(r"^import time:.*\|\s*([\w.]+)$", result.stderr, re.M))
    assert loaded, "no import times reported"
    assert not loaded & set(HEAVY)
