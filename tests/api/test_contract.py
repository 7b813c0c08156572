"""Where imgpro follows the img.pro contract exactly (SPEC §3.1, §6): 422 for files that are not
an accepted image, 415 only for a body that is neither multipart nor JSON, 405 as an envelope,
and CORS on /v1 — through the HTTP API on SQLite and PostgreSQL."""

from __future__ import annotations

import io

import pytest
from PIL import Image

import imagegen
from billing.support import app_client
from factories import make_account, upload
from imgpro.settings import Settings


def tiff() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 10, 10)).save(out, format="TIFF")
    return out.getvalue()


PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("scan.tiff", tiff()),
        ("notes.txt", b"just some text, not an image at all\n" * 5),
        ("paper.pdf", PDF),
        ("disguised.jpg", b"%PDF-1.7\n" + b"0" * 400),  # the name says JPEG, the bytes say PDF
    ],
)
@pytest.mark.parametrize("who", ["anonymous", "key"])
async def test_files_that_are_not_accepted_images_answer_422(client, services, filename, data, who):
    headers = (await make_account(services))["headers"] if who == "key" else None
    r = await upload(client, data, headers=headers, filename=filename)
    assert r.status_code == 422, r.text
    assert r.json() == {
        "error": {
            "type": "invalid_request_error",
            "code": "unsupported_format",
            "message": "Unsupported file type. Accepted: JPEG, PNG, GIF, WebP, AVIF, HEIC/HEIF, "
            "SVG, BMP, ICO.",
        }
    }
    listing = await client.get("/v1/images", headers=headers) if headers else None
    assert listing is None or listing.json()["data"] == []


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/octet-stream", "application/x-www-form-urlencoded", "image/jpeg"],
)
async def test_a_body_neither_multipart_nor_json_answers_415(client, services, content_type):
    acct = await make_account(services)
    r = await client.post(
        "/v1/images",
        content=imagegen.jpeg(20, 20),
        headers={**acct["headers"], "Content-Type": content_type},
    )
    assert r.status_code == 415
    error = r.json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "unsupported_media_type")
    assert "multipart/form-data" in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/images", {"GET", "POST"}),
        ("POST", "/v1/usage", {"GET"}),
        ("GET", "/v1/connect/exchange", {"POST"}),
        ("PUT", "/v1/images/abc12345", {"GET", "PATCH", "DELETE"}),
        ("POST", "/v1/images/batch", {"DELETE", "PATCH"}),
    ],
)
async def test_wrong_methods_answer_405_method_not_allowed(client, services, method, path, allowed):
    acct = await make_account(services)
    r = await client.request(method, path, headers=acct["headers"])
    assert r.status_code == 405
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert r.json()["error"]["code"] == "method_not_allowed"
    assert allowed <= {m.strip() for m in r.headers["allow"].split(",")}


# -- CORS (SPEC §3.1) ----------------------------------------------------------------------------

ORIGIN = "https://gallery.example.org"


async def test_preflight_allows_the_three_headers_from_any_origin_without_credentials(client):
    r = await client.options(
        "/v1/images",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, idempotency-key, x-img-user, "
            "content-type",
        },
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "idempotency-key", "x-img-user", "content-type"} <= allowed
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in r.headers
    # A header outside the list is refused.
    r = await client.options(
        "/v1/images",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-something-else",
        },
    )
    assert r.status_code == 400


async def test_cross_origin_responses_carry_cors_headers_errors_included(client, services):
    acct = await make_account(services)
    r = await upload(
        client,
        imagegen.png(12, 12),
        headers={**acct["headers"], "Origin": ORIGIN, "Idempotency-Key": "k1"},
    )
    assert r.status_code == 201
    assert r.headers["access-control-allow-origin"] == "*"
    assert "Idempotent-Replayed" in r.headers["access-control-expose-headers"]
    r = await client.get("/v1/images", headers={"Origin": ORIGIN})  # 401 envelope, readable
    assert r.status_code == 401 and r.headers["access-control-allow-origin"] == "*"


async def test_pages_and_the_cdn_get_no_cors_headers(client, services):
    acct = await make_account(services)
    image = (await upload(client, imagegen.png(12, 12), headers=acct["headers"])).json()
    for path in ["/", "/pricing", image["url"].removeprefix("http://testserver")]:
        r = await client.get(path, headers={"Origin": ORIGIN})
        assert r.status_code == 200, path
        assert "access-control-allow-origin" not in r.headers, path
    r = await client.options(
        "/login", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in r.headers


async def test_configured_origins_only(settings: Settings, clock):
    async with app_client(settings, clock, cors_origins=[ORIGIN]) as (client, _):
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        }
        r = await client.options("/v1/images", headers={"Origin": ORIGIN, **preflight})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ORIGIN
        r = await client.options(
            "/v1/images", headers={"Origin": "https://evil.example.net", **preflight}
        )
        assert r.status_code == 400 and "access-control-allow-origin" not in r.headers


def test_cors_origins_from_the_environment(monkeypatch):
    monkeypatch.setenv("IMGPRO_CORS_ORIGINS", '["https://a.example", "http://localhost:3000/"]')
    assert Settings().cors_origins == ["https://a.example", "http://localhost:3000"]
    monkeypatch.delenv("IMGPRO_CORS_ORIGINS")
    assert Settings().cors_origins == ["*"]
