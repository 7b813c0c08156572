"""The hosted login (SPEC §2.3): the app sends the user's browser to ``/connect``, imgpro issues a
one-time code bound to the app and redirect URI, and the app's backend exchanges it for the
user — whose workspace inside the app is created by the first exchange. Also the user's side:
the apps a person has connected, and disconnecting one."""

from __future__ import annotations

import datetime as dt
from typing import Any

from imgpro import ids
from imgpro.accounts.repository import create_workspace
from imgpro.apps import connect_repository as connect_repo
from imgpro.apps import repository as repo
from imgpro.apps.models import App, AppNotFound
from imgpro.db.engine import Database
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
            app = await repo.app_by_id(conn, app_id)
        if app is None:
            raise AppNotFound("This app does not exist.")
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
            await connect_repo.insert_connect_code(
                conn,
                code_hash=ids.sha256_hex(code),
                app_id=app.id,
                user_id=user_id,
                redirect_uri=redirect_uri,
                now=now,
                expires_at=now + CODE_TTL,
            )
        return code

    async def exchange(
        self, app_id: str, code: str, redirect_uri: str, now: dt.datetime
    ) -> dict[str, str]:
        """Trade a one-time code for the user; the first exchange creates the workspace."""
        digest = ids.sha256_hex(code or "")
        async with self.db.write() as conn:
            # Single use: the UPDATE that marks it used is also the check that it wasn't.
            if not await connect_repo.claim_code(
                conn, digest, app_id=app_id, redirect_uri=redirect_uri, now=now
            ):
                raise InvalidCode(
                    "The code is invalid, expired, already used, or was issued "
                    "for another app or redirect URI."
                )
            row = await connect_repo.code_user(conn, digest)
            ws = await connect_repo.app_user_workspace(conn, row.id, app_id)
            if ws is None:
                await create_workspace(
                    conn, kind="app_user", user_id=row.id, app_id=app_id, now=now, plan="free"
                )
            elif ws.disconnected_at is not None:
                # Connecting again through the hosted login re-opens the same workspace.
                await connect_repo.reconnect_workspace(conn, ws.id)
        return {"object": "user", "id": row.id, "email": row.email}

    # -- the user's side ---------------------------------------------------------------------
    async def connections(self, user_id: str) -> list[dict[str, Any]]:
        """The apps a person has connected: app, workspace id, plan and counters."""
        async with self.db.read() as conn:
            rows = await connect_repo.connections(conn, user_id)
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
            disconnected = await connect_repo.disconnect(conn, user_id, app_id, now)
        if not disconnected:
            raise AppNotFound("This app is not connected.")
