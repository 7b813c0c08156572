"""One rule for a live image: the API, the CDN (both its raw fast path and the engine path it
falls back to) and the viewer page agree on expired, deleted, private and blocked images —
on both engines (the ``client`` fixture). The rule itself lives in ``images/repository.py``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import imagegen
from delivery.support import new_image, path_of
from factories import make_account
from imgpro.clock import iso
from imgpro.delivery.lookup import _LIVE_BY_ID, DeliveryLookup
from imgpro.errors import NotFound
from imgpro.images import moderation
from web.support import log_in, new_client

# What each reader gets: the owner's API key, anyone holding the CDN URL, an anonymous
# visitor of the viewer page, and the owner signed in on that page.
LIVE = {"api": 200, "cdn": 200, "page": 200, "own_page": 200}
GONE = {"api": 404, "cdn": 404, "page": 404, "own_page": 404}
EXPECTED = {
    "expired": GONE,
    "deleted": GONE,
    # Private: the URL stays a capability; only the page is for the owner alone.
    "private": {"api": 200, "cdn": 200, "page": 404, "own_page": 200},
    "blocked": GONE,
}


async def _make(
    state: str, client: Any, services: Any, clock: Any, acct: dict[str, Any], image: dict[str, Any]
) -> None:
    headers, path = acct["headers"], f"/v1/images/{image['id']}"
    if state == "expired":
        soon = clock.now() + dt.timedelta(hours=1)
        r = await client.patch(path, headers=headers, json={"expires_at": iso(soon)})
        assert r.status_code == 200, r.text
        clock.advance(hours=2)
    elif state == "deleted":
        assert (await client.delete(path, headers=headers)).status_code in (200, 204)
    elif state == "private":
        r = await client.patch(path, headers=headers, json={"public": False})
        assert r.status_code == 200, r.text
    elif state == "blocked":
        await moderation.block(services.db, image["id"], now=clock.now(), reason="test")
    else:  # pragma: no cover
        raise AssertionError(state)


async def _answers(
    client: Any, app: Any, services: Any, clock: Any, acct: dict[str, Any], image: dict[str, Any]
) -> dict[str, int]:
    answers = {
        "api": (await client.get(f"/v1/images/{image['id']}", headers=acct["headers"])).status_code,
        "cdn": (await client.get(path_of(image))).status_code,
        "page": (await client.get(f"/{image['id']}")).status_code,
    }
    async with new_client(app) as browser:
        r = await log_in(browser, acct["user"].email)
        assert r.status_code == 303, r.text
        answers["own_page"] = (await browser.get(f"/{image['id']}")).status_code
    # The CDN's fast path (raw sqlite3 / asyncpg) served the request above; its engine path
    # (the fallback) runs the same compiled statement and must say the same.
    async with services.db.engine.connect() as conn:
        row = (
            await conn.execute(_LIVE_BY_ID, {"image_id": image["id"], "now": clock.now()})
        ).first()
    lookup = DeliveryLookup(services.db)
    try:
        fast = await lookup.get(image["id"], clock.now())
    finally:
        await lookup.close()
    assert (row is None) == (fast is None)
    return answers


@pytest.mark.parametrize("state", sorted(EXPECTED))
async def test_cdn_api_and_viewer_agree(state, client, app, services, clock):
    acct = await make_account(services)
    image = await new_image(client, imagegen.jpeg(40, 30), headers=acct["headers"])
    assert await _answers(client, app, services, clock, acct, image) == LIVE
    await _make(state, client, services, clock, acct, image)
    assert await _answers(client, app, services, clock, acct, image) == EXPECTED[state]
    listed = (await client.get("/v1/images", headers=acct["headers"])).json()["data"]
    assert [i["id"] for i in listed] == ([image["id"]] if EXPECTED[state]["api"] == 200 else [])


async def test_a_blocked_image_still_counts_until_deleted_and_unblocks_unchanged(
    client, services, clock
):
    acct = await make_account(services)
    image = await new_image(client, imagegen.jpeg(40, 30), headers=acct["headers"])
    before = (await client.get("/v1/usage", headers=acct["headers"])).json()
    await moderation.block(services.db, image["id"], now=clock.now())
    assert (await client.get(path_of(image))).status_code == 404
    # Blocked is not deleted: the owner's storage still holds it.
    assert (await client.get("/v1/usage", headers=acct["headers"])).json() == before
    state = await moderation.unblock(services.db, image["id"])
    assert state.blocked_at is None and state.reason is None
    again = (await client.get(f"/v1/images/{image['id']}", headers=acct["headers"])).json()
    assert again == image
    assert (await client.get(path_of(image))).status_code == 200


async def test_blocking_twice_keeps_the_first_time(services, client, clock):
    image = await new_image(client, imagegen.jpeg(8, 8))
    first = await moderation.block(services.db, image["id"], now=clock.now(), reason="spam")
    clock.advance(hours=1)
    second = await moderation.block(services.db, image["id"], now=clock.now())
    assert (second.blocked_at, second.reason) == (first.blocked_at, "spam")
    with pytest.raises(NotFound):
        await moderation.block(services.db, "zz99zz99", now=clock.now())
