"""``/billing`` and ``/upgrade/{plan}``: the signed link changes the plan only for its signed-in
owner, only after a confirming POST; expired or tampered links change nothing."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

import imagegen
from factories import make_account
from imgpro.db.tables import workspaces
from imgpro.settings import BillingSettings

from .support import csrf_of, log_in, new_client, sign_up, user_of


@pytest.fixture
def settings(settings):
    """These tests walk the instant provider; the default (manual) is TestManualProvider."""
    settings.billing = BillingSettings(provider="instant")
    return settings


async def plan_of(services, workspace_id):
    async with services.db.read() as conn:
        return (
            await conn.execute(sa.select(workspaces.c.plan).where(workspaces.c.id == workspace_id))
        ).scalar_one()


def upgrade_links(html):
    return {
        m.group(2): m.group(1).replace("&amp;", "&")
        for m in re.finditer(
            r'<a class="button" href="(http://testserver/upgrade/(\w+)\?[^"]+)">Upgrade to', html
        )
    }


async def confirm(client, link):
    page = await client.get(link.removeprefix("http://testserver"))
    assert page.status_code == 200, page.text
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    path = urlsplit(link).path
    return await client.post(path, data=fields), page


async def test_billing_shows_plan_usage_and_signed_upgrade_links(client, services):
    email = await sign_up(client)
    r = await client.get("/billing")
    assert r.status_code == 200
    assert '<span id="current-plan">Free</span>' in r.text
    assert "0 of 1000" in r.text
    links = upgrade_links(r.text)
    assert set(links) == {"pro", "unlimited"}
    user = await user_of(services, email)
    query = parse_qs(urlsplit(links["pro"]).query)
    assert query["t"] == [user.workspace_id] and query["exp"] and query["sig"]


async def test_upgrade_through_the_signed_link(client, services):
    email = await sign_up(client)
    user = await user_of(services, email)
    link = upgrade_links((await client.get("/billing")).text)["pro"]
    page = await client.get(link.removeprefix("http://testserver"))
    assert "Upgrade to Pro" in page.text and email in page.text
    assert await plan_of(services, user.workspace_id) == "free"  # opening changes nothing
    r, _ = await confirm(client, link)
    assert r.status_code == 303 and r.headers["location"] == "/billing?notice=upgraded"
    assert await plan_of(services, user.workspace_id) == "pro"
    billing = await client.get(r.headers["location"])
    assert '<span id="current-plan">Pro</span>' in billing.text
    assert "Your plan was upgraded." in billing.text and "0 of 10000" in billing.text
    assert set(upgrade_links(billing.text)) == {"unlimited"}
    # The same link again: nothing to do.
    page = await client.get(link.removeprefix("http://testserver"))
    assert page.status_code == 303 and page.headers["location"] == "/billing?notice=unchanged"


async def test_the_quota_errors_link_leads_to_the_same_page(client, services):
    email = await sign_up(client)
    user = await user_of(services, email)
    async with services.db.write() as conn:
        await conn.execute(
            workspaces.update()
            .where(workspaces.c.id == user.workspace_id)
            .values(uploads_used=1000, period="2026-11")
        )
    token = csrf_of((await client.get("/dashboard")).text)
    r = await client.post(
        "/dashboard/upload",
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
        files={"file": ("a.jpg", imagegen.jpeg(20, 20))},
    )
    assert r.status_code == 403
    action = r.json()["error"]["action"]
    assert action["type"] == "upgrade"
    r, _ = await confirm(client, action["url"])
    assert r.headers["location"] == "/billing?notice=upgraded"
    assert await plan_of(services, user.workspace_id) == "pro"


@pytest.mark.parametrize("change", ["sig", "t", "exp", "plan", "drop"])
async def test_tampered_links_change_nothing(client, services, change):
    email = await sign_up(client)
    user = await user_of(services, email)
    other = await make_account(services)
    link = upgrade_links((await client.get("/billing")).text)["pro"]
    parts = urlsplit(link)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    path = parts.path
    if change == "sig":
        query["sig"] = query["sig"][:-2] + ("AA" if query["sig"][-2:] != "AA" else "BB")
    elif change == "t":
        query["t"] = other["user"].workspace_id
    elif change == "exp":
        query["exp"] = str(int(query["exp"]) + 86400)
    elif change == "plan":
        path = "/upgrade/unlimited"
    else:
        query.pop("sig")
    r = await client.get(path, params=query)
    assert r.status_code == 400 and "This upgrade link is not valid" in r.text
    assert "Nothing was changed" in r.text
    r = await client.post(path, data={**query, "csrf_token": csrf_of(r.text)})
    assert r.status_code == 400
    assert await plan_of(services, user.workspace_id) == "free"
    assert await plan_of(services, other["user"].workspace_id) == "free"


async def test_expired_links_change_nothing(client, services, clock):
    email = await sign_up(client)
    user = await user_of(services, email)
    link = upgrade_links((await client.get("/billing")).text)["pro"]
    page = await client.get(link.removeprefix("http://testserver"))
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    clock.advance(days=4)
    assert (await client.get("/billing")).status_code == 200  # the session stays active
    clock.advance(days=3, minutes=1)  # the link lives 7 days
    r = await client.get(link.removeprefix("http://testserver"))
    assert r.status_code == 410 and "This upgrade link has expired" in r.text
    r = await client.post("/upgrade/pro", data=fields)  # a confirm form left open too long
    assert r.status_code == 410
    assert await plan_of(services, user.workspace_id) == "free"


async def test_another_accounts_link_is_refused(app, client, services):
    owner_email = await sign_up(client)
    owner = await user_of(services, owner_email)
    link = upgrade_links((await client.get("/billing")).text)["pro"]
    async with new_client(app) as intruder:
        await sign_up(intruder)
        r = await intruder.get(link.removeprefix("http://testserver"))
        assert r.status_code == 403 and "for another account" in r.text
        fields = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
        r = await intruder.post("/upgrade/pro", data={**fields, "csrf_token": csrf_of(r.text)})
        assert r.status_code == 403
    assert await plan_of(services, owner.workspace_id) == "free"


async def test_the_link_asks_for_login_first_and_comes_back(app, client, services):
    email = await sign_up(client)
    link = upgrade_links((await client.get("/billing")).text)["pro"]
    async with new_client(app) as later:  # e.g. the link opened from a quota error elsewhere
        r = await later.get(link.removeprefix("http://testserver"))
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        login_page = await later.get(r.headers["location"])
        next_value = re.search(r'name="next" value="([^"]+)"', login_page.text).group(1)
        r = await log_in(later, email, next=next_value.replace("&amp;", "&"))
        assert r.status_code == 303
        assert r.headers["location"] == link.removeprefix("http://testserver")
        r, _ = await confirm(later, link)
        assert r.headers["location"] == "/billing?notice=upgraded"


class TestManualProvider:
    @pytest.fixture
    def settings(self, settings):
        settings.billing = BillingSettings(provider="manual")
        return settings

    async def test_manual_billing_records_a_request(self, client, services):
        email = await sign_up(client)
        user = await user_of(services, email)
        link = upgrade_links((await client.get("/billing")).text)["pro"]
        r, _ = await confirm(client, link)
        assert r.headers["location"] == "/billing?notice=requested"
        billing = await client.get(r.headers["location"])
        assert "sent to the operator" in billing.text
        assert "An upgrade request to Pro is waiting" in billing.text
        assert await plan_of(services, user.workspace_id) == "free"
