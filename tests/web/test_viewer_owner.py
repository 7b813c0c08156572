"""The viewer page shows a private image to its signed-in owner only (everyone else: 404)."""

from __future__ import annotations

import imagegen
from factories import upload
from imgpro.web.sessions import SESSION_COOKIE, principal_for

from .support import new_client, sign_up, token_for


async def private_image(client, services):
    """Uploaded from the dashboard, then made private through the API's own service."""
    token = await token_for(client, "/dashboard")
    r = await client.post(
        "/dashboard/upload",
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
        files={"file": ("secret.jpg", imagegen.jpeg(60, 40))},
    )
    assert r.status_code == 201
    image = r.json()["data"][0]
    session = await services.accounts.load_session(client.cookies[SESSION_COOKIE])
    return await services.images.update(principal_for(session), image["id"], {"public": False})


async def test_private_images_are_for_their_owner(app, client, services):
    await sign_up(client)
    image = await private_image(client, services)
    assert image["public"] is False
    page = await client.get(f"/{image['id']}")
    assert page.status_code == 200 and image["url"] in page.text
    assert 'href="http://testserver/dashboard"' in page.text  # signed-in navigation

    async with new_client(app) as stranger:
        r = await stranger.get(f"/{image['id']}")
        assert r.status_code == 404 and "text/html" in r.headers["content-type"]
        await sign_up(stranger)  # signed in, but not the owner
        assert (await stranger.get(f"/{image['id']}")).status_code == 404


async def test_public_images_are_for_everyone(app, client):
    image = (await upload(client, imagegen.jpeg(30, 20))).json()
    async with new_client(app) as anyone:
        assert (await anyone.get(f"/{image['id']}")).status_code == 200
