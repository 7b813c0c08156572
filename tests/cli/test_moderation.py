"""``imgpro moderation block | unblock`` against a real SQLite store, checked through the
app's own CDN and API (in-process)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import imagegen
from imgpro.app import create_app
from imgpro.cli.main import app as cli
from imgpro.settings import Settings

SECRET = "moderation-cli"


def run(data_dir: Path, *args: str):
    return CliRunner().invoke(
        cli, list(args), env={"IMGPRO_DATA_DIR": str(data_dir), "IMGPRO_SECRET_KEY": SECRET}
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    assert run(path, "migrate").exit_code == 0
    return path


def through_app(data_dir: Path, work: Any) -> Any:
    async def main() -> Any:
        app = create_app(Settings(data_dir=data_dir, secret_key=SECRET))
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await work(c)
        finally:
            await app.state.close()

    return asyncio.run(main())


def _cdn_status(data_dir: Path, image: dict[str, Any]) -> int:
    async def get(c: httpx.AsyncClient) -> int:
        return (await c.get(image["url"].removeprefix("http://testserver"))).status_code

    return int(through_app(data_dir, get))


def test_block_and_unblock_an_image(data_dir: Path) -> None:
    async def upload(c: httpx.AsyncClient) -> dict[str, Any]:
        r = await c.post("/v1/images", files={"file": ("a.png", imagegen.png(20, 10))})
        assert r.status_code == 201, r.text
        return dict(r.json())

    image = through_app(data_dir, upload)
    assert _cdn_status(data_dir, image) == 200

    r = run(data_dir, "moderation", "block", image["id"], "--reason", "reported twice")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith(f"blocked {image['id']} of workspace anonymous since ")
    assert "(reported twice)" in r.stdout
    assert _cdn_status(data_dir, image) == 404

    r = run(data_dir, "moderation", "unblock", image["id"])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == f"unblocked {image['id']} of workspace anonymous"
    assert _cdn_status(data_dir, image) == 200


def test_an_unknown_image_is_an_error(data_dir: Path) -> None:
    r = run(data_dir, "moderation", "block", "zz99zz99")
    assert r.exit_code == 1
    assert "No such image." in r.stderr
