"""The live service against a fuzzer and a hand-made list of hostile inputs: no 5xx, every
status documented, every refusal naming its field with a bounded excerpt, every log line JSON.

Schemathesis (``--checks all``) runs against ``cryoprotect serve --log-format json`` with a
bounded number of examples per operation; the hand list holds the inputs that once broke the
service. The last test reads everything the server wrote during both and counts the lines
that are not JSON objects.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cryoprotect.config import Settings
from live_server import call, post_raw, serving

pytestmark = pytest.mark.slow
SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
MAX_EXAMPLES = 150
"""Generated cases per operation and phase: enough to cover the schema's branches."""
MAX_ERROR_BYTES = 2000
"""No refusal may be longer, whatever the size of the input."""


@pytest.fixture(scope="module")
def live(trained_project, reference_database, tmp_path_factory):
    """``cryoprotect serve --log-format json`` on the trained project; yields URL and output."""
    folder = tmp_path_factory.mktemp("contract")
    settings = Settings(
        root_dir=trained_project,
        database_url=reference_database,
        backup_dir=str(folder / "backups"),
        service_workers=2,
        ready_check_interval=1,
    )
    output = folder / "server-output.txt"
    with serving(settings, output, "--log-format", "json") as (base, _):
        yield base, output, folder


def test_schemathesis_finds_no_failure(live):
    base, _, folder = live
    hooks = Path(__file__).parent
    done = subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            f"{base}/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "19",
            "--workers",
            "2",
            "--request-timeout",
            "60",
            "--report",
            "ndjson",
            "--report-dir",
            str(folder / "schemathesis"),
        ],
        env=os.environ | {"SCHEMATHESIS_HOOKS": "schemathesis_hooks", "PYTHONPATH": str(hooks)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    summary = done.stdout[done.stdout.rfind("SUMMARY") :] if "SUMMARY" in done.stdout else ""
    print(summary or done.stdout[-3000:])
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "No issues found" in done.stdout or "0 failures" in summary, summary


BIG = "x" * 3_000_000
HOSTILE = [
    # (name, raw body, status, loc of the first problem)
    (
        "nan",
        b'{"target":"iri","smiles":"OCC(O)CO","concentration_mM":NaN}',
        422,
        ["body", "concentration_mM"],
    ),
    (
        "infinity",
        b'{"target":"iri","smiles":"OCC(O)CO","concentration_mM":Infinity}',
        422,
        ["body", "concentration_mM"],
    ),
    (
        "minus infinity",
        b'{"target":"iri","smiles":"OCC(O)CO","concentration_mM":-Infinity}',
        422,
        ["body", "concentration_mM"],
    ),
    (
        "1e309",
        b'{"target":"iri","smiles":"OCC(O)CO","concentration_mM":1e309}',
        422,
        ["body", "concentration_mM"],
    ),
    (
        "amount nan",
        b'{"target":"viability","components":[{"molecule":"glycerol","amount":NaN,"unit":"%v/v"}]}',
        422,
        ["body", "components", 0, "amount"],
    ),
    (
        "amount 1e308",
        b'{"target":"viability","components":[{"molecule":"glycerol",'
        b'"amount":1e308,"unit":"%v/v"}]}',
        422,
        ["body", "components", 0, "amount"],
    ),
    (
        "percent above 100",
        b'{"target":"viability","components":[{"molecule":"glycerol","amount":150,"unit":"%v/v"}]}',
        422,
        ["body", "components", 0],
    ),
    ("lone surrogate", b'{"target":"tg","smiles":"CC\\ud800O"}', 422, ["body", "smiles"]),
    (
        "true as a number",
        b'{"target":"iri","smiles":"CCO","concentration_mM":true}',
        422,
        ["body", "concentration_mM"],
    ),
    (
        "text as a number",
        b'{"target":"iri","smiles":"CCO","concentration_mM":"50"}',
        422,
        ["body", "concentration_mM"],
    ),
    ("target and targets", b'{"target":"tg","targets":["tg"],"smiles":"CCO"}', 422, ["body"]),
    ("null target", b'{"target":null,"targets":["tg"],"smiles":"CCO"}', 422, ["body", "target"]),
    ("not UTF-8", b'{"target":"tg","smiles":"C\xff\xfe"}', 422, ["body", 26]),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, 422, ["body", 0]),
    (
        "huge integer",
        b'{"target":"iri","smiles":"CCO","concentration_mM":1' + b"0" * 5000 + b"}",
        422,
        ["body", 0],
    ),
    ("trailing text", b'{"target":"tg","smiles":"OCC(O)CO junk"}', 422, ["body", "smiles"]),
    ("control character", b'{"target":"tg","smiles":"CC\\u0000O"}', 422, ["body", "smiles"]),
    (
        "long invalid body",
        json.dumps({"target": "tg", "smiles": "x" * 1_900_000}).encode(),
        422,
        ["body", "smiles"],
    ),
    (
        "5 MB body",
        json.dumps({"target": "tg", "smiles": BIG + BIG[:2_000_000]}).encode(),
        413,
        None,
    ),
    ("not an object", b"42", 422, ["body"]),
    ("empty body", b"", 422, ["body"]),
]


@pytest.mark.parametrize(("name", "raw", "status", "loc"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_hostile_input_is_refused_naming_its_field(live, name, raw, status, loc):
    base, _, _ = live
    code, body = post_raw(base, "/predict", raw)
    assert code == status, body
    assert len(json.dumps(body)) < MAX_ERROR_BYTES
    if loc is None:
        assert "larger than the limit" in body["detail"] and body["request_id"]
    else:
        assert body["detail"][0]["loc"] == loc, body


def test_valid_requests_sent_with_a_hostile_one_are_answered(live):
    base, _, _ = live
    component = b'{"molecule":"glycerol","amount":1e308,"unit":"%v/v"}'
    bad = b'{"target":"viability","components":[' + component + b"]}"
    good = [
        json.dumps({"target": "tg", "smiles": s}).encode() for s in ("CCCCCO", "OCCCCO", "CCOCC")
    ]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda raw: call(f"{base}/predict", raw, 60), [bad, *good]))
    assert [a[0] for a in answers] == [422, 200, 200, 200]
    assert all(a[1]["predictions"][0]["error"] is None for a in answers[1:])


def test_every_line_the_server_wrote_is_json(live):
    base, output, _ = live
    call(f"{base}/no-such-page")
    lines = output.read_text(encoding="utf-8", errors="replace").splitlines()
    bad = []
    for line in lines:
        try:
            assert isinstance(json.loads(line), dict)
        except (ValueError, AssertionError):
            bad.append(line)
    print(f"{len(lines)} lines written, {len(bad)} not JSON")
    assert len(lines) > 100 and bad == [], bad[:5]
    records = [json.loads(line) for line in lines]
    assert any(r.get("logger") == "uvicorn.error" for r in records)  # uvicorn's own lines
    assert all(r.get("request_id") for r in records if r["event"] == "request")
