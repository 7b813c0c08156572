"""Copy a local blob store into a bucket: resumable, verified, while the server keeps serving.

Each object is uploaded with its SHA-256 as object metadata; an object already in the bucket
with the same size and hash is skipped, so an interrupted run simply starts again. After the
upload the object is read back from the bucket and hashed (``verify``): a copy is only counted
when the bucket returns exactly the bytes of the file.

Reads never stop: the server goes on serving from the local store during the copy, and the
operator switches ``IMGPRO_STORAGE`` to ``s3`` afterwards (docs/deployment.md); blobs written
between the copy and the switch are picked up by running the copy once more (only they move).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from imgpro.storage.local import LocalBlobStore
from imgpro.storage.s3 import S3BlobStore

HASH_META = "sha256"


@dataclass
class MigrationReport:
    copied: int = 0
    skipped: int = 0
    bytes_copied: int = 0
    failed: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


async def plan(source: LocalBlobStore) -> list[tuple[str, int]]:
    """Every key of the local store with its size (what the progress bar counts)."""
    keys = [key async for key in source.iter_keys()]
    sizes = await asyncio.gather(*(source.size(key) for key in keys))
    return [(key, size) for key, size in zip(keys, sizes, strict=True) if size is not None]


async def copy_one(
    source: LocalBlobStore, dest: S3BlobStore, key: str, *, verify: bool = True
) -> bool:
    """Copy one blob; False if it was already there (same size and hash)."""
    path = source.local_path(key)
    assert path is not None
    local_hash = await asyncio.to_thread(_sha256, path)
    size = await source.size(key)
    if await dest.size(key) == size:
        meta = await dest.metadata(key) or {}
        if meta.get(HASH_META) == local_hash:
            return False
    await dest.upload(key, path, {HASH_META: local_hash})
    if verify:
        digest = hashlib.sha256()
        async for chunk in dest.stream(key, 1024 * 1024):
            digest.update(chunk)
        if digest.hexdigest() != local_hash:
            await dest.delete(key)  # never leave a copy that a resumed run would trust
            raise OSError(f"{key}: the bucket returned different bytes")
    return True


async def migrate(
    source: LocalBlobStore,
    dest: S3BlobStore,
    *,
    verify: bool = True,
    concurrency: int = 8,
    progress: Callable[[str, int], None] | None = None,
    todo: list[tuple[str, int]] | None = None,
) -> MigrationReport:
    report = MigrationReport()
    todo = await plan(source) if todo is None else todo
    gate = asyncio.Semaphore(concurrency)

    async def one(key: str, size: int) -> None:
        async with gate:
            try:
                if await copy_one(source, dest, key, verify=verify):
                    report.copied += 1
                    report.bytes_copied += size
                else:
                    report.skipped += 1
            except Exception as exc:  # OSError, botocore's: reported per key, the run goes on
                report.failed.append(f"{key}: {exc}")
            if progress is not None:
                progress(key, size)

    await asyncio.gather(*(one(key, size) for key, size in todo))
    return report
