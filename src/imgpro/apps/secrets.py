"""An app's machine secrets: several per app, each named, shown once, revocable (SPEC §2.3).

A secret is ``img_sk_live_<random>``; only its SHA-256 is kept (190+ bits of randomness make
a fast hash safe and the lookup an index probe). Every secret of an app has both abilities and
reaches the same places: the app's own storage (no ``X-Img-User``) and its users' workspaces.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro import ids
from imgpro.db.tables import app_secrets
from imgpro.errors import NotFound, ValidationFailed

SECRET_PREFIX = "img_sk_live_"  # noqa: S105 - a public prefix, not a secret
DEFAULT_SECRET_NAME = "default"  # noqa: S105 - a label, not a secret
# last_used_at is a hint for the owner, not an audit log: writing it on every request would
# turn every app read into a write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class SecretNotFound(NotFound):
    message = "No such secret."


@dataclass(frozen=True)
class SecretInfo:
    id: str
    app_id: str
    name: str
    display_prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def secret_info(row: Any) -> SecretInfo:
    return SecretInfo(
        id=row.id,
        app_id=row.app_id,
        name=row.name,
        display_prefix=row.display_prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


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
    await conn.execute(
        app_secrets.insert().values(
            id=info.id,
            app_id=app_id,
            name=info.name,
            secret_hash=ids.sha256_hex(secret),
            display_prefix=info.display_prefix,
            created_at=now,
        )
    )
    return info, secret


async def list_secrets(
    conn: AsyncConnection, app_id: str, *, include_revoked: bool = False
) -> list[SecretInfo]:
    query = (
        sa.select(app_secrets)
        .where(app_secrets.c.app_id == app_id)
        .order_by(app_secrets.c.created_at, app_secrets.c.id)
    )
    if not include_revoked:
        query = query.where(app_secrets.c.revoked_at.is_(None))
    return [secret_info(r) for r in (await conn.execute(query)).all()]


async def revoke_secrets(
    conn: AsyncConnection, app_id: str, now: dt.datetime, *, secret_id: str | None = None
) -> list[SecretInfo]:
    """Revoke one active secret of the app (or, without ``secret_id``, every active one);
    returns what was revoked. An unknown or already revoked id: SecretNotFound."""
    query = sa.select(app_secrets).where(
        app_secrets.c.app_id == app_id, app_secrets.c.revoked_at.is_(None)
    )
    if secret_id is not None:
        query = query.where(app_secrets.c.id == secret_id)
    rows = (await conn.execute(query)).all()
    if secret_id is not None and not rows:
        raise SecretNotFound()
    if rows:
        await conn.execute(
            app_secrets.update()
            .where(app_secrets.c.id.in_([r.id for r in rows]))
            .values(revoked_at=now)
        )
    return [secret_info(r) for r in rows]
