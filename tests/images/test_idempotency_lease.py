"""Idempotency-Key: retries recognised by the parsed request; claims survive a dead process."""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa

import imagegen
from factories import make_account
from imgpro.db.tables import idempotency_keys, images
from imgpro.errors import IdempotencyInProgress
from imgpro.images.fingerprint import import_fingerprint, upload_fingerprint
from imgpro.images.gc import collect_garbage
from imgpro.images.idempotency import Claim

PNG = imagegen.png(50, 40)


def _multipart(
    boundary: str,
    filename: str = "a.png",
    ctype: str = "image/png",
    caption: str = "hi",
    data: bytes = PNG,
) -> tuple[bytes, str]:
    b = boundary.encode()
    body = (
        b"--"
        + b
        + b'\r\nContent-Disposition: form-data; name="caption"\r\n\r\n'
        + caption.encode()
        + b"\r\n--"
        + b
        + f'\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {ctype}\r\n\r\n".encode()
        + data
        + b"\r\n--"
        + b
        + b"--\r\n"
    )
    return body, f"multipart/form-data; boundary={boundary}"


async def _post(client, headers, **kw):
    body, ctype = _multipart(**kw)
    return await client.post("/v1/images", content=body, headers={**headers, "Content-Type": ctype})


async def test_a_new_boundary_is_the_same_request(client, services):
    acct = await make_account(services)
    h = {**acct["headers"], "Idempotency-Key": "k1"}
    first = await _post(client, h, boundary="aaaa1111")
    retry = await _post(client, h, boundary="zzzz9999-other-client")
    assert first.status_code == retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    # Each parsed part counts: filename, part content type, field values, file content.
    for change in (
        {"filename": "b.png"},
        {"ctype": "image/x-png"},
        {"caption": "other"},
        {"data": imagegen.png(51, 40)},
    ):
        r = await _post(client, h, boundary="cccc", **change)
        assert r.status_code == 409, change
        assert r.json()["error"]["code"] == "idempotency_key_conflict"
    async with services.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(images))).scalar() == 1


async def test_import_retry_is_recognised_by_canonical_json(client, services):
    acct = await make_account(services)
    h = {**acct["headers"], "Idempotency-Key": "imp", "Content-Type": "application/json"}
    # The fetch fails (nothing listens there), which releases the key; the conflict check
    # happens on a claim, so hold one with the first spelling and retry with another.
    scope = f"api_key:{acct['user'].workspace_id}"
    fp = import_fingerprint({"url": "https://example.com/a.png", "caption": "c"})
    await services.idempotency.claim(scope, "imp", fp, services.clock.now())
    same = await client.post(
        "/v1/images", headers=h, content=b'{ "caption" : "c",\n "url":"https://example.com/a.png"}'
    )
    assert same.json()["error"]["code"] == "idempotency_key_in_progress"
    other = await client.post(
        "/v1/images", headers=h, content=b'{"url":"https://example.com/a.png","caption":"d"}'
    )
    assert other.json()["error"]["code"] == "idempotency_key_conflict"


async def test_a_dead_claim_is_taken_over_after_its_lease(client, services, clock):
    acct = await make_account(services)
    h = {**acct["headers"], "Idempotency-Key": "crash"}
    scope = f"api_key:{acct['user'].workspace_id}"
    fp = upload_fingerprint(
        file_sha256=hashlib.sha256(PNG).hexdigest(),
        filename="a.png",
        content_type="image/png",
        fields={"caption": "hi"},
    )
    dead = await services.idempotency.claim(scope, "crash", fp, clock.now())
    assert isinstance(dead, Claim)  # …and its process is killed: nobody renews it
    r = await _post(client, h, boundary="b1")
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_key_in_progress"
    clock.advance(seconds=services.settings.limits.idempotency_lease_seconds + 1)
    r = await _post(client, h, boundary="b2")
    assert r.status_code == 201, r.text
    replay = await _post(client, h, boundary="b3")
    assert replay.headers["idempotent-replayed"] == "true" and replay.json() == r.json()
    # The dead request, were it still alive, could not commit a duplicate: its claim is gone.
    async with services.db.write() as conn:
        try:
            await dead.complete_in(conn, 201, {"id": "dup"})
            raise AssertionError("a taken-over claim must not complete")
        except IdempotencyInProgress:
            pass


async def test_gc_clears_dead_claims(services, clock):
    now = clock.now()
    live = await services.idempotency.claim("s", "live", "h", now)
    await services.idempotency.claim("s", "dead", "h", now - dt.timedelta(minutes=5))
    assert isinstance(live, Claim)
    report = await collect_garbage(services)
    assert report.idempotency_keys == 1
    async with services.db.read() as conn:
        left = (await conn.execute(sa.select(idempotency_keys.c.key))).scalars().all()
    assert left == ["live"]


async def test_the_response_commits_with_the_image(client, services):
    acct = await make_account(services)
    r = await _post(client, {**acct["headers"], "Idempotency-Key": "atomic"}, boundary="x")
    async with services.db.read() as conn:
        row = (await conn.execute(sa.select(idempotency_keys))).one()
    assert row.state == "done" and row.lease_expires_at is None
    assert r.json()["id"] in row.response_body
