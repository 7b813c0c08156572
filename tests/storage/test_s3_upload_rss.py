"""A 70 MB upload to a real ``imgpro serve`` on S3 streams to the bucket (multipart, one part
in memory at a time): the server's peak RSS grows by less than 30 MB."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import pyvips

from cli import serving

pytestmark = pytest.mark.slow


def _status(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(field)


def _server_pid(pid: int) -> int:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    workers = [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
    return workers[0] if workers else pid


def _big_png(path: Path) -> None:
    # Noise does not compress: 4800 x 4700 x 3 bytes ≈ 70 MB of PNG.
    image = (
        pyvips.Image.gaussnoise(4800, 4700, sigma=80)
        .cast("uchar")
        .bandjoin([pyvips.Image.gaussnoise(4800, 4700, sigma=80).cast("uchar")] * 2)
    )
    image.pngsave(str(path), compression=1)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_a_70_mb_upload_streams_to_the_bucket(s3_settings: Any, tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    _big_png(big)
    size = big.stat().st_size
    assert 60 * 2**20 < size <= 70 * 2**20, size
    port = serving.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGPRO_")}
    env.update(
        {
            "IMGPRO_DATA_DIR": str(tmp_path / "data"),
            "IMGPRO_STORAGE": "s3",
            "IMGPRO_S3__BUCKET": s3_settings.bucket,
            "IMGPRO_S3__ENDPOINT_URL": s3_settings.endpoint_url,
            "IMGPRO_S3__REGION": "us-east-1",
            "IMGPRO_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        }
    )
    # Maintenance commands open an existing store only: create it first.
    subprocess.run(
        [sys.executable, "-m", "imgpro.cli", "migrate"], env=env, check=True, capture_output=True
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "imgpro.cli",
            "users",
            "create",
            "big@example.com",
            "--password",
            "correct horse battery",
            "--plan",
            "unlimited",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    key = subprocess.run(
        [sys.executable, "-m", "imgpro.cli", "keys", "create", "big@example.com", "--name", "big"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    proc = serving.start(port, env, "--workers", "1")
    try:
        assert serving.first_upload(port).status_code == 201
        server = _server_pid(proc.pid)
        baseline = _status(server, "VmRSS")
        with big.open("rb") as f:
            reply = httpx.post(
                f"http://127.0.0.1:{port}/v1/images",
                timeout=120,
                headers={"Authorization": f"Bearer {key}"},
                files={"file": ("big.png", f, "image/png")},
            )
        assert reply.status_code == 201, reply.text
        growth = _status(server, "VmHWM") - baseline
        print(f"70 MB upload to S3: baseline RSS {baseline:.1f} MB, peak growth {growth:.1f} MB")
        assert growth < 30, f"RSS grew {growth:.1f} MB"
        from imgpro.storage.s3 import S3BlobStore

        async def stored() -> int | None:
            store = S3BlobStore(s3_settings.model_copy(update={"prefix": ""}))
            try:
                keys = [k async for k in store.iter_keys("originals/")]
                return await store.size(keys[-1]) if keys else None
            finally:
                await store.aclose()

        assert size in {asyncio.run(stored()), reply.json()["bytes"]}
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
