"""Quota notices at 80 % and 100 %, once per period each, on a plan with 5 uploads a month."""

from __future__ import annotations

from pathlib import Path

import pytest

import imagegen
from factories import make_account, upload
from imgpro.settings import Settings

from .smtp import SmtpServer


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp: SmtpServer) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        public_base_url="http://testserver",
        secret_key="test-secret-key",
        smtp={"url": smtp.url},
        plans=[{"name": "free", "uploads_per_month": 5}, {"name": "pro", "price_usd_month": 20}],
    )


async def test_quota_notices_once_per_period(client, services, smtp, clock):
    account = await make_account(services)
    email = account["user"].email
    subjects = []
    for i in range(6):
        r = await upload(
            client, imagegen.png(20 + i, 20), headers=account["headers"], filename="p.png"
        )
        assert r.status_code == (201 if i < 5 else 403)
        await services.mail.deliver_due()
        subjects.append([m["Subject"] for m in smtp.inbox.to(email)])
    assert subjects[2] == []  # 3 of 5
    assert subjects[3] == ["Your imgpro account has used 80 % of its plan"]  # 4 of 5
    assert subjects[4][-1] == "Your imgpro account has used 100 % of its plan"
    assert len(subjects[5]) == 2  # nothing more this period
    clock.advance(days=31)  # next month: counters and notices start over
    for i in range(4):
        await upload(client, imagegen.png(30 + i, 20), headers=account["headers"], filename="p.png")
    await services.mail.deliver_due()
    assert len(smtp.inbox.to(email)) == 3
