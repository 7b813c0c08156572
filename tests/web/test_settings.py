"""``/settings``: signed transforms on/off, the secret shown once, rotation — and the CDN obeys."""

from __future__ import annotations

import re

import imagegen
from factories import upload
from imgpro.transforms.signing import sign

from .support import sign_up, token_for, user_of

SECRET = re.compile(r'id="signing-secret-value" value="(img_sig_[\w-]+)"')


async def post(client, path, **data):
    token = await token_for(client, "/settings")
    return await client.post(path, data={"csrf_token": token, **data})


async def test_turn_on_shows_the_secret_once_and_the_cdn_enforces_it(client, services):
    email = await sign_up(client)
    r = await client.get("/settings")
    assert r.status_code == 200 and "Signed transforms are <strong>off</strong>" in r.text
    assert re.search(r'href="[^"]*/settings" aria-current="page">Settings<', r.text)
    assert "Rotate secret" not in r.text  # nothing to rotate yet

    r = await post(client, "/settings/signing", signed_transforms="on")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    secret = SECRET.search(r.text).group(1)
    assert "will not be shown again" in r.text
    assert "Signed transforms are <strong>on</strong>" in r.text
    page = await client.get("/settings")
    assert secret not in page.text and "Rotate secret" in page.text  # never again

    user = await user_of(services, email)
    policy = await services.transform_policy.get(user.workspace_id)
    assert policy.signed_transforms and policy.secret == secret

    # The CDN follows at once.
    key = await services_key(services, user)
    image = (await upload(client, imagegen.jpeg(80, 60), headers=key)).json()
    path = image["url"].removeprefix("http://testserver")
    assert (await client.get(path + "?w=20")).status_code == 403
    good = sign(secret, path, [("w", "20")])
    assert (await client.get(f"{path}?w=20&s={good}")).status_code == 200

    # Off again: a redirect (nothing secret to show), and unsigned URLs work.
    r = await post(client, "/settings/signing")
    assert r.status_code == 303 and r.headers["location"] == "/settings?notice=off"
    assert (await client.get(path + "?w=21")).status_code == 200
    # On again: the same secret, not shown
    r = await post(client, "/settings/signing", signed_transforms="on")
    assert r.status_code == 303 and r.headers["location"] == "/settings?notice=on"
    assert (await client.get(f"{path}?w=20&s={good}")).status_code == 200


async def services_key(services, user):
    from imgpro.keys.service import parse_abilities

    secret, _ = await services.keys.create(
        user_id=user.id,
        workspace_id=user.workspace_id,
        name="t",
        abilities=parse_abilities("read,write"),
    )
    return {"Authorization": f"Bearer {secret}"}


async def test_rotate_replaces_the_secret(client, services):
    email = await sign_up(client)
    first = SECRET.search(
        (await post(client, "/settings/signing", signed_transforms="on")).text
    ).group(1)
    confirm = await client.get("/settings/rotate")
    assert confirm.status_code == 200 and "Rotate the signing secret?" in confirm.text
    r = await post(client, "/settings/rotate")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    second = SECRET.search(r.text).group(1)
    assert second != first and "previous secret now answer 403" in r.text
    user = await user_of(services, email)
    assert (await services.transform_policy.get(user.workspace_id)).secret == second


async def test_forms_need_the_csrf_token_and_a_session(client, services):
    await sign_up(client)
    for path in ("/settings/signing", "/settings/rotate"):
        r = await client.post(path, data={"signed_transforms": "on"})
        assert r.status_code == 403, path
        r = await client.post(path, data={"csrf_token": "forged", "signed_transforms": "on"})
        assert r.status_code == 403, path
    assert "Signed transforms are <strong>off</strong>" in (await client.get("/settings")).text
    client.cookies.clear()
    r = await client.get("/settings")
    assert r.status_code in (302, 303) and "/login" in r.headers["location"]


async def test_presets_are_listed(client, services):
    email = await sign_up(client)
    user = await user_of(services, email)
    await services.presets.put(user.workspace_id, "card", {"w": 400, "fit": "cover"})
    r = await client.get("/settings")
    assert "<code>card</code>" in r.text and "fit=cover&amp;w=400" in r.text
