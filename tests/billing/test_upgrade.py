"""Signed upgrade links (signing, expiry, tampering, wrong plan/workspace/account) and the
plan-change service behind the /upgrade page, with both billing providers."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest

import imagegen
from factories import make_account, upload
from imgpro.billing.plans import PlanBook
from imgpro.billing.quotas import period_of
from imgpro.billing.service import RequestDecided, UnknownPlan, UpgradeLink
from imgpro.billing.upgrade import InvalidUpgradeLink, UpgradeLinks, UpgradeNotAllowed
from imgpro.settings import BillingSettings

from .support import app_client, set_counters, workspace

NOW = dt.datetime(2026, 11, 15, 12, 0, tzinfo=dt.UTC)
LINKS = UpgradeLinks("secret-one", "https://img.example", 3600, PlanBook())


def link_of(url: str) -> UpgradeLink:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return UpgradeLink(plan=parts.path.rsplit("/", 1)[1], **query)


def verify(links: UpgradeLinks, link: UpgradeLink, now: dt.datetime = NOW):
    return links.verify(link.plan, link.t, link.exp, link.sig, now)


# -- signing and verification (no database) ------------------------------------------------------


def test_a_link_binds_workspace_plan_and_expiry():
    url = LINKS.url("ws123", "pro", NOW)
    assert url.startswith("https://img.example/upgrade/pro?t=ws123&exp=")
    link = link_of(url)
    grant = verify(LINKS, link)
    assert (grant.workspace_id, grant.plan) == ("ws123", "pro")
    assert grant.expires_at == NOW + dt.timedelta(hours=1)


def test_a_link_expires():
    link = link_of(LINKS.url("ws123", "pro", NOW))
    verify(LINKS, link, NOW + dt.timedelta(seconds=3599))
    with pytest.raises(InvalidUpgradeLink) as e:
        verify(LINKS, link, NOW + dt.timedelta(seconds=3600))
    assert e.value.reason == "expired" and e.value.status == 400


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"plan": "unlimited"}, "bad_signature"),  # another plan in the path
        ({"t": "ws999"}, "bad_signature"),  # another workspace
        ({"exp": "99999999999"}, "bad_signature"),  # a later expiry
        ({"sig": "A" * 43}, "bad_signature"),
        ({"sig": ""}, "malformed"),
        ({"exp": "soon"}, "malformed"),
        ({"t": "ws 1; drop"}, "malformed"),
    ],
)
def test_a_tampered_link_is_refused(change, reason):
    link = link_of(LINKS.url("ws123", "pro", NOW))
    tampered = UpgradeLink(**{**link.__dict__, **change})
    with pytest.raises(InvalidUpgradeLink) as e:
        verify(LINKS, tampered)
    assert e.value.reason == reason


def test_another_secret_does_not_verify():
    link = link_of(LINKS.url("ws123", "pro", NOW))
    other = UpgradeLinks("secret-two", "https://img.example", 3600, PlanBook())
    with pytest.raises(InvalidUpgradeLink):
        verify(other, link)


def test_a_link_to_a_plan_no_longer_offered_is_refused():
    link = link_of(LINKS.url("ws123", "pro", NOW))
    from imgpro.billing.plans import DEFAULT_PLANS

    fewer = UpgradeLinks(
        "secret-one", "https://img.example", 3600, PlanBook((DEFAULT_PLANS[0], DEFAULT_PLANS[2]))
    )
    with pytest.raises(InvalidUpgradeLink) as e:
        verify(fewer, link)
    assert e.value.reason == "unknown_plan"


# -- the plan-change service (instant provider) --------------------------------------------------


@pytest.fixture
def settings(settings):
    """The instant provider (the default is manual; its own tests are below)."""
    settings.billing = BillingSettings(provider="instant")
    return settings


async def quota_link(client, services, acct) -> UpgradeLink:
    """The link a real quota error hands out."""
    await set_counters(
        services,
        acct["user"].workspace_id,
        uploads_used=1000,
        period=period_of(services.clock.now()),
    )
    r = await upload(client, imagegen.png(8, 8), headers=acct["headers"])
    assert r.status_code == 403
    return link_of(r.json()["error"]["action"]["url"])


async def test_instant_upgrade_through_the_link_of_a_quota_error(client, services):
    acct = await make_account(services)
    user, wid = acct["user"], acct["user"].workspace_id
    link = await quota_link(client, services, acct)

    change = await services.billing.apply_upgrade(wid, link, user_id=user.id)
    assert (change.status, change.previous_plan, change.plan) == ("applied", "free", "pro")
    assert (await workspace(services, wid)).plan == "pro"
    assert (await upload(client, imagegen.png(8, 8), headers=acct["headers"])).status_code == 201
    # Opening the same link again changes nothing.
    again = await services.billing.apply_upgrade(wid, link, user_id=user.id)
    assert again.status == "unchanged" and (await workspace(services, wid)).plan == "pro"


async def test_a_link_only_works_for_its_workspace_and_its_owner(client, services):
    alice = await make_account(services)
    mallory = await make_account(services)
    link = await quota_link(client, services, alice)

    with pytest.raises(UpgradeNotAllowed) as e:  # Mallory's session, her workspace
        await services.billing.apply_upgrade(
            mallory["user"].workspace_id, link, user_id=mallory["user"].id
        )
    assert e.value.reason == "wrong_workspace" and e.value.status == 403
    with pytest.raises(UpgradeNotAllowed) as e:  # Mallory's session, Alice's workspace
        await services.billing.apply_upgrade(
            alice["user"].workspace_id, link, user_id=mallory["user"].id
        )
    assert e.value.reason == "wrong_account"
    assert (await workspace(services, alice["user"].workspace_id)).plan == "free"
    assert (await workspace(services, mallory["user"].workspace_id)).plan == "free"


async def test_expired_and_tampered_links_change_nothing(client, services, clock):
    acct = await make_account(services)
    user, wid = acct["user"], acct["user"].workspace_id
    link = await quota_link(client, services, acct)
    with pytest.raises(InvalidUpgradeLink):
        await services.billing.apply_upgrade(
            wid, UpgradeLink("unlimited", link.t, link.exp, link.sig), user_id=user.id
        )
    clock.advance(days=7)
    with pytest.raises(InvalidUpgradeLink) as e:
        await services.billing.apply_upgrade(wid, link, user_id=user.id)
    assert e.value.reason == "expired"
    assert (await workspace(services, wid)).plan == "free"


async def test_a_link_never_downgrades(client, services):
    acct = await make_account(services)
    user, wid = acct["user"], acct["user"].workspace_id
    link = await quota_link(client, services, acct)  # free → pro
    await services.billing.set_plan(wid, "unlimited")
    change = await services.billing.apply_upgrade(wid, link, user_id=user.id)
    assert change.status == "unchanged"
    assert (await workspace(services, wid)).plan == "unlimited"


async def test_operator_set_plan_validates(services):
    acct = await make_account(services)
    with pytest.raises(UnknownPlan):
        await services.billing.set_plan(acct["user"].workspace_id, "platinum")
    assert (
        await services.billing.workspace_of(acct["user"].email.upper()) == acct["user"].workspace_id
    )
    down = await services.billing.set_plan(acct["user"].workspace_id, "free")
    assert down.status == "unchanged"


# -- the manual provider ------------------------------------------------------------------------


async def test_manual_provider_records_a_request_the_operator_approves(settings, clock):
    manual = BillingSettings(provider="manual")
    async with app_client(settings, clock, billing=manual) as (client, services):
        acct = await make_account(services)
        user, wid = acct["user"], acct["user"].workspace_id
        link = await quota_link(client, services, acct)

        change = await services.billing.apply_upgrade(wid, link, user_id=user.id)
        assert change.status == "requested" and change.request_id.startswith("req_")
        assert (await workspace(services, wid)).plan == "free"  # not yet
        twice = await services.billing.apply_upgrade(wid, link, user_id=user.id)
        assert twice.request_id == change.request_id  # one request, not two

        [pending] = await services.billing.requests()
        assert (
            pending.id,
            pending.workspace_id,
            pending.email,
            pending.from_plan,
            pending.plan,
            pending.status,
        ) == (change.request_id, wid, user.email, "free", "pro", "pending")
        clock.advance(hours=1)
        approved = await services.billing.approve(change.request_id)
        assert (approved.status, approved.plan, approved.previous_plan) == (
            "applied",
            "pro",
            "free",
        )
        assert (await workspace(services, wid)).plan == "pro"
        assert await services.billing.requests() == []
        [done] = await services.billing.requests(status=None)
        assert done.status == "approved" and done.decided_at == clock.now()
        with pytest.raises(RequestDecided):
            await services.billing.approve(change.request_id)


async def test_manual_provider_rejection_keeps_the_plan(settings, clock):
    async with app_client(settings, clock, billing=BillingSettings(provider="manual")) as (
        client,
        services,
    ):
        acct = await make_account(services)
        link = await quota_link(client, services, acct)
        change = await services.billing.apply_upgrade(
            acct["user"].workspace_id, link, user_id=acct["user"].id
        )
        rejected = await services.billing.reject(change.request_id)
        assert rejected.status == "unchanged"
        assert (await workspace(services, acct["user"].workspace_id)).plan == "free"
        with pytest.raises(RequestDecided):
            await services.billing.approve(change.request_id)
