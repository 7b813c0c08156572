"""Password hashing with Argon2id, as a configured dependency (``services.passwords``).

The costs come from Settings (``IMGPRO_PASSWORDS__…``); the defaults are argon2-cffi's, which
follow RFC 9106's low-memory recommendation. Tests pass cheaper costs the same way."""

from __future__ import annotations

from functools import cached_property

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from imgpro.settings import PasswordSettings


class PasswordHasher:
    """Hash and verify passwords. Blocking (~0.1 s of CPU by design): call from a thread."""

    def __init__(self, settings: PasswordSettings) -> None:
        self._argon2 = argon2.PasswordHasher(
            time_cost=settings.time_cost,
            memory_cost=settings.memory_cost_kib,
            parallelism=settings.parallelism,
        )

    @cached_property
    def _dummy_hash(self) -> str:
        # Verified against when the email is unknown, so a miss costs the same time as a hit.
        return self._argon2.hash("imgpro-timing-equaliser")

    def hash(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """``stored_hash`` None (no such user) or "" (a passwordless account) never matches,
        after the same Argon2 work as a real check."""
        try:
            return self._argon2.verify(stored_hash or self._dummy_hash, password) and bool(
                stored_hash
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
