"""App storage (SPEC §2.3): an app secret without X-Img-User acts on the app's own workspace,
with its own plan and quotas; an app holds several named secrets; the operator CLI registers
apps — through the HTTP API on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from click.testing import Result
from typer.testing import CliRunner

import imagegen
from factories import make_account, upload
from imgpro.app import create_app
from imgpro.cli.main import app as cli
from imgpro.db.tables import workspaces
from imgpro.settings import Settings

from .test_app_api import REDIRECT, as_user, connect, make_app, person

PNG = imagegen.png(20, 14)


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def storage_of(services, app_id):
    async with services.db.read() as conn:
        return (
            await conn.execute(
                sa.select(workspaces).where(
                    workspaces.c.app_id == app_id, workspaces.c.kind == "app"
                )
            )
        ).one()


async def test_a_free_owner_registers_an_app_and_its_secret_alone_uploads_to_app_storage(
    client, services
):
    app = await make_app(services, plan="free")  # the free plan works (one app)
    storage = await storage_of(services, app["app"].id)
    assert (storage.plan, storage.user_id) == ("free", app["owner"]["user"].id)

    r = await upload(client, PNG, headers=app["auth"])  # no X-Img-User
    assert r.status_code == 201, r.text
    image = r.json()
    assert image["expires_at"] is None and f"/i/{storage.prefix}/" in image["url"]
    listing = (await client.get("/v1/images", headers=app["auth"])).json()["data"]
    assert [i["id"] for i in listing] == [image["id"]]
    usage = (await client.get("/v1/usage", headers=app["auth"])).json()
    assert usage["plan"] == "free" and usage["limits"]["images"] == {"used": 1, "limit": 5000}
    assert usage["limits_enforced"] is True
    # Update and delete work too; the delete gives storage and the image count back.
    r = await client.patch(
        f"/v1/images/{image['id']}", headers=app["auth"], json={"caption": "from the plugin"}
    )
    assert r.status_code == 200 and r.json()["caption"] == "from the plugin"
    assert (
        await client.delete(f"/v1/images/{image['id']}", headers=app["auth"])
    ).status_code == 200
    row = await storage_of(services, app["app"].id)
    assert (row.images_count, row.storage_used, row.uploads_used) == (0, 0, 1)


async def test_app_storage_is_its_own_place(client, services):
    app = await make_app(services)
    alice = await person(services, "alice@example.com")
    await connect(client, services, app, alice)
    in_storage = (await upload(client, PNG, headers=app["auth"])).json()
    for_alice = (await upload(client, PNG, headers=as_user(app, alice.id))).json()
    owners_own = (await upload(client, PNG, headers=app["owner"]["headers"])).json()
    seen = {
        "storage": app["auth"],
        "alice": as_user(app, alice.id),
        "owner key": app["owner"]["headers"],
    }
    expected = {"storage": in_storage, "alice": for_alice, "owner key": owners_own}
    for who, headers in seen.items():
        ids = [i["id"] for i in (await client.get("/v1/images", headers=headers)).json()["data"]]
        assert ids == [expected[who]["id"]], who
        for other, image in expected.items():
            if other != who:
                r = await client.get(f"/v1/images/{image['id']}", headers=headers)
                assert r.status_code == 404, (who, other)
    # Another app's secret never reaches this app's storage.
    other = await make_app(services, name="Other")
    r = await client.get(f"/v1/images/{in_storage['id']}", headers=other["auth"])
    assert r.status_code == 404


async def test_app_storage_quotas_name_the_limit_and_upgrade_that_workspace(client, services):
    app = await make_app(services)
    storage = await storage_of(services, app["app"].id)
    async with services.db.write() as conn:
        await conn.execute(
            workspaces.update().where(workspaces.c.id == storage.id).values(images_count=5000)
        )
    r = await upload(client, PNG, headers=app["auth"])
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["message"].startswith("Stored-image limit reached")
    assert (error["usage"]["images_used"], error["usage"]["images_limit"]) == (5000, 5000)
    url = error["action"]["url"]
    assert f"t={storage.id}" in url
    # The owner (signed in) asks for the plan; the default provider records the request.
    plan, query = url.removeprefix("http://testserver/upgrade/").split("?")
    from imgpro.billing.service import UpgradeLink

    link = UpgradeLink(plan, **dict(p.split("=", 1) for p in query.split("&")))
    change = await services.billing.apply_upgrade(storage.id, link, user_id=app["owner"]["user"].id)
    assert change.status == "requested"
    await services.billing.approve(change.request_id)
    assert (await upload(client, PNG, headers=app["auth"])).status_code == 201
    assert (await client.get("/v1/usage", headers=app["auth"])).json()["plan"] == "pro"
    # The owner's own account kept its plan.
    r = await client.get("/v1/usage", headers=app["owner"]["headers"])
    assert r.json()["plan"] == "pro"  # make_app's default owner plan, unchanged
    async with services.db.write() as conn:
        await conn.execute(
            workspaces.update().where(workspaces.c.id == storage.id).values(uploads_used=10_000)
        )
    r = await upload(client, PNG, headers=app["auth"])
    assert r.json()["error"]["message"] == "Monthly upload limit reached."


async def test_several_named_secrets_each_revocable_and_rotatable(client, services, clock):
    app = await make_app(services)
    owner = app["owner"]["user"].id
    info, second = await services.apps.create_secret(owner, app["app"].id, "wordpress", clock.now())
    assert info.name == "wordpress" and second.startswith("img_sk_live_")
    for secret in (app["secret"], second):
        assert (await upload(client, PNG, headers=auth(secret))).status_code == 201
    listing = (await services.apps.list_owned(owner))[0]
    assert sorted(s.name for s in listing.secrets) == ["default", "wordpress"]
    assert listing.stats.storage_images == 2
    await services.apps.revoke_secret(owner, app["app"].id, info.id, clock.now())
    r = await client.get("/v1/images", headers=auth(second))
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert (await client.get("/v1/images", headers=app["auth"])).status_code == 200
    # Rotating one named secret keeps its name and stops the old one at once.
    first_id = next(s.id for s in listing.secrets if s.name == "default")
    new = await services.apps.rotate_secret(owner, app["app"].id, clock.now(), secret_id=first_id)
    assert (await client.get("/v1/images", headers=app["auth"])).status_code == 401
    assert (await client.get("/v1/images", headers=auth(new))).status_code == 200
    names = [s.name for s in (await services.apps.list_owned(owner))[0].secrets]
    assert names == ["default"]
    # A revoked secret cannot exchange codes either.
    r = await client.post(
        "/v1/connect/exchange", headers=auth(second), json={"code": "x", "redirect_uri": REDIRECT}
    )
    assert r.status_code == 401


async def test_a_paused_app_pauses_its_storage_too(client, services):
    app = await make_app(services)
    await services.apps.set_paused(app["owner"]["user"].id, app["app"].id, True)
    r = await upload(client, PNG, headers=app["auth"])
    assert r.status_code == 403 and r.json()["error"]["code"] == "app_suspended"


def test_operator_cli_registers_an_app_for_an_owner(tmp_path: Path):
    data_dir = tmp_path / "data"

    def imgpro(*args: str) -> Result:
        # In process: the command needs no process of its own (and a subprocess per command
        # is mostly interpreter start-up).
        return CliRunner().invoke(cli, list(args), env={"IMGPRO_DATA_DIR": str(data_dir)})

    assert imgpro("migrate").exit_code == 0  # maintenance commands never create a store
    r = imgpro("users", "create", "dev@example.com", "--password", "a good password")
    assert r.exit_code == 0, r.stderr
    r = imgpro(
        "apps",
        "create",
        "dev@example.com",
        "--name",
        "Blog",
        "--redirect-uri",
        "https://blog.example.com/cb",
        "--redirect-uri",
        "http://localhost:8080/cb",
    )
    assert r.exit_code == 0, r.stderr
    lines = dict(line.split(": ", 1) for line in r.stdout.splitlines() if ": " in line)
    app_id, secret = lines["app id"].strip(), lines["secret"].strip()
    assert len(app_id) == 8 and secret.startswith("img_sk_live_")
    # The free plan allows one app: a second is refused with a clear message.
    r = imgpro(
        "apps",
        "create",
        "dev@example.com",
        "--name",
        "Two",
        "--redirect-uri",
        "https://two.example.com/cb",
    )
    assert r.exit_code == 1 and "Free plan allows 1 app" in r.stderr
    r = imgpro(
        "apps",
        "create",
        "nobody@example.com",
        "--name",
        "X",
        "--redirect-uri",
        "https://x.example.com/cb",
    )
    assert r.exit_code == 1 and "No account" in r.stderr
    assert app_id in imgpro("apps", "list").stdout

    # The secret it printed works over HTTP, on the app's own storage.
    import httpx

    app = create_app(Settings(data_dir=data_dir, auto_migrate=False))

    async def use() -> tuple[int, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            up = await c.post(
                "/v1/images", headers=auth(secret), files={"file": ("a.png", PNG, "image/png")}
            )
            usage = await c.get("/v1/usage", headers=auth(secret))
        await app.state.close()
        return up.status_code, usage.json()["limits"]["uploads"]["used"]

    assert asyncio.run(use()) == (201, 1)
    # The operator's list counts the image the app stored on its own storage.
    listed = imgpro("apps", "list")
    row = next(line for line in listed.stdout.splitlines() if app_id in line)
    assert row.split("│")[-2].strip() == "1", listed.stdout


async def test_the_app_limit_holds_under_concurrent_registrations(client, services):
    owner = await make_account(services, plan="free")
    results = await asyncio.gather(
        *[
            services.apps.register(
                owner_user_id=owner["user"].id,
                name=f"app {n}",
                redirect_uris=[REDIRECT],
                now=services.clock.now(),
            )
            for n in range(4)
        ],
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(
        getattr(r, "code", None) == "forbidden" for r in results if isinstance(r, BaseException)
    )
