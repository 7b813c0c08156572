"""``/v1/presets`` and ``/v1/settings`` through HTTP, on both engines."""

from __future__ import annotations

from typing import Any

import pytest
from tests.factories import add_key, make_account


@pytest.fixture
async def account(services: Any) -> dict[str, Any]:
    return await make_account(services)


async def test_put_get_list_delete(client: Any, account: dict[str, Any]) -> None:
    h = account["headers"]
    r = await client.put("/v1/presets/thumb", json={"w": 200, "h": 200, "fit": "cover"}, headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["object"] == "preset" and body["name"] == "thumb"
    assert body["params"] == {"w": "200", "h": "200", "fit": "cover"}

    r = await client.put("/v1/presets/thumb", json={"w": 300}, headers=h)
    assert r.status_code == 200 and r.json()["params"] == {"w": "300"}

    r = await client.get("/v1/presets/thumb", headers=h)
    assert r.status_code == 200 and r.json()["params"] == {"w": "300"}

    await client.put("/v1/presets/a-first", json={"format": "webp"}, headers=h)
    r = await client.get("/v1/presets", headers=h)
    assert [p["name"] for p in r.json()["data"]] == ["a-first", "thumb"]

    r = await client.delete("/v1/presets/thumb", headers=h)
    assert r.json() == {"object": "preset", "name": "thumb", "deleted": True}
    r = await client.get("/v1/presets/thumb", headers=h)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await client.delete("/v1/presets/thumb", headers=h)
    assert r.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"w": 0},
        {"w": "abc"},
        {"fit": "stretch"},
        {"nope": "1"},
        {"preset": "x"},
        {"s": "sig"},
        {},
        [],
        "w=1",
        {"w": True},
        {"w": None},
        {"w": {"x": 1}},
    ],
)
async def test_invalid_presets_are_refused(client: Any, account: dict[str, Any], body: Any) -> None:
    r = await client.put("/v1/presets/bad", json=body, headers=account["headers"])
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    r = await client.get("/v1/presets/bad", headers=account["headers"])
    assert r.status_code == 404


@pytest.mark.parametrize("name", ["UPPER", "-dash", "a" * 65, "sp ace", "dot.ted"])
async def test_invalid_names(client: Any, account: dict[str, Any], name: str) -> None:
    r = await client.put(f"/v1/presets/{name}", json={"w": 10}, headers=account["headers"])
    assert r.status_code in (404, 422)
    if r.status_code == 422:
        assert r.json()["error"]["code"] == "validation_error"


async def test_presets_are_per_workspace(
    client: Any, services: Any, account: dict[str, Any]
) -> None:
    other = await make_account(services)
    await client.put("/v1/presets/mine", json={"w": 10}, headers=account["headers"])
    r = await client.get("/v1/presets/mine", headers=other["headers"])
    assert r.status_code == 404
    r = await client.get("/v1/presets", headers=other["headers"])
    assert r.json()["data"] == []


async def test_abilities_and_anonymous(client: Any, services: Any, account: dict[str, Any]) -> None:
    read_only = await add_key(services, account, "read")
    r = await client.put("/v1/presets/x", json={"nope": 1}, headers=read_only)
    assert r.status_code == 403  # ability before body validation
    r = await client.get("/v1/presets", headers=read_only)
    assert r.status_code == 200
    r = await client.get("/v1/presets")
    assert r.status_code == 401
    r = await client.patch("/v1/settings", json={"signed_transforms": True}, headers=read_only)
    assert r.status_code == 403


async def test_settings_turn_signing_on_and_show_the_secret_once(
    client: Any, account: dict[str, Any]
) -> None:
    h = account["headers"]
    r = await client.get("/v1/settings", headers=h)
    assert r.json() == {
        "object": "settings",
        "signed_transforms": False,
        "signing_secret_set": False,
        "signing_secret": None,
    }
    r = await client.patch("/v1/settings", json={"signed_transforms": True}, headers=h)
    assert r.status_code == 200
    secret = r.json()["signing_secret"]
    assert secret.startswith("img_sig_") and r.json()["signed_transforms"] is True
    r = await client.patch("/v1/settings", json={"signed_transforms": False}, headers=h)
    assert r.json()["signing_secret"] is None and r.json()["signing_secret_set"] is True
    r = await client.patch("/v1/settings", json={"signed_transforms": True}, headers=h)
    assert r.json()["signing_secret"] is None  # not shown again


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"signed_transforms": "yes"},
        {"signed_transforms": 1},
        {"signed_transforms": True, "extra": 1},
    ],
)
async def test_settings_validation(client: Any, account: dict[str, Any], body: Any) -> None:
    r = await client.patch("/v1/settings", json=body, headers=account["headers"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
