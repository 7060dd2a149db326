"""CryoProtect: a research workbench for cryoprotectant discovery."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cryoprotect")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"
