"""Schemathesis hooks for the service: molecules it generates are real ones.

The schema marks molecule fields with ``format: molecule`` (a SMILES or a known name). JSON
Schema cannot say which texts are molecules, so without this hook every generated string
would be refused with 422, and Schemathesis would (rightly) count valid-looking data refused.
"""

import schemathesis
from hypothesis import strategies as st

MOLECULES = ["OCC(O)CO", "CS(C)=O", "OCCO", "CCO", "C(C(CO)O)O", "glycerol", "Glycerol", "O"]

schemathesis.openapi.format("molecule", st.sampled_from(MOLECULES))
