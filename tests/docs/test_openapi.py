"""/openapi.json: a valid OpenAPI 3.1 document that a client can be generated from."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

import imagegen
from factories import make_account
from imgpro.docs.catalog import ERROR_CODES
from imgpro.errors import ApiError


async def _doc(client: Any) -> dict[str, Any]:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


async def test_document_validates_as_openapi_3_1(client: Any) -> None:
    doc = await _doc(client)
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises on any error, including a $ref that does not resolve


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [
            r for v in node.values() for r in _refs(v)
        ]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_every_ref_resolves_and_no_defs_left(client: Any) -> None:
    doc = await _doc(client)
    for ref in _refs(doc):
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
    assert "$defs" not in str(doc)
    assert "HTTPValidationError" not in str(doc)


async def test_security_parameters_and_servers(client: Any) -> None:
    doc = await _doc(client)
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKey"]["scheme"] == "bearer"
    assert schemes["AppUser"] == {**schemes["AppUser"], "in": "header", "name": "X-Img-User"}
    # the address the request reached
    assert doc["servers"][0]["url"] == str(client.base_url).rstrip("/")
    ops = {op["operationId"]: op for item in doc["paths"].values() for op in item.values()}
    names = {p["$ref"].rsplit("/", 1)[1] for p in ops["list_images"]["parameters"]}
    assert {"Limit", "Cursor", "Labels", "Ids", "ImgUser"} <= names
    params = doc["components"]["parameters"]
    assert params["Labels"]["style"] == "deepObject"
    assert params["IdempotencyKey"]["name"] == "Idempotency-Key"
    create = ops["create_image"]
    assert {"$ref": "#/components/parameters/IdempotencyKey"} in create["parameters"]
    assert {} in create["security"]  # anonymous uploads are allowed
    assert set(create["requestBody"]["content"]) == {"multipart/form-data", "application/json"}


async def test_errors_use_the_envelope_with_an_example_per_code(client: Any) -> None:
    doc = await _doc(client)
    examples = doc["components"]["examples"]
    for code in ERROR_CODES:
        assert examples[f"error_{code}"]["value"]["error"]["code"] == code
    create = next(
        op
        for item in doc["paths"].values()
        for op in item.values()
        if op["operationId"] == "create_image"
    )
    for status in ("401", "403", "409", "413", "415", "422", "429", "503"):
        content = create["responses"][status]["content"]["application/json"]
        assert content["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}
        assert content["examples"]
    assert create["responses"]["429"]["headers"]["Retry-After"]


def test_every_error_the_code_raises_is_in_the_catalogue() -> None:
    def subclasses(cls: type) -> list[type]:
        return [c for s in cls.__subclasses__() for c in (s, *subclasses(s))]

    for cls in subclasses(ApiError):
        assert cls.code in ERROR_CODES, cls


async def test_cdn_url_and_every_body_are_documented(client: Any) -> None:
    doc = await _doc(client)
    cdn = doc["paths"]["/i/{prefix}/{name}"]["get"]
    names = {p["name"] for p in cdn["parameters"]}
    assert {"w", "h", "fit", "g", "format", "q", "size", "dpr", "blur", "bg"} <= names
    assert cdn["security"] == []
    for item in doc["paths"].values():
        for op in item.values():
            body = op.get("requestBody")
            if body:
                for media in body["content"].values():
                    assert media.get("examples"), op["operationId"]
            ok = [r for s, r in op["responses"].items() if s.startswith("2")]
            json_body = ok[0].get("content", {}).get("application/json")
            if json_body is not None:
                assert json_body["example"], op["operationId"]


async def test_patch_schema_refuses_null_public_like_the_api(client: Any, api_key: str) -> None:
    doc = await _doc(client)
    update = doc["components"]["schemas"]["ImageUpdate"]["properties"]
    assert update["public"] == {"title": "Public", "type": "boolean"}
    auth = {"Authorization": f"Bearer {api_key}"}
    image = (
        await client.post(
            "/v1/images", headers=auth, files={"file": ("p.png", imagegen.png(8, 8), "image/png")}
        )
    ).json()
    r = await client.patch(f"/v1/images/{image['id']}", json={"public": None}, headers=auth)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error")
    assert "ImageUpdate" in doc["components"]["schemas"]  # the batch body's $ref resolves
    batch = doc["paths"]["/v1/images/batch"]["patch"]["requestBody"]["content"]
    assert batch["application/json"]["schema"]["properties"]["set"] == {
        "$ref": "#/components/schemas/ImageUpdate"
    }


@pytest.fixture
async def api_key(services: Any) -> str:
    return str((await make_account(services))["key"])
