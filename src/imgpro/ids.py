"""Identifiers and secrets, all from the OS CSPRNG (``secrets``)."""

from __future__ import annotations

import hashlib
import secrets
import string

ALPHABET = string.ascii_lowercase + string.digits
DIGITS = string.digits


def image_id() -> str:
    """8 chars of [a-z0-9] with at least one digit, so an id never collides with a page name
    such as ``/pricing`` or ``/dashboard``."""
    while True:
        value = "".join(secrets.choice(ALPHABET) for _ in range(8))
        if any(c in DIGITS for c in value):
            return value


def short_id(length: int = 12) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def shard_prefix(workspace_id: str) -> str:
    """The 3-char CDN path segment of a workspace: derived, stable, [a-z0-9]."""
    n = int.from_bytes(hashlib.sha256(workspace_id.encode()).digest()[:8], "big")
    out = []
    for _ in range(3):
        n, r = divmod(n, 36)
        out.append(ALPHABET[r])
    return "".join(out)


def token(nbytes: int = 24) -> str:
    """A URL-safe random secret (``nbytes`` of entropy)."""
    return secrets.token_urlsafe(nbytes)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
