"""The public pages: home and its no-JavaScript try-it path, pricing, docs, HTML errors."""

from __future__ import annotations

import json
import re
import warnings

import pytest

import imagegen
from imgpro.settings import PlanSettings, RateLimitSettings

from .support import csrf_of, new_client, sign_up, token_for


async def test_home_explains_and_offers_the_try_it_form(client):
    r = await client.get("/")
    assert r.status_code == 200
    html = r.text
    assert 'data-api="http://testserver/v1/images"' in html
    assert 'action="http://testserver/try"' in html and 'enctype="multipart/form-data"' in html
    assert '<label for="tryit-file">' in html and 'id="tryit-file"' in html
    assert "expire after 30 days" in html
    assert 'href="http://testserver/signup"' in html
    assert '<script src="/static/tryit.js" defer></script>' in html
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert "<script>" not in html  # no inline script anywhere (the CSP would block it)


async def test_try_it_without_javascript(client):
    token = await token_for(client, "/")
    r = await client.post(
        "/try", data={"csrf_token": token}, files={"file": ("beach.jpg", imagegen.jpeg(800, 600))}
    )
    assert r.status_code == 303
    location = r.headers["location"]
    assert re.fullmatch(r"/try/[a-z0-9]{8}\?sig=[\w-]+", location)
    page = await client.get(location)
    assert page.status_code == 200
    image_id = location.split("/")[2].split("?")[0]
    code = re.search(r"<pre><code>(.*?)</code></pre>", page.text, re.S).group(1)
    image = json.loads(code.replace("&#34;", '"').replace("&amp;", "&"))
    assert image["id"] == image_id and image["filename"] == "beach.jpg"
    assert image["expires_at"] is not None
    assert f'value="{image["url"]}"' in page.text and f'value="{image["page_url"]}"' in page.text
    assert "expires on" in page.text and "30 days after upload" in page.text
    assert 'alt="Your upload: beach.jpg"' in page.text
    # The same object the API would return: anonymous, in the shared workspace.
    assert image["url"].startswith("http://testserver/i/")
    assert (await client.get(image["url"].removeprefix("http://testserver"))).status_code == 200
    # Only the uploader's signed link shows the result page.
    assert (await client.get(f"/try/{image_id}?sig=forged")).status_code == 404
    assert (await client.get(f"/try/{image_id}")).status_code == 404


async def test_try_it_errors_are_shown_on_the_page(client):
    token = await token_for(client, "/")
    r = await client.post(
        "/try",
        data={"csrf_token": token},
        files={"file": ("notes.txt", b"just some text, not an image")},
    )
    assert r.status_code == 422
    assert "Unsupported file type" in r.text and 'id="tryit-form"' in r.text
    r = await client.post("/try", data={"csrf_token": token, "x": "y"})
    assert r.status_code == 422 and "Choose an image" in r.text
    r = await client.post("/try", data={"csrf_token": token})  # urlencoded, not multipart
    assert r.status_code == 422


class TestConfigured:
    """With an operator's own plans and a tight anonymous rate limit."""

    @pytest.fixture
    def settings(self, settings):
        settings.rate_limits = RateLimitSettings(anon_uploads="2/hour")
        settings.plans = [
            PlanSettings(
                name="hobby", price_usd_month=0, uploads_per_month=50, storage_bytes="500MB"
            ),
            PlanSettings(
                name="studio",
                title="Studio",
                price_usd_month=9.5,
                uploads_per_month=5000,
                storage_bytes="50GB",
                apps=True,
            ),
        ]
        return settings

    async def test_try_it_shares_the_anonymous_rate_limit_with_the_api(self, client):
        token = await token_for(client, "/")
        r = await client.post("/v1/images", files={"file": ("a.jpg", imagegen.jpeg(20, 20))})
        assert r.status_code == 201
        r = await client.post(
            "/try", data={"csrf_token": token}, files={"file": ("b.jpg", imagegen.jpeg(20, 20))}
        )
        assert r.status_code == 303
        r = await client.post(
            "/try", data={"csrf_token": token}, files={"file": ("c.jpg", imagegen.jpeg(20, 20))}
        )
        assert r.status_code == 429 and "Too many uploads" in r.text
        assert (
            await client.post("/v1/images", files={"file": ("d.jpg", imagegen.jpeg(20, 20))})
        ).status_code == 429

    async def test_pricing_shows_the_live_plans(self, client):
        r = await client.get("/pricing")
        assert r.status_code == 200
        text = re.sub(r"\s+", " ", r.text)
        assert "Hobby" in text and "Studio" in text and "$9.50/mo" in text
        assert "50 uploads a month" in text and "5,000 uploads a month" in text
        assert "500 MB of storage" in text and "50 GB of storage" in text
        assert "Pro" not in text.split("<main")[1]
        await sign_up(client)
        r = await client.get("/pricing")
        assert "Your plan" in r.text and "Upgrade on the billing page" in r.text


async def test_docs_page_links_the_interactive_reference(app, client):
    r = await client.get("/docs")
    assert r.status_code == 200
    for text in (
        'href="/docs/api"',
        "curl -F file=@photo.jpg http://testserver/v1/images",
        'href="/docs/authentication"',
        'href="/docs/transforms"',
    ):
        assert text in r.text
    auth = (await client.get("/docs/authentication")).text
    assert "Authorization: Bearer" in auth and "X-Img-User" in auth
    assert "<code>fit</code>" in (await client.get("/docs/transforms")).text
    assert (await client.get("/docs/api")).status_code == 200
    with warnings.catch_warnings():  # the schema's own warnings are not this page's business
        warnings.simplefilter("ignore")
        paths = app.openapi()["paths"]
    assert "/v1/images" in paths
    assert not any(p in paths for p in ("/", "/login", "/dashboard"))  # pages stay out


async def test_unknown_pages_are_html_and_the_api_keeps_its_envelope(client):
    r = await client.get("/no/such/page")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert "Not found" in r.text
    r = await client.get("/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await client.get("/i/abc/nothing1.jpg")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await client.delete("/pricing")
    assert r.status_code == 405 and "text/html" in r.headers["content-type"]


async def test_signed_in_navigation(client):
    await sign_up(client)
    r = await client.get("/pricing")
    for link in ("/dashboard", "/keys", "/billing"):
        assert f'href="http://testserver{link}"' in r.text
    assert 'action="http://testserver/logout"' in r.text and csrf_of(r.text)
    assert 'aria-current="page"' not in r.text.split("Pricing")[0]
    r = await client.get("/keys")
    assert '<a href="http://testserver/keys" aria-current="page">Keys</a>' in r.text


async def test_form_bodies_are_bounded(app):
    async with new_client(app) as browser:
        token = await token_for(browser, "/login")
        r = await browser.post("/login", data={"csrf_token": token, "email": "x" * 70_000})
        assert r.status_code == 413 and "text/html" in r.headers["content-type"]
