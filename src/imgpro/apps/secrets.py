"""An app's machine secrets: several per app, each named, shown once, revocable (SPEC §2.3).

A secret is ``img_sk_live_<random>``; only its SHA-256 is kept (190+ bits of randomness make
a fast hash safe and the lookup an index probe). Every secret of an app has both abilities and
reaches the same places: the app's own storage (no ``X-Img-User``) and its users' workspaces.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro import ids
from imgpro.apps import repository as repo
from imgpro.apps.models import SecretInfo
from imgpro.errors import NotFound, ValidationFailed

SECRET_PREFIX = "img_sk_live_"  # noqa: S105 - a public prefix, not a secret
DEFAULT_SECRET_NAME = "default"  # noqa: S105 - a label, not a secret
# last_used_at is a hint for the owner, not an audit log: writing it on every request would
# turn every app read into a write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class SecretNotFound(NotFound):
    message = "No such secret."


def validate_secret_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed(
            "A secret needs a name of 1-100 characters.",
            details=[{"field": "name", "message": "1-100 characters"}],
        )
    return name


async def insert_secret(
    conn: AsyncConnection, app_id: str, name: str, now: dt.datetime
) -> tuple[SecretInfo, str]:
    """Create one secret inside the caller's transaction: (its info, the secret — shown once)."""
    secret = SECRET_PREFIX + ids.token(24)
    info = SecretInfo(
        id="sec_" + ids.short_id(16),
        app_id=app_id,
        name=validate_secret_name(name),
        display_prefix=secret[:16],
        created_at=now,
        last_used_at=None,
        revoked_at=None,
    )
    await repo.insert_secret(conn, info, ids.sha256_hex(secret))
    return info, secret


async def revoke_secrets(
    conn: AsyncConnection, app_id: str, now: dt.datetime, *, secret_id: str | None = None
) -> list[SecretInfo]:
    """Revoke one active secret of the app (or, without ``secret_id``, every active one);
    returns what was revoked. An unknown or already revoked id: SecretNotFound."""
    revoked = await repo.active_secrets(conn, app_id, secret_id=secret_id)
    if secret_id is not None and not revoked:
        raise SecretNotFound()
    if revoked:
        await repo.revoke_secrets(conn, [s.id for s in revoked], now)
    return revoked
