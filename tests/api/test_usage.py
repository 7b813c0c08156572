"""GET /v1/usage (SPEC §3.5): shape, abilities, numbers that follow uploads, deletes and months."""

from __future__ import annotations

import sqlalchemy as sa

import imagegen
from factories import add_key, make_account, upload
from imgpro.billing.plans import GB
from imgpro.billing.service import UpgradeLink
from imgpro.db.tables import workspaces


async def test_usage_shape_and_numbers(client, services):
    acct = await make_account(services)
    headers = acct["headers"]
    sizes = []
    for w in (10, 20, 30):
        r = await upload(client, imagegen.png(w, w), headers=headers)
        assert r.status_code == 201
        sizes.append(r.json()["bytes"])

    r = await client.get("/v1/usage", headers=headers)

    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {
        "object": "usage",
        "plan": "free",
        "period": {"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"},
        "limits": {
            "uploads": {"used": 3, "limit": 1000},
            "storage_bytes": {"used": sum(sizes), "limit": 5 * GB},
            "images": {"used": 3, "limit": 5000},
        },
        "totals": {"images_stored": 3},
        "limits_enforced": True,
    }


async def test_deletes_and_a_new_month_show_at_once(client, services, clock):
    acct = await make_account(services)
    headers = acct["headers"]
    first = (await upload(client, imagegen.png(16, 16), headers=headers)).json()
    second = (await upload(client, imagegen.png(18, 18), headers=headers)).json()
    assert (await client.delete(f"/v1/images/{first['id']}", headers=headers)).status_code == 200

    usage = (await client.get("/v1/usage", headers=headers)).json()
    assert usage["limits"]["uploads"]["used"] == 2  # deletes do not give uploads back
    assert usage["limits"]["storage_bytes"]["used"] == second["bytes"]
    assert usage["limits"]["images"]["used"] == usage["totals"]["images_stored"] == 1

    clock.advance(days=16)  # 2026-12-01T12:00Z
    usage = (await client.get("/v1/usage", headers=headers)).json()
    assert usage["period"] == {"start": "2026-12-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"}
    assert usage["limits"]["uploads"]["used"] == 0
    assert usage["limits"]["storage_bytes"]["used"] == second["bytes"]


async def test_unlimited_plan_reports_null_limits(client, services):
    acct = await make_account(services, plan="unlimited")
    usage = (await client.get("/v1/usage", headers=acct["headers"])).json()
    assert usage["plan"] == "unlimited"
    assert {k: v["limit"] for k, v in usage["limits"].items()} == {
        "uploads": None,
        "storage_bytes": None,
        "images": None,
    }
    assert usage["limits_enforced"] is False  # a plan without any limit


async def test_usage_needs_a_key_with_read(client, services):
    acct = await make_account(services, abilities="write")
    r = await client.get("/v1/usage")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = await client.get("/v1/usage", headers={"Authorization": "Bearer img_live_nope"})
    assert r.status_code == 401
    r = await client.get("/v1/usage", headers=acct["headers"])
    assert r.status_code == 403
    assert r.json()["error"] == {
        "type": "permission_error",
        "code": "forbidden",
        "message": "This key does not have the 'read' ability.",
    }
    read_only = await add_key(services, acct, "read")
    assert (await client.get("/v1/usage", headers=read_only)).status_code == 200


async def test_usage_is_per_workspace(client, services):
    a = await make_account(services)
    b = await make_account(services, plan="pro")
    await upload(client, imagegen.png(10, 10), headers=a["headers"])
    usage_b = (await client.get("/v1/usage", headers=b["headers"])).json()
    assert usage_b["plan"] == "pro"
    assert usage_b["limits"]["uploads"] == {"used": 0, "limit": 10000}
    # The same service answers for any workspace id (the dashboard / App mode path).
    usage_a = await services.usage.for_workspace(a["user"].workspace_id)
    assert usage_a.as_object()["limits"]["uploads"] == {"used": 1, "limit": 1000}


async def test_app_mode_usage_is_per_user_workspace_and_upgrades_there(client, services):
    """X-Img-User reads that user's workspace inside the app; its quota link upgrades only it."""
    owner = await make_account(services, plan="pro")
    app, secret = await services.apps.register(
        owner_user_id=owner["user"].id,
        name="Demo",
        redirect_uris=["https://demo.example/cb"],
        now=services.clock.now(),
    )
    alice = await services.accounts.create_user("alice@example.com", "a good password")
    code = await services.apps.issue_code(
        app, alice.id, "https://demo.example/cb", services.clock.now()
    )
    r = await client.post(
        "/v1/connect/exchange",
        headers={"Authorization": f"Bearer {secret}"},
        json={"code": code, "redirect_uri": "https://demo.example/cb"},
    )
    assert r.status_code == 200, r.text
    as_alice = {"Authorization": f"Bearer {secret}", "X-Img-User": alice.id}
    assert (await upload(client, imagegen.png(10, 10), headers=as_alice)).status_code == 201

    usage = (await client.get("/v1/usage", headers=as_alice)).json()
    assert usage["plan"] == "free" and usage["limits"]["uploads"] == {"used": 1, "limit": 1000}
    assert (await services.usage.for_workspace(alice.workspace_id)).uploads_used == 0
    owner_usage = (await client.get("/v1/usage", headers=owner["headers"])).json()
    assert owner_usage["plan"] == "pro" and owner_usage["limits"]["uploads"]["used"] == 0

    # At the limit, the error's link names the app workspace; Alice (its owner) may apply it.
    async with services.db.write() as conn:
        app_ws = await conn.scalar(
            sa.select(workspaces.c.id).where(
                workspaces.c.user_id == alice.id, workspaces.c.kind != "account"
            )
        )
        await conn.execute(
            workspaces.update().where(workspaces.c.id == app_ws).values(uploads_used=1000)
        )
    r = await upload(client, imagegen.png(10, 10), headers=as_alice)
    assert r.status_code == 403
    url = r.json()["error"]["action"]["url"]
    plan, query = url.removeprefix("http://testserver/upgrade/").split("?")
    link = UpgradeLink(plan, **dict(p.split("=", 1) for p in query.split("&")))
    assert link.t == app_ws
    change = await services.billing.apply_upgrade(link.t, link, user_id=alice.id)
    # The default billing provider is manual: a request the operator approves.
    assert change.status == "requested"
    await services.billing.approve(change.request_id)
    assert (await client.get("/v1/usage", headers=as_alice)).json()["plan"] == "pro"
    assert (await services.usage.for_workspace(alice.workspace_id)).plan.name == "free"
