"""CryoProtect: a research workbench for cryoprotectant discovery."""

from importlib.metadata import version

__version__ = version("cryoprotect")
