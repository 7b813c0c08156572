"""The dashboard: the account's images through the same ImageService as the API."""

from __future__ import annotations

import re

import sqlalchemy as sa

import imagegen
from factories import add_key, make_account, upload
from imgpro.db.tables import workspaces
from imgpro.web.routes import dashboard as dashboard_routes

from .support import csrf_of, new_client, sign_up, token_for, user_of


async def key_headers(client, services, email):
    user = await user_of(services, email)
    return await add_key(services, {"user": user}, "read,write")


async def api_upload(client, headers, name="photo.jpg", w=64, h=48):
    r = await upload(client, imagegen.jpeg(w, h), headers=headers, filename=name)
    assert r.status_code == 201, r.text
    return r.json()


def grid_ids(html):
    return re.findall(r'<li class="card" id="image-([a-z0-9]{8})">', html)


async def test_the_dashboard_needs_a_session(client):
    r = await client.get("/dashboard")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/dashboard"
    r = await client.get("/dashboard?cursor=abc")
    assert r.headers["location"] == "/login?next=/dashboard%3Fcursor%3Dabc"


async def test_images_uploaded_with_a_key_appear_newest_first(client, services, clock):
    email = await sign_up(client)
    headers = await key_headers(client, services, email)
    first = await api_upload(client, headers, "first.jpg")
    clock.advance(seconds=1)
    second = await api_upload(client, headers, "second.jpg")
    r = await client.get("/dashboard")
    assert r.status_code == 200
    assert grid_ids(r.text) == [second["id"], first["id"]]
    assert f'<a class="thumb" href="{second["page_url"]}">' in r.text
    assert f'src="{second["sizes"]["small"]["url"]}"' in r.text
    assert 'alt="second.jpg"' in r.text
    assert "Welcome" not in r.text
    assert "Welcome to imgpro" in (await client.get("/dashboard?notice=welcome")).text


async def test_only_the_accounts_own_images(client, services):
    other = await make_account(services)
    await api_upload(client, other["headers"], "theirs.jpg")
    await sign_up(client)
    r = await client.get("/dashboard")
    assert grid_ids(r.text) == [] and "No images yet" in r.text


async def test_pagination_is_keyset(client, services, monkeypatch):
    monkeypatch.setattr(dashboard_routes, "PAGE_SIZE", 2)
    email = await sign_up(client)
    headers = await key_headers(client, services, email)
    made = [await api_upload(client, headers, f"{i}.jpg") for i in range(5)]
    newest_first = [m["id"] for m in reversed(made)]
    seen, path = [], "/dashboard"
    while path:
        r = await client.get(path)
        seen += grid_ids(r.text)
        match = re.search(r'href="http://testserver(/dashboard\?cursor=[^"]+)" rel="next"', r.text)
        path = match.group(1).replace("&amp;", "&") if match else None
        if match:
            assert "← Newest" in (await client.get(path)).text
    assert seen == newest_first
    r = await client.get("/dashboard?cursor=not-a-cursor")
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"


async def test_usage_bars_show_the_plan(client, services):
    email = await sign_up(client)
    headers = await key_headers(client, services, email)
    image = await api_upload(client, headers)
    r = await client.get("/dashboard")
    text = re.sub(r"\s+", " ", r.text)
    assert "Uploads this month" in text and "1 of 1000" in text
    assert re.search(
        r'<meter id="usage-uploads" aria-labelledby="usage-uploads-label" min="0" '
        r'max="1000" value="1"',
        text,
    )
    assert "Images stored" in text and "1 of 5000" in text
    assert re.search(
        r'<meter id="usage-images" aria-labelledby="usage-images-label" min="0" '
        r'max="5000" value="1"',
        text,
    )
    assert f'max="{5 * 1024**3}" value="{image["bytes"]}"' in text
    usage = (await client.get("/v1/usage", headers=headers)).json()
    assert usage["limits"]["uploads"] == {"used": 1, "limit": 1000}


async def test_xhr_upload_returns_the_image_object(client, services):
    email = await sign_up(client)
    token = await token_for(client, "/dashboard")
    r = await client.post(
        "/dashboard/upload",
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
        files={"file": ("sunset.png", imagegen.png(90, 60))},
    )
    assert r.status_code == 201
    image = r.json()["data"][0]
    assert image["filename"] == "sunset.png" and image["format"] == "png"
    assert image["expires_at"] is None  # an account's upload is permanent
    headers = await key_headers(client, services, email)
    listed = (await client.get("/v1/images", headers=headers)).json()["data"]
    assert [i["id"] for i in listed] == [image["id"]]
    assert listed[0] == image  # the very same Image object as the API's


async def test_form_upload_of_several_files(client):
    await sign_up(client)
    token = await token_for(client, "/dashboard")
    files = [
        ("file", ("a.jpg", imagegen.jpeg(30, 20))),
        ("file", ("b.png", imagegen.png(20, 30))),
        ("file", ("c.gif", imagegen.gif(10, 10))),
    ]
    r = await client.post("/dashboard/upload", data={"csrf_token": token}, files=files)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard?notice=uploaded&n=3"
    page = await client.get(r.headers["location"])
    assert len(grid_ids(page.text)) == 3 and "Uploaded 3 images." in page.text


async def test_upload_errors(client):
    await sign_up(client)
    token = await token_for(client, "/dashboard")
    files = [
        ("file", ("ok.jpg", imagegen.jpeg(30, 20))),
        ("file", ("notes.txt", b"plain text is not an image")),
    ]
    r = await client.post("/dashboard/upload", data={"csrf_token": token}, files=files)
    assert r.status_code == 200
    assert "Uploaded 1 of 2 images." in r.text and "notes.txt: Unsupported file type" in r.text
    r = await client.post(
        "/dashboard/upload",
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
        files={"file": ("bad.jpg", imagegen.truncated(imagegen.jpeg(64, 64)))},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_image"
    r = await client.post(
        "/dashboard/upload", data={"csrf_token": token}, files={"other": ("x.jpg", b"")}
    )
    assert r.status_code == 422 and "Choose at least one image" in r.text
    r = await client.post(
        "/dashboard/upload",
        headers={"X-CSRF-Token": token},
        content=b"a=b",
    )
    assert r.status_code == 400


async def test_upload_size_cap_and_quota(client, services, monkeypatch):
    email = await sign_up(client)
    token = await token_for(client, "/dashboard")
    monkeypatch.setattr(services.settings.limits, "key_max_bytes", 2000)  # as for API keys
    r = await client.post(
        "/dashboard/upload",
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
        files={"file": ("big.jpg", imagegen.jpeg(400, 400) + b"\0" * 3000)},
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"
    user = await user_of(services, email)
    await services.billing.set_plan(user.workspace_id, "free")
    async with services.db.write() as conn:
        await conn.execute(
            workspaces.update()
            .where(workspaces.c.id == user.workspace_id)
            .values(uploads_used=1000, period=services.clock.now().strftime("%Y-%m"))
        )
    monkeypatch.undo()
    r = await client.post(
        "/dashboard/upload",
        data={"csrf_token": token},
        files={"file": ("a.jpg", imagegen.jpeg(20, 20))},
    )
    assert r.status_code == 403 and "Monthly upload limit reached." in r.text
    async with services.db.read() as conn:
        assert (
            await conn.execute(
                sa.select(workspaces.c.uploads_used).where(workspaces.c.id == user.workspace_id)
            )
        ).scalar() == 1000


async def test_upload_without_a_session(client):
    r = await client.post(
        "/dashboard/upload",
        headers={"Accept": "application/json"},
        files={"file": ("a.jpg", imagegen.jpeg(20, 20))},
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = await client.post("/dashboard/upload", files={"file": ("a.jpg", imagegen.jpeg(20, 20))})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_delete_with_confirmation(client, services):
    email = await sign_up(client)
    headers = await key_headers(client, services, email)
    image = await api_upload(client, headers, "doomed.jpg")
    confirm = await client.get(f"/dashboard/images/{image['id']}/delete")
    assert confirm.status_code == 200
    assert "Delete doomed.jpg?" in confirm.text and "cannot be undone" in confirm.text
    assert f'action="/dashboard/images/{image["id"]}/delete"' in confirm.text
    dashboard = await client.get("/dashboard")
    assert (
        f'data-confirm-post="Delete doomed.jpg? This cannot be undone." data-csrf="'
        f'{csrf_of(dashboard.text)}"' in dashboard.text
    )
    r = await client.post(
        f"/dashboard/images/{image['id']}/delete", data={"csrf_token": csrf_of(confirm.text)}
    )
    assert r.status_code == 303 and r.headers["location"] == "/dashboard?notice=deleted"
    assert "The image was deleted." in (await client.get(r.headers["location"])).text
    assert (await client.get(f"/v1/images/{image['id']}", headers=headers)).status_code == 404
    cdn = image["url"].removeprefix("http://testserver")
    assert (await client.get(cdn)).status_code == 404
    usage = (await client.get("/v1/usage", headers=headers)).json()
    assert usage["limits"]["storage_bytes"]["used"] == 0
    # Deleting again (a double click) lands in the same place.
    r = await client.post(
        f"/dashboard/images/{image['id']}/delete", data={"csrf_token": csrf_of(confirm.text)}
    )
    assert r.status_code == 303


async def test_another_accounts_image_cannot_be_deleted(app, client, services):
    other = await make_account(services)
    theirs = await api_upload(client, other["headers"], "theirs.jpg")
    await sign_up(client)
    r = await client.get(f"/dashboard/images/{theirs['id']}/delete")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    token = await token_for(client, "/dashboard")
    r = await client.post(f"/dashboard/images/{theirs['id']}/delete", data={"csrf_token": token})
    assert r.status_code == 303
    assert (
        await client.get(f"/v1/images/{theirs['id']}", headers=other["headers"])
    ).status_code == 200
    async with new_client(app) as stranger:  # and no session at all: to the login page
        r = await stranger.post(f"/dashboard/images/{theirs['id']}/delete", data={})
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
