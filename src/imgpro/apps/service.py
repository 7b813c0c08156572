"""App mode: registered apps, their machine secret, hosted-login codes and per-user workspaces.

An app acts for a user with ``Authorization: Bearer img_sk_live_…`` plus ``X-Img-User``. It
reaches only the workspaces it created (its sandbox): one per user who connected through the
hosted login and has not disconnected. The same person in two apps has two workspaces, and
neither is the person's own account workspace.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro import ids
from imgpro.accounts.service import create_workspace
from imgpro.apps.redirect_uris import is_well_formed
from imgpro.db.engine import Database
from imgpro.db.tables import apps, connect_codes, users, workspaces
from imgpro.errors import (
    AppBlocked,
    AppSuspended,
    BadRequest,
    Forbidden,
    InvalidCode,
    NotFound,
    Unauthorized,
    ValidationFailed,
    WorkspaceUnavailable,
)
from imgpro.principal import Ability, Mode, Principal

SECRET_PREFIX = "img_sk_live_"  # noqa: S105 - a public prefix, not a secret
CODE_TTL = dt.timedelta(minutes=10)
MAX_REDIRECT_URIS = 10
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


class AppNotFound(NotFound):
    message = "No such app."


@dataclass(frozen=True)
class App:
    id: str
    owner_user_id: str
    name: str
    secret_prefix: str
    redirect_uris: tuple[str, ...]
    paused: bool
    blocked: bool
    created_at: dt.datetime

    @property
    def status(self) -> str:
        return "blocked" if self.blocked else "paused" if self.paused else "active"


@dataclass(frozen=True)
class AppStats:
    connected_users: int
    images: int
    storage_bytes: int


def _app(row: Any) -> App:
    return App(id=row.id, owner_user_id=row.owner_user_id, name=row.name,
               secret_prefix=row.secret_prefix, redirect_uris=tuple(row.redirect_uris or ()),
               paused=bool(row.paused), blocked=bool(row.blocked), created_at=row.created_at)


def _new_app_id() -> str:
    return ids.image_id()  # 8 chars [a-z0-9], same alphabet as image ids


def validate_redirect_uri(uri: str) -> str:
    """Exact URIs only: https anywhere, or http on localhost; no fragments, no wildcards."""
    uri = uri.strip()
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    ok = (
        len(uri) <= 2000
        and parts.netloc
        and not parts.fragment
        and "*" not in uri
        and (parts.scheme == "https" or (parts.scheme == "http" and host in LOCAL_HOSTS))
        and not parts.username and not parts.password
        # The strict grammar: the URI is pasted into a Location and a CSP header later.
        and is_well_formed(uri)
    )
    if not ok:
        raise ValidationFailed(
            f"Redirect URI {uri!r} must be https (or http on localhost), without a fragment.",
            details=[{"field": "redirect_uris", "message": "https, or http on localhost"}])
    return uri


def validate_redirect_uris(uris: list[str]) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(validate_redirect_uri(u) for u in uris if u.strip()))
    if not cleaned or len(cleaned) > MAX_REDIRECT_URIS:
        raise ValidationFailed(
            f"List 1 to {MAX_REDIRECT_URIS} redirect URIs.",
            details=[{"field": "redirect_uris", "message": f"1-{MAX_REDIRECT_URIS} URIs"}])
    return cleaned


def _validate_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed("An app needs a name of 1-100 characters.",
                               details=[{"field": "name", "message": "1-100 characters"}])
    return name


def _new_secret() -> tuple[str, str, str]:
    secret = SECRET_PREFIX + ids.token(24)
    return secret, ids.sha256_hex(secret), secret[:16]


class AppService:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- the owner's side --------------------------------------------------------------------
    async def register(self, *, owner_user_id: str, name: str, redirect_uris: list[str],
                       plan_allows_apps: bool, now: dt.datetime) -> tuple[App, str]:
        """Returns (the app, its secret — shown once)."""
        if not plan_allows_apps:
            raise Forbidden("Apps need a paid plan. Upgrade on the billing page.")
        name = _validate_name(name)
        uris = validate_redirect_uris(redirect_uris)
        secret, digest, prefix = _new_secret()
        async with self.db.write() as conn:
            for _ in range(5):
                app_id = _new_app_id()
                taken = await conn.scalar(sa.select(apps.c.id).where(apps.c.id == app_id))
                if taken is None:
                    break
            await conn.execute(apps.insert().values(
                id=app_id, owner_user_id=owner_user_id, name=name, secret_hash=digest,
                secret_prefix=prefix, redirect_uris=list(uris), created_at=now))
            row = (await conn.execute(sa.select(apps).where(apps.c.id == app_id))).one()
        return _app(row), secret

    async def owned(self, owner_user_id: str, app_id: str) -> App:
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(apps).where(
                apps.c.id == app_id, apps.c.owner_user_id == owner_user_id))).first()
        if row is None:
            raise AppNotFound()
        return _app(row)

    async def list_owned(self, owner_user_id: str) -> list[tuple[App, AppStats]]:
        async with self.db.read() as conn:
            rows = (await conn.execute(sa.select(apps).where(
                apps.c.owner_user_id == owner_user_id).order_by(apps.c.created_at))).all()
            out = []
            for row in rows:
                out.append((_app(row), await self._stats(conn, row.id)))
        return out

    async def _stats(self, conn: AsyncConnection, app_id: str) -> AppStats:
        users_count = await conn.scalar(sa.select(sa.func.count()).select_from(workspaces).where(
            workspaces.c.app_id == app_id, workspaces.c.kind == "app_user",
            workspaces.c.disconnected_at.is_(None)))
        totals = (await conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(workspaces.c.images_count), 0),
                      sa.func.coalesce(sa.func.sum(workspaces.c.storage_used), 0))
            .where(workspaces.c.app_id == app_id, workspaces.c.kind == "app_user"))).one()
        return AppStats(connected_users=int(users_count or 0), images=int(totals[0]),
                        storage_bytes=int(totals[1]))

    async def rotate_secret(self, owner_user_id: str, app_id: str, now: dt.datetime) -> str:
        """A new secret; the old one stops working at once."""
        await self.owned(owner_user_id, app_id)
        secret, digest, prefix = _new_secret()
        async with self.db.write() as conn:
            await conn.execute(apps.update().where(apps.c.id == app_id).values(
                secret_hash=digest, secret_prefix=prefix, secret_rotated_at=now))
        return secret

    async def set_redirect_uris(self, owner_user_id: str, app_id: str,
                                redirect_uris: list[str]) -> App:
        await self.owned(owner_user_id, app_id)
        uris = validate_redirect_uris(redirect_uris)
        async with self.db.write() as conn:
            await conn.execute(apps.update().where(apps.c.id == app_id)
                               .values(redirect_uris=list(uris)))
        return await self.owned(owner_user_id, app_id)

    async def set_paused(self, owner_user_id: str, app_id: str, paused: bool) -> App:
        await self.owned(owner_user_id, app_id)
        async with self.db.write() as conn:
            await conn.execute(apps.update().where(apps.c.id == app_id).values(paused=paused))
        return await self.owned(owner_user_id, app_id)

    # -- the operator's side -----------------------------------------------------------------
    async def set_blocked(self, app_id: str, blocked: bool) -> App:
        async with self.db.write() as conn:
            result = await conn.execute(apps.update().where(apps.c.id == app_id)
                                        .values(blocked=blocked))
            if result.rowcount != 1:
                raise AppNotFound()
            row = (await conn.execute(sa.select(apps).where(apps.c.id == app_id))).one()
        return _app(row)

    async def list_all(self) -> list[tuple[App, AppStats]]:
        async with self.db.read() as conn:
            rows = (await conn.execute(sa.select(apps).order_by(apps.c.created_at))).all()
            return [(_app(r), await self._stats(conn, r.id)) for r in rows]

    # -- hosted login ------------------------------------------------------------------------
    async def app_for_connect(self, app_id: str, redirect_uri: str) -> App:
        """The app a hosted-login request names, if the request is acceptable. The page shows
        these errors itself and never redirects to an unregistered URI."""
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(apps).where(apps.c.id == app_id))).first()
        if row is None:
            raise AppNotFound("This app does not exist.")
        app = _app(row)
        if redirect_uri not in app.redirect_uris:  # exact match, nothing looser
            raise BadRequest("This redirect URI is not registered for the app.")
        if app.blocked:
            raise AppBlocked()
        if app.paused:
            raise AppSuspended()
        return app

    async def issue_code(self, app: App, user_id: str, redirect_uri: str,
                         now: dt.datetime) -> str:
        code = ids.token(32)
        async with self.db.write() as conn:
            await conn.execute(connect_codes.insert().values(
                code_hash=ids.sha256_hex(code), app_id=app.id, user_id=user_id,
                redirect_uri=redirect_uri, created_at=now, expires_at=now + CODE_TTL))
        return code

    async def exchange(self, app_id: str, code: str, redirect_uri: str,
                       now: dt.datetime) -> dict[str, str]:
        """Trade a one-time code for the user; the first exchange creates the workspace."""
        digest = ids.sha256_hex(code or "")
        async with self.db.write() as conn:
            # Single use: the UPDATE that marks it used is also the check that it wasn't.
            claimed = await conn.execute(connect_codes.update().where(
                connect_codes.c.code_hash == digest, connect_codes.c.used_at.is_(None),
                connect_codes.c.expires_at > now, connect_codes.c.app_id == app_id,
                connect_codes.c.redirect_uri == redirect_uri).values(used_at=now))
            if claimed.rowcount != 1:
                raise InvalidCode("The code is invalid, expired, already used, or was issued "
                                  "for another app or redirect URI.")
            row = (await conn.execute(
                sa.select(users.c.id, users.c.email).join(
                    connect_codes, connect_codes.c.user_id == users.c.id)
                .where(connect_codes.c.code_hash == digest))).one()
            ws = (await conn.execute(sa.select(workspaces).where(
                workspaces.c.user_id == row.id, workspaces.c.app_id == app_id,
                workspaces.c.kind == "app_user"))).first()
            if ws is None:
                await create_workspace(conn, kind="app_user", user_id=row.id, app_id=app_id,
                                       now=now, plan="free")
            elif ws.disconnected_at is not None:
                # Connecting again through the hosted login re-opens the same workspace.
                await conn.execute(workspaces.update().where(workspaces.c.id == ws.id)
                                   .values(disconnected_at=None))
        return {"object": "user", "id": row.id, "email": row.email}

    # -- the user's side ---------------------------------------------------------------------
    async def connections(self, user_id: str) -> list[dict[str, Any]]:
        """The apps a person has connected: app, workspace id, plan and counters."""
        async with self.db.read() as conn:
            rows = (await conn.execute(
                sa.select(workspaces, apps.c.name.label("app_name"))
                .join(apps, apps.c.id == workspaces.c.app_id)
                .where(workspaces.c.user_id == user_id, workspaces.c.kind == "app_user",
                       workspaces.c.disconnected_at.is_(None))
                .order_by(workspaces.c.created_at))).all()
        return [{"app_id": r.app_id, "app_name": r.app_name, "workspace_id": r.id,
                 "plan": r.plan, "images": r.images_count, "storage_bytes": r.storage_used}
                for r in rows]

    async def disconnect(self, user_id: str, app_id: str, now: dt.datetime) -> None:
        async with self.db.write() as conn:
            result = await conn.execute(workspaces.update().where(
                workspaces.c.user_id == user_id, workspaces.c.app_id == app_id,
                workspaces.c.kind == "app_user", workspaces.c.disconnected_at.is_(None))
                .values(disconnected_at=now))
        if result.rowcount != 1:
            raise AppNotFound("This app is not connected.")

    # -- authentication ------------------------------------------------------------------------
    async def authenticate(self, secret: str, user_header: str | None) -> Principal:
        """``img_sk_live_…`` + ``X-Img-User`` → the principal of that user's app workspace."""
        app = await self.authenticate_app(secret)
        user_id = (user_header or "").strip()
        if not user_id:
            raise BadRequest("App requests must name the user in the X-Img-User header.")
        ws = await self.db.fetch_first(sa.select(workspaces.c.id, workspaces.c.prefix).where(
            workspaces.c.user_id == user_id, workspaces.c.app_id == app.id,
            workspaces.c.kind == "app_user", workspaces.c.disconnected_at.is_(None)))
        if ws is None:  # never connected, disconnected, or another app's user: the sandbox
            raise WorkspaceUnavailable()
        return Principal(mode=Mode.APP, workspace_id=ws.id, workspace_prefix=ws.prefix,
                         abilities=frozenset({Ability.READ, Ability.WRITE}),
                         credential_id=app.id, user_id=user_id)

    async def authenticate_app(self, secret: str) -> App:
        """The active app behind a secret (401 unknown, 403 blocked or paused)."""
        if len(secret) > 128:
            raise Unauthorized("Invalid app secret.")
        digest = ids.sha256_hex(secret)
        # Every app request comes through here: one SELECT, no transaction around it.
        row = await self.db.fetch_first(sa.select(apps).where(apps.c.secret_hash == digest))
        if row is None or not hmac.compare_digest(row.secret_hash, digest):
            raise Unauthorized("Invalid app secret.")
        app = _app(row)
        if app.blocked:
            raise AppBlocked("This app has been blocked by the operator.")
        if app.paused:
            raise AppSuspended("This app is paused by its owner.")
        return app


