"""Signed transform URLs: which CDN requests need a signature, and the signature itself. Pure.

When a workspace turns signed transforms on, anyone can still fetch what the Image object links
to — the untransformed URL, ``size=s|m|l|social`` and the workspace's presets — but every other
parameter set must carry ``s=<signature>``. That stops an attacker from minting thousands of
distinct variants (CPU and disk) from one public URL (ipx #44).

The algorithm (docs: /docs/transforms, with a worked example pinned by a test):

1. Take the CDN path ``/i/{prefix}/{id}.{ext}`` exactly as in the URL, e.g.
   ``/i/k3x/a8f2k4q1.jpg`` (the extension as sent: ``.png`` and ``.jpg`` sign differently).
   Whatever host or mount point serves the CDN, the path starts at ``/i/`` (``cdn_path``).
2. Take every query parameter except ``s``; sort them by name, then value; percent-encode
   names and values with RFC 3986 unreserved characters left as they are; join as
   ``name=value`` with ``&``.
3. ``message = path + "?" + joined`` (just ``path + "?"`` when nothing is left).
4. ``s = base64url(HMAC-SHA256(secret, message))`` without padding, first 32 characters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from typing import Final
from urllib.parse import quote

SIGNATURE_PARAM: Final = "s"
SIGNATURE_LENGTH: Final = 32  # 192 bits of the HMAC: far beyond guessing, short in a URL
OPEN_SIZES: Final = frozenset({"s", "m", "l", "social"})


def cdn_path(url_path: str) -> str:
    """The path a signature covers, from a CDN URL's path: ``/i/`` + its last two segments, so
    a CDN served from another base (``https://cdn.example.com/k3x/a8f2k4q1.jpg`` behind a
    proxy that maps it to ``/i/…``) signs what the server checks."""
    prefix, _, name = url_path.rstrip("/").rpartition("/")
    return f"/i/{prefix.rpartition('/')[2]}/{name}"


def canonical_message(path: str, params: Iterable[tuple[str, str]]) -> str:
    pairs = sorted((name, value) for name, value in params if name != SIGNATURE_PARAM)
    joined = "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in pairs)
    return f"{path}?{joined}"


def sign(secret: str, path: str, params: Iterable[tuple[str, str]]) -> str:
    digest = hmac.new(
        secret.encode(), canonical_message(path, params).encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")[:SIGNATURE_LENGTH]


def is_valid(secret: str, path: str, params: Iterable[tuple[str, str]]) -> bool:
    params = list(params)
    given = [value for name, value in params if name == SIGNATURE_PARAM]
    if len(given) != 1:
        return False
    expected = sign(secret, path, params)
    return hmac.compare_digest(expected.encode(), given[0].encode())


def needs_signature(params: Iterable[tuple[str, str]]) -> bool:
    """False for what stays open: no parameters, one valid ``size``, a ``preset`` (or both)."""
    seen: dict[str, list[str]] = {}
    for name, value in params:
        if name != SIGNATURE_PARAM:
            seen.setdefault(name, []).append(value)
    if not set(seen) <= {"size", "preset"}:
        return True
    if any(len(values) > 1 for values in seen.values()):
        return True
    return "size" in seen and seen["size"][0] not in OPEN_SIZES
