"""A full disk and a read-only data directory, for real (SPEC §6 ``storage_unavailable``).

Full disk: the data directory is a small tmpfs (SQLite + blobs on it), filled up with a
ballast file. Read-only: a read-only bind mount of a prepared data directory (root ignores
permission bits, so chmod would prove nothing). Both need mount(2): the tests run as root in
this project's sandbox and CI; elsewhere they skip and say why.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import imagegen
from factories import make_account, upload
from imgpro.app import create_app
from imgpro.images.gc import collect_garbage
from imgpro.settings import Settings


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def _can_mount(tmp_path: Path) -> str | None:
    if os.geteuid() != 0:
        return "needs root to mount a tmpfs / a read-only bind mount"
    probe = tmp_path / "probe"
    probe.mkdir()
    try:
        _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe))
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        return f"mount(2) is not permitted here: {exc}"
    subprocess.run(["umount", str(probe)], check=False)
    return None


@pytest.fixture
def mountable(tmp_path: Path) -> None:
    reason = _can_mount(tmp_path)
    if reason:
        pytest.skip(reason)


@contextlib.contextmanager
def mounted(path: Path, *args: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    _mount(*args, str(path))
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _settings(data: Path) -> Settings:
    return Settings(
        data_dir=data,
        public_base_url="http://testserver",
        secret_key="test-secret-key",
        disk_reserve_bytes=256 * 1024,
    )


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield app, c
    finally:
        await app.state.close()


def _fill(fs: Path, leave: int) -> Path:
    """Fill the file system at ``fs`` until only ``leave`` bytes are free."""
    ballast = fs / "ballast"
    free = os.statvfs(fs).f_bavail * os.statvfs(fs).f_frsize
    with open(ballast, "wb") as f:
        f.write(b"\0" * max(free - leave, 0))
    return ballast


def _leftovers(data: Path) -> list[Path]:
    return [p for d in (data / "tmp", data / "blobs" / ".tmp") if d.is_dir() for p in d.iterdir()]


async def test_full_disk_answers_503_keeps_reads_and_deletes_free_space(mountable, tmp_path):
    data = tmp_path / "data"
    with mounted(data, "-t", "tmpfs", "-o", "size=6m", "tmpfs"):
        async with serving(_settings(data)) as (app, client):
            acct = await make_account(app.state.services)
            kept = await upload(client, imagegen.png(64, 64), headers=acct["headers"])
            assert kept.status_code == 201
            ballast = _fill(data, leave=64 * 1024)
            big = imagegen.bmp(300, 300)  # uncompressed: ~270 KB, more than is left
            r = await upload(client, big, headers=acct["headers"])
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] == "storage_unavailable"
            assert r.json()["error"]["type"] == "api_error"
            assert _leftovers(data) == []  # nothing half-written survives
            # Reads keep working, the CDN included.
            got = await client.get(f"/v1/images/{kept.json()['id']}", headers=acct["headers"])
            assert got.status_code == 200
            served = await client.get(kept.json()["url"].removeprefix("http://testserver"))
            assert served.status_code == 200
            # Squeeze out the last bytes: a delete must still go through and free space.
            with contextlib.suppress(OSError), open(data / "last", "wb") as f:
                f.write(b"\0" * (1 << 20))
            gone = await client.delete(f"/v1/images/{kept.json()['id']}", headers=acct["headers"])
            assert gone.status_code == 200, gone.text
            ballast.unlink()
            (data / "last").unlink(missing_ok=True)
            again = await upload(client, imagegen.png(32, 32), headers=acct["headers"])
            assert again.status_code == 201


async def test_gc_sweeps_stale_temp_files(tmp_path):
    async with serving(_settings(tmp_path / "data")) as (app, _):
        services = app.state.services
        stale = [
            tmp_path / "data" / "tmp" / "upload-dead",
            tmp_path / "data" / "blobs" / ".tmp" / "tmpdead",
        ]
        fresh = tmp_path / "data" / "blobs" / ".tmp" / "tmpfresh"
        for p in [*stale, fresh]:
            p.write_bytes(b"partial")
        old = time.time() - 7200
        for p in stale:
            os.utime(p, (old, old))
        report = await collect_garbage(services)
        assert report.temp_files == 2
        assert not any(p.exists() for p in stale) and fresh.exists()


async def test_read_only_store_serves_reads(mountable, tmp_path):
    source = tmp_path / "source"
    async with serving(_settings(source)) as (app, client):
        services = app.state.services
        acct = await make_account(services)
        image = (await upload(client, imagegen.png(80, 60), headers=acct["headers"])).json()
    readonly = tmp_path / "ro"
    with mounted(readonly, "--bind", str(source)):
        _mount("-o", "remount,bind,ro", str(readonly))
        with pytest.raises(OSError):
            (readonly / f"probe-{uuid.uuid4().hex}").write_bytes(b"x")  # really read-only
        async with serving(_settings(readonly)) as (_, client):
            h = acct["headers"]
            listed = await client.get("/v1/images", headers=h)  # authenticating writes nothing
            assert listed.status_code == 200 and listed.json()["data"][0]["id"] == image["id"]
            assert (await client.get(f"/v1/images/{image['id']}", headers=h)).status_code == 200
            assert (await client.get("/v1/usage", headers=h)).status_code == 200
            cdn = await client.get(image["url"].removeprefix("http://testserver") + "?w=40")
            assert cdn.status_code == 200  # rendered, served, just not cached
            for r in (
                await upload(client, imagegen.png(10, 10), headers=h),
                await client.delete(f"/v1/images/{image['id']}", headers=h),
                await client.patch(f"/v1/images/{image['id']}", headers=h, json={"caption": "x"}),
            ):
                assert r.status_code == 503, r.text
                assert r.json()["error"]["code"] == "storage_unavailable"
                assert r.headers["retry-after"]
