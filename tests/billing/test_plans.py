"""Plans as data: the defaults, IMGPRO_PLANS (validated), labels, calendar periods."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pydantic import ValidationError

from imgpro.billing.plans import DEFAULT_PLANS, GB, Plan, PlanBook, format_bytes, format_limit
from imgpro.billing.quotas import Counters, period_bounds, period_of
from imgpro.billing.usage import usage_snapshot
from imgpro.settings import Settings


def test_defaults_are_spec_section_7():
    book = PlanBook.from_settings([])
    assert [
        (p.name, p.price_usd_month, p.images, p.uploads_per_month, p.storage_bytes, p.apps)
        for p in book.plans
    ] == [
        ("free", 0, 5_000, 1_000, 5 * GB, 1),
        ("pro", 20, 50_000, 10_000, 50 * GB, 10),
        ("unlimited", 100, None, None, None, None),
    ]
    assert [p.limits_enforced for p in book.plans] == [True, True, False]
    assert book.get("free").allows_apps(0) and not book.get("free").allows_apps(1)
    assert book.get("unlimited").allows_apps(10**6)
    assert book.next_after("free").name == "pro"
    assert book.next_after("pro").name == "unlimited"
    assert book.next_after("unlimited") is None
    assert book.get("retired-plan").name == "free"  # removed plans fall back to the first
    assert book.rank("pro") > book.rank("free")


def test_plans_from_the_environment(monkeypatch):
    monkeypatch.setenv(
        "IMGPRO_PLANS",
        json.dumps(
            [
                {"name": "hobby", "uploads_per_month": 50, "storage_bytes": "500MB"},
                {
                    "name": "team",
                    "title": "Team",
                    "price_usd_month": 9.5,
                    "uploads_per_month": 5000,
                    "storage_bytes": 53687091200,
                    "images": 10000,
                    "apps": True,
                },
            ]
        ),
    )
    book = PlanBook.from_settings(Settings().plans)
    hobby, team = book.plans
    assert hobby == Plan("hobby", "Hobby", 0, 50, 500 * 1024**2, apps=0, images=None)
    assert team.apps is None  # the older boolean form: true = unlimited apps
    assert team.images == 10000 and team.price_label == "$9.50/mo"
    assert hobby.price_label == "free"
    assert book.next_after("hobby") is team


@pytest.mark.parametrize(
    "plans",
    [
        [{"name": "free"}, {"name": "free"}],  # duplicate names
        [{"name": "Free Plan"}],  # not a slug
        [{"name": "free", "uploads_per_month": -1}],
        [{"name": "free", "storage_bytes": "lots"}],
        [{"name": "free", "price_usd_month": -5}],
        [{"uploads_per_month": 10}],  # no name
    ],
)
def test_invalid_plans_are_refused_at_startup(monkeypatch, plans):
    monkeypatch.setenv("IMGPRO_PLANS", json.dumps(plans))
    with pytest.raises(ValidationError):
        Settings()


def test_invalid_rate_limits_are_refused_at_startup(monkeypatch):
    monkeypatch.setenv("IMGPRO_RATE_LIMITS__ANON_UPLOADS", "20 per fortnight")
    with pytest.raises(ValidationError):
        Settings()


def test_labels():
    assert format_limit(1000, "uploads") == "1,000 uploads"
    assert format_limit(None, "uploads") == "unlimited uploads"
    assert format_limit(10 * GB, "bytes") == "10 GB of storage"
    assert format_limit(None, "bytes") == "unlimited storage"
    assert format_bytes(1536) == "1.5 KB"
    assert format_bytes(3025567) == "2.89 MB"  # a usage figure, not "2.88545 MB"
    assert format_bytes(1023) == "1023 B" and format_bytes(5 * GB) == "5 GB"
    assert DEFAULT_PLANS[1].price_label == "$20/mo"


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        ("2026-11-15T12:00:00", "2026-11-01", "2026-12-01"),
        ("2026-12-31T23:59:59", "2026-12-01", "2027-01-01"),
        ("2027-01-01T00:00:00", "2027-01-01", "2027-02-01"),
        ("2028-02-29T10:00:00", "2028-02-01", "2028-03-01"),
    ],
)
def test_period_is_the_calendar_month_in_utc(now, start, end):
    when = dt.datetime.fromisoformat(now).replace(tzinfo=dt.UTC)
    got = period_bounds(when)
    assert [d.date().isoformat() for d in got] == [start, end]
    assert all(d.tzinfo == dt.UTC and d.time() == dt.time(0) for d in got)


def test_period_uses_utc_not_local_time():
    # 23:30 on Nov 30 in New York is already December in UTC.
    ny = dt.timezone(dt.timedelta(hours=-5))
    when = dt.datetime(2026, 11, 30, 23, 30, tzinfo=ny)
    assert period_of(when) == "2026-12"
    assert period_bounds(when)[0] == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def test_usage_snapshot_shape():
    counters = Counters(plan="free", uploads_used=100, storage_used=5242880, images_count=7)
    assert usage_snapshot(DEFAULT_PLANS[0], counters) == {
        "plan": "free",
        "uploads_used": 100,
        "uploads_limit": 1000,
        "storage_used_bytes": 5242880,
        "storage_limit_bytes": 5 * GB,
        "images_used": 7,
        "images_limit": 5000,
    }
    capped = Plan("capped", "Capped", 1, None, None, apps=0, images=10)
    assert usage_snapshot(capped, counters)["images_limit"] == 10
