"""placeholder.thumbhash: computed at upload from the same thumbnail as the BlurHash; images
uploaded before migration 0008 answer null."""

from __future__ import annotations

import base64

import sqlalchemy as sa

import imagegen
from factories import make_account, upload
from imgpro.db.tables import images


def _decode_thumbhash(value: str) -> bytes:
    return base64.b64decode(value + "=" * (-len(value) % 4))


async def test_upload_has_a_thumbhash_that_keeps_aspect_and_alpha(client):
    wide = (await upload(client, imagegen.png(400, 100))).json()
    alpha = (await upload(client, imagegen.png(100, 100, alpha=True))).json()
    opaque = (await upload(client, imagegen.jpeg(100, 100))).json()
    for body in (wide, alpha, opaque):
        hashed = _decode_thumbhash(body["placeholder"]["thumbhash"])
        assert 5 <= len(hashed) <= 40
    # Header bit 7 of byte 2 (ThumbHash spec): the image has alpha.
    assert _decode_thumbhash(alpha["placeholder"]["thumbhash"])[2] & 0x80
    assert not _decode_thumbhash(opaque["placeholder"]["thumbhash"])[2] & 0x80
    # Landscape flag (bit 7 of byte 4) for the 4:1 image.
    assert _decode_thumbhash(wide["placeholder"]["thumbhash"])[4] & 0x80


async def test_images_from_before_the_column_answer_null(client, services):
    account = await make_account(services)
    body = (await upload(client, imagegen.jpeg(64, 48), headers=account["headers"])).json()
    async with services.db.write() as conn:
        await conn.execute(
            sa.update(images).where(images.c.id == body["id"]).values(thumbhash=None)
        )
    got = (await client.get(f"/v1/images/{body['id']}", headers=account["headers"])).json()
    assert got["placeholder"]["thumbhash"] is None
    assert got["placeholder"]["blurhash"] == body["placeholder"]["blurhash"]


async def test_openapi_documents_the_thumbhash(client):
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert "thumbhash" in schema["PlaceholderOut"]["properties"]
