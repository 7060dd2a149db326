"""RDKit's logging: quiet while CryoProtect reads structures, left as it was for the caller."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from rdkit import Chem, rdBase

from cryoprotect.chem.featurizers import MoleculeFeaturizer
from cryoprotect.chem.structures import InvalidStructureError, rdkit_quiet, standardize

BAD = "C1CC("
"""An unclosed ring and branch: RDKit logs a parse error for it."""


@pytest.fixture
def rdkit_records(caplog):
    """Return RDKit's log records as they arrive, RDKit sending them to Python's logging."""
    rdBase.LogToPythonLogger()
    caplog.set_level(logging.DEBUG, logger="rdkit")
    yield lambda: [r.getMessage() for r in caplog.records if r.name == "rdkit"]
    rdBase.LogToPythonStderr()  # RDKit's own default (rdkit/__init__.py)


def test_importing_the_structures_module_leaves_rdkit_logging_as_it_was():
    code = (
        "from rdkit import rdBase\nbefore = rdBase.LogStatus()\n"
        "import cryoprotect.chem.structures\nprint(before == rdBase.LogStatus())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "True"


def test_a_bad_smiles_is_read_quietly_and_the_caller_still_hears_rdkit(rdkit_records):
    with pytest.raises(InvalidStructureError, match="RDKit cannot parse") as error:
        standardize(BAD)
    assert error.value.kind == "unparseable"
    assert rdkit_records() == []  # CryoProtect's reading logged nothing
    assert "rdApp.error:enabled" in rdBase.LogStatus()
    assert Chem.MolFromSmiles(BAD) is None  # the caller's own parse
    assert any("SMILES Parse Error" in message for message in rdkit_records())


def test_a_parse_error_reaches_the_row_s_reason_and_logging_stays_on(rdkit_records):
    features = MoleculeFeaturizer().featurize(["OCC(O)CO", BAD])
    assert features.errors[0] is None
    assert features.errors[1] == f"RDKit cannot parse SMILES {BAD!r}"
    assert rdkit_records() == []
    Chem.MolFromSmiles(BAD)
    assert rdkit_records()


def test_rdkit_quiet_restores_a_level_the_caller_switched_off(rdkit_records):
    rdBase.DisableLog("rdApp.warning")
    try:
        with rdkit_quiet():
            assert Chem.MolFromSmiles(BAD) is None
        assert rdkit_records() == []
        status = rdBase.LogStatus()
        assert "rdApp.warning:disabled" in status and "rdApp.error:enabled" in status
    finally:
        rdBase.EnableLog("rdApp.warning")
