"""App mode over the API: code exchange, X-Img-User workspaces, the sandbox, pause/block/rotate."""

from __future__ import annotations

import pytest

import imagegen
from factories import make_account, upload

REDIRECT = "https://demo.example.com/callback"


async def make_app(services, *, plan="pro", redirect=REDIRECT, name="Demo App"):
    owner = await make_account(services, plan=plan)
    app, secret = await services.apps.register(
        owner_user_id=owner["user"].id,
        name=name,
        redirect_uris=[redirect, "http://localhost:5000/cb"],
        now=services.clock.now(),
    )
    return {
        "owner": owner,
        "app": app,
        "secret": secret,
        "auth": {"Authorization": f"Bearer {secret}"},
    }


async def person(services, email):
    return await services.accounts.create_user(email, "a good password")


async def connect(client, services, app, user, redirect=REDIRECT):
    code = await services.apps.issue_code(app["app"], user.id, redirect, services.clock.now())
    r = await client.post(
        "/v1/connect/exchange", headers=app["auth"], json={"code": code, "redirect_uri": redirect}
    )
    assert r.status_code == 200, r.text
    return r.json()


def as_user(app, user_id):
    return {**app["auth"], "X-Img-User": user_id}


async def test_the_free_plan_registers_one_app_and_the_plan_data_says_how_many(services):
    owner = await make_account(services, plan="free")
    await services.apps.register(
        owner_user_id=owner["user"].id,
        name="first",
        redirect_uris=[REDIRECT],
        now=services.clock.now(),
    )
    with pytest.raises(Exception) as exc:
        await services.apps.register(
            owner_user_id=owner["user"].id,
            name="second",
            redirect_uris=[REDIRECT],
            now=services.clock.now(),
        )
    assert getattr(exc.value, "code", "") == "forbidden"
    assert "Free plan allows 1 app" in exc.value.message
    await services.billing.set_plan(owner["user"].workspace_id, "pro")  # pro: 10
    for n in range(9):
        await services.apps.register(
            owner_user_id=owner["user"].id,
            name=f"pro {n}",
            redirect_uris=[REDIRECT],
            now=services.clock.now(),
        )
    with pytest.raises(Exception) as exc:
        await services.apps.register(
            owner_user_id=owner["user"].id,
            name="eleventh",
            redirect_uris=[REDIRECT],
            now=services.clock.now(),
        )
    assert "Pro plan allows 10 apps" in exc.value.message


@pytest.mark.parametrize(
    "uri",
    [
        "http://example.com/cb",
        "https://example.com/cb#frag",
        "https://*.example.com/cb",
        "ftp://example.com",
        "/relative",
        "https://user:pw@example.com/cb",
    ],
)
async def test_redirect_uris_must_be_exact_https_or_localhost(services, uri):
    owner = await make_account(services, plan="pro")
    with pytest.raises(Exception) as exc:
        await services.apps.register(
            owner_user_id=owner["user"].id, name="x", redirect_uris=[uri], now=services.clock.now()
        )
    assert getattr(exc.value, "code", "") == "validation_error"


async def test_exchange_creates_one_workspace_and_acts_for_the_user(client, services):
    app = await make_app(services)
    alice = await person(services, "alice@example.com")
    user = await connect(client, services, app, alice)
    assert user == {"object": "user", "id": alice.id, "email": "alice@example.com"}
    again = await connect(client, services, app, alice)
    assert again["id"] == alice.id  # later exchanges return the same user
    headers = as_user(app, alice.id)
    r = await upload(client, imagegen.jpeg(40, 30), headers=headers)
    assert r.status_code == 201 and r.json()["expires_at"] is None
    image = r.json()
    assert (await client.get(f"/v1/images/{image['id']}", headers=headers)).status_code == 200
    listing = (await client.get("/v1/images", headers=headers)).json()["data"]
    assert [i["id"] for i in listing] == [image["id"]]
    r = await client.patch(f"/v1/images/{image['id']}", headers=headers, json={"caption": "hi"})
    assert r.json()["caption"] == "hi"
    assert (await client.delete(f"/v1/images/{image['id']}", headers=headers)).status_code == 200
    connections = await services.apps.connections(alice.id)
    assert [c["app_id"] for c in connections] == [app["app"].id]


@pytest.mark.parametrize("case", ["reuse", "expired", "other_app", "other_redirect", "garbage"])
async def test_codes_are_single_use_bound_and_short_lived(client, services, clock, case):
    app = await make_app(services)
    other = await make_app(services, name="Other")
    bob = await person(services, f"bob-{case}@example.com")
    code = await services.apps.issue_code(app["app"], bob.id, REDIRECT, clock.now())
    body = {"code": code, "redirect_uri": REDIRECT}
    auth = app["auth"]
    if case == "reuse":
        assert (
            await client.post("/v1/connect/exchange", headers=auth, json=body)
        ).status_code == 200
    elif case == "expired":
        clock.advance(minutes=10, seconds=1)
    elif case == "other_app":
        auth = other["auth"]
    elif case == "other_redirect":
        body["redirect_uri"] = "http://localhost:5000/cb"  # registered, but not this code's
    else:
        body["code"] = "not-a-code"
    r = await client.post("/v1/connect/exchange", headers=auth, json=body)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_code"
    assert r.json()["error"]["type"] == "invalid_request_error"


async def test_exchange_needs_the_app_secret(client, services):
    acct = await make_account(services)
    r = await client.post(
        "/v1/connect/exchange",
        headers=acct["headers"],
        json={"code": "x", "redirect_uri": REDIRECT},
    )
    assert r.status_code == 401
    r = await client.post("/v1/connect/exchange", json={"code": "x", "redirect_uri": REDIRECT})
    assert r.status_code == 401


async def test_unknown_user_and_disconnect(client, services, clock):
    app = await make_app(services)
    carol = await person(services, "carol@example.com")
    stranger = await person(services, "stranger@example.com")
    r = await client.get("/v1/images", headers=as_user(app, stranger.id))
    assert r.status_code == 403 and r.json()["error"]["code"] == "workspace_unavailable"
    await connect(client, services, app, carol)
    assert (await client.get("/v1/images", headers=as_user(app, carol.id))).status_code == 200
    await services.apps.disconnect(carol.id, app["app"].id, clock.now())
    r = await client.get("/v1/images", headers=as_user(app, carol.id))
    assert r.status_code == 403 and r.json()["error"]["code"] == "workspace_unavailable"
    await connect(client, services, app, carol)  # connecting again re-opens the workspace
    assert (await client.get("/v1/images", headers=as_user(app, carol.id))).status_code == 200


async def test_pause_block_and_rotate(client, services, clock):
    app = await make_app(services)
    dan = await person(services, "dan@example.com")
    await connect(client, services, app, dan)
    owner_id = app["owner"]["user"].id
    await services.apps.set_paused(owner_id, app["app"].id, True)
    r = await client.get("/v1/images", headers=as_user(app, dan.id))
    assert r.status_code == 403 and r.json()["error"]["code"] == "app_suspended"
    await services.apps.set_paused(owner_id, app["app"].id, False)
    await services.apps.set_blocked(app["app"].id, True)
    r = await client.get("/v1/images", headers=as_user(app, dan.id))
    assert r.status_code == 403 and r.json()["error"]["code"] == "app_blocked"
    await services.apps.set_blocked(app["app"].id, False)
    new_secret = await services.apps.rotate_secret(owner_id, app["app"].id, clock.now())
    r = await client.get("/v1/images", headers=as_user(app, dan.id))
    assert r.status_code == 401  # the old secret stops working at once
    r = await client.get(
        "/v1/images", headers={"Authorization": f"Bearer {new_secret}", "X-Img-User": dan.id}
    )
    assert r.status_code == 200


async def test_isolation_matrix(client, services):
    """Apps, users and keys never cross: every endpoint answers as if the image did not exist."""
    app_a = await make_app(services, name="A")
    app_b = await make_app(services, name="B")
    erin = await person(services, "erin@example.com")
    frank = await person(services, "frank@example.com")
    for app in (app_a, app_b):
        await connect(client, services, app, erin)
    await connect(client, services, app_a, frank)
    # Erin's own account (API key) and her two app workspaces are three separate places.
    from imgpro.keys.service import parse_abilities

    key, _ = await services.keys.create(
        user_id=erin.id,
        workspace_id=erin.workspace_id,
        name="own",
        abilities=parse_abilities("read,write"),
    )
    erin_key = {"Authorization": f"Bearer {key}"}
    in_a = (await upload(client, imagegen.jpeg(20, 20), headers=as_user(app_a, erin.id))).json()
    own = (await upload(client, imagegen.jpeg(20, 20), headers=erin_key)).json()

    outsiders = {
        "app B for erin": as_user(app_b, erin.id),
        "app A for frank": as_user(app_a, frank.id),
        "erin's API key": erin_key,
    }
    for who, headers in outsiders.items():
        for method, path, body in [
            ("GET", f"/v1/images/{in_a['id']}", None),
            ("PATCH", f"/v1/images/{in_a['id']}", {"caption": "x"}),
            ("DELETE", f"/v1/images/{in_a['id']}", None),
        ]:
            r = await client.request(method, path, headers=headers, json=body)
            assert r.status_code == 404, (who, method)
        r = await client.request(
            "DELETE", "/v1/images/batch", headers=headers, json={"ids": [in_a["id"]]}
        )
        assert r.json()["errors"][0]["error"]["code"] == "not_found", who
        ids = [i["id"] for i in (await client.get("/v1/images", headers=headers)).json()["data"]]
        assert in_a["id"] not in ids, who
    # App B's secret with a user of app A only (frank never connected B).
    r = await client.get("/v1/images", headers=as_user(app_b, frank.id))
    assert r.status_code == 403 and r.json()["error"]["code"] == "workspace_unavailable"
    # The app never reaches Erin's own account images.
    r = await client.get(f"/v1/images/{own['id']}", headers=as_user(app_a, erin.id))
    assert r.status_code == 404
    # The owner's API key does not reach the app's user workspaces either.
    r = await client.get(f"/v1/images/{in_a['id']}", headers=app_a["owner"]["headers"])
    assert r.status_code == 404
