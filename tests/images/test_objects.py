"""The Image object's fast paths give exactly what the plain ones give.

The list page builds objects from ``repository.OBJECT_COLUMNS`` rows (positional, metadata and
labels still JSON text) and the API sends them without pydantic; the create response is built
from the values written, without reading the row back. All of them must equal what the
documented model and a full ``images`` row give, byte for byte.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

import imagegen
from factories import make_account, upload
from imgpro.clock import iso
from imgpro.db.tables import images
from imgpro.images import repository as repo
from imgpro.images.schemas import (
    OBJECT_FIELDS,
    ImageListOut,
    ImageOut,
    _iso,
    _named_sizes,
    image_object,
    image_objects,
)
from imgpro.transforms.sizes import SIZE_NAMES, named_size


async def _varied_images(client, headers) -> list[dict]:
    made = [
        await upload(client, imagegen.jpeg(64, 48), headers=headers),
        await upload(
            client,
            imagegen.png(300, 500),
            headers=headers,
            filename='ünï "q" <b>&.png',
            caption="line\nbreak \u2028 😀 \x01",
            metadata='{"a": "1", "ü": "ß"}',
            labels='{"kind": "cat"}',
        ),
        await upload(client, imagegen.svg(120, 80), headers=headers, public="false", ttl="1h"),
        await upload(client, imagegen.bmp(30, 20), headers=headers, filename=""),
        await upload(client, imagegen.gif(40, 30, frames=3), headers=headers),
    ]
    assert all(r.status_code == 201 for r in made), [r.text for r in made]
    return [r.json() for r in made]


async def test_every_path_builds_the_same_object(client, services, clock):
    acct = await make_account(services)
    h = acct["headers"]
    created = await _varied_images(client, h)
    # Year 900: clock.iso (strftime) does not pad it; the fast path must not either.
    r = await client.patch(
        f"/v1/images/{created[0]['id']}", headers=h, json={"published_at": "0900-01-02T03:04:05Z"}
    )
    assert r.status_code == 200 and r.json()["published_at"] == "900-01-02T03:04:05Z"
    created[0] = r.json()
    workspace = acct["user"].workspace_id
    async with services.db.read() as conn:
        full = {row.id: row for row in (await conn.execute(sa.select(images))).all()}
    listed = await repo.visible_page(services.db, workspace, clock.now(), limit=10)
    assert [row.id for row in listed] == [i["id"] for i in reversed(created)]
    fast = {o["id"]: o for o in image_objects(listed, services.links)}
    for image in created:
        plain = image_object(full[image["id"]], services.links)
        assert fast[image["id"]] == plain == image
        one = await services.db.fetch_first(repo.select_object(workspace, image["id"], clock.now()))
        assert image_objects([one], services.links)[0] == plain


async def test_api_bytes_are_what_the_documented_models_serialise(client, services):
    """The read routes skip FastAPI's response_model validation: their bytes must still be
    exactly what it produced (pydantic's dump of the validated model)."""
    acct = await make_account(services)
    h = acct["headers"]
    created = await _varied_images(client, h)
    page = await client.get("/v1/images?limit=100", headers=h)
    assert page.headers["content-type"] == "application/json"
    assert page.content == ImageListOut.model_validate_json(page.content).model_dump_json().encode()
    for image in created:
        got = await client.get(f"/v1/images/{image['id']}", headers=h)
        assert got.content == ImageOut.model_validate_json(got.content).model_dump_json().encode()
        assert got.json() == image
    patched = await client.patch(
        f"/v1/images/{created[1]['id']}", headers=h, json={"caption": "é\u2028"}
    )
    assert (
        patched.content == ImageOut.model_validate_json(patched.content).model_dump_json().encode()
    )


async def test_create_answers_what_a_read_answers(client, services):
    acct = await make_account(services)
    r = await upload(
        client,
        imagegen.png(64, 48),
        headers=acct["headers"],
        caption="c",
        labels='{"k": "v"}',
        metadata='{"m": "n"}',
        ttl="10m",
    )
    got = await client.get(f"/v1/images/{r.json()['id']}", headers=acct["headers"])
    assert r.content == got.content


def test_list_columns_follow_the_object_fields():
    names = [c.name for c in repo.OBJECT_COLUMNS]
    assert names[: len(OBJECT_FIELDS)] == list(OBJECT_FIELDS)
    assert "seq" in names  # the cursor


def test_values_namespace_and_row_agree():
    # What create() passes image_object: the values it wrote, with dicts for metadata/labels.
    now = dt.datetime(2026, 11, 15, 12, 0, 0, 123456, tzinfo=dt.UTC)
    values = {name: None for name in OBJECT_FIELDS} | {
        "id": "ab12cd34",
        "prefix": "xyz",
        "filename": "f.jpg",
        "format": "jpg",
        "width": 10,
        "height": 20,
        "bytes": 5,
        "transformable": True,
        "status": "ready",
        "public": True,
        "metadata": {"a": "b"},
        "labels": {},
        "nsfw": False,
        "blurhash": "LEHV6nWB2yk8",
        "color": "#aabbcc",
        "created_at": now,
        "published_at": now,
    }
    text = values | {"metadata": '{"a": "b"}', "labels": "{}"}
    links = SimpleNamespace(cdn_base="https://cdn", web_base="https://web")
    built = image_object(SimpleNamespace(**values), links)
    assert built == image_objects([tuple(text[n] for n in OBJECT_FIELDS)], links)[0]
    assert built["created_at"] == "2026-11-15T12:00:00Z"
    assert built["url"] == "https://cdn/xyz/ab12cd34.jpg"
    assert built["page_url"] == "https://web/ab12cd34"


@given(
    st.datetimes(
        min_value=dt.datetime(1, 1, 2),
        max_value=dt.datetime(9999, 12, 30),
        timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-5))]),
    )
)
def test_fast_iso_is_clock_iso(value):
    assert _iso(value) == iso(value)


@given(st.integers(1, 20_000), st.integers(1, 20_000))
def test_cached_named_sizes_are_named_size(width, height):
    assert _named_sizes(width, height) == tuple(
        (short, name, *named_size(width, height, short)) for short, name in SIZE_NAMES.items()
    )


@pytest.mark.parametrize("value", [None, "{}", {}, '{"a": "1"}', {"a": "1"}])
def test_metadata_text_or_dict(value):
    links = SimpleNamespace(cdn_base="c", web_base="w")
    row = {name: None for name in OBJECT_FIELDS} | {"id": "i", "metadata": value, "labels": value}
    out = image_object(SimpleNamespace(**row), links)
    expected = {"a": "1"} if value and value != "{}" else {}
    assert out["metadata"] == out["labels"] == expected
