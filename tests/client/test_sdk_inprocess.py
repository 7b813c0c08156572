"""The SDK against the app in process (httpx's ASGI transport): what needs no real server."""

from __future__ import annotations

import io
from typing import Any

import httpx

import imagegen
from factories import make_account
from imgpro.client import AsyncClient


async def test_unnamed_uploads_get_the_servers_fallback_name(app: Any, services: Any) -> None:
    account = await make_account(services)
    async with AsyncClient(
        "http://testserver", api_key=account["key"], transport=httpx.ASGITransport(app=app)
    ) as sdk:
        from_bytes = await sdk.upload(imagegen.png(12, 8))
        from_file = await sdk.upload(io.BytesIO(imagegen.png(12, 8)))
        named = await sdk.upload(imagegen.png(12, 8), filename="cat.png")
    assert from_bytes.filename == f"{from_bytes.id}.png"
    assert from_file.filename == f"{from_file.id}.png"
    assert named.filename == "cat.png"
