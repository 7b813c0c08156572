"""`/apps` (register, rotate, redirects, pause) and `/connect` (hosted login), in process."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

from .support import new_client, sign_up, token_for, user_of

APP_ID = re.compile(r'id="new-app-id" value="([a-z0-9]{8})"')
SECRET = re.compile(r'id="new-app-secret" value="(img_sk_live_[\w-]+)"')
CALLBACK = "https://photos.example.com/callback"


async def developer_with_app(client, services, *, uris=CALLBACK):
    email = await sign_up(client)
    await services.billing.set_plan((await user_of(services, email)).workspace_id, "pro")
    token = await token_for(client, "/apps")
    r = await client.post(
        "/apps", data={"csrf_token": token, "name": "PhotoShare", "redirect_uris": uris}
    )
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    return APP_ID.search(r.text).group(1), SECRET.search(r.text).group(1)


async def test_a_free_account_registers_one_app_then_sees_the_upgrade_prompt(client):
    await sign_up(client)
    r = await client.get("/apps")
    assert r.status_code == 200 and "Register an app" in r.text
    token = await token_for(client, "/apps")
    r = await client.post(
        "/apps", data={"csrf_token": token, "name": "Blog", "redirect_uris": CALLBACK}
    )
    assert r.status_code == 201 and SECRET.search(r.text)
    r = await client.get("/apps")
    assert "Your Free plan allows 1 app; you have 1." in r.text
    assert 'id="apps-upgrade" href="http://testserver/upgrade/pro?' in r.text
    assert "Register an app" not in r.text
    r = await client.post(
        "/apps", data={"csrf_token": token, "name": "x", "redirect_uris": CALLBACK}
    )
    assert r.status_code == 403 and "Free plan allows 1 app" in r.text


async def test_named_secrets_are_created_shown_once_and_revoked(client, services):
    app_id, first = await developer_with_app(client, services)
    token = await token_for(client, "/apps")
    r = await client.post(
        f"/apps/{app_id}/secrets", data={"csrf_token": token, "name": "wordpress"}
    )
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    second = SECRET.search(r.text).group(1)
    assert "New secret “wordpress”" in r.text
    listing = (await client.get("/apps")).text
    assert second not in listing and f"{second[:16]}…" in listing and "wordpress" in listing
    # Both work, on the app's own storage (no X-Img-User).
    for secret in (first, second):
        r = await client.get("/v1/usage", headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 200 and r.json()["plan"] == "free"
    row = listing.partition("<td>wordpress</td>")[2]
    secret_id = re.search(r"/secrets/(sec_[a-z0-9]+)/revoke", row)
    r = await client.post(
        f"/apps/{app_id}/secrets/{secret_id.group(1)}/revoke", data={"csrf_token": token}
    )
    assert r.headers["location"] == "/apps?notice=revoked"
    assert (
        await client.get("/v1/usage", headers={"Authorization": f"Bearer {second}"})
    ).status_code == 401
    assert (
        await client.get("/v1/usage", headers={"Authorization": f"Bearer {first}"})
    ).status_code == 200
    r = await client.post(f"/apps/{app_id}/secrets", data={"csrf_token": token, "name": " "})
    assert r.status_code == 422


async def test_register_rotate_redirects_pause(client, services):
    app_id, secret = await developer_with_app(client, services)
    listing = await client.get("/apps")
    assert secret not in listing.text and app_id in listing.text
    assert f"{secret[:16]}…" in listing.text
    token = await token_for(client, "/apps")
    r = await client.post(f"/apps/{app_id}/rotate", data={"csrf_token": token})
    new_secret = SECRET.search(r.text).group(1)
    assert new_secret != secret and "old secret has stopped working" in r.text
    assert (
        await client.get(
            "/v1/images", headers={"Authorization": f"Bearer {secret}", "X-Img-User": "x"}
        )
    ).status_code == 401
    r = await client.post(
        f"/apps/{app_id}/redirects",
        data={"csrf_token": token, "redirect_uris": "http://example.com/insecure"},
    )
    assert r.status_code == 422
    r = await client.post(
        f"/apps/{app_id}/redirects",
        data={"csrf_token": token, "redirect_uris": f"{CALLBACK}\nhttp://localhost:3000/cb"},
    )
    assert r.status_code == 303
    r = await client.post(f"/apps/{app_id}/pause", data={"csrf_token": token})
    assert r.headers["location"] == "/apps?notice=paused"
    r = await client.get(
        "/v1/images", headers={"Authorization": f"Bearer {new_secret}", "X-Img-User": "x"}
    )
    assert r.json()["error"]["code"] == "app_suspended"
    await client.post(f"/apps/{app_id}/resume", data={"csrf_token": token})
    assert "active" in (await client.get("/apps")).text


async def test_forged_app_posts_are_refused(client, services, app):
    app_id, _ = await developer_with_app(client, services)
    for path in [
        "/apps",
        f"/apps/{app_id}/rotate",
        f"/apps/{app_id}/pause",
        f"/apps/{app_id}/redirects",
        "/connect",
    ]:
        r = await client.post(
            path,
            data={
                "csrf_token": "forged",
                "name": "x",
                "redirect_uris": CALLBACK,
                "app_id": app_id,
                "redirect_uri": CALLBACK,
            },
        )
        assert r.status_code == 403, path
    # Another account cannot touch this app.
    async with new_client(app) as other:
        await sign_up(other)
        token = await token_for(other, "/apps")
        r = await other.post(f"/apps/{app_id}/pause", data={"csrf_token": token})
        assert r.headers["location"] == "/apps"
    assert "paused" not in (await client.get("/apps")).text.split("Your apps")[1]


async def test_connect_flow_and_refusals(client, services, app):
    app_id, secret = await developer_with_app(client, services)
    query = urlencode({"app_id": app_id, "redirect_uri": CALLBACK, "state": "s t&ate"})
    async with new_client(app) as person:
        r = await person.get(f"/connect?{query}")
        assert r.status_code == 200 and "Continue to PhotoShare" in r.text
        assert "connect-signup" in r.text  # signed out: log in or sign up first
        assert (
            "form-action 'self' https://photos.example.com" in r.headers["content-security-policy"]
        )
        email = await sign_up(person)
        r = await person.get(f"/connect?{query}")
        token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
        r = await person.post(
            "/connect",
            data={
                "csrf_token": token,
                "app_id": app_id,
                "redirect_uri": CALLBACK,
                "state": "s t&ate",
            },
        )
        assert r.status_code == 303
        target = urlsplit(r.headers["location"])
        assert f"{target.scheme}://{target.netloc}{target.path}" == CALLBACK
        params = parse_qs(target.query)
        assert params["state"] == ["s t&ate"]  # passed back untouched
        r = await person.post(
            "/v1/connect/exchange",
            headers={"Authorization": f"Bearer {secret}"},
            json={"code": params["code"][0], "redirect_uri": CALLBACK},
        )
        user = await user_of(services, email)
        assert r.json() == {"object": "user", "id": user.id, "email": email}

        for bad in [
            {"app_id": "zzzz9999", "redirect_uri": CALLBACK},
            {"app_id": app_id, "redirect_uri": "https://evil.example.net/callback"},
            {"app_id": app_id, "redirect_uri": CALLBACK + "/extra"},
        ]:
            r = await person.get("/connect?" + urlencode({**bad, "state": "x"}))
            assert r.status_code == 400 and "location" not in r.headers
            r = await person.post("/connect", data={"csrf_token": token, **bad, "state": "x"})
            assert r.status_code == 400 and "location" not in r.headers


async def test_connect_signup_comes_back_to_the_app(client, services, app):
    app_id, _ = await developer_with_app(client, services)
    here = "/connect?" + urlencode({"app_id": app_id, "redirect_uri": CALLBACK, "state": "x"})
    async with new_client(app) as person:
        token = await token_for(person, "/signup?next=" + urlencode({"": here})[1:])
        r = await person.post(
            "/signup",
            data={
                "csrf_token": token,
                "email": "new@example.com",
                "password": "correct horse battery",
                "next": here,
            },
        )
        assert r.status_code == 303 and r.headers["location"] == here
        # Only local paths are accepted as next: no open redirect through signup.
        async with new_client(app) as stranger:
            token = await token_for(stranger, "/signup")
            r = await stranger.post(
                "/signup",
                data={
                    "csrf_token": token,
                    "email": "other@example.com",
                    "password": "correct horse battery",
                    "next": "https://evil.example.net/",
                },
            )
            assert r.headers["location"] == "/dashboard?notice=welcome"
