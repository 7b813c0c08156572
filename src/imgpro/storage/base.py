"""The blob store contract: originals and rendered variants, addressed by string keys.

Keys look like ``originals/ab/abc12345`` or ``variants/abc12345/<spec-hash>.webp``; a key never
starts with ``/`` and never contains ``..``. Writes are atomic: a reader sees the whole blob or
nothing, and a write that fails or is cancelled leaves nothing visible. ``delete_prefix``
refuses an empty prefix (it would empty the store) and anything that is not a key prefix.
Every backend passes the same contract tests (tests/storage/test_contract.py).
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

    def stream(
        self, key: str, chunk_size: int = 256 * 1024, *, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """Bytes ``[start, end)`` of the blob (to its end when ``end`` is None) in chunks;
        raises :class:`BlobNotFound` on first iteration."""
        ...

    async def size(self, key: str) -> int | None:
        """Size in bytes, or None if absent (so also: does it exist)."""
        ...

    async def modified(self, key: str) -> float | None:
        """When the blob was last written (Unix time), or None if absent. ``gc`` spares orphans
        younger than its grace period by this."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path for the blob where the backend has one (for zero-copy reads)."""
        ...

    async def presigned_url(self, key: str, expires_seconds: int) -> str | None:
        """A time-limited URL a client may GET the blob from directly, where the backend has
        one (object storage); None otherwise."""
        ...

    async def delete(self, key: str) -> bool: ...

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every blob whose key starts with ``prefix``; returns how many."""
        ...

    def iter_keys(self, prefix: str = "") -> AsyncIterator[str]: ...

    async def aclose(self) -> None:
        """Release connections (the app's shutdown calls it)."""
        ...


def check_key(key: str) -> str:
    if (
        not key
        or key.startswith("/")
        or ".." in key.split("/")
        or "\\" in key
        or "\0" in key
        or "//" in key
    ):
        raise ValueError(f"invalid blob key: {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """A prefix to delete under: never empty (that is the whole store), never a way out of it."""
    if not prefix.strip("/"):
        raise ValueError("refusing to delete with an empty prefix")
    check_key(prefix.rstrip("/") or prefix)
    if prefix.startswith("."):
        raise ValueError(f"invalid blob prefix: {prefix!r}")
    return prefix
