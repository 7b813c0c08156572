"""``/keys``: create (shown once), list, revoke — the keys work against the API at once."""

from __future__ import annotations

import re

import imagegen
from factories import make_account, upload

from .support import csrf_of, new_client, sign_up, token_for

SECRET = re.compile(r'id="new-key-value" value="(img_live_[\w-]+)"')


async def create(client, name, abilities):
    token = await token_for(client, "/keys")
    return await client.post(
        "/keys", data={"csrf_token": token, "name": name, "abilities": abilities}
    )


async def test_create_shows_the_key_once(client):
    await sign_up(client)
    r = await create(client, "reader", ["read"])
    assert r.status_code == 201
    assert r.headers["cache-control"] == "no-store"
    secret = SECRET.search(r.text).group(1)
    assert "will not be shown again" in r.text
    assert 'data-copy="#new-key-value"' in r.text
    listing = await client.get("/keys")
    assert secret not in listing.text  # never again
    row = re.search(r"<tr>(.*?)</tr>", listing.text.split("<tbody>")[1], re.S).group(1)
    assert "reader" in row and f"<code>{secret[:13]}…</code>" in row
    assert ">read<" in row and "write" not in row
    assert "never" in row  # last used

    auth = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/v1/images", headers=auth)).status_code == 200
    r = await upload(client, imagegen.jpeg(20, 20), headers=auth)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    listing = await client.get("/keys")
    assert (
        "2026-11-15 12:00"
        in re.search(r"<tr>(.*?)</tr>", listing.text.split("<tbody>")[1], re.S)
        .group(1)
        .split("Last used")[-1]
    )


async def test_a_read_write_key_uploads(client):
    await sign_up(client)
    r = await create(client, "writer", ["read", "write"])
    secret = SECRET.search(r.text).group(1)
    r = await upload(client, imagegen.jpeg(20, 20), headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 201
    dashboard = await client.get("/dashboard")
    assert f'id="image-{r.json()["id"]}"' in dashboard.text


async def test_create_validation(client):
    await sign_up(client)
    r = await create(client, "nothing", [])
    assert r.status_code == 422 and "Choose at least one ability" in r.text
    assert 'value="nothing"' in r.text and SECRET.search(r.text) is None
    r = await create(client, "   ", ["read"])
    assert r.status_code == 422 and "needs a name" in r.text
    r = await create(client, "sneaky", ["read", "admin"])  # unknown abilities are dropped
    assert r.status_code == 201 and ">read<" in r.text


async def test_revoke(client):
    await sign_up(client)
    r = await create(client, "old", ["read"])
    secret = SECRET.search(r.text).group(1)
    key_id = re.search(r"/keys/(key_\w+)/revoke", r.text).group(1)
    confirm = await client.get(f"/keys/{key_id}/revoke")
    assert confirm.status_code == 200 and "Revoke the key “old”?" in confirm.text
    r = await client.post(f"/keys/{key_id}/revoke", data={"csrf_token": csrf_of(confirm.text)})
    assert r.status_code == 303 and r.headers["location"] == "/keys?notice=revoked"
    listing = await client.get(r.headers["location"])
    assert "The key was revoked." in listing.text
    assert re.search(r"Revoked <time[^>]*>2026-11-15 12:00</time>", listing.text)
    assert (
        await client.get("/v1/images", headers={"Authorization": f"Bearer {secret}"})
    ).status_code == 401
    assert (await client.get(f"/keys/{key_id}/revoke")).headers["location"] == "/keys"


async def test_keys_of_another_account_are_out_of_reach(app, client, services):
    other = await make_account(services)
    await sign_up(client)
    listing = await client.get("/keys")
    assert other["key_id"] not in listing.text
    token = csrf_of(listing.text)
    r = await client.post(f"/keys/{other['key_id']}/revoke", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/keys"
    assert (await client.get("/v1/images", headers=other["headers"])).status_code == 200
    async with new_client(app) as stranger:
        assert (await stranger.get("/keys")).headers["location"] == "/login?next=/keys"
