"""The blob store contract: originals and rendered variants, addressed by string keys.

Keys look like ``originals/ab/abc12345`` or ``variants/abc12345/<spec-hash>.webp``; a key never
starts with ``/`` and never contains ``..``. Writes are atomic: a reader sees the whole blob or
nothing. Every backend passes the same contract tests (tests/storage/test_contract.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol, runtime_checkable


class BlobNotFound(KeyError):
    pass


@runtime_checkable
class BlobStore(Protocol):
    async def put_file(self, key: str, path: Path) -> None:
        """Store the file at ``path`` under ``key``; the file may be moved (consumed)."""

    async def put_bytes(self, key: str, data: bytes) -> None: ...

    async def get_bytes(self, key: str) -> bytes:
        """The whole blob; raises :class:`BlobNotFound`."""
        ...

    def stream(self, key: str, chunk_size: int = 256 * 1024) -> AsyncIterator[bytes]:
        """The blob in chunks; raises :class:`BlobNotFound` on first iteration."""
        ...

    async def size(self, key: str) -> int | None:
        """Size in bytes, or None if absent."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path for the blob where the backend has one (for zero-copy reads)."""
        ...

    async def delete(self, key: str) -> bool: ...

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every blob whose key starts with ``prefix``; returns how many."""
        ...

    def iter_keys(self, prefix: str = "") -> AsyncIterator[str]: ...


def check_key(key: str) -> str:
    if not key or key.startswith("/") or ".." in key.split("/") or "\\" in key or "\0" in key:
        raise ValueError(f"invalid blob key: {key!r}")
    return key
