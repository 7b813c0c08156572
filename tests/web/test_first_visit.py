"""What a newcomer meets on the pages: the upload count, the key form's defaults, the API's
guidance kept on the pages (upgrade link, retry time, sign-up hint, the size limit from the
settings), the favicon, the viewer's heading, and links without a configured base URL."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

import imagegen
from imgpro.db.tables import workspaces
from imgpro.settings import LimitSettings, RateLimitSettings, Settings

from .support import csrf_of, new_client, sign_up, token_for, user_of


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    """The shared app, with a 1 MB anonymous cap and one anonymous upload an hour."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        public_base_url="http://testserver",
        secret_key="test-secret-key",
        limits=LimitSettings(anon_max_bytes=1024 * 1024, svg_max_bytes=512 * 1024),
        rate_limits=RateLimitSettings(anon_uploads="1/hour"),
    )


async def test_the_upload_notice_counts_every_file_of_a_batch(client):
    await sign_up(client)
    for n, text in (
        ("27", "Uploaded 27 images."),
        ("1", "Uploaded 1 image."),
        ("1200", "Uploaded 1,200 images."),
        ("x", "Upload finished."),
        ("99999999", "Upload finished."),
    ):
        r = await client.get(f"/dashboard?notice=uploaded&n={n}")
        assert r.status_code == 200 and text in r.text, n


async def test_the_key_form_offers_read_only_and_keeps_it(client, services):
    email = await sign_up(client)
    page = (await client.get("/keys")).text
    read = re.search(r'<input type="checkbox" name="abilities" value="read"[^>]*>', page).group(0)
    write = re.search(r'<input type="checkbox" name="abilities" value="write"[^>]*>', page).group(0)
    assert "checked" in read and "checked" not in write
    r = await client.post(
        "/keys", data={"csrf_token": csrf_of(page), "name": "reader", "abilities": "read"}
    )
    assert r.status_code == 201
    secret = re.search(r'id="new-key-value"[^>]*value="([^"]+)"', r.text).group(1)
    auth = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/v1/images", headers=auth)).status_code == 200
    denied = await client.post(
        "/v1/images", headers=auth, files={"file": ("a.png", imagegen.png(8, 8))}
    )
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    del email


async def test_favicon_and_the_viewers_heading(client):
    icon = await client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\0\0\1\0"  # an ICO file
    assert 'rel="icon" href="/favicon.ico"' in (await client.get("/")).text
    r = await client.post("/v1/images", files={"file": ("sunset <1>.png", imagegen.png(64, 48))})
    assert r.status_code == 201
    page = (await client.get(f"/{r.json()['id']}")).text
    assert re.search(r'<h1 id="viewer-title"[^>]*>sunset &lt;1&gt;.png</h1>', page)


async def test_the_try_it_form_carries_the_configured_size_limit(client):
    home = (await client.get("/")).text
    assert 'data-max-bytes="1048576"' in home and 'data-svg-max-bytes="524288"' in home
    assert "up to 1 MB" in home and "20 MB" not in home
    assert 'data-signup-url="http://testserver/signup"' in home
    assert 'data-signup-label="Sign up for 70 MB uploads"' in home


async def test_try_without_javascript_keeps_the_signup_hint_and_the_retry_time(client):
    home = (await client.get("/")).text
    token = csrf_of(home)
    big = imagegen.png(16, 16) + b"\0" * (1024 * 1024 + 10)
    r = await client.post("/try", data={"csrf_token": token}, files={"file": ("big.png", big)})
    assert r.status_code == 413
    assert re.search(
        r'<a class="guidance" data-action="signup" href="http://testserver/signup">'
        r"Sign up for 70 MB uploads</a>",
        r.text,
    )
    # The form takes its rate-limit slot before reading the body, as POST /v1/images does: the
    # refused 413 spent this address's one upload of the hour (1/hour here).
    r = await client.post(
        "/try", data={"csrf_token": token}, files={"file": ("b.png", imagegen.png(16, 16))}
    )
    assert r.status_code == 429
    wait = re.search(r'data-retry-after="(\d+)">Try again in (\d+) (minutes|seconds)\.', r.text)
    assert wait and 0 < int(wait.group(1)) <= 3601  # the window, rounded up
    assert r.headers["retry-after"] == wait.group(1)


async def test_a_quota_error_on_the_dashboard_shows_the_signed_upgrade_link(client, services):
    email = await sign_up(client)
    token = await token_for(client, "/dashboard")
    user = await user_of(services, email)
    free = services.plans.get("free")
    async with services.db.write() as conn:
        await conn.execute(
            workspaces.update()
            .where(workspaces.c.id == user.workspace_id)
            .values(
                uploads_used=free.uploads_per_month, period=services.clock.now().strftime("%Y-%m")
            )
        )
    r = await client.post(
        "/dashboard/upload",
        data={"csrf_token": token},
        files={"file": ("a.png", imagegen.png(20, 20))},
    )
    assert r.status_code == 403
    link = re.search(
        r'<a class="guidance" data-action="upgrade" href="([^"]+)">Upgrade to ', r.text
    )
    assert link, r.text
    upgrade = link.group(1).replace("&amp;", "&")
    assert upgrade.startswith("http://testserver/upgrade/") and "sig=" in upgrade
    assert (await client.get(upgrade)).status_code == 200  # the signed link opens
    async with services.db.read() as conn:
        used = await conn.scalar(
            sa.select(workspaces.c.uploads_used).where(workspaces.c.id == user.workspace_id)
        )
    assert used == free.uploads_per_month


async def test_without_a_base_url_pages_link_origin_relative(tmp_path, database_url, clock):
    """Nothing configured: forms and links stay on whatever name the browser used; the API's
    links and the curl examples name the address served (host and port settings)."""
    from imgpro.app import create_app

    app = create_app(
        Settings(data_dir=tmp_path / "bare", database_url=database_url, secret_key="k", port=9123),
        clock=clock,
    )
    try:
        for host in ("localhost", "127.0.0.1"):
            async with new_client(app, base_url=f"http://{host}:9123") as browser:
                home = (await browser.get("/")).text
                assert 'action="/try"' in home and 'data-api="/v1/images"' in home
                assert 'href="/signup"' in home
                assert "curl -F file=@photo.jpg http://127.0.0.1:9123/v1/images" in home
                signup = (await browser.get("/signup")).text
                assert 'action="/signup"' in signup
                r = await browser.post(
                    "/signup",
                    data={
                        "csrf_token": csrf_of(signup),
                        "email": f"bare-{host}@example.com",
                        "password": "a good password",
                    },
                )
                assert r.status_code == 303, r.text
                up = await browser.post(
                    "/v1/images", files={"file": ("p.png", imagegen.png(40, 30))}
                )
                assert up.json()["page_url"].startswith("http://127.0.0.1:9123/")
                dash = (await browser.get("/dashboard")).text
                # The account's own image opens on this host name, where the session is.
                assert 'href="http://127.0.0.1:9123/' not in dash
    finally:
        await app.state.close()
