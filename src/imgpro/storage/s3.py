"""Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, R2, moto…), over aiobotocore.

Every call is asynchronous: nothing blocks the event loop (file reads for uploads go through a
thread). Credentials come from botocore's usual chain: ``AWS_ACCESS_KEY_ID``/
``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE`` and ``~/.aws/credentials``, instance roles.

Atomicity comes from S3 itself: an object appears whole on ``PutObject`` or on
``CompleteMultipartUpload``, never before; a multipart upload that fails or is cancelled is
aborted, so its parts are never visible (and never billed for long).

A client belongs to one event loop (aiohttp's connector does), and the CLI and the tests run
several loops in one process: a client is made lazily for the running loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from imgpro.settings import S3Settings
from imgpro.storage.base import BlobNotFound, check_key, check_prefix

_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING


class S3BlobStore:
    def __init__(self, settings: S3Settings) -> None:
        if not settings.bucket:
            raise ValueError("IMGPRO_S3__BUCKET must be set for IMGPRO_STORAGE=s3")
        self.settings = settings
        self.bucket = settings.bucket
        self.prefix = settings.prefix.strip("/") + "/" if settings.prefix.strip("/") else ""
        self.part_size = settings.multipart_part_mb * 1024 * 1024
        self._clients: dict[int, tuple[asyncio.AbstractEventLoop, AsyncExitStack, Any]] = {}

    # -- plumbing -------------------------------------------------------------------------
    async def _client(self) -> Any:
        loop = asyncio.get_running_loop()
        entry = self._clients.get(id(loop))
        if entry is not None and entry[0] is loop:
            return entry[2]
        for key, (old_loop, _, _) in list(self._clients.items()):
            if old_loop.is_closed():  # a finished asyncio.run(): its connections are gone
                del self._clients[key]
        stack = AsyncExitStack()
        s = self.settings
        config = AioConfig(
            s3={"addressing_style": "path" if s.endpoint_url else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=s.max_connections,
            signature_version="s3v4",
        )
        client = await stack.enter_async_context(
            get_session().create_client(
                "s3",
                region_name=s.region or None,
                endpoint_url=s.endpoint_url or None,
                config=config,
            )
        )
        self._clients[id(loop)] = (loop, stack, client)
        return client

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        entry = self._clients.pop(id(loop), None)
        if entry is not None and entry[0] is loop:
            await entry[1].aclose()

    def local_path(self, key: str) -> Path | None:
        return None

    # -- writes ---------------------------------------------------------------------------
    async def put_bytes(self, key: str, data: bytes) -> None:
        client = await self._client()
        await client.put_object(Bucket=self.bucket, Key=self._key(key), Body=bytes(data))

    async def put_file(self, key: str, path: Path) -> None:
        """Small files in one PUT; large ones as a multipart upload, one part in memory at a
        time (a 70 MB upload costs one part's worth of RSS, not 70 MB)."""
        await self.upload(key, path)
        await asyncio.to_thread(path.unlink, True)

    async def upload(self, key: str, path: Path, metadata: dict[str, str] | None = None) -> None:
        """Copy the file to ``key`` (the file stays), with optional object metadata."""
        full = self._key(key)
        meta = {"Metadata": metadata} if metadata else {}
        size = await asyncio.to_thread(os.path.getsize, path)
        client = await self._client()
        if size <= self.part_size:
            data = await asyncio.to_thread(path.read_bytes)
            await client.put_object(Bucket=self.bucket, Key=full, Body=data, **meta)
        else:
            await self._multipart(client, full, path, meta)

    async def metadata(self, key: str) -> dict[str, str] | None:
        """The object's user metadata (``x-amz-meta-*``), or None if absent."""
        head = await self._head(key)
        return None if head is None else dict(head.get("Metadata", {}))

    async def _multipart(self, client: Any, full: str, path: Path, meta: dict[str, Any]) -> None:
        upload = await client.create_multipart_upload(Bucket=self.bucket, Key=full, **meta)
        upload_id = upload["UploadId"]
        parts = []
        try:
            with open(path, "rb") as f:  # noqa: ASYNC230 - every read below is in a thread
                number = 1
                while chunk := await asyncio.to_thread(f.read, self.part_size):
                    reply = await client.upload_part(
                        Bucket=self.bucket,
                        Key=full,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=chunk,
                    )
                    parts.append({"ETag": reply["ETag"], "PartNumber": number})
                    number += 1
                    del chunk
            await client.complete_multipart_upload(
                Bucket=self.bucket, Key=full, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            # Failed or cancelled: nothing was published; drop the parts. Shielded, so a
            # cancellation of the caller does not cancel the clean-up as well.
            await asyncio.shield(self._abort(client, full, upload_id))
            raise

    async def _abort(self, client: Any, full: str, upload_id: str) -> None:
        # An abort that fails leaves parts for the bucket's lifecycle rule (docs/deployment.md).
        with contextlib.suppress(ClientError):
            await client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)

    # -- reads ----------------------------------------------------------------------------
    async def get_bytes(self, key: str) -> bytes:
        client = await self._client()
        try:
            reply = await client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _missing(exc):
                raise BlobNotFound(key) from None
            raise
        async with reply["Body"] as body:
            data: bytes = await body.read()
            return data

    async def stream(
        self, key: str, chunk_size: int = 256 * 1024, *, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        client = await self._client()
        extra: dict[str, str] = {}
        if start or end is not None:
            if end is not None and end <= start:
                if await self.size(key) is None:
                    raise BlobNotFound(key)
                return
            extra["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            reply = await client.get_object(Bucket=self.bucket, Key=self._key(key), **extra)
        except ClientError as exc:
            if _missing(exc):
                raise BlobNotFound(key) from None
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return  # start at or past the end: no bytes, like a file read
            raise
        async with reply["Body"] as body:
            while chunk := await body.read(chunk_size):
                yield chunk

    async def _head(self, key: str) -> dict[str, Any] | None:
        client = await self._client()
        try:
            head: dict[str, Any] = await client.head_object(Bucket=self.bucket, Key=self._key(key))
            return head
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    async def size(self, key: str) -> int | None:
        head = await self._head(key)
        return None if head is None else int(head["ContentLength"])

    async def modified(self, key: str) -> float | None:
        head = await self._head(key)
        return None if head is None else float(head["LastModified"].timestamp())

    async def presigned_url(self, key: str, expires_seconds: int) -> str | None:
        client = await self._client()
        url: str = await client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._key(key)},
            ExpiresIn=expires_seconds,
        )
        return url

    async def iter_keys(self, prefix: str = "") -> AsyncIterator[str]:
        client = await self._client()
        paginator = client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix) :]

    # -- deletes --------------------------------------------------------------------------
    async def delete(self, key: str) -> bool:
        # S3's DELETE answers 204 whether or not the object existed; HEAD says which.
        existed = await self._head(key) is not None
        client = await self._client()
        await client.delete_object(Bucket=self.bucket, Key=self._key(key))
        return existed

    async def delete_prefix(self, prefix: str) -> int:
        check_prefix(prefix)
        client = await self._client()
        batch: list[dict[str, str]] = []
        count = 0
        async for key in self.iter_keys(prefix):
            batch.append({"Key": self.prefix + key})
            if len(batch) == 1000:  # DeleteObjects takes at most 1000 keys
                count += await self._delete_batch(client, batch)
                batch = []
        if batch:
            count += await self._delete_batch(client, batch)
        return count

    async def _delete_batch(self, client: Any, batch: list[dict[str, str]]) -> int:
        reply = await client.delete_objects(
            Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
        )
        errors = reply.get("Errors", [])
        if errors:
            raise OSError(f"S3 refused to delete {len(errors)} objects: {errors[0]}")
        return len(batch)
