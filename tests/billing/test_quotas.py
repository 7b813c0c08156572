"""Plan quotas on upload: the 403 quota_exceeded envelope, nothing stored on a refusal, deletes
giving storage back, the monthly reset — through the real API on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest

import imagegen
from factories import make_account, upload
from imgpro.billing.plans import GB
from imgpro.billing.quotas import period_of
from imgpro.billing.service import UpgradeLink
from imgpro.clock import FrozenClock
from imgpro.principal import ANONYMOUS_WORKSPACE_ID

from .support import app_client, plans, rows_of, set_counters, stored_files, workspace

PNG = imagegen.png(24, 16)


async def test_free_account_at_1000_uploads_gets_quota_exceeded(client, services, settings, clock):
    acct = await make_account(services)
    wid = acct["user"].workspace_id
    await set_counters(
        services, wid, uploads_used=1000, period=period_of(clock.now()), storage_used=5242880
    )

    r = await upload(client, PNG, headers=acct["headers"])

    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["type"] == "quota_error" and error["code"] == "quota_exceeded"
    assert error["message"] == "Monthly upload limit reached."
    assert error["usage"] == {
        "plan": "free",
        "uploads_used": 1000,
        "uploads_limit": 1000,
        "storage_used_bytes": 5242880,
        "storage_limit_bytes": 5 * GB,
        "images_used": 0,
        "images_limit": 5000,
    }
    action = error["action"]
    assert action["type"] == "upgrade"
    assert action["label"] == "Upgrade to Pro ($20/mo) for 10,000 uploads"
    url = urlsplit(action["url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "http://testserver/upgrade/pro"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert set(query) == {"t", "exp", "sig"} and query["t"] == wid
    assert int(query["exp"]) == int(clock.now().timestamp()) + 7 * 86400
    grant = services.billing.verify_link(UpgradeLink("pro", **query))
    assert (grant.workspace_id, grant.plan) == (wid, "pro")
    # Nothing stored: no row, no blob, no temp file; counters unchanged.
    assert await rows_of(services, wid) == (0, 0)
    assert stored_files(settings) == []
    row = await workspace(services, wid)
    assert (row.uploads_used, row.storage_used, row.images_count) == (1000, 5242880, 0)


async def test_upload_that_would_pass_5_gb_is_refused_and_an_exact_fit_is_not(
    client, services, settings
):
    acct = await make_account(services)
    wid = acct["user"].workspace_id
    await set_counters(services, wid, storage_used=5 * GB - len(PNG) + 1)

    r = await upload(client, PNG, headers=acct["headers"])
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["message"].startswith("Storage limit reached")
    assert error["usage"]["storage_used_bytes"] == 5 * GB - len(PNG) + 1
    assert error["usage"]["uploads_used"] == 0
    assert error["action"]["label"] == "Upgrade to Pro ($20/mo) for 50 GB of storage"
    assert stored_files(settings) == []

    await set_counters(services, wid, storage_used=5 * GB - len(PNG))
    r = await upload(client, PNG, headers=acct["headers"])
    assert r.status_code == 201, r.text
    assert (await workspace(services, wid)).storage_used == 5 * GB  # exactly at the limit


async def test_the_free_plans_stored_image_limit_is_enforced_and_deletes_give_it_back(
    client, services, clock
):
    acct = await make_account(services)
    wid, headers = acct["user"].workspace_id, acct["headers"]
    kept = (await upload(client, PNG, headers=headers)).json()["id"]
    await set_counters(services, wid, images_count=5000)  # as if 4,999 more were stored
    r = await upload(client, PNG, headers=headers)
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["message"].startswith("Stored-image limit reached")
    assert (error["usage"]["images_used"], error["usage"]["images_limit"]) == (5000, 5000)
    assert error["action"]["label"] == "Upgrade to Pro ($20/mo) for 50,000 images"
    usage = (await client.get("/v1/usage", headers=headers)).json()
    assert usage["limits"]["images"] == {"used": 5000, "limit": 5000}
    # A delete gives one back at once.
    assert (await client.delete(f"/v1/images/{kept}", headers=headers)).status_code == 200
    assert (await workspace(services, wid)).images_count == 4999
    assert (await upload(client, PNG, headers=headers)).status_code == 201


async def test_small_plan_counts_real_uploads_and_resets_at_the_month_boundary(settings):
    clock = FrozenClock(dt.datetime(2026, 11, 30, 23, 59, 58, tzinfo=dt.UTC))
    tiny = plans(
        {"name": "tiny", "uploads_per_month": 3, "storage_bytes": None},
        {"name": "big", "price_usd_month": 5, "uploads_per_month": None},
    )
    async with app_client(settings, clock, plans=tiny) as (client, services):
        acct = await make_account(services, plan="tiny")
        wid, headers = acct["user"].workspace_id, acct["headers"]
        made = []
        for _ in range(3):
            r = await upload(client, PNG, headers=headers)
            assert r.status_code == 201, r.text
            made.append(r.json()["id"])
        r = await upload(client, PNG, headers=headers)
        assert r.status_code == 403
        assert (
            r.json()["error"]["action"]["label"] == "Upgrade to Big ($5/mo) for unlimited uploads"
        )
        # Deleting gives storage back, not this month's uploads.
        assert (await client.delete(f"/v1/images/{made[0]}", headers=headers)).status_code == 200
        assert (await upload(client, PNG, headers=headers)).status_code == 403
        row = await workspace(services, wid)
        assert (row.uploads_used, row.images_count, row.storage_used) == (3, 2, 2 * len(PNG))

        clock.advance(seconds=1)  # 23:59:59 — still November
        assert (await upload(client, PNG, headers=headers)).status_code == 403
        clock.advance(seconds=1)  # 2026-12-01T00:00:00Z — a new month
        r = await upload(client, PNG, headers=headers)
        assert r.status_code == 201, r.text
        row = await workspace(services, wid)
        assert (row.period, row.uploads_used, row.images_count) == ("2026-12", 1, 3)
        usage = (await client.get("/v1/usage", headers=headers)).json()
        assert usage["period"] == {"start": "2026-12-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"}
        assert usage["limits"]["uploads"] == {"used": 1, "limit": 3}


async def test_deletes_give_storage_back_at_once(settings, clock):
    size = len(PNG)
    small = plans({"name": "small", "storage_bytes": int(size * 2.5)})
    async with app_client(settings, clock, plans=small) as (client, services):
        acct = await make_account(services, plan="small")
        wid, headers = acct["user"].workspace_id, acct["headers"]
        first = (await upload(client, PNG, headers=headers)).json()["id"]
        second = (await upload(client, PNG, headers=headers)).json()["id"]
        refused = await upload(client, PNG, headers=headers)
        assert refused.status_code == 403
        assert refused.json()["error"]["message"].startswith("Storage limit reached")
        # The top (only) plan's action points at the billing page.
        assert refused.json()["error"]["action"] == {
            "type": "upgrade",
            "url": "http://testserver/billing",
            "label": "Review your plan and usage",
        }

        assert (await client.delete(f"/v1/images/{first}", headers=headers)).status_code == 200
        assert (await workspace(services, wid)).storage_used == size
        third = await upload(client, PNG, headers=headers)
        assert third.status_code == 201

        r = await client.request(
            "DELETE",
            "/v1/images/batch",
            headers=headers,
            json={"ids": [second, third.json()["id"]]},
        )
        assert r.status_code == 200 and not r.json()["errors"]
        row = await workspace(services, wid)
        assert (row.storage_used, row.images_count) == (0, 0)
        assert await rows_of(services, wid) == (0, 0)


async def test_unlimited_plan_is_never_refused(client, services):
    acct = await make_account(services, plan="unlimited")
    wid = acct["user"].workspace_id
    await set_counters(
        services,
        wid,
        uploads_used=10**9,
        storage_used=10**15,
        period=period_of(services.clock.now()),
    )
    r = await upload(client, PNG, headers=acct["headers"])
    assert r.status_code == 201, r.text


async def test_anonymous_uploads_have_no_account_quota(client, services):
    await set_counters(
        services,
        ANONYMOUS_WORKSPACE_ID,
        uploads_used=10**9,
        storage_used=10**15,
        period=period_of(services.clock.now()),
    )
    r = await upload(client, PNG)
    assert r.status_code == 201, r.text


async def test_a_failed_insert_changes_no_counter_and_keeps_no_blob(
    client, services, settings, monkeypatch
):
    from imgpro.images import repository

    acct = await make_account(services)
    wid = acct["user"].workspace_id

    async def broken_insert(conn, values):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(repository, "insert_image", broken_insert)
    with pytest.raises(RuntimeError, match="disk on fire"):
        await upload(client, PNG, headers=acct["headers"])
    row = await workspace(services, wid)
    assert (row.uploads_used, row.storage_used, row.images_count) == (0, 0, 0)
    assert stored_files(settings) == []


async def test_a_rejected_file_changes_no_counter(client, services, settings):
    acct = await make_account(services)
    wid = acct["user"].workspace_id
    r = await upload(client, b"not an image at all", headers=acct["headers"])
    assert r.status_code == 422
    r = await upload(client, PNG[:60], headers=acct["headers"])
    assert r.status_code == 422
    row = await workspace(services, wid)
    assert (row.uploads_used, row.storage_used, row.images_count) == (0, 0, 0)
    assert stored_files(settings) == []


async def test_operator_plan_change_applies_to_the_next_upload(client, services, clock):
    acct = await make_account(services)
    wid = acct["user"].workspace_id
    await set_counters(services, wid, uploads_used=1000, period=period_of(clock.now()))
    assert (await upload(client, PNG, headers=acct["headers"])).status_code == 403
    change = await services.billing.set_plan(wid, "pro")
    assert (change.status, change.previous_plan, change.plan) == ("applied", "free", "pro")
    assert (await upload(client, PNG, headers=acct["headers"])).status_code == 201
    row = await workspace(services, wid)
    assert (row.plan, row.uploads_used) == ("pro", 1001)  # the month's count carries over


async def test_an_images_limit_counts_images_stored_at_once(settings, clock):
    capped = plans({"name": "capped", "images": 2}, {"name": "more", "price_usd_month": 3})
    async with app_client(settings, clock, plans=capped) as (client, services):
        acct = await make_account(services, plan="capped")
        headers = acct["headers"]
        first = (await upload(client, PNG, headers=headers)).json()["id"]
        assert (await upload(client, PNG, headers=headers)).status_code == 201
        r = await upload(client, PNG, headers=headers)
        assert r.status_code == 403
        error = r.json()["error"]
        assert error["message"].startswith("Stored-image limit reached")
        assert (error["usage"]["images_used"], error["usage"]["images_limit"]) == (2, 2)
        assert error["action"]["label"] == "Upgrade to More ($3/mo) for unlimited images"
        await client.delete(f"/v1/images/{first}", headers=headers)
        assert (await upload(client, PNG, headers=headers)).status_code == 201
        usage = (await client.get("/v1/usage", headers=headers)).json()
        assert usage["limits"]["images"] == {"used": 2, "limit": 2}
