"""``imgpro apps list|block|unblock`` — the operator's switch, run in process on a real file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from imgpro.app import create_app
from imgpro.cli.main import app as cli
from imgpro.settings import Settings


def run(data_dir: Path, *args: str):
    return CliRunner().invoke(cli, list(args), env={"IMGPRO_DATA_DIR": str(data_dir)})


def test_operator_blocks_and_unblocks_an_app(tmp_path):
    data_dir = tmp_path / "data"
    app = create_app(Settings(data_dir=data_dir))
    services = app.state.services

    async def setup() -> str:
        owner = await services.accounts.create_user(
            "owner@example.com", "a good password", plan="pro"
        )
        registered, _ = await services.apps.register(
            owner_user_id=owner.id,
            name="Gallery",
            redirect_uris=["https://g.example.com/cb"],
            now=services.clock.now(),
        )
        await app.state.close()  # the CLI runs below on its own
        return registered.id

    app_id = asyncio.run(setup())
    r = run(data_dir, "apps", "list")
    assert r.exit_code == 0 and app_id in r.stdout and "active" in r.stdout
    r = run(data_dir, "apps", "block", app_id)
    assert r.exit_code == 0 and "blocked" in r.stdout
    assert "blocked" in run(data_dir, "apps", "list").stdout
    r = run(data_dir, "apps", "unblock", app_id)
    assert r.exit_code == 0 and "active" in r.stdout
    r = run(data_dir, "apps", "block", "nope0000")
    assert r.exit_code == 1
