"""What Client and AsyncClient share: headers, upload bodies, the retry policy, response
decoding and the transform-URL builder. No I/O policy of its own beyond a file's bytes."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import random
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode, urlsplit

import httpx

from imgpro.client.errors import ImgproError
from imgpro.transforms import signing  # pure stdlib: the one definition of the algorithm

UPLOAD_FIELDS = ("caption", "public", "ttl", "metadata", "labels", "filename")
FileLike = str | os.PathLike[str] | bytes | bytearray | IO[bytes]


@dataclass(frozen=True)
class Retry:
    """Retries of connection errors, 429 and 5xx. Writes are safe to retry: POST carries an
    Idempotency-Key, PATCH replaces fields, DELETE of a deleted image is still a success."""

    attempts: int = 4  # in all, the first one included
    backoff: float = 0.5  # seconds before the 2nd attempt; doubles, with jitter
    max_wait: float = 30.0  # cap on any one wait, Retry-After included

    def wait(self, attempt: int, error: ImgproError | None) -> float:
        hinted = error.retry_after if error is not None else None
        if hinted is not None:
            return min(max(hinted, 0.0), self.max_wait)
        return min(
            self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random()),  # noqa: S311
            self.max_wait,
        )


def retryable(error: ImgproError) -> bool:
    return (
        error.status == 0
        or error.status == 429
        or error.status >= 500
        or error.code == "idempotency_key_in_progress"
    )


def headers(api_key: str | None, user: str | None) -> dict[str, str]:
    out = {"Accept": "application/json", "User-Agent": "imgpro-python"}
    if api_key:
        out["Authorization"] = f"Bearer {api_key}"
    if user:
        out["X-Img-User"] = user
    return out


def new_idempotency_key() -> str:
    return f"imgpro-py-{uuid.uuid4()}"


def multipart_type(idempotency_key: str) -> str:
    """One multipart boundary per Idempotency-Key: every retry sends the same bytes, so even a
    server that compares raw bodies (imgpro before 0.2) recognises it as a retry."""
    boundary = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"multipart/form-data; boundary=imgpro-{boundary}"


def form_fields(fields: dict[str, Any]) -> dict[str, str]:
    """Upload options as multipart fields: objects as JSON, booleans as true/false."""
    unknown = set(fields) - set(UPLOAD_FIELDS)
    if unknown:
        raise TypeError(f"unknown upload fields: {', '.join(sorted(unknown))}")
    out: dict[str, str] = {}
    for name, value in fields.items():
        if value is None or name == "filename":
            continue
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, dict):
            out[name] = json.dumps(value)
        else:
            out[name] = str(value)
    return out


class UploadSource:
    """A file to upload, re-readable for every attempt: a path is reopened, bytes and file
    objects are kept in memory (a file object cannot be rewound in general)."""

    def __init__(self, file: FileLike, filename: str | None) -> None:
        self.path: Path | None = None
        self.data: bytes | None = None
        if isinstance(file, str | os.PathLike):
            self.path = Path(file)
            default_name = self.path.name
        elif isinstance(file, bytes | bytearray):
            self.data = bytes(file)
            default_name = ""
        else:
            self.data = file.read()
            name = getattr(file, "name", None)
            default_name = Path(name).name if isinstance(name, str) else ""
        # No name: the part goes with an empty filename and the server names the image
        # ``{id}.{format}`` (SPEC §4), instead of an invented "upload" without an extension.
        self.filename = filename or default_name
        self.content_type = mimetypes.guess_type(self.filename)[0] or "application/octet-stream"

    def open(self) -> tuple[str, Any, str]:
        body = self.path.open("rb") if self.path is not None else self.data
        return (self.filename, body, self.content_type)

    def close(self, part: tuple[str, Any, str]) -> None:
        if hasattr(part[1], "close"):
            part[1].close()


def decode(response: httpx.Response) -> Any:
    """The JSON of a 2xx answer; an ImgproError otherwise."""
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if response.is_success:
        return body
    raise ImgproError(response.status_code, body, dict(response.headers))


def list_params(
    limit: int | None, cursor: str | None, labels: dict[str, str] | None, ids: list[str] | None
) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    if limit is not None:
        params.append(("limit", str(limit)))
    if cursor:
        params.append(("cursor", cursor))
    for key, value in (labels or {}).items():
        params.append((f"label[{key}]", value))
    if ids:
        params.append(("ids", ",".join(ids)))
    return params


def transform_url(url: str, **transforms: Any) -> str:
    """``url`` with CDN transform parameters (SPEC §5): ``transform_url(u, w=600, fit="cover")``.
    ``None`` values are left out; booleans are not parameters the CDN knows.

    With the workspace's ``signing_secret`` (dashboard → Settings), a parameter set outside
    the open set (plain, one ``size``, a ``preset``) gets its ``s=`` signature, as the CDN
    requires when the workspace turns signed transforms on; open URLs stay unsigned."""
    signing_secret = transforms.pop("signing_secret", None)  # not a CDN parameter
    base = url.split("?", 1)[0]
    params = [(k, _value(v)) for k, v in transforms.items() if v is not None]
    if signing_secret and signing.needs_signature(params):
        path = signing.cdn_path(urlsplit(base).path)
        params.append((signing.SIGNATURE_PARAM, signing.sign(str(signing_secret), path, params)))
    return f"{base}?{urlencode(params)}" if params else base


def _value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
