"""``imgpro plans …`` and ``imgpro usage …`` against a real SQLite file.

The commands run in process through Typer's CliRunner (each one reads the environment, migrates
and opens the database exactly as ``python -m imgpro.cli`` does — tests/cli shows that path as
real subprocesses); a subprocess per command would only add interpreter start-up time.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from imgpro.app import create_app
from imgpro.billing.service import UpgradeLink
from imgpro.cli.main import app as cli
from imgpro.db.tables import workspaces
from imgpro.settings import BillingSettings, Settings

from .support import set_counters


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def imgpro(data_dir: Path, *args: str, **env: str) -> Result:
    full_env: dict[str, str | None] = {
        "IMGPRO_DATA_DIR": str(data_dir),
        "IMGPRO_SECRET_KEY": "cli-key",
        "IMGPRO_PLANS": None,
        "IMGPRO_BILLING__PROVIDER": None,
        **env,
    }
    r = CliRunner().invoke(cli, list(args), env=full_env)
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        # What the real process would do: a traceback on stderr, exit status 1.
        return Result(1, r.stdout, f"{type(r.exception).__name__}: {r.exception}")
    return Result(r.exit_code, r.stdout, r.stderr)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A store the operator created (`imgpro migrate`): maintenance commands never create one."""
    path = tmp_path / "data"
    r = imgpro(path, "migrate")
    assert r.returncode == 0, r.stderr
    return path


def in_process(data_dir: Path, work: Any, **settings: Any) -> Any:
    """Open the same database in the test and run ``work(services)`` (what the web page does)."""

    async def main() -> Any:
        app = create_app(Settings(data_dir=data_dir, secret_key="cli-key", **settings))
        try:
            return await work(app.state.services)
        finally:
            await app.state.close()

    return asyncio.run(main())


def test_plans_list_and_set(data_dir):
    r = imgpro(data_dir, "users", "create", "ops@example.com", "--password", "s3cret-pass")
    assert r.returncode == 0, r.stderr
    r = imgpro(data_dir, "plans", "list")
    assert r.returncode == 0, r.stderr
    lines = {line.split()[1]: line for line in r.stdout.splitlines() if line.startswith("│")}
    assert set(lines) == {"free", "pro", "unlimited"}
    assert "$20/mo" in lines["pro"] and "10,000" in lines["pro"] and "50 GB" in lines["pro"]
    assert "50,000" in lines["pro"] and "5,000" in lines["free"]
    assert lines["free"].rstrip(" │").endswith("1")  # one workspace on free
    assert "billing provider: manual" in r.stdout

    r = imgpro(data_dir, "plans", "set", "OPS@example.com", "pro")
    assert r.returncode == 0, r.stderr
    assert "free → pro" in r.stdout
    r = imgpro(data_dir, "plans", "set", "ops@example.com", "platinum")
    assert r.returncode == 1 and "No such plan 'platinum'" in r.stderr
    r = imgpro(data_dir, "plans", "set", "nobody@example.com", "pro")
    assert r.returncode == 1 and "nobody@example.com" in r.stderr

    custom = json.dumps(
        [
            {"name": "hobby", "uploads_per_month": 10, "storage_bytes": "50MB"},
            {"name": "pro", "price_usd_month": 29},
        ]
    )
    r = imgpro(data_dir, "plans", "list", IMGPRO_PLANS=custom)
    assert r.returncode == 0, r.stderr
    assert "hobby" in r.stdout and "50 MB" in r.stdout and "$29/mo" in r.stdout
    r = imgpro(data_dir, "plans", "list", IMGPRO_PLANS='[{"name": "Bad Name"}]')
    assert r.returncode != 0 and "plans" in r.stderr


def test_manual_requests_are_listed_and_approved(data_dir):
    manual = {"IMGPRO_BILLING__PROVIDER": "manual"}
    r = imgpro(data_dir, "users", "create", "ann@example.com", "--password", "s3cret-pass")
    assert r.returncode == 0, r.stderr
    r = imgpro(data_dir, "plans", "requests", **manual)
    assert r.returncode == 0 and "no pending plan requests" in r.stdout

    async def open_link(s: Any) -> Any:  # what /upgrade/{plan} does for the signed-in owner
        wid = await s.billing.workspace_of("ann@example.com")
        url = s.billing.links.url(wid, "unlimited", s.clock.now())
        plan, query = url.split("/upgrade/", 1)[1].split("?", 1)
        link = UpgradeLink(plan, **dict(p.split("=", 1) for p in query.split("&")))
        async with s.db.read() as conn:
            user_id = await conn.scalar(
                sa.select(workspaces.c.user_id).where(workspaces.c.id == wid)
            )
        return await s.billing.apply_upgrade(wid, link, user_id=user_id)

    change = in_process(data_dir, open_link, billing=BillingSettings(provider="manual"))
    assert change.status == "requested"

    r = imgpro(data_dir, "plans", "requests", **manual)
    assert r.returncode == 0, r.stderr
    assert change.request_id in r.stdout and "ann@example.com" in r.stdout
    assert "pending" in r.stdout
    r = imgpro(data_dir, "plans", "approve", change.request_id, **manual)
    assert r.returncode == 0, r.stderr
    assert "free → unlimited" in r.stdout
    r = imgpro(data_dir, "plans", "approve", change.request_id, **manual)
    assert r.returncode == 1 and "already approved" in r.stderr
    r = imgpro(data_dir, "plans", "requests", "--all", **manual)
    assert "approved" in r.stdout
    r = imgpro(data_dir, "usage", "show", "ann@example.com")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["plan"] == "unlimited"
    assert json.loads(r.stdout)["limits"]["uploads"] == {"used": 0, "limit": None}


def test_usage_verify_reports_and_fixes_drift(data_dir):
    r = imgpro(data_dir, "users", "create", "bo@example.com", "--password", "s3cret-pass")
    assert r.returncode == 0, r.stderr
    r = imgpro(data_dir, "usage", "verify")
    assert r.returncode == 0 and "agree" in r.stdout

    async def corrupt(s: Any) -> str:
        wid = await s.billing.workspace_of("bo@example.com")
        await set_counters(s, wid, storage_used=1234, images_count=2)
        return wid

    wid = in_process(data_dir, corrupt)
    r = imgpro(data_dir, "usage", "verify")
    assert r.returncode == 1
    assert f"{wid} (bo@example.com): storage_used is 1234, rows say 0" in r.stdout
    assert "images_count is 2, rows say 0" in r.stdout
    r = imgpro(data_dir, "usage", "verify", "--fix")
    assert r.returncode == 0 and "fixed 1 workspace(s)" in r.stdout
    r = imgpro(data_dir, "usage", "verify")
    assert r.returncode == 0 and "agree" in r.stdout
