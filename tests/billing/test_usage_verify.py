"""Usage numbers agree with the rows: ``UsageService.verify`` finds drift and repairs it."""

from __future__ import annotations

import datetime as dt

import imagegen
from factories import make_account, upload
from imgpro.billing.quotas import period_of
from imgpro.principal import ANONYMOUS_WORKSPACE_ID

from .support import rows_of, set_counters, workspace


async def test_counters_agree_with_rows_after_uploads_deletes_and_a_new_month(
    client, services, clock
):
    acct = await make_account(services)
    wid, headers = acct["user"].workspace_id, acct["headers"]
    ids = []
    for w in (10, 20, 30):
        r = await upload(client, imagegen.png(w, w), headers=headers)
        ids.append(r.json()["id"])
    await upload(client, imagegen.png(12, 12))  # anonymous
    await client.delete(f"/v1/images/{ids[0]}", headers=headers)
    assert await services.usage.verify() == []

    row = await workspace(services, wid)
    assert (row.images_count, row.storage_used) == await rows_of(services, wid)
    assert row.uploads_used == 3  # uploads stay counted after a delete

    clock.advance(days=30)  # next month: images stay, this month's uploads are 0
    assert await services.usage.verify() == []
    usage = await services.usage.for_workspace(wid)
    assert (usage.uploads_used, usage.images_count) == (0, 2)


async def test_drift_is_reported_per_workspace_and_fixed(client, services, clock):
    acct = await make_account(services)
    other = await make_account(services)
    wid, headers = acct["user"].workspace_id, acct["headers"]
    for w in (10, 20):
        assert (await upload(client, imagegen.png(w, w), headers=headers)).status_code == 201
    _, total = await rows_of(services, wid)
    await set_counters(services, wid, images_count=7, storage_used=total + 5, uploads_used=1)
    await set_counters(services, other["user"].workspace_id, storage_used=99)
    await set_counters(services, ANONYMOUS_WORKSPACE_ID, images_count=3)

    drifts = await services.usage.verify()
    found = {(d.workspace_id, d.field, d.recorded, d.actual) for d in drifts}
    assert found == {
        (wid, "images_count", 7, 2),
        (wid, "storage_used", total + 5, total),
        (wid, "uploads_used", 1, 2),  # below the 2 images uploaded this month
        (other["user"].workspace_id, "storage_used", 99, 0),
        (ANONYMOUS_WORKSPACE_ID, "images_count", 3, 0),
    }
    owners = {d.workspace_id: d.owner for d in drifts}
    assert owners[wid] == acct["user"].email and owners[ANONYMOUS_WORKSPACE_ID] == "anonymous"
    assert "rows say" in drifts[0].describe() or "below" in drifts[0].describe()

    fixed = await services.usage.verify(fix=True)
    assert {(d.workspace_id, d.field) for d in fixed} == {(w, f) for w, f, _, _ in found}
    assert await services.usage.verify() == []
    row = await workspace(services, wid)
    assert (row.images_count, row.storage_used, row.uploads_used, row.period) == (
        2,
        total,
        2,
        period_of(clock.now()),
    )


async def test_a_stale_period_is_not_drift(client, services, clock):
    acct = await make_account(services)
    wid = acct["user"].workspace_id
    await upload(client, imagegen.png(10, 10), headers=acct["headers"])
    # Uploaded last month, counter never touched since: this month's uploads are 0, and no
    # image was created this month, so the lower bound (0) holds.
    clock.advance(days=20)
    assert clock.now() >= dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert await services.usage.verify() == []
    assert (await workspace(services, wid)).period == "2026-11"
