"""Deleting an account from the account page (accounts/deletion.py) when it owns an app: the
app goes with its secrets, hosted-login codes and every workspace inside it, and the images of
all of them; the people who used the app keep their own accounts. On SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

import imagegen
from factories import make_account, upload
from imgpro.accounts import deletion
from imgpro.db.tables import (
    api_keys,
    app_secrets,
    apps,
    connect_codes,
    images,
    users,
    workspaces,
)

REDIRECT = "https://demo.example.com/callback"
PNG = imagegen.png(20, 14)


async def _count(services, table, *where) -> int:
    async with services.db.read() as conn:
        return int(
            await conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0
        )


async def test_deleting_an_app_owner_takes_the_app_and_everything_inside_it(client, services):
    owner = await make_account(services, plan="pro")
    app, secret = await services.apps.register(
        owner_user_id=owner["user"].id,
        name="Demo",
        redirect_uris=[REDIRECT],
        now=services.clock.now(),
    )
    app_auth = {"Authorization": f"Bearer {secret}"}
    someone = await services.accounts.create_user("someone@example.com", "a good password")
    code = await services.apps.issue_code(app, someone.id, REDIRECT, services.clock.now())
    r = await client.post(
        "/v1/connect/exchange", headers=app_auth, json={"code": code, "redirect_uri": REDIRECT}
    )
    assert r.status_code == 200, r.text
    await services.apps.issue_code(app, someone.id, REDIRECT, services.clock.now())  # unused
    for headers in (owner["headers"], app_auth, {**app_auth, "X-Img-User": someone.id}):
        assert (await upload(client, PNG, headers=headers)).status_code == 201
    other = await make_account(services)
    assert (await upload(client, PNG, headers=other["headers"])).status_code == 201

    assert await deletion.delete_account(services, owner["user"].id) == 3

    assert await _count(services, users, users.c.id == owner["user"].id) == 0
    assert await _count(services, apps, apps.c.id == app.id) == 0
    assert await _count(services, app_secrets, app_secrets.c.app_id == app.id) == 0
    assert await _count(services, connect_codes, connect_codes.c.app_id == app.id) == 0
    assert await _count(services, workspaces, workspaces.c.app_id == app.id) == 0
    assert await _count(services, workspaces, workspaces.c.user_id == owner["user"].id) == 0
    assert await _count(services, api_keys, api_keys.c.user_id == owner["user"].id) == 0
    # The app's user and an unrelated account keep their accounts, workspaces and images.
    assert await _count(services, users, users.c.id.in_([someone.id, other["user"].id])) == 2
    assert await _count(services, workspaces, workspaces.c.user_id == someone.id) == 1
    assert await _count(services, images) == 1
    assert (await client.get("/v1/images", headers=other["headers"])).json()["data"]
    assert await deletion.delete_account(services, owner["user"].id) is None
