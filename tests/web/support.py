"""Helpers for the page tests: forms, CSRF tokens, signing up through the real pages."""

from __future__ import annotations

import itertools
import re
from typing import Any

import httpx

from imgpro.accounts.service import User

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_n = itertools.count(1)


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def token_for(client: httpx.AsyncClient, path: str) -> str:
    r = await client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    return csrf_of(r.text)


def new_email() -> str:
    return f"person{next(_n)}@example.com"


async def sign_up(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD
) -> str:
    email = email or new_email()
    token = await token_for(client, "/signup")
    r = await client.post(
        "/signup", data={"csrf_token": token, "email": email, "password": password}
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/dashboard?notice=welcome"
    return email


async def log_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: str
) -> httpx.Response:
    token = await token_for(client, "/")  # (/login itself redirects when signed in)
    return await client.post(
        "/login", data={"csrf_token": token, "email": email, "password": password, **extra}
    )


async def user_of(services: Any, email: str) -> User:
    user = await services.accounts.find_by_email(email)
    assert user is not None
    return user


def new_client(
    app: Any, *, ip: str = "203.0.113.7", base_url: str = "http://testserver"
) -> httpx.AsyncClient:
    """Another browser (its own cookie jar), optionally from another address."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(ip, 50000)), base_url=base_url
    )
