"""Blob store backends by name. Only this module and app.py name concrete backends."""

from __future__ import annotations

from imgpro.settings import Settings
from imgpro.storage.base import BlobNotFound, BlobStore
from imgpro.storage.local import LocalBlobStore
from imgpro.storage.memory import MemoryBlobStore

__all__ = ["BlobNotFound", "BlobStore", "make_blob_store"]


def make_blob_store(settings: Settings) -> BlobStore:
    if settings.storage == "memory":
        return MemoryBlobStore()
    return LocalBlobStore(settings.resolved_storage_dir)
