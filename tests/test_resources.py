"""Run-time files beside the code: the checkout's folders, or the copies a wheel carries."""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from conftest import REPO_ROOT
from cryoprotect import resources
from cryoprotect.config import Settings


def test_a_checkout_uses_its_own_folders():
    assert resources.checkout_root() == REPO_ROOT
    assert resources.resource_dir("migrations") == REPO_ROOT / "migrations"
    assert resources.resource_dir("reference") == REPO_ROOT / "data" / "reference"
    with pytest.raises(KeyError):
        resources.resource_dir("secrets")


def test_an_installed_package_uses_the_copies_it_carries(tmp_path):
    package = tmp_path / "site-packages" / "cryoprotect"
    package.mkdir(parents=True)
    shutil.copy(resources.__file__, package / "resources.py")
    spec = importlib.util.spec_from_file_location("installed_resources", package / "resources.py")
    installed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(installed)
    assert installed.checkout_root() is None
    assert installed.resource_dir("migrations") == package / "_data" / "migrations"
    assert installed.resource_dir("reference") == package / "_data" / "data" / "reference"


def test_reference_tables_come_from_the_project_else_from_the_package(tmp_path):
    assert Settings(root_dir=tmp_path).resolved_reference_dir == REPO_ROOT / "data" / "reference"
    (tmp_path / "data" / "reference").mkdir(parents=True)
    assert Settings(root_dir=tmp_path).resolved_reference_dir == tmp_path / "data" / "reference"
    chosen = tmp_path / "mine"
    assert Settings(root_dir=tmp_path, reference_dir=chosen).resolved_reference_dir == chosen
