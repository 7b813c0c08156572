"""The blob-store contract (storage/base.py), one suite for every backend: memory, local, S3.

S3 runs against moto's server (a real HTTP S3 API); a new backend starts by joining ``store``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from imgpro.storage import BlobNotFound, BlobStore
from imgpro.storage.local import LocalBlobStore
from imgpro.storage.memory import MemoryBlobStore


@pytest.fixture(params=["memory", "local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "memory":
        blobs: Any = MemoryBlobStore()
    elif request.param == "local":
        blobs = LocalBlobStore(tmp_path / "blobs")
    else:
        from imgpro.storage.s3 import S3BlobStore

        blobs = S3BlobStore(request.getfixturevalue("s3_settings"))
    yield blobs
    await blobs.aclose()


async def _collect(it: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in it])


async def _keys(store: Any, prefix: str = "") -> list[str]:
    return [key async for key in store.iter_keys(prefix)]


async def test_is_a_blob_store(store: Any) -> None:
    assert isinstance(store, BlobStore)


async def test_put_get_bytes_and_overwrite(store: Any) -> None:
    await store.put_bytes("originals/ab/one", b"first")
    assert await store.get_bytes("originals/ab/one") == b"first"
    await store.put_bytes("originals/ab/one", b"second, longer")
    assert await store.get_bytes("originals/ab/one") == b"second, longer"
    assert await store.size("originals/ab/one") == len(b"second, longer")


async def test_put_file_consumes_the_file(store: Any, tmp_path: Path) -> None:
    src = tmp_path / "upload.bin"
    data = os.urandom(300_000)
    src.write_bytes(data)
    await store.put_file("originals/cd/two", src)
    assert await store.get_bytes("originals/cd/two") == data
    assert not src.exists()


async def test_large_put_file_round_trips(store: Any, tmp_path: Path) -> None:
    """Past the multipart threshold on S3 (5 MB parts in the test settings): 3 parts."""
    src = tmp_path / "big.bin"
    data = os.urandom(11 * 1024 * 1024 + 123)
    src.write_bytes(data)
    await store.put_file("originals/ef/big", src)
    assert await store.size("originals/ef/big") == len(data)
    assert await _collect(store.stream("originals/ef/big", 1024 * 1024)) == data


async def test_missing_blob(store: Any) -> None:
    with pytest.raises(BlobNotFound):
        await store.get_bytes("originals/zz/none")
    with pytest.raises(BlobNotFound):
        await _collect(store.stream("originals/zz/none"))
    assert await store.size("originals/zz/none") is None
    assert await store.modified("originals/zz/none") is None
    assert await store.delete("originals/zz/none") is False


async def test_stream_in_chunks(store: Any) -> None:
    data = os.urandom(100_000)
    await store.put_bytes("variants/img1/a.webp", data)
    chunks = [c async for c in store.stream("variants/img1/a.webp", 16 * 1024)]
    assert b"".join(chunks) == data
    assert len(chunks) > 1 and all(len(c) <= 16 * 1024 for c in chunks)


async def test_stream_ranges(store: Any) -> None:
    data = bytes(range(256)) * 40
    await store.put_bytes("variants/img1/r.png", data)
    key = "variants/img1/r.png"
    assert await _collect(store.stream(key, 100, start=10, end=1000)) == data[10:1000]
    assert await _collect(store.stream(key, 4096, start=5000)) == data[5000:]
    assert await _collect(store.stream(key, 4096, end=7)) == data[:7]
    assert await _collect(store.stream(key, 4096, start=len(data))) == b""
    assert await _collect(store.stream(key, 4096, start=9, end=9)) == b""


async def test_exists_size_and_modified(store: Any) -> None:
    assert await store.size("originals/ab/x") is None
    await store.put_bytes("originals/ab/x", b"12345")
    assert await store.size("originals/ab/x") == 5
    modified = await store.modified("originals/ab/x")
    assert modified is not None
    import time

    assert abs(modified - time.time()) < 120


async def test_delete(store: Any) -> None:
    await store.put_bytes("originals/ab/gone", b"x")
    assert await store.delete("originals/ab/gone") is True
    assert await store.size("originals/ab/gone") is None
    assert await store.delete("originals/ab/gone") is False


async def test_delete_prefix_takes_exactly_the_prefix(store: Any) -> None:
    for key in (
        "variants/abc/1.webp",
        "variants/abc/2.png",
        "variants/abcd/3.webp",
        "variants/xyz/4.webp",
        "originals/ab/abc",
    ):
        await store.put_bytes(key, b"v")
    assert await store.delete_prefix("variants/abc/") == 2
    assert await _keys(store) == ["originals/ab/abc", "variants/abcd/3.webp", "variants/xyz/4.webp"]
    assert await store.delete_prefix("variants/ab") == 1  # a name prefix, not only folders
    assert await _keys(store) == ["originals/ab/abc", "variants/xyz/4.webp"]
    assert await store.delete_prefix("variants/nothing/") == 0


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "/",
        "//",
        "../",
        "..",
        "variants/../",
        "../blobs2/",
        "/etc/",
        "a\\b",
        "x\0",
        ".tmp/",
        ".",
    ],
)
async def test_delete_prefix_refuses_empty_and_unsafe(store: Any, prefix: str) -> None:
    await store.put_bytes("originals/ab/keep", b"k")
    with pytest.raises(ValueError):
        await store.delete_prefix(prefix)
    assert await store.get_bytes("originals/ab/keep") == b"k"


async def test_local_delete_prefix_stays_inside_its_root(tmp_path: Path) -> None:
    """The bug this suite was written for: ``delete_prefix("")`` removed the blob folder and a
    sibling folder whose name started with the same letters."""
    store = LocalBlobStore(tmp_path / "blobs")
    sibling = tmp_path / "blobs-backup"
    sibling.mkdir()
    (sibling / "precious").write_bytes(b"p")
    await store.put_bytes("originals/ab/keep", b"k")
    for prefix in ("", "../blobs-backup/", "../blobs"):
        with pytest.raises(ValueError):
            await store.delete_prefix(prefix)
    assert (sibling / "precious").read_bytes() == b"p"
    assert await store.get_bytes("originals/ab/keep") == b"k"


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "..", "a\\b", "a\0b", "a//b"])
async def test_invalid_keys_are_refused(store: Any, key: str) -> None:
    with pytest.raises(ValueError):
        await store.put_bytes(key, b"x")


async def test_iter_keys(store: Any) -> None:
    for key in ("originals/b/2", "originals/a/1", "variants/i/x.webp"):
        await store.put_bytes(key, b"v")
    assert sorted(await _keys(store, "originals/")) == ["originals/a/1", "originals/b/2"]
    assert sorted(await _keys(store)) == ["originals/a/1", "originals/b/2", "variants/i/x.webp"]


async def test_failed_put_file_leaves_nothing(store: Any, tmp_path: Path) -> None:
    """A put whose source cannot be read publishes nothing under the key."""
    with pytest.raises(OSError):
        await store.put_file("originals/ab/broken", tmp_path / "does-not-exist")
    assert await store.size("originals/ab/broken") is None
    assert await _keys(store) == []


async def test_cancelled_put_leaves_nothing(store: Any, tmp_path: Path) -> None:
    """Cancelled mid-way (a client gone, a shutdown): the key is absent or whole, never partial;
    on S3 the multipart upload is aborted."""
    src = tmp_path / "big.bin"
    data = os.urandom(16 * 1024 * 1024)
    src.write_bytes(data)
    task = asyncio.create_task(store.put_file("originals/ab/cancelled", src))
    await asyncio.sleep(0.02)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    size = await store.size("originals/ab/cancelled")
    assert size is None or await store.get_bytes("originals/ab/cancelled") == data
    if hasattr(store, "bucket") and size is None:
        client = await store._client()
        uploads = await client.list_multipart_uploads(Bucket=store.bucket)
        assert not uploads.get("Uploads"), "a cancelled multipart upload must be aborted"


async def test_local_failed_write_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")

    def broken_replace(*_: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        await store.put_bytes("originals/ab/x", b"data")
    monkeypatch.undo()
    assert list((tmp_path / "blobs" / ".tmp").iterdir()) == []
    assert await store.size("originals/ab/x") is None


async def test_presigned_url(store: Any) -> None:
    await store.put_bytes("variants/i/p.webp", b"presigned body")
    url = await store.presigned_url("variants/i/p.webp", 60)
    if store.local_path("variants/i/p.webp") is not None or isinstance(store, MemoryBlobStore):
        assert url is None
        return
    import httpx

    async with httpx.AsyncClient() as client:
        reply = await client.get(url)
        assert reply.status_code == 200 and reply.content == b"presigned body"
