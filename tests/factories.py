"""Test factories: accounts and keys made through the real services."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from imgpro.keys.service import parse_abilities

_counter = itertools.count(1)

# Real-world files copied from the shared corpus (origins in fixtures/images/README.md).
CORPUS = Path(__file__).resolve().parent / "fixtures" / "images"


async def make_account(
    services: Any, *, plan: str = "free", abilities: str = "read,write"
) -> dict[str, Any]:
    """A new account and one key; returns {'user', 'key', 'headers'}."""
    n = next(_counter)
    user = await services.accounts.create_user(
        f"user{n}@example.com", "correct horse battery", plan=plan
    )
    secret, info = await services.keys.create(
        user_id=user.id,
        workspace_id=user.workspace_id,
        name=f"key {n}",
        abilities=parse_abilities(abilities),
    )
    return {
        "user": user,
        "key": secret,
        "key_id": info.id,
        "headers": {"Authorization": f"Bearer {secret}"},
    }


async def add_key(services: Any, account: dict[str, Any], abilities: str) -> dict[str, str]:
    user = account["user"]
    secret, _ = await services.keys.create(
        user_id=user.id,
        workspace_id=user.workspace_id,
        name="extra",
        abilities=parse_abilities(abilities),
    )
    return {"Authorization": f"Bearer {secret}"}


async def upload(
    client: Any,
    data: bytes,
    *,
    headers: dict[str, str] | None = None,
    filename: str = "photo.jpg",
    **fields: str,
) -> Any:
    return await client.post(
        "/v1/images",
        headers=headers or {},
        files={"file": (filename, data, "application/octet-stream")},
        data=fields,
    )
