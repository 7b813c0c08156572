"""Blobs in a dict: for tests and throwaway runs."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

from imgpro.storage.base import BlobNotFound, check_key, check_prefix


class MemoryBlobStore:
    def __init__(self) -> None:
        self._blobs: dict[str, tuple[bytes, float]] = {}

    async def put_file(self, key: str, path: Path) -> None:
        self._blobs[check_key(key)] = (path.read_bytes(), time.time())
        path.unlink(missing_ok=True)

    async def put_bytes(self, key: str, data: bytes) -> None:
        self._blobs[check_key(key)] = (bytes(data), time.time())

    async def get_bytes(self, key: str) -> bytes:
        try:
            return self._blobs[key][0]
        except KeyError:
            raise BlobNotFound(key) from None

    async def stream(
        self, key: str, chunk_size: int = 256 * 1024, *, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        data = await self.get_bytes(key)
        stop = len(data) if end is None else min(end, len(data))
        for i in range(start, stop, chunk_size):
            yield data[i : min(i + chunk_size, stop)]

    async def size(self, key: str) -> int | None:
        entry = self._blobs.get(key)
        return None if entry is None else len(entry[0])

    async def modified(self, key: str) -> float | None:
        entry = self._blobs.get(key)
        return None if entry is None else entry[1]

    def local_path(self, key: str) -> Path | None:
        return None

    async def presigned_url(self, key: str, expires_seconds: int) -> str | None:
        return None

    async def delete(self, key: str) -> bool:
        return self._blobs.pop(key, None) is not None

    async def delete_prefix(self, prefix: str) -> int:
        check_prefix(prefix)
        doomed = [k for k in self._blobs if k.startswith(prefix)]
        for k in doomed:
            del self._blobs[k]
        return len(doomed)

    async def iter_keys(self, prefix: str = "") -> AsyncIterator[str]:
        for key in sorted(self._blobs):
            if key.startswith(prefix):
                yield key

    async def aclose(self) -> None:
        return None
