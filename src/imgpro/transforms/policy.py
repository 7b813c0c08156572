"""A workspace's delivery policy: whether transforms must be signed, and the signing secret.

The secret is an HMAC key, so the server must keep it readable (a hash would not let us verify
signatures); it is shown to the owner once, when created or rotated, and never again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imgpro import ids
from imgpro.clock import iso
from imgpro.transforms import repository

SECRET_PREFIX = "img_sig_"  # noqa: S105 - a prefix that marks the kind of secret, not a secret


@dataclass(frozen=True)
class TransformPolicy:
    signed_transforms: bool
    secret: str | None  # None until the first rotation
    updated_at: str | None

    def as_object(self) -> dict[str, Any]:
        return {
            "object": "settings",
            "signed_transforms": self.signed_transforms,
            "signing_secret_set": self.secret is not None,
        }


NO_POLICY = TransformPolicy(signed_transforms=False, secret=None, updated_at=None)


class TransformPolicyService:
    def __init__(self, db: Any, clock: Any) -> None:
        self._db = db
        self._clock = clock

    async def get(self, workspace_id: str) -> TransformPolicy:
        row = await repository.find_settings(self._db, workspace_id)
        if row is None:
            return NO_POLICY
        return TransformPolicy(bool(row.signed_transforms), row.signing_secret, iso(row.updated_at))

    async def set_signed(
        self, workspace_id: str, signed: bool
    ) -> tuple[TransformPolicy, str | None]:
        """Turn signing on or off; turning it on the first time creates the secret, which is
        returned (the only time it is shown) as the second value."""
        current = await self.get(workspace_id)
        new_secret = None
        if signed and current.secret is None:
            new_secret = SECRET_PREFIX + ids.token(32)
        async with self._db.write() as conn:
            await repository.save_settings(
                conn, workspace_id, now=self._clock.now(), signed=signed, secret=new_secret
            )
        return await self.get(workspace_id), new_secret

    async def rotate_secret(self, workspace_id: str) -> str:
        """A new signing secret, replacing the old one at once (old signatures stop working)."""
        secret = SECRET_PREFIX + ids.token(32)
        async with self._db.write() as conn:
            await repository.save_settings(conn, workspace_id, now=self._clock.now(), secret=secret)
        return secret
