"""Helpers for the mail flow tests: drain the outbox as the server's worker would, and walk the
code sign-in through the real pages."""

from __future__ import annotations

from typing import Any

import httpx

from web.support import token_for


async def deliver(services: Any) -> int:
    """One round of the outbox worker (tests drive it; the ASGI test client has no lifespan)."""
    return await services.mail.deliver_due()


async def ask_code(client: httpx.AsyncClient, email: str, **extra: str) -> httpx.Response:
    token = await token_for(client, "/")
    return await client.post("/login/code", data={"csrf_token": token, "email": email, **extra})


async def enter_code(client: httpx.AsyncClient, code: str, **extra: str) -> httpx.Response:
    token = await token_for(client, "/")
    return await client.post(
        "/login/code/verify", data={"csrf_token": token, "code": code, **extra}
    )
