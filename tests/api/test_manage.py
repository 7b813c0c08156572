"""Read, list, update, delete and the batch routes — with keys, abilities and tenancy."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

import imagegen
from factories import add_key, make_account, upload
from imgpro.db.tables import api_keys, workspaces


async def new_image(client, headers, **fields):
    r = await upload(client, imagegen.jpeg(32, 24), headers=headers, **fields)
    assert r.status_code == 201, r.text
    return r.json()


def cdn_path(image):
    return image["url"].removeprefix("http://testserver")


# -- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Bearer img_live_doesnotexist",
        "Bearer",
        "Basic dXNlcjpwdw==",
        "img_live_abc",
        "Bearer sk_test_123",
        "Bearer " + "img_live_" + "x" * 300,
    ],
)
async def test_bad_credentials_are_401(client, header):
    for method, path in [("GET", "/v1/images"), ("POST", "/v1/images")]:
        r = await client.request(method, path, headers={"Authorization": header})
        assert r.status_code == 401, (method, header)
        assert r.json()["error"] == {
            "type": "authentication_error",
            "code": "unauthorized",
            "message": r.json()["error"]["message"],
        }


async def test_anonymous_may_only_create(client):
    image = await new_image(client, {})
    for method, path in [
        ("GET", "/v1/images"),
        ("GET", f"/v1/images/{image['id']}"),
        ("PATCH", f"/v1/images/{image['id']}"),
        ("DELETE", f"/v1/images/{image['id']}"),
        ("DELETE", "/v1/images/batch"),
        ("PATCH", "/v1/images/batch"),
    ]:
        r = await client.request(method, path, json={})
        assert r.status_code == 401, (method, path)
        assert r.json()["error"]["code"] == "unauthorized"


async def test_revoked_key_is_401_and_last_used_is_kept(client, services, clock):
    acct = await make_account(services)
    assert (await client.get("/v1/images", headers=acct["headers"])).status_code == 200
    async with services.db.read() as conn:
        row = (await conn.execute(sa.select(api_keys).where(api_keys.c.id == acct["key_id"]))).one()
    assert row.last_used_at == clock.now()
    assert acct["key"] not in (row.secret_hash, row.display_prefix)  # only a hash is stored
    await services.keys.revoke(acct["key_id"])
    r = await client.get("/v1/images", headers=acct["headers"])
    assert r.status_code == 401


async def test_write_only_key_cannot_read(client, services):
    acct = await make_account(services, abilities="write")
    image = await new_image(client, acct["headers"])
    for path in ["/v1/images", f"/v1/images/{image['id']}"]:
        r = await client.get(path, headers=acct["headers"])
        assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error"


async def test_read_only_key_cannot_write(client, services):
    acct = await make_account(services)
    image = await new_image(client, acct["headers"])
    reader = await add_key(services, acct, "read")
    calls = [
        ("PATCH", f"/v1/images/{image['id']}", {"caption": "x"}),
        ("PATCH", f"/v1/images/{image['id']}", {"bogus": 1}),
        ("DELETE", f"/v1/images/{image['id']}", None),
        ("DELETE", "/v1/images/batch", {"ids": [image["id"]]}),
        ("PATCH", "/v1/images/batch", {"ids": [image["id"]], "set": {"caption": "x"}}),
    ]
    for method, path, body in calls:
        r = await client.request(method, path, headers=reader, json=body)
        assert r.status_code == 403, (method, path)
    got = await client.get(f"/v1/images/{image['id']}", headers=reader)
    assert got.status_code == 200 and got.json()["caption"] is None


# -- tenancy --------------------------------------------------------------------------------


async def test_tenancy_matrix(client, services):
    """Every endpoint: B sees A's image exactly as it sees an id that never existed."""
    a = await make_account(services)
    b = await make_account(services)
    image = await new_image(client, a["headers"], labels='{"team": "a"}')
    missing = "zz99zz99"
    for target in (image["id"], missing):
        answers = []
        for method, path, body in [
            ("GET", f"/v1/images/{target}", None),
            ("PATCH", f"/v1/images/{target}", {"caption": "hacked"}),
            ("DELETE", f"/v1/images/{target}", None),
        ]:
            r = await client.request(method, path, headers=b["headers"], json=body)
            answers.append((r.status_code, r.json()))
        assert all(status == 404 for status, _ in answers)
        assert all(body["error"]["code"] == "not_found" for _, body in answers)
        r = await client.request(
            "DELETE", "/v1/images/batch", headers=b["headers"], json={"ids": [target]}
        )
        assert r.json() == {
            "object": "batch_result",
            "data": [],
            "errors": [{"id": target, "error": {"code": "not_found", "message": "No such image."}}],
        }
        r = await client.request(
            "PATCH",
            "/v1/images/batch",
            headers=b["headers"],
            json={"ids": [target], "set": {"caption": "x"}},
        )
        assert r.json()["data"] == [] and r.json()["errors"][0]["error"]["code"] == "not_found"
    listing = await client.get("/v1/images", headers=b["headers"])
    assert listing.json()["data"] == []
    assert (await client.get(f"/v1/images?ids={image['id']}", headers=b["headers"])).json()[
        "data"
    ] == []
    assert (await client.get("/v1/images?label[team]=a", headers=b["headers"])).json()["data"] == []
    # A's image is untouched.
    mine = await client.get(f"/v1/images/{image['id']}", headers=a["headers"])
    assert mine.status_code == 200 and mine.json()["caption"] is None


# -- read and list ----------------------------------------------------------------------------


async def test_get_and_list_newest_first_with_cursor(client, services):
    acct = await make_account(services)
    made = [await new_image(client, acct["headers"]) for _ in range(5)]
    r = await client.get(f"/v1/images/{made[0]['id']}", headers=acct["headers"])
    assert r.json() == made[0]
    page = (await client.get("/v1/images?limit=2", headers=acct["headers"])).json()
    assert page["object"] == "list"
    assert [i["id"] for i in page["data"]] == [made[4]["id"], made[3]["id"]]
    assert page["pagination"]["has_more"] is True
    # Inserts and deletes between pages do not shift the cursor.
    await new_image(client, acct["headers"])
    await client.delete(f"/v1/images/{made[3]['id']}", headers=acct["headers"])
    cursor = page["pagination"]["next_cursor"]
    page2 = (
        await client.get(f"/v1/images?limit=2&cursor={cursor}", headers=acct["headers"])
    ).json()
    assert [i["id"] for i in page2["data"]] == [made[2]["id"], made[1]["id"]]
    page3 = (
        await client.get(
            f"/v1/images?limit=2&cursor={page2['pagination']['next_cursor']}",
            headers=acct["headers"],
        )
    ).json()
    assert [i["id"] for i in page3["data"]] == [made[0]["id"]]
    assert page3["pagination"] == {"next_cursor": None, "has_more": False}


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=abc",
        "cursor=garbage!",
        "ids=" + ",".join(f"id{i:05d}" for i in range(101)),
    ],
)
async def test_list_rejects_bad_parameters(client, services, query):
    acct = await make_account(services)
    r = await client.get(f"/v1/images?{query}", headers=acct["headers"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


async def test_list_filters_by_labels_and_ids(client, services):
    acct = await make_account(services)
    h = acct["headers"]
    cat = await new_image(client, h, labels='{"kind": "cat", "year": "2026"}')
    old_cat = await new_image(client, h, labels='{"kind": "cat", "year": "2025"}')
    dog = await new_image(client, h, labels='{"kind": "dog"}')
    r = await client.get("/v1/images?label[kind]=cat", headers=h)
    assert [i["id"] for i in r.json()["data"]] == [old_cat["id"], cat["id"]]
    r = await client.get("/v1/images?label[kind]=cat&label[year]=2026", headers=h)
    assert [i["id"] for i in r.json()["data"]] == [cat["id"]]
    r = await client.get(f"/v1/images?ids={dog['id']},{cat['id']},nope0000", headers=h)
    assert {i["id"] for i in r.json()["data"]} == {dog["id"], cat["id"]}
    # Labels replaced by PATCH are what the filter sees.
    await client.patch(f"/v1/images/{dog['id']}", headers=h, json={"labels": {"kind": "cat"}})
    r = await client.get("/v1/images?label[kind]=cat", headers=h)
    assert len(r.json()["data"]) == 3


# -- update ----------------------------------------------------------------------------------


async def test_patch_fields(client, services, clock):
    acct = await make_account(services)
    h = acct["headers"]
    image = await new_image(client, h, caption="before", metadata='{"a": "1"}')
    later = (clock.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = await client.patch(
        f"/v1/images/{image['id']}",
        headers=h,
        json={
            "caption": "after",
            "public": False,
            "metadata": {"b": "2"},
            "labels": {"x": "y"},
            "published_at": None,
            "expires_at": later,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["caption"], body["public"], body["metadata"], body["labels"]) == (
        "after",
        False,
        {"b": "2"},
        {"x": "y"},
    )
    assert body["published_at"] is None and body["expires_at"] == later
    r = await client.patch(
        f"/v1/images/{image['id']}", headers=h, json={"caption": None, "expires_at": None}
    )
    assert r.json()["caption"] is None and r.json()["expires_at"] is None
    assert r.json()["metadata"] == {"b": "2"}  # fields not sent are untouched


@pytest.mark.parametrize(
    "body",
    [
        {"nope": 1},
        {"public": "yes"},
        {"metadata": {"a": 1}},
        {"labels": {"a": "b,c"}},
        {"expires_at": "tomorrow"},
        {"caption": 5},
    ],
)
async def test_patch_validation(client, services, body):
    acct = await make_account(services)
    image = await new_image(client, acct["headers"])
    r = await client.patch(f"/v1/images/{image['id']}", headers=acct["headers"], json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert r.json()["error"]["details"]


# -- delete ----------------------------------------------------------------------------------


async def test_delete_removes_bytes_variants_and_usage(client, services):
    acct = await make_account(services)
    h = acct["headers"]
    image = await new_image(client, h)
    assert (await client.get(cdn_path(image))).status_code == 200  # renders a variant
    assert [k async for k in services.blobs.iter_keys("variants/")]
    r = await client.delete(f"/v1/images/{image['id']}", headers=h)
    assert r.json() == {"id": image["id"], "object": "image", "deleted": True}
    assert (await client.get(f"/v1/images/{image['id']}", headers=h)).status_code == 404
    assert (await client.get(cdn_path(image))).status_code == 404
    assert [k async for k in services.blobs.iter_keys()] == []
    async with services.db.read() as conn:
        ws = (
            await conn.execute(
                sa.select(workspaces).where(workspaces.c.id == acct["user"].workspace_id)
            )
        ).one()
    assert ws.storage_used == 0 and ws.images_count == 0
    assert (await client.delete(f"/v1/images/{image['id']}", headers=h)).status_code == 404


async def test_batch_delete_and_patch(client, services):
    acct = await make_account(services)
    other = await make_account(services)
    h = acct["headers"]
    a, b, c = [await new_image(client, h) for _ in range(3)]
    foreign = await new_image(client, other["headers"])
    await client.delete(f"/v1/images/{c['id']}", headers=h)
    r = await client.patch(
        "/v1/images/batch",
        headers=h,
        json={"ids": [a["id"], b["id"], foreign["id"]], "set": {"caption": "batch"}},
    )
    body = r.json()
    assert r.status_code == 200 and body["object"] == "batch_result"
    assert [i["caption"] for i in body["data"]] == ["batch", "batch"]
    assert body["errors"] == [
        {"id": foreign["id"], "error": {"code": "not_found", "message": "No such image."}}
    ]
    r = await client.request(
        "DELETE",
        "/v1/images/batch",
        headers=h,
        json={"ids": [a["id"], b["id"], c["id"], foreign["id"], "never000"]},
    )
    body = r.json()
    assert body["data"] == [
        {"id": i, "object": "image", "deleted": True} for i in (a["id"], b["id"], c["id"])
    ]
    assert [e["id"] for e in body["errors"]] == [foreign["id"], "never000"]
    # Idempotent: deleting again reports deleted again.
    r = await client.request("DELETE", "/v1/images/batch", headers=h, json={"ids": [a["id"]]})
    assert r.json()["data"] == [{"id": a["id"], "object": "image", "deleted": True}]
    assert (
        await client.get(f"/v1/images/{foreign['id']}", headers=other["headers"])
    ).status_code == 200


@pytest.mark.parametrize(
    "body", [{"ids": []}, {"ids": [f"i{n:07d}" for n in range(101)]}, {}, {"ids": "abc"}]
)
async def test_batch_validation(client, services, body):
    acct = await make_account(services)
    r = await client.request("DELETE", "/v1/images/batch", headers=acct["headers"], json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


# -- expiry ----------------------------------------------------------------------------------


async def test_expired_images_are_gone_everywhere_at_once(client, services, clock):
    acct = await make_account(services)
    anon = await new_image(client, {})
    ttl = await new_image(client, acct["headers"], ttl="10m")
    keep = await new_image(client, acct["headers"])
    clock.advance(minutes=11)
    assert (await client.get(f"/v1/images/{ttl['id']}", headers=acct["headers"])).status_code == 404
    assert (await client.get(cdn_path(ttl))).status_code == 404
    ids = [
        i["id"] for i in (await client.get("/v1/images", headers=acct["headers"])).json()["data"]
    ]
    assert ids == [keep["id"]]
    assert (await client.get(cdn_path(anon))).status_code == 200
    clock.advance(days=30)
    assert (await client.get(cdn_path(anon))).status_code == 404


# -- the error envelope ---------------------------------------------------------------------------


async def test_framework_errors_use_the_envelope(client, services):
    acct = await make_account(services)
    r = await client.get("/v1/nothing-here")
    assert r.status_code == 404 and set(r.json()["error"]) == {"type", "code", "message"}
    r = await client.put("/v1/images", headers=acct["headers"])
    assert r.status_code == 405 and r.json()["error"]["type"] == "invalid_request_error"
    r = await client.patch(
        "/v1/images/abc",
        headers={**acct["headers"], "Content-Type": "application/json"},
        content=b"{nope",
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"


async def test_a_past_expiry_is_refused_and_changes_nothing(client: Any, services: Any) -> None:
    account = await make_account(services)
    created = (await upload(client, imagegen.png(20, 10), headers=account["headers"])).json()
    past = "2000-01-01T00:00:00Z"
    r = await client.patch(
        f"/v1/images/{created['id']}",
        headers=account["headers"],
        json={"expires_at": past, "caption": "kept?"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = await client.get(f"/v1/images/{created['id']}", headers=account["headers"])
    assert r.status_code == 200 and r.json()["caption"] is None  # nothing was applied
