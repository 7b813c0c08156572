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
    if settings.storage == "s3":
        from imgpro.storage.s3 import S3BlobStore  # aiobotocore loads only when used

        return S3BlobStore(settings.s3)
    return LocalBlobStore(settings.resolved_storage_dir)
