"""Blobs in a dict: for tests and throwaway runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from imgpro.storage.base import BlobNotFound, check_key


class MemoryBlobStore:
    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    async def put_file(self, key: str, path: Path) -> None:
        self._blobs[check_key(key)] = path.read_bytes()
        path.unlink(missing_ok=True)

    async def put_bytes(self, key: str, data: bytes) -> None:
        self._blobs[check_key(key)] = bytes(data)

    async def get_bytes(self, key: str) -> bytes:
        try:
            return self._blobs[key]
        except KeyError:
            raise BlobNotFound(key) from None

    async def stream(self, key: str, chunk_size: int = 256 * 1024) -> AsyncIterator[bytes]:
        data = await self.get_bytes(key)
        for i in range(0, len(data), chunk_size):
            yield data[i : i + chunk_size]

    async def size(self, key: str) -> int | None:
        data = self._blobs.get(key)
        return None if data is None else len(data)

    def local_path(self, key: str) -> Path | None:
        return None

    async def delete(self, key: str) -> bool:
        return self._blobs.pop(key, None) is not None

    async def delete_prefix(self, prefix: str) -> int:
        doomed = [k for k in self._blobs if k.startswith(prefix)]
        for k in doomed:
            del self._blobs[k]
        return len(doomed)

    async def iter_keys(self, prefix: str = "") -> AsyncIterator[str]:
        for key in sorted(self._blobs):
            if key.startswith(prefix):
                yield key
