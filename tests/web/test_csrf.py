"""Every state-changing form refuses a forged POST with 403, and nothing changes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import imagegen
from imgpro.db.tables import api_keys, images, sessions, users, workspaces
from imgpro.web import csrf
from imgpro.web.sessions import SESSION_COOKIE

from .support import PASSWORD, csrf_of, new_client, new_email, sign_up, token_for, user_of


async def counts(services):
    async with services.db.read() as conn:
        out = {}
        for table in (users, sessions, api_keys, images):
            out[table.name] = (
                await conn.execute(sa.select(sa.func.count()).select_from(table))
            ).scalar()
        out["plans"] = sorted((await conn.execute(sa.select(workspaces.c.plan))).scalars())
        out["revoked"] = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(api_keys)
                .where(api_keys.c.revoked_at.is_not(None))
            )
        ).scalar()
        return out


@pytest.fixture
async def signed_in(client, services):
    """A signed-in browser with one key and one image, and what it needs to forge requests."""
    email = await sign_up(client)
    token = await token_for(client, "/keys")
    r = await client.post(
        "/keys", data={"csrf_token": token, "name": "k", "abilities": ["read", "write"]}
    )
    assert r.status_code == 201
    key_id = (await client.get("/keys")).text.split("/keys/")[1].split("/revoke")[0]
    r = await client.post(
        "/dashboard/upload",
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
        files={"file": ("a.jpg", imagegen.jpeg(40, 30))},
    )
    assert r.status_code == 201, r.text
    image_id = r.json()["data"][0]["id"]
    user = await user_of(services, email)
    link = services.billing.links.url(user.workspace_id, "pro", services.clock.now())
    query = dict(p.split("=", 1) for p in link.split("?", 1)[1].split("&"))
    return {
        "email": email,
        "key_id": key_id,
        "image_id": image_id,
        "token": token,
        "upgrade": query,
    }


def forged_posts(s):
    """(path, form data, files) for every signed-in action, with the token left out."""
    return [
        ("/logout", {}, None),
        ("/keys", {"name": "forged", "abilities": "write"}, None),
        (f"/keys/{s['key_id']}/revoke", {}, None),
        (f"/dashboard/images/{s['image_id']}/delete", {}, None),
        ("/dashboard/upload", {}, {"file": ("b.jpg", imagegen.jpeg(20, 20))}),
        ("/upgrade/pro", s["upgrade"], None),
    ]


@pytest.mark.parametrize("token", [None, "", "forged-token", "x" * 300])
async def test_signed_in_actions_refuse_forged_posts(client, services, signed_in, token):
    before = await counts(services)
    for path, data, files in forged_posts(signed_in):
        body = dict(data)
        if token is not None:
            body["csrf_token"] = token
        r = await client.post(path, data=body, files=files)
        assert r.status_code == 403, (path, r.status_code)
        assert "text/html" in r.headers["content-type"]
        assert "This form has expired" in r.text
    assert await counts(services) == before
    assert (await client.get("/dashboard")).status_code == 200  # still signed in


async def test_the_upload_header_token_is_checked_before_the_body(client, services, signed_in):
    before = await counts(services)
    r = await client.post(
        "/dashboard/upload",
        headers={"X-CSRF-Token": "forged"},
        files={"file": ("b.jpg", imagegen.jpeg(20, 20))},
    )
    assert r.status_code == 403
    assert await counts(services) == before


async def test_an_anonymous_token_does_not_authorise_signed_in_actions(
    app, client, services, signed_in
):
    """The double-submit cookie could be planted by a sibling domain; signed-in actions need
    the session-bound token."""
    anon_cookie = "planted-cookie-value"
    client.cookies.set(csrf.ANON_COOKIE, anon_cookie, domain="testserver.local")
    request = type("R", (), {"app": app})()
    anon_token = csrf.sign(request, "anon", anon_cookie)  # what the attacker could compute
    before = await counts(services)
    r = await client.post(
        "/keys", data={"csrf_token": anon_token, "name": "x", "abilities": "read"}
    )
    assert r.status_code == 403
    assert await counts(services) == before


async def test_anonymous_forms_refuse_forged_posts(app, services):
    async with new_client(app) as browser:
        before = await counts(services)
        for path, data in [
            ("/signup", {"email": new_email(), "password": PASSWORD}),
            ("/login", {"email": "a@example.com", "password": PASSWORD}),
        ]:
            r = await browser.post(path, data=data)
            assert r.status_code == 403, path
            r = await browser.post(path, data={**data, "csrf_token": "forged"})
            assert r.status_code == 403, path
        r = await browser.post(
            "/try", data={"csrf_token": "forged"}, files={"file": ("a.jpg", imagegen.jpeg(20, 20))}
        )
        assert r.status_code == 403
        assert await counts(services) == before


async def test_a_token_from_another_browser_is_refused(app, services):
    async with new_client(app) as mine, new_client(app) as theirs:
        await token_for(theirs, "/signup")  # they have a cookie of their own
        token = await token_for(mine, "/signup")
        r = await theirs.post(
            "/signup", data={"csrf_token": token, "email": new_email(), "password": PASSWORD}
        )
        assert r.status_code == 403


async def test_the_session_token_changes_with_each_login(client):
    email = await sign_up(client)
    first = await token_for(client, "/keys")
    r = await client.post(
        "/login", data={"csrf_token": first, "email": email, "password": PASSWORD}
    )
    assert r.status_code == 303
    second = await token_for(client, "/keys")
    assert second != first
    r = await client.post("/keys", data={"csrf_token": first, "name": "x", "abilities": "read"})
    assert r.status_code == 403


async def test_anonymous_pages_set_the_csrf_cookie(client):
    r = await client.get("/signup")
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(csrf.ANON_COOKIE))
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert csrf_of(r.text) != client.cookies[csrf.ANON_COOKIE]  # the form carries an HMAC
    r = await client.get("/login")
    assert csrf.ANON_COOKIE not in r.headers.get("set-cookie", "")  # reused, not replaced
    assert SESSION_COOKIE not in client.cookies
