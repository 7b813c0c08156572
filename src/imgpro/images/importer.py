"""Fetching a source image from a URL (``POST /v1/images`` with ``{"url": …}``, SPEC §3.1).

:func:`fetch_to_file` streams the body of an http(s) URL into a temp file while hashing it. Every
connection — the first and each redirect hop — goes through :mod:`imgpro.net`'s pinned backend,
so the resolved address is checked and then dialled as-is (see that module for the policy).
Redirects are followed here, by hand, so each hop's scheme is re-checked too. Nothing from the
user's URL other than scheme/host/port/path/query is sent: no userinfo, no cookies, no auth.

Errors carry a short, non-revealing reason: :class:`~imgpro.errors.FetchFailed` (422) when the
source could not be fetched (a bad or refused URL, a timeout, a failed connection, a non-2xx
answer); :class:`~imgpro.errors.ImportFailed` (422) when it answered 2xx but its body could not
be taken (it ended before its Content-Length or the connection broke mid-body, or it was empty);
:class:`~imgpro.errors.FileTooLarge` (413).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

import anyio
import httpx

from imgpro.errors import FetchFailed, FileTooLarge, ImportFailed
from imgpro.net import (
    AddressNotAllowed,
    HostNotFound,
    check_destination,
    pinned_transport,
    policy_for,
    tls_context,
)

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

    from imgpro.settings import ImportSettings

HEAD_BYTES = 4096
CHUNK = 64 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_FILENAME = 255
_ALLOWED_SCHEMES = ("http", "https")
UNREACHABLE = "the host cannot be reached from this server"


@dataclass
class FetchedFile:
    path: Path  # temp file holding the body (caller moves/deletes it)
    size: int
    sha256: str  # hex of the body
    head: bytes  # first 4096 bytes (for type sniffing)
    filename: str | None  # last path segment of the final URL, decoded and sanitised
    content_type: str | None


def _fail(reason: str) -> FetchFailed:
    return FetchFailed(f"The source URL could not be fetched: {reason}.")


def _unusable_body(reason: str) -> ImportFailed:
    return ImportFailed(f"The source URL answered, but its body could not be imported: {reason}.")


def _checked_url(url: str | httpx.URL) -> httpx.URL:
    """Parse, refuse anything but http(s) with a host, drop userinfo and fragment."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise _fail("invalid URL") from exc
    if parsed.scheme not in _ALLOWED_SCHEMES or not parsed.host:
        raise _fail("only http and https URLs can be imported")
    try:
        return parsed.copy_with(userinfo=b"", fragment=None)
    except (httpx.InvalidURL, ValueError) as exc:  # pragma: no cover - defensive
        raise _fail("invalid URL") from exc


def _redirect_target(current: httpx.URL, location: str) -> httpx.URL:
    try:
        target = current.join(location)
    except (httpx.InvalidURL, ValueError) as exc:
        raise _fail("invalid redirect") from exc
    return _checked_url(target)


def sanitise_filename(url: httpx.URL) -> str | None:
    """Last path segment of ``url``, percent-decoded, made safe to keep as a display name."""
    raw_path = url.raw_path.split(b"?", 1)[0].decode("ascii", "replace")
    segment = unquote(raw_path.rsplit("/", 1)[-1], errors="replace")
    cleaned = "".join(
        "_" if ch in "/\\" else ch for ch in segment if ch.isprintable() and ch not in "\x00"
    ).strip()
    if cleaned in ("", ".", ".."):
        return None
    if len(cleaned) > MAX_FILENAME:
        stem, dot, ext = cleaned.rpartition(".")
        if dot and stem and 0 < len(ext) <= 16:
            cleaned = stem[: MAX_FILENAME - len(ext) - 1] + "." + ext
        else:
            cleaned = cleaned[:MAX_FILENAME]
    return cleaned


async def _decoded(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """The body, content-decoded, in chunks of at most :data:`CHUNK` bytes.

    We ask for ``identity``; a server that compresses anyway gets gzip/deflate decoded here with a
    bounded output size per step (httpx's own decoder would inflate a whole read at once, which a
    decompression bomb turns into a large allocation).
    """
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        async for chunk in response.aiter_raw(CHUNK):
            yield chunk
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise _fail("unsupported content encoding")
    inflater = zlib.decompressobj(47)  # 32 + 15: zlib or gzip header, detected automatically
    try:
        async for chunk in response.aiter_raw(CHUNK):
            data = chunk
            while data:
                out = inflater.decompress(data, CHUNK)
                if out:
                    yield out
                data = inflater.unconsumed_tail
            if inflater.eof:
                break
        tail = inflater.flush()
    except zlib.error as exc:
        raise _fail("could not decode the body") from exc
    if tail:
        yield tail


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


async def _stream_to_file(
    response: httpx.Response, dest_dir: Path, max_bytes: int
) -> tuple[Path, int, str, bytes]:
    fd, name = tempfile.mkstemp(dir=dest_dir, prefix=".import-", suffix=".part")
    path = Path(name)
    out = os.fdopen(fd, "wb")
    digest = hashlib.sha256()
    head = bytearray()
    size = 0
    try:
        async with contextlib.aclosing(_decoded(response)) as body:
            async for chunk in body:
                size += len(chunk)
                if size > max_bytes:
                    raise FileTooLarge()
                digest.update(chunk)
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                # Not abandoned on cancellation: the write ends before the file can be closed.
                await anyio.to_thread.run_sync(out.write, chunk)
        out.close()
    except BaseException:
        # Synchronous on purpose: this also runs while being cancelled (total timeout), where an
        # await would be interrupted before the file is closed and gone.
        out.close()
        _discard(path)
        raise
    return path, size, digest.hexdigest(), bytes(head)


async def _fetch(
    url: httpx.URL,
    dest_dir: Path,
    max_bytes: int,
    settings: ImportSettings,
    transport: httpx.AsyncBaseTransport,
) -> FetchedFile:
    timeout = httpx.Timeout(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.read_timeout,
        pool=settings.connect_timeout,
    )
    headers = {
        "User-Agent": settings.user_agent,
        "Accept": "image/*, */*;q=0.5",
        "Accept-Encoding": "identity",
    }
    redirects = 0
    while True:
        request = httpx.Request(
            "GET", url, headers=headers, extensions={"timeout": timeout.as_dict()}
        )
        response = await transport.handle_async_request(request)
        response.request = request
        try:
            status = response.status_code
            location = response.headers.get("location")
            if status in REDIRECT_STATUSES and location:
                if redirects >= settings.max_redirects:
                    raise _fail("too many redirects")
                redirects += 1
                url = _redirect_target(url, location)
                continue
            if not 200 <= status < 300:
                raise _fail(f"HTTP {status}")
            declared = response.headers.get("content-length")
            if declared is not None and declared.strip().isdigit() and int(declared) > max_bytes:
                raise FileTooLarge()
            try:
                path, size, sha256, head = await _stream_to_file(response, dest_dir, max_bytes)
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                # Closed before the declared Content-Length (or a chunked body's end), or
                # reset mid-body: the source answered, its bytes are incomplete. (A stall is
                # a read timeout: the source, not its body, failed.)
                raise _unusable_body("the body ended early") from exc
            try:
                await response.aclose()  # here, so a cancellation in it cannot orphan the file
            except BaseException:
                _discard(path)
                raise
            if size == 0:
                _discard(path)
                raise _unusable_body("the body was empty")
            content_type = response.headers.get("content-type")
            return FetchedFile(
                path=path,
                size=size,
                sha256=sha256,
                head=head,
                filename=sanitise_filename(url),
                content_type=(content_type.strip() or None) if content_type else None,
            )
        finally:
            await response.aclose()


async def fetch_to_file(
    url: str,
    dest_dir: Path,
    *,
    max_bytes: int,
    settings: ImportSettings,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FetchedFile:
    """Download ``url`` into a new temp file in ``dest_dir``; see the module docstring.

    ``transport`` replaces the pinned transport (tests inject one with a custom address policy);
    the address policy is then whatever that transport enforces. A passed-in transport is not
    closed. Scheme, redirect, timeout and size rules apply regardless.
    """
    parsed = _checked_url(url)
    await anyio.Path(dest_dir).mkdir(parents=True, exist_ok=True)
    own = transport is None
    active: httpx.AsyncBaseTransport | None = transport
    try:
        with anyio.fail_after(settings.total_timeout):
            if own:
                # The address check first: a refused or unknown host costs one lookup, not a
                # TLS context and a connection pool.
                await check_destination(
                    parsed.host, parsed.port or _default_port(parsed), policy_for(settings)
                )
                active = pinned_transport(settings, ssl_context=await tls_context())
            assert active is not None
            return await _fetch(parsed, dest_dir, max_bytes, settings, active)
    except (FetchFailed, ImportFailed, FileTooLarge):
        raise
    except (AddressNotAllowed, HostNotFound) as exc:
        # One answer for both: telling "no such host" from "refused address" would let a
        # caller map which internal names exist (DNS probing through the server).
        raise _fail(UNREACHABLE) from exc
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise _fail("timed out") from exc
    except httpx.TooManyRedirects as exc:  # pragma: no cover - we follow redirects ourselves
        raise _fail("too many redirects") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise _fail("connection failed") from exc
    finally:
        if own and active is not None:
            await active.aclose()


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80
