"""API keys: ``img_live_<random>``, shown once, stored only as a SHA-256 hash.

A key acts on exactly one workspace (its owner's account) with ``read``, ``write`` or both.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass, replace

from sqlalchemy import Row

from imgpro import ids
from imgpro.clock import Clock
from imgpro.db.engine import Database
from imgpro.errors import NotFound, Unauthorized, ValidationFailed
from imgpro.keys import repository as repo
from imgpro.principal import Ability, Mode, Principal

KEY_PREFIX = "img_live_"
# Keys are written often (last_used_at); write at most once a minute per key to spare the DB.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


class KeyNotFound(NotFound):
    message = "No such key."


@dataclass(frozen=True)
class KeyInfo:
    id: str
    name: str
    display_prefix: str
    abilities: tuple[str, ...]
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def parse_abilities(text: str | list[str]) -> frozenset[Ability]:
    parts = text.split(",") if isinstance(text, str) else text
    try:
        chosen = frozenset(Ability(p.strip()) for p in parts if p.strip())
    except ValueError:
        raise ValidationFailed(
            "Abilities are read, write or both.",
            details=[{"field": "abilities", "message": "read and/or write"}],
        ) from None
    if not chosen:
        raise ValidationFailed(
            "Choose at least one ability.", details=[{"field": "abilities", "message": "required"}]
        )
    return chosen


def _abilities_text(abilities: frozenset[Ability]) -> str:
    return ",".join(sorted(a.value for a in abilities))


def _info(row: Row) -> KeyInfo:
    return KeyInfo(
        id=row.id,
        name=row.name,
        display_prefix=row.display_prefix,
        abilities=tuple(row.abilities.split(",")),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


class KeyService:
    """The API-key use cases: create (shown once), list, revoke, and resolve a presented key."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def create(
        self, *, user_id: str, workspace_id: str, name: str, abilities: frozenset[Ability]
    ) -> tuple[str, KeyInfo]:
        """Returns (the full key — shown once, never stored —, its info)."""
        name = name.strip()
        if not name or len(name) > 100:
            raise ValidationFailed(
                "A key needs a name of 1–100 characters.",
                details=[{"field": "name", "message": "1-100 characters"}],
            )
        now = self.clock.now()
        secret = KEY_PREFIX + ids.token(24)
        info = KeyInfo(
            id="key_" + ids.short_id(16),
            name=name,
            display_prefix=secret[:13],
            abilities=tuple(sorted(a.value for a in abilities)),
            created_at=now,
            last_used_at=None,
            revoked_at=None,
        )
        async with self.db.write() as conn:
            await repo.insert_key(
                conn,
                id=info.id,
                workspace_id=workspace_id,
                user_id=user_id,
                name=name,
                display_prefix=info.display_prefix,
                secret_hash=ids.sha256_hex(secret),
                abilities=_abilities_text(abilities),
                created_at=now,
            )
        return secret, info

    async def of_user(self, user_id: str) -> list[KeyInfo]:
        """A user's keys, newest first (revoked ones too: the page shows them)."""
        return [_info(r) for r in await repo.keys_of_user(self.db, user_id)]

    async def revoke(self, key_id: str, *, user_id: str | None = None) -> KeyInfo:
        """Revoke a key (idempotent). With ``user_id`` only that user's keys are reachable."""
        now = self.clock.now()
        async with self.db.write() as conn:
            row = await repo.find_key(conn, key_id, user_id)
            if row is None:
                raise KeyNotFound()
            if row.revoked_at is None:
                await repo.mark_revoked(conn, key_id, now)
        info = _info(row)
        return info if info.revoked_at else replace(info, revoked_at=now)

    async def authenticate(self, secret: str) -> Principal:
        """Resolve a presented key to its principal, or raise 401 (missing, unknown, revoked)."""
        if not secret.startswith(KEY_PREFIX) or len(secret) > 128:
            raise Unauthorized("Invalid API key.")
        digest = ids.sha256_hex(secret)
        row = await repo.key_by_hash(self.db, digest)
        # The lookup is by hash, so timing reveals nothing about the key; compare anyway in
        # constant time as a second line of defence.
        if row is None or not hmac.compare_digest(row.secret_hash, digest) or row.revoked_at:
            raise Unauthorized("Invalid API key.")
        now = self.clock.now()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            await repo.touch_last_used(self.db, row.id, now)
        return Principal(
            mode=Mode.API_KEY,
            workspace_id=row.workspace_id,
            workspace_prefix=row.prefix,
            user_id=row.user_id,
            abilities=frozenset(Ability(a) for a in row.abilities.split(",")),
        )
