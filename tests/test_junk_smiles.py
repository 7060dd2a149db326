"""One reading of a molecule everywhere: junk around a SMILES is refused with the same reason.

Import, ``predict``, ``screen``, the service and the dashboard's form all read a structure
through :func:`cryoprotect.chem.structures.check_smiles_text`; each must refuse these texts
(never predict the leading fragment) and quote the same reason.
"""

from __future__ import annotations

import pandas as pd
import pytest
from tests.db.test_db_importer import GOOD_ROWS, write_table

from cryoprotect.chem.structures import InvalidStructureError, standardize
from cryoprotect.dashboard.predictor import Predictor
from cryoprotect.db.importer import ImportValidationError, import_experiments
from cryoprotect.models import registry
from cryoprotect.models.predict import predict_frame
from cryoprotect.screening.prepare import Deduplicator
from cryoprotect.service.predictions import UnreadableStructureError, check_structures
from cryoprotect.service.schemas import PredictItem

JUNK = [
    "C CO",  # read by RDKit as methane named "CO"
    "OCC(O)CO junk text",
    "CCO\U0001f600",
    "CCO\x00",
    "OCC(O)C\tO",
]


def _reason(text: str) -> str:
    with pytest.raises(InvalidStructureError) as caught:
        standardize(text)
    return str(caught.value)


@pytest.mark.parametrize("text", JUNK)
def test_predict_screen_service_and_dashboard_give_the_same_reason(trained_project, text):
    reason = _reason(text)
    assert "character" in reason  # the position of the first offending character

    model = registry.load(trained_project / "models", "tg")
    predicted = predict_frame(model, pd.DataFrame({"smiles": [text]}))
    assert predicted.loc[0, "error"] == reason and pd.isna(predicted.loc[0, "prediction"])

    chunk = pd.DataFrame({"line": [1], "smiles": [text], "name": [""]})
    prepared = Deduplicator().prepare(chunk)
    assert prepared.molecules.empty and prepared.invalid["reason"].tolist() == [reason]

    with pytest.raises(UnreadableStructureError) as caught:
        check_structures([PredictItem(target="tg", smiles=text)], lambda name: None)
    [(location, message)] = caught.value.problems
    assert location == (0, "smiles") and reason in message

    predictor = Predictor(trained_project / "models")
    with pytest.raises(ValueError, match="neither a known molecule name") as refused:
        predictor.predict(text, 22.0, "")
    assert reason in str(refused.value)


@pytest.mark.parametrize("text", JUNK)
def test_import_names_the_row_and_field_with_the_same_reason(engine, tmp_path, text):
    rows = [GOOD_ROWS[0], {**GOOD_ROWS[0], "record_id": "lab:junk", "smiles": text}]
    with pytest.raises(ImportValidationError) as caught:
        import_experiments(engine, write_table(tmp_path / "lab.csv", rows), owner="ada")
    [error] = caught.value.errors
    assert (error.line, error.field) == (3, "smiles")
    assert _reason(text) in error.message
