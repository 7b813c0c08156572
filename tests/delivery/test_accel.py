"""The nginx fast path: with accel_redirect_prefix set, cached GETs answer X-Accel-Redirect."""

from __future__ import annotations

import imagegen
from factories import upload


async def test_off_by_default(client):
    image = (await upload(client, imagegen.jpeg(64, 48))).json()
    path = image["url"].removeprefix("http://testserver")
    await client.get(path)
    r = await client.get(path)
    assert "x-accel-redirect" not in r.headers and len(r.content) > 0


async def test_cached_variant_and_stored_original_are_redirected(app, client, services):
    app.state.settings.accel_redirect_prefix = "/_imgpro_blobs/"
    image = (await upload(client, imagegen.jpeg(64, 48))).json()
    path = image["url"].removeprefix("http://testserver") + "?w=32"
    cold = await client.get(path)  # renders; the variant file then exists
    assert cold.status_code == 200
    r = await client.get(path)
    key = r.headers["x-accel-redirect"].removeprefix("/_imgpro_blobs/")
    assert r.status_code == 200 and r.content == b""
    assert key.startswith(f"variants/{image['id']}/")
    assert services.blobs.local_path(key).is_file()
    assert r.headers["etag"] == cold.headers["etag"]
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["x-content-type-options"] == "nosniff"
    # HEAD and conditional requests are still answered by imgpro itself.
    head = await client.head(path)
    assert "x-accel-redirect" not in head.headers and head.headers["content-length"] != "0"
    r304 = await client.get(path, headers={"If-None-Match": cold.headers["etag"]})
    assert r304.status_code == 304 and "x-accel-redirect" not in r304.headers

    svg = (await upload(client, imagegen.svg(20, 20), filename="a.svg")).json()
    r = await client.get(svg["url"].removeprefix("http://testserver"))
    assert r.headers["x-accel-redirect"].startswith("/_imgpro_blobs/originals/")
    assert "sandbox" in r.headers["content-security-policy"]


async def test_micro_cache_lifetime_is_sent_only_when_configured(app, client, services):
    image = (await upload(client, imagegen.jpeg(64, 48))).json()
    path = image["url"].removeprefix("http://testserver")
    assert "x-accel-expires" not in (await client.get(path)).headers
    app.state.settings.accel_cache_seconds = 5
    for url in (path, path + "?w=20"):
        r = await client.get(url)
        assert r.status_code == 200 and r.headers["x-accel-expires"] == "5"
        # Browsers and CDNs still get the year-long immutable policy.
        assert "immutable" in r.headers["cache-control"]
    svg = (await upload(client, imagegen.svg(20, 20), filename="a.svg")).json()
    r = await client.get(svg["url"].removeprefix("http://testserver"))
    assert r.headers["x-accel-expires"] == "5"
    # Errors are never marked cacheable for nginx: a 404 must not outlive a re-upload.
    missing = await client.get(path.replace(image["id"], "zzzzzzzz"))
    assert missing.status_code == 404 and "x-accel-expires" not in missing.headers
