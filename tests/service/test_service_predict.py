"""``POST /predict`` and ``GET /models`` on the real models of the curated data (untuned)."""

from __future__ import annotations

import pytest

GLYCEROL = "OCC(O)CO"


def test_one_molecule_gets_value_interval_domain_and_version(client):
    response = client.post("/predict", json={"target": "tg", "smiles": GLYCEROL})
    assert response.status_code == 200
    body = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    (result,) = body["predictions"]
    assert result["lower"] < result["prediction"] < result["upper"]
    assert 120 < result["prediction"] < 300  # a glass transition in kelvin
    assert (result["item"], result["target"], result["unit"]) == (0, "tg", "K")
    assert result["in_domain"] is True and result["error"] is None
    versions = {m["target"]: m["version"] for m in client.get("/models").json()}
    assert result["model_version"] == versions["tg"]


def test_several_targets_and_a_name(client):
    body = {"targets": ["iri", "tg"], "smiles": "glycerol", "concentration_mM": 50}
    results = client.post("/predict", json=body).json()["predictions"]
    assert [r["target"] for r in results] == ["iri", "tg"]
    assert all(r["error"] is None for r in results)
    alone = client.post("/predict", json={"target": "tg", "smiles": GLYCEROL}).json()
    assert results[1]["prediction"] == alone["predictions"][0]["prediction"]


def test_a_formulation_gets_viability(client):
    body = {
        "target": "viability",
        "components": [
            {"molecule": "glycerol", "amount": 10, "unit": "%v/v"},
            {"molecule": "CS(C)=O", "amount": 5, "unit": "%v/v"},
        ],
    }
    (result,) = client.post("/predict", json=body).json()["predictions"]
    assert result["error"] is None and result["unit"] == "% recovery"
    assert result["input"] == "glycerol:10.0 %v/v;CS(C)=O:5.0 %v/v"


def test_a_batch_keeps_item_order_and_matches_single_requests(client):
    smiles = ["OCCO", GLYCEROL, "CS(C)=O"]
    batch = client.post(
        "/predict", json={"items": [{"target": "tg", "smiles": s} for s in smiles]}
    ).json()["predictions"]
    assert [r["item"] for r in batch] == [0, 1, 2]
    for result, text in zip(batch, smiles, strict=True):
        single = client.post("/predict", json={"target": "tg", "smiles": text}).json()
        assert result["input"] == text
        assert result["prediction"] == pytest.approx(single["predictions"][0]["prediction"])


def test_a_salt_is_predicted_for_its_parent_and_flagged_out_of_domain(client):
    (result,) = client.post(
        "/predict", json={"target": "tg", "smiles": "OCC(O)CO.[Na+].[Cl-]"}
    ).json()["predictions"]
    assert result["prediction"] is not None and result["in_domain"] is False


def test_models_lists_every_target_with_its_card(client):
    models = {m["target"]: m for m in client.get("/models").json()}
    assert set(models) == {"tg", "iri", "viability"}
    for info in models.values():
        assert info["loaded"] and info["version"] in info["versions"]
        assert info["metrics"] and info["error"] is None


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        ({"target": "tg", "smiles": ""}, ["body", "smiles"], "at least 1 character"),
        ({"target": "tg", "smiles": "  "}, ["body", "smiles"], "must not be empty"),
        ({"target": "melting", "smiles": "CCO"}, ["body", "target"], "'tg', 'iri' or"),
        ({"target": "iri", "smiles": "CCO"}, ["body"], "iri needs 'concentration_mM'"),
        ({"target": "tg", "smiles": "C1CC(xx"}, ["body", "smiles"], "nor a valid SMILES"),
        ({"smiles": "CCO"}, ["body"], "exactly one of 'target' or 'targets'"),
        ({"target": "tg", "smiles": "CCO", "colour": 1}, ["body", "colour"], "Extra inputs"),
        (
            {"items": [{"target": "tg", "smiles": "CCO"}, {"target": "tg", "smiles": "C(("}]},
            ["body", "items", 1, "smiles"],
            "'C((' is neither",
        ),
        (
            {
                "target": "viability",
                "components": [{"molecule": "nonsense-xyz", "amount": 1, "unit": "%v/v"}],
            },
            ["body", "components", 0, "molecule"],
            "neither a known molecule name",
        ),
        (
            {"target": "viability", "components": [{"molecule": "CCO", "amount": 1, "unit": "g"}]},
            ["body", "components", 0, "unit"],
            "Input should be",
        ),
        ({"items": []}, ["body", "items"], "at least 1 item"),
    ],
)
def test_invalid_input_is_a_422_naming_the_field(client, body, loc, message):
    response = client.post("/predict", json=body)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == loc
    assert message in problem["msg"]


def test_malformed_json_and_a_batch_too_large_are_422(client):
    broken = client.post(
        "/predict", content=b'{"target": ', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.json()["detail"][0]["type"] == "json_invalid"
    many = {"items": [{"target": "tg", "smiles": "CCO"}] * 1001}
    too_many = client.post("/predict", json=many)
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"] == ["body", "items"]


def test_the_openapi_document_describes_predict(client):
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/predict"]["post"]
    assert "422" in operation["responses"]
    assert set(operation["requestBody"]["content"]["application/json"]["examples"]) == {
        "molecule",
        "targets",
        "formulation",
        "batch",
    }
    assert {"/models", "/health", "/health/ready", "/health/db"} <= set(document["paths"])
