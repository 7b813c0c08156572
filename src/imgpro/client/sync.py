"""The blocking client."""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator
from typing import Any

import httpx

from imgpro.client import core
from imgpro.client.errors import ImgproConnectionError, ImgproError
from imgpro.client.models import BatchResult, Image, ImagePage, Usage


class Client:
    """``Client(base_url, api_key=None, user=None)``. ``api_key`` is an API key
    (``img_live_…``) or an app secret (``img_sk_live_…``, then ``user`` names the user to act
    for, sent as ``X-Img-User``). No key: anonymous (uploads only). ``signing_secret``: the
    workspace's signing secret (dashboard → Settings); ``url()`` then signs transform URLs."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        user: str | None = None,
        *,
        signing_secret: str | None = None,
        timeout: float = 60.0,
        retry: core.Retry | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.signing_secret = signing_secret  # signs transform URLs (``url``); never sent
        self.retry = retry or core.Retry()
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers=core.headers(api_key, user),
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(
        self, method: str, path: str, *, source: core.UploadSource | None = None, **kwargs: Any
    ) -> Any:
        for attempt in range(1, self.retry.attempts + 1):
            part = source.open() if source is not None else None
            try:
                if part is not None:
                    kwargs["files"] = {"file": part}
                response = self._http.request(method, path, **kwargs)
                return core.decode(response)
            except httpx.TransportError as e:
                error: ImgproError = ImgproConnectionError(e)
            except ImgproError as e:
                error = e
            finally:
                if part is not None and source is not None:
                    source.close(part)
            if attempt == self.retry.attempts or not core.retryable(error):
                raise error
            time.sleep(self.retry.wait(attempt, error))
        raise AssertionError("unreachable")

    # -- images --------------------------------------------------------------------------

    def upload(
        self, file: core.FileLike, *, idempotency_key: str | None = None, **fields: Any
    ) -> Image:
        """Upload a path, bytes or a binary file object; a string starting with http(s):// is
        imported from that URL. ``fields``: caption, public, ttl, metadata, labels, filename."""
        if isinstance(file, str) and file.startswith(("http://", "https://")):
            return self.import_url(file, idempotency_key=idempotency_key, **fields)
        source = core.UploadSource(file, fields.get("filename"))
        key = idempotency_key or core.new_idempotency_key()
        return Image.from_json(
            self._call(
                "POST",
                "/v1/images",
                source=source,
                data=core.form_fields(fields),
                headers={"Idempotency-Key": key, "Content-Type": core.multipart_type(key)},
            )
        )

    def import_url(self, url: str, *, idempotency_key: str | None = None, **fields: Any) -> Image:
        core.form_fields(fields)  # the same field names as an upload
        body = {"url": url, **{k: v for k, v in fields.items() if v is not None}}
        key = idempotency_key or core.new_idempotency_key()
        return Image.from_json(
            self._call("POST", "/v1/images", json=body, headers={"Idempotency-Key": key})
        )

    def get(self, image_id: str) -> Image:
        return Image.from_json(self._call("GET", f"/v1/images/{image_id}"))

    def list_page(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        labels: dict[str, str] | None = None,
        ids: builtins.list[str] | None = None,
    ) -> ImagePage:
        return ImagePage.from_json(
            self._call("GET", "/v1/images", params=core.list_params(limit, cursor, labels, ids))
        )

    def list(
        self,
        *,
        limit: int | None = 100,
        labels: dict[str, str] | None = None,
        ids: builtins.list[str] | None = None,
    ) -> Iterator[Image]:
        """Every image matching the filters, newest first, fetching page after page."""
        cursor = None
        while True:
            page = self.list_page(limit=limit, cursor=cursor, labels=labels, ids=ids)
            yield from page.data
            if not page.has_more or not page.next_cursor:
                return
            cursor = page.next_cursor

    def update(self, image_id: str, **fields: Any) -> Image:
        return Image.from_json(self._call("PATCH", f"/v1/images/{image_id}", json=fields))

    def delete(self, image_id: str) -> bool:
        return bool(self._call("DELETE", f"/v1/images/{image_id}").get("deleted"))

    def delete_many(self, ids: builtins.list[str]) -> BatchResult:
        return BatchResult.from_json(self._call("DELETE", "/v1/images/batch", json={"ids": ids}))

    def update_many(self, ids: builtins.list[str], **fields: Any) -> BatchResult:
        return BatchResult.from_json(
            self._call("PATCH", "/v1/images/batch", json={"ids": ids, "set": fields})
        )

    def original(self, image_id: str) -> bytes:
        """The stored original, byte for byte (``GET /v1/images/{id}/original``)."""
        for attempt in range(1, self.retry.attempts + 1):
            try:
                response = self._http.get(f"/v1/images/{image_id}/original")
                if response.is_success:
                    return response.content
                core.decode(response)
            except httpx.TransportError as e:
                error: ImgproError = ImgproConnectionError(e)
            except ImgproError as e:
                error = e
            if attempt == self.retry.attempts or not core.retryable(error):
                raise error
            time.sleep(self.retry.wait(attempt, error))
        raise AssertionError("unreachable")

    def usage(self) -> Usage:
        return Usage.from_json(self._call("GET", "/v1/usage"))

    def url(self, image: Image | str, **transforms: Any) -> str:
        """A CDN URL with transforms. Given an id instead of an Image, one GET finds its URL."""
        base = image.url if isinstance(image, Image) else self.get(image).url
        return core.transform_url(base, signing_secret=self.signing_secret, **transforms)
