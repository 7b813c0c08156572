"""Helpers for the CDN tests: upload through the API, fetch through the CDN, decode."""

from __future__ import annotations

from typing import Any

import pyvips

from factories import make_account, upload


async def new_image(
    client: Any,
    data: bytes,
    *,
    filename: str = "photo.jpg",
    headers: dict[str, str] | None = None,
    **fields: str,
) -> dict[str, Any]:
    """Upload (anonymously unless ``headers`` carry a key: accounts cost an Argon2 hash)."""
    r = await upload(client, data, headers=headers or {}, filename=filename, **fields)
    assert r.status_code == 201, r.text
    image: dict[str, Any] = r.json()
    return image


async def owner(services: Any) -> dict[str, str]:
    """Headers of a new account's key, for tests that PATCH or DELETE."""
    return dict((await make_account(services))["headers"])


def path_of(image: dict[str, Any], query: str = "", ext: str | None = None) -> str:
    path = image["url"].removeprefix("http://testserver")
    if ext is not None:
        path = path.rsplit(".", 1)[0] + "." + ext
    return path + (f"?{query}" if query else "")


def decode(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")


def pages(data: bytes) -> int:
    im = pyvips.Image.new_from_buffer(data, "")
    return int(im.get("n-pages")) if im.get_typeof("n-pages") else 1
