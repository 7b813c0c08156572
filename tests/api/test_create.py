"""POST /v1/images: every accepted format, every refusal, the Image object, idempotency."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa
from PIL import Image

import imagegen
from factories import CORPUS, add_key, make_account, upload
from imgpro.db.tables import images, workspaces

IMAGE_FIELDS = {
    "id",
    "object",
    "url",
    "page_url",
    "sizes",
    "filename",
    "format",
    "width",
    "height",
    "bytes",
    "transformable",
    "status",
    "public",
    "published_at",
    "expires_at",
    "created_at",
    "caption",
    "metadata",
    "labels",
    "nsfw",
    "placeholder",
}


async def count_images(services) -> int:
    async with services.db.read() as conn:
        return await conn.scalar(sa.select(sa.func.count()).select_from(images))


async def test_anonymous_upload_returns_complete_image_object(client, clock):
    data = imagegen.jpeg(1600, 1200)
    r = await upload(client, data, filename="holiday.jpg")
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == IMAGE_FIELDS
    assert body["object"] == "image"
    assert len(body["id"]) == 8 and any(c.isdigit() for c in body["id"])
    assert body["format"] == "jpg" and body["filename"] == "holiday.jpg"
    assert (body["width"], body["height"], body["bytes"]) == (1600, 1200, len(data))
    assert body["public"] is True and body["status"] == "ready" and body["transformable"]
    assert body["url"].startswith("http://testserver/i/") and body["url"].endswith(".jpg")
    assert body["page_url"] == f"http://testserver/{body['id']}"
    expires = dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert expires - clock.now() == dt.timedelta(days=30)
    assert body["sizes"] == {
        "small": {"url": body["url"] + "?size=s", "width": 427, "height": 320},
        "medium": {"url": body["url"] + "?size=m", "width": 853, "height": 640},
        "large": {"url": body["url"] + "?size=l", "width": 1440, "height": 1080},
    }
    assert body["placeholder"]["color"].startswith("#") and len(body["placeholder"]["color"]) == 7
    assert len(body["placeholder"]["blurhash"]) >= 6
    assert body["metadata"] == {} and body["labels"] == {} and body["caption"] is None
    assert body["nsfw"] is False

    served = await client.get(body["url"].removeprefix("http://testserver"))
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(served.content)).size == (1600, 1200)


async def test_sizes_never_enlarge(client):
    r = await upload(client, imagegen.png(300, 500))
    sizes = r.json()["sizes"]
    assert (sizes["small"]["width"], sizes["small"]["height"]) == (300, 500)
    r = await upload(client, imagegen.png(800, 400))
    sizes = r.json()["sizes"]
    assert (sizes["small"]["width"], sizes["small"]["height"]) == (640, 320)
    assert (sizes["medium"]["width"], sizes["medium"]["height"]) == (800, 400)
    assert (sizes["large"]["width"], sizes["large"]["height"]) == (800, 400)


FORMATS = [
    ("jpeg", lambda: imagegen.jpeg(64, 48), "jpg", True, (64, 48)),
    ("png", lambda: imagegen.png(64, 48, alpha=True), "png", True, (64, 48)),
    ("gif", lambda: imagegen.gif(40, 30, frames=5), "gif", True, (40, 30)),
    ("webp", lambda: imagegen.webp(64, 48), "webp", True, (64, 48)),
    ("avif", lambda: imagegen.avif(64, 48), "avif", True, (64, 48)),
    ("heic", lambda: imagegen.heic(64, 48), "jpg", True, (64, 48)),
    ("svg", lambda: imagegen.svg(120, 80), "svg", False, (120, 80)),
    ("bmp", lambda: imagegen.bmp(30, 20), "bmp", False, (30, 20)),
    ("ico", lambda: imagegen.ico(32), "ico", False, (32, 32)),
]


@pytest.mark.parametrize(
    ("name", "make", "served", "transformable", "dims"), FORMATS, ids=[f[0] for f in FORMATS]
)
async def test_every_accepted_format(client, name, make, served, transformable, dims):
    # The name says .bin: the type is sniffed from the bytes, never from the name.
    r = await upload(client, make(), filename=f"upload-{name}.bin")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["format"] == served and body["transformable"] is transformable
    assert (body["width"], body["height"]) == dims
    assert body["url"].endswith(f".{served}")
    if transformable:
        assert body["placeholder"] is not None and set(body["sizes"]) == {
            "small",
            "medium",
            "large",
        }
    else:
        assert body["placeholder"] is None and body["sizes"] == {}
    got = await client.get(body["url"].removeprefix("http://testserver"))
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("image/")


@pytest.mark.parametrize(
    ("path", "dims"),
    [
        ("Landscape_1.jpg", (1800, 1200)),
        ("Landscape_6.jpg", (1800, 1200)),
        ("Landscape_8.jpg", (1800, 1200)),
        ("Portrait_6.jpg", (1200, 1800)),
        ("IMG_5195.HEIC", None),
        ("DSCN0010_gps.jpg", (640, 480)),
        ("image01137.jpg", None),
        ("image01551.jpg", None),
    ],
)
async def test_corpus_files_upload_and_serve(client, path, dims):
    source = CORPUS / path
    r = await upload(client, source.read_bytes(), filename=source.name)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["format"] == "jpg"
    if dims:
        assert (body["width"], body["height"]) == dims
    served = await client.get(body["url"].removeprefix("http://testserver"))
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    out = Image.open(io.BytesIO(served.content))
    assert out.size == (body["width"], body["height"])
    # Served copies carry no EXIF at all (no GPS, no maker notes, no orientation).
    assert not out.getexif()


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"just some text, not an image at all" * 10, 422, "unsupported_format"),
        (b"%PDF-1.7\n" + b"0" * 500, 422, "unsupported_format"),
        (b"PK\x03\x04" + b"\0" * 500, 422, "unsupported_format"),
        (b"", 422, "invalid_image"),  # empty: nothing to decode (not a wrong type)
    ],
)
async def test_unsupported_files_are_refused(client, services, data, status, code):
    r = await upload(client, data)
    assert r.status_code == status
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert await count_images(services) == 0


async def test_truncated_image_is_invalid(client, services):
    r = await upload(client, imagegen.truncated(imagegen.jpeg(800, 600)))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_image"
    r = await upload(client, imagegen.truncated(imagegen.png(300, 300)))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_image"
    assert await count_images(services) == 0


async def test_decompression_bomb_is_refused_before_decoding(client, services):
    r = await upload(client, imagegen.png_bomb())
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "image_too_large"
    assert await count_images(services) == 0


async def test_animated_gif_frames_count_toward_pixel_limit(app, client):
    app.state.settings.limits.max_pixels = 40 * 30 * 4  # 5 frames of 40x30 is over
    r = await upload(client, imagegen.gif(40, 30, frames=5))
    assert r.status_code == 422 and r.json()["error"]["code"] == "image_too_large"
    r = await upload(client, imagegen.gif(40, 30, frames=4))
    assert r.status_code == 201


async def test_anonymous_byte_cap_with_signup_action(client, services):
    big = imagegen.jpeg(64, 48) + b"\0" * (20 * 1024 * 1024)
    r = await upload(client, big)
    assert r.status_code == 413
    err = r.json()["error"]
    assert err["code"] == "file_too_large" and err["action"]["type"] == "signup"
    assert await count_images(services) == 0
    assert list(services.images.tmp_dir.iterdir()) == []


async def test_key_byte_caps_and_svg_cap(app, client, services):
    acct = await make_account(services)
    app.state.settings.limits.key_max_bytes = 300_000
    app.state.settings.limits.svg_max_bytes = 100_000
    r = await upload(client, imagegen.jpeg(64, 48) + b"\0" * 400_000, headers=acct["headers"])
    assert r.status_code == 413 and "action" not in r.json()["error"]
    svg = imagegen.svg(100, 100).replace(b"</svg>", b"<!--" + b"x" * 150_000 + b"--></svg>")
    r = await upload(client, svg, headers=acct["headers"], filename="a.svg")
    assert r.status_code == 413
    r = await upload(client, imagegen.jpeg(64, 48) + b"\0" * 250_000, headers=acct["headers"])
    assert r.status_code == 201  # a keyed upload may pass the anonymous-sized bodies
    assert list(services.images.tmp_dir.iterdir()) == []


async def test_keyed_upload_is_permanent_and_counted(client, services):
    acct = await make_account(services)
    data = imagegen.jpeg(64, 48)
    r = await upload(client, data, headers=acct["headers"])
    assert r.status_code == 201 and r.json()["expires_at"] is None
    async with services.db.read() as conn:
        ws = (
            await conn.execute(
                sa.select(workspaces).where(workspaces.c.id == acct["user"].workspace_id)
            )
        ).one()
    assert (ws.uploads_used, ws.storage_used, ws.images_count) == (1, len(data), 1)


async def test_optional_fields(client, services, clock):
    acct = await make_account(services)
    r = await upload(
        client,
        imagegen.jpeg(64, 48),
        headers=acct["headers"],
        caption="A cat",
        public="false",
        ttl="1h",
        metadata=json.dumps({"source": "test"}),
        labels=json.dumps({"album": "cats", "year": "2026"}),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["caption"] == "A cat" and body["public"] is False
    assert body["metadata"] == {"source": "test"}
    assert body["labels"] == {"album": "cats", "year": "2026"}
    assert body["published_at"] is None
    expires = dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert expires - clock.now() == dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ttl", "10"),
        ("ttl", "91d"),
        ("ttl", "soon"),
        ("public", "maybe"),
        ("metadata", "not json"),
        ("metadata", '["a"]'),
        ("metadata", '{"a": 1}'),
        ("metadata", json.dumps({f"k{i}": "v" for i in range(51)})),
        ("labels", '{"a": "b,c"}'),
        ("labels", json.dumps({"a": "x" * 129})),
        ("unknown_field", "x"),
    ],
)
async def test_invalid_fields_are_validation_errors(client, services, field, value):
    r = await upload(client, imagegen.jpeg(64, 48), **{field: value})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "validation_error" and err["details"][0]["field"] == field
    assert await count_images(services) == 0
    assert list(services.images.tmp_dir.iterdir()) == []


async def test_missing_file_and_malformed_bodies(client):
    r = await client.post(
        "/v1/images", data={"caption": "no file"}, files={"other": ("x.txt", b"hi", "text/plain")}
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "file"
    r = await client.post(
        "/v1/images", content=b"--nope\r\n", headers={"Content-Type": "multipart/form-data"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    r = await client.post(
        "/v1/images", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
    r = await client.post("/v1/images", json={"caption": "no url"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "url"
    r = await client.post("/v1/images", content=b"raw", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415  # neither multipart nor JSON (SPEC §6)
    assert r.json()["error"]["code"] == "unsupported_media_type"


async def test_idempotency_replays_and_conflicts(client, services):
    acct = await make_account(services)
    headers = {**acct["headers"], "Idempotency-Key": "abc-123"}
    # A fixed multipart boundary, so the retry is byte-identical.
    ct = "multipart/form-data; boundary=retry-boundary"
    raw = (
        b'--retry-boundary\r\nContent-Disposition: form-data; name="caption"\r\n\r\nx\r\n'
        b'--retry-boundary\r\nContent-Disposition: form-data; name="file"; '
        b'filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        + imagegen.jpeg(64, 48)
        + b"\r\n--retry-boundary--\r\n"
    )
    first = await client.post("/v1/images", headers={**headers, "Content-Type": ct}, content=raw)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    retry = await client.post("/v1/images", headers={**headers, "Content-Type": ct}, content=raw)
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert await count_images(services) == 1
    different = await upload(client, imagegen.png(10, 10), headers=headers)
    assert different.status_code == 409
    assert different.json()["error"]["code"] == "idempotency_key_conflict"
    assert different.json()["error"]["type"] == "idempotency_error"
    # Another principal's identical key is a separate scope.
    other = await make_account(services)
    r = await client.post(
        "/v1/images",
        headers={**other["headers"], "Idempotency-Key": "abc-123", "Content-Type": ct},
        content=raw,
    )
    assert r.status_code == 201 and r.json()["id"] != first.json()["id"]


async def test_idempotency_in_progress(client, services, clock):
    acct = await make_account(services)
    await services.idempotency.claim(
        f"api_key:{acct['user'].workspace_id}", "busy-key", "0" * 64, clock.now()
    )
    r = await upload(
        client, imagegen.jpeg(64, 48), headers={**acct["headers"], "Idempotency-Key": "busy-key"}
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] in ("idempotency_key_in_progress", "idempotency_key_conflict")
    assert await count_images(services) == 0


async def test_failed_attempt_releases_idempotency_key(client, services):
    acct = await make_account(services)
    headers = {**acct["headers"], "Idempotency-Key": "retry-me"}
    r = await upload(client, b"not an image" * 20, headers=headers)
    assert r.status_code == 422
    r = await upload(client, imagegen.jpeg(64, 48), headers=headers)
    assert r.status_code == 201


async def test_idempotency_key_expires_after_a_day(client, services, clock):
    acct = await make_account(services)
    headers = {**acct["headers"], "Idempotency-Key": "daily"}
    first = await upload(client, imagegen.jpeg(64, 48), headers=headers)
    clock.advance(hours=25)
    second = await upload(client, imagegen.png(8, 8), headers=headers)
    assert second.status_code == 201 and second.json()["id"] != first.json()["id"]


async def test_read_only_key_gets_403_before_body_validation(client, services):
    acct = await make_account(services, abilities="read")
    r = await client.post(
        "/v1/images",
        content=b"{broken",
        headers={**acct["headers"], "Content-Type": "application/json"},
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await upload(client, imagegen.jpeg(64, 48), headers=acct["headers"])
    assert r.status_code == 403
    assert await count_images(services) == 0
    writer = await add_key(services, acct, "write")
    assert (await upload(client, imagegen.jpeg(64, 48), headers=writer)).status_code == 201
