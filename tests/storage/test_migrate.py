"""``imgpro storage migrate --to s3``: everything copied and verified, resumable, re-runnable."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from imgpro.cli.main import app
from imgpro.storage.local import LocalBlobStore
from imgpro.storage.s3 import S3BlobStore


def _fill(root: Path) -> dict[str, bytes]:
    blobs = {
        "originals/ab/one": os.urandom(2000),
        "originals/cd/two": os.urandom(6 * 1024 * 1024),
        "variants/one/x.webp": b"variant bytes",
    }
    store = LocalBlobStore(root)
    for key, data in blobs.items():
        asyncio.run(store.put_bytes(key, data))
    return blobs


def _bucket(settings: Any) -> dict[str, bytes]:
    async def read() -> dict[str, bytes]:
        store = S3BlobStore(settings)
        try:
            return {k: await store.get_bytes(k) async for k in store.iter_keys()}
        finally:
            await store.aclose()

    return asyncio.run(read())


@pytest.fixture
def env(s3_settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("IMGPRO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IMGPRO_S3__BUCKET", s3_settings.bucket)
    monkeypatch.setenv("IMGPRO_S3__ENDPOINT_URL", s3_settings.endpoint_url)
    monkeypatch.setenv("IMGPRO_S3__REGION", "us-east-1")
    monkeypatch.setenv("IMGPRO_S3__PREFIX", s3_settings.prefix)
    monkeypatch.setenv("IMGPRO_S3__MULTIPART_PART_MB", "5")
    return s3_settings


def test_migrate_copies_verifies_and_resumes(env: Any, tmp_path: Path) -> None:
    blobs = _fill(tmp_path / "data" / "blobs")
    runner = CliRunner()
    first = runner.invoke(app, ["storage", "migrate", "--to", "s3"])
    assert first.exit_code == 0, first.output
    assert "copied: 3" in first.output
    assert _bucket(env) == blobs

    again = runner.invoke(app, ["storage", "migrate", "--to", "s3"])
    assert again.exit_code == 0 and "copied: 0" in again.output
    assert "already there (same size and SHA-256): 3" in again.output

    # Changed since (same size, other bytes) and new since: exactly those move.
    changed = os.urandom(2000)
    (tmp_path / "data" / "blobs" / "originals" / "ab" / "one").write_bytes(changed)
    asyncio.run(LocalBlobStore(tmp_path / "data" / "blobs").put_bytes("variants/one/y.png", b"new"))
    third = runner.invoke(app, ["storage", "migrate", "--to", "s3"])
    assert third.exit_code == 0 and "copied: 2" in third.output, third.output
    in_bucket = _bucket(env)
    assert (
        hashlib.sha256(in_bucket["originals/ab/one"]).digest() == hashlib.sha256(changed).digest()
    )
    assert in_bucket["variants/one/y.png"] == b"new"


def test_migrate_needs_a_bucket_and_a_known_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMGPRO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("IMGPRO_S3__BUCKET", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["storage", "migrate", "--to", "gcs"]).exit_code == 2
    reply = runner.invoke(app, ["storage", "migrate", "--to", "s3"])
    assert reply.exit_code == 2 and "IMGPRO_S3__BUCKET" in reply.output
