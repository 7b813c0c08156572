"""The hosted login (SPEC §2.3): the app sends the user's browser to ``/connect``, imgpro issues a
one-time code bound to the app and redirect URI, and the app's backend exchanges it for the
user — whose workspace inside the app is created by the first exchange. Also the user's side:
the apps a person has connected, and disconnecting one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from imgpro import ids
from imgpro.accounts.repository import create_workspace
from imgpro.apps.models import App, AppNotFound, _app
from imgpro.db.engine import Database
from imgpro.db.tables import apps, connect_codes, users, workspaces
from imgpro.errors import AppBlocked, AppSuspended, BadRequest, InvalidCode

CODE_TTL = dt.timedelta(minutes=10)


class HostedLogin:
    """The hosted-login half of :class:`~imgpro.apps.service.AppService`."""

    db: Database

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

    async def issue_code(self, app: App, user_id: str, redirect_uri: str, now: dt.datetime) -> str:
        code = ids.token(32)
        async with self.db.write() as conn:
            await conn.execute(
                connect_codes.insert().values(
                    code_hash=ids.sha256_hex(code),
                    app_id=app.id,
                    user_id=user_id,
                    redirect_uri=redirect_uri,
                    created_at=now,
                    expires_at=now + CODE_TTL,
                )
            )
        return code

    async def exchange(
        self, app_id: str, code: str, redirect_uri: str, now: dt.datetime
    ) -> dict[str, str]:
        """Trade a one-time code for the user; the first exchange creates the workspace."""
        digest = ids.sha256_hex(code or "")
        async with self.db.write() as conn:
            # Single use: the UPDATE that marks it used is also the check that it wasn't.
            claimed = await conn.execute(
                connect_codes.update()
                .where(
                    connect_codes.c.code_hash == digest,
                    connect_codes.c.used_at.is_(None),
                    connect_codes.c.expires_at > now,
                    connect_codes.c.app_id == app_id,
                    connect_codes.c.redirect_uri == redirect_uri,
                )
                .values(used_at=now)
            )
            if claimed.rowcount != 1:
                raise InvalidCode(
                    "The code is invalid, expired, already used, or was issued "
                    "for another app or redirect URI."
                )
            row = (
                await conn.execute(
                    sa.select(users.c.id, users.c.email)
                    .join(connect_codes, connect_codes.c.user_id == users.c.id)
                    .where(connect_codes.c.code_hash == digest)
                )
            ).one()
            ws = (
                await conn.execute(
                    sa.select(workspaces).where(
                        workspaces.c.user_id == row.id,
                        workspaces.c.app_id == app_id,
                        workspaces.c.kind == "app_user",
                    )
                )
            ).first()
            if ws is None:
                await create_workspace(
                    conn, kind="app_user", user_id=row.id, app_id=app_id, now=now, plan="free"
                )
            elif ws.disconnected_at is not None:
                # Connecting again through the hosted login re-opens the same workspace.
                await conn.execute(
                    workspaces.update().where(workspaces.c.id == ws.id).values(disconnected_at=None)
                )
        return {"object": "user", "id": row.id, "email": row.email}

    # -- the user's side ---------------------------------------------------------------------
    async def connections(self, user_id: str) -> list[dict[str, Any]]:
        """The apps a person has connected: app, workspace id, plan and counters."""
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(workspaces, apps.c.name.label("app_name"))
                    .join(apps, apps.c.id == workspaces.c.app_id)
                    .where(
                        workspaces.c.user_id == user_id,
                        workspaces.c.kind == "app_user",
                        workspaces.c.disconnected_at.is_(None),
                    )
                    .order_by(workspaces.c.created_at)
                )
            ).all()
        return [
            {
                "app_id": r.app_id,
                "app_name": r.app_name,
                "workspace_id": r.id,
                "plan": r.plan,
                "images": r.images_count,
                "storage_bytes": r.storage_used,
            }
            for r in rows
        ]

    async def disconnect(self, user_id: str, app_id: str, now: dt.datetime) -> None:
        async with self.db.write() as conn:
            result = await conn.execute(
                workspaces.update()
                .where(
                    workspaces.c.user_id == user_id,
                    workspaces.c.app_id == app_id,
                    workspaces.c.kind == "app_user",
                    workspaces.c.disconnected_at.is_(None),
                )
                .values(disconnected_at=now)
            )
        if result.rowcount != 1:
            raise AppNotFound("This app is not connected.")
