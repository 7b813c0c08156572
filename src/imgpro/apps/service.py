"""App mode: registered apps, their machine secrets, hosted-login codes, their workspaces.

An app acts for a user with ``Authorization: Bearer img_sk_live_…`` plus ``X-Img-User``. It
reaches only the workspaces it created (its sandbox): one per user who connected through the
hosted login and has not disconnected. The same person in two apps has two workspaces, and
neither is the person's own account workspace.

Without ``X-Img-User`` the secret acts on the app's own storage: a workspace of kind ``app``
created with the app (owned by the app's owner, free plan, its own quotas) — how img.pro's
WordPress plugin uses an app key (SPEC §2.3).

How many apps an owner may register is plan data (``Plan.apps``, of the owner's account).
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from imgpro import ids
from imgpro.accounts.repository import create_workspace
from imgpro.apps import repository as repo
from imgpro.apps.connect import HostedLogin
from imgpro.apps.models import (
    App,
    AppLimitReached,
    AppNotFound,
    AppStats,
    OwnedApp,
    _app,
    _new_app_id,
    _Storage,
    _validate_name,
    validate_redirect_uri,
    validate_redirect_uris,
)
from imgpro.apps.secrets import (
    DEFAULT_SECRET_NAME,
    LAST_USED_RESOLUTION,
    SECRET_PREFIX,
    SecretInfo,
    insert_secret,
    revoke_secrets,
)
from imgpro.billing.plans import PlanBook
from imgpro.db.engine import Database
from imgpro.errors import (
    AppBlocked,
    AppSuspended,
    NotFound,
    Unauthorized,
    WorkspaceUnavailable,
)
from imgpro.principal import Ability, Mode, Principal

__all__ = [
    "SECRET_PREFIX",
    "App",
    "AppLimitReached",
    "AppNotFound",
    "AppService",
    "AppStats",
    "OwnedApp",
    "validate_redirect_uri",
    "validate_redirect_uris",
]


class AppService(HostedLogin):
    def __init__(self, db: Database, plans: PlanBook | None = None) -> None:
        self.db = db
        self.plans = plans or PlanBook()

    # -- the owner's side --------------------------------------------------------------------
    async def register(
        self,
        *,
        owner_user_id: str,
        name: str,
        redirect_uris: list[str],
        now: dt.datetime,
        secret_name: str = DEFAULT_SECRET_NAME,
    ) -> tuple[App, str]:
        """Returns (the app, its first secret — shown once). Creates the app's own storage
        workspace with it. Refused (403) once the owner's plan has no app left."""
        name = _validate_name(name)
        uris = validate_redirect_uris(redirect_uris)
        async with self.db.write() as conn:
            # Lock the owner's account row first (PostgreSQL; SQLite's write transaction is
            # exclusive already) so two registrations at once cannot both take the last app.
            plan = self.plans.get(await repo.lock_owner_plan(conn, owner_user_id) or "")
            registered = await repo.count_owned(conn, owner_user_id)
            if not plan.allows_apps(registered):
                raise AppLimitReached(
                    f"Your {plan.title} plan allows {plan.apps} app"
                    f"{'' if plan.apps == 1 else 's'}. Upgrade on the billing page to register "
                    "more."
                )
            for _ in range(5):
                app_id = _new_app_id()
                if not await repo.app_id_taken(conn, app_id):
                    break
            await repo.insert_app(
                conn,
                app_id=app_id,
                owner_user_id=owner_user_id,
                name=name,
                redirect_uris=uris,
                now=now,
            )
            _, secret = await insert_secret(conn, app_id, secret_name, now)
            await create_workspace(
                conn, kind="app", user_id=owner_user_id, app_id=app_id, now=now, plan="free"
            )
            app = await repo.app_by_id(conn, app_id)
        assert app is not None  # inserted above, in this transaction
        return app, secret

    async def apps_allowed(self, owner_user_id: str, plan_name: str) -> tuple[int, bool]:
        """(apps the owner has registered, whether the plan allows one more)."""
        async with self.db.read() as conn:
            registered = await repo.count_owned(conn, owner_user_id)
        return registered, self.plans.get(plan_name).allows_apps(registered)

    async def owned(self, owner_user_id: str, app_id: str) -> App:
        async with self.db.read() as conn:
            app = await repo.owned_app(conn, owner_user_id, app_id)
        if app is None:
            raise AppNotFound()
        return app

    async def list_owned(self, owner_user_id: str) -> list[OwnedApp]:
        async with self.db.read() as conn:
            return [
                OwnedApp(
                    app,
                    await repo.app_stats(conn, app.id),
                    tuple(await repo.secrets_of(conn, app.id)),
                )
                for app in await repo.owned_apps(conn, owner_user_id)
            ]

    async def create_secret(
        self, owner_user_id: str, app_id: str, name: str, now: dt.datetime
    ) -> tuple[SecretInfo, str]:
        """One more named secret for the app: (its info, the secret — shown once)."""
        await self.owned(owner_user_id, app_id)
        async with self.db.write() as conn:
            return await insert_secret(conn, app_id, name, now)

    async def revoke_secret(
        self, owner_user_id: str, app_id: str, secret_id: str, now: dt.datetime
    ) -> SecretInfo:
        """Revoke one secret; it stops working at once, the others keep working."""
        await self.owned(owner_user_id, app_id)
        async with self.db.write() as conn:
            return (await revoke_secrets(conn, app_id, now, secret_id=secret_id))[0]

    async def rotate_secret(
        self, owner_user_id: str, app_id: str, now: dt.datetime, *, secret_id: str | None = None
    ) -> str:
        """Replace a secret with a new one of the same name; the old one stops working at
        once. Without ``secret_id``, every active secret is replaced by one new secret (named
        after the first, or "default")."""
        await self.owned(owner_user_id, app_id)
        async with self.db.write() as conn:
            revoked = await revoke_secrets(conn, app_id, now, secret_id=secret_id)
            name = revoked[0].name if revoked else DEFAULT_SECRET_NAME
            _, secret = await insert_secret(conn, app_id, name, now)
            await repo.mark_secret_rotated(conn, app_id, now)
        return secret

    async def set_redirect_uris(
        self, owner_user_id: str, app_id: str, redirect_uris: list[str]
    ) -> App:
        await self.owned(owner_user_id, app_id)
        uris = validate_redirect_uris(redirect_uris)
        async with self.db.write() as conn:
            await repo.set_redirect_uris(conn, app_id, uris)
        return await self.owned(owner_user_id, app_id)

    async def set_paused(self, owner_user_id: str, app_id: str, paused: bool) -> App:
        await self.owned(owner_user_id, app_id)
        async with self.db.write() as conn:
            await repo.set_paused(conn, app_id, paused)
        return await self.owned(owner_user_id, app_id)

    # -- the operator's side -----------------------------------------------------------------
    async def set_blocked(self, app_id: str, blocked: bool) -> App:
        async with self.db.write() as conn:
            if not await repo.set_blocked(conn, app_id, blocked):
                raise AppNotFound()
            app = await repo.app_by_id(conn, app_id)
        assert app is not None  # the UPDATE above matched it, in this transaction
        return app

    async def owner_of(self, email: str) -> str:
        """The user id behind an owner's email (the operator CLI)."""
        async with self.db.read() as conn:
            user_id = await repo.user_id_by_email(conn, email.strip().lower())
        if user_id is None:
            raise NotFound(f"No account '{email}'.")
        return user_id

    async def list_all(self) -> list[tuple[App, AppStats]]:
        async with self.db.read() as conn:
            return [(app, await repo.app_stats(conn, app.id)) for app in await repo.all_apps(conn)]

    # -- authentication ------------------------------------------------------------------------
    async def authenticate(
        self, secret: str, user_header: str | None, now: dt.datetime | None = None
    ) -> Principal:
        """``img_sk_live_…`` + ``X-Img-User`` → the principal of that user's app workspace;
        without ``X-Img-User`` → the app's own storage."""
        app, storage = await self._authenticate(secret, now or dt.datetime.now(dt.UTC))
        user_id = (user_header or "").strip()
        if not user_id:
            if storage is None:  # an app registered before app storage, not yet migrated
                raise WorkspaceUnavailable("This app has no storage workspace.")
            return Principal(
                mode=Mode.APP,
                workspace_id=storage.id,
                workspace_prefix=storage.prefix,
                abilities=frozenset({Ability.READ, Ability.WRITE}),
            )
        ws = await repo.connected_workspace(self.db, user_id, app.id)
        if ws is None:  # never connected, disconnected, or another app's user: the sandbox
            raise WorkspaceUnavailable()
        return Principal(
            mode=Mode.APP,
            workspace_id=ws.id,
            workspace_prefix=ws.prefix,
            abilities=frozenset({Ability.READ, Ability.WRITE}),
            user_id=user_id,
        )

    async def authenticate_app(self, secret: str, now: dt.datetime | None = None) -> App:
        """The active app behind a secret (401 unknown or revoked, 403 blocked or paused)."""
        app, _ = await self._authenticate(secret, now or dt.datetime.now(dt.UTC))
        return app

    async def _authenticate(self, secret: str, now: dt.datetime) -> tuple[App, Any]:
        if len(secret) > 128 or not secret.startswith(SECRET_PREFIX):
            raise Unauthorized("Invalid app secret.")
        digest = ids.sha256_hex(secret)
        # Every app request comes through here: one SELECT (secret, app and the app's own
        # storage workspace), no transaction around it.
        row = await repo.secret_row(self.db, digest)
        # The lookup is by hash; compare anyway in constant time as a second line of defence.
        if (
            row is None
            or not hmac.compare_digest(row.secret_hash, digest)
            or row.revoked_at is not None
        ):
            raise Unauthorized("Invalid app secret.")
        app = _app(row)
        if app.blocked:
            raise AppBlocked("This app has been blocked by the operator.")
        if app.paused:
            raise AppSuspended("This app is paused by its owner.")
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            async with self.db.write() as conn:
                await repo.touch_secret(conn, row.secret_id, now)
        storage_ws = (
            _Storage(row.storage_id, row.storage_prefix) if row.storage_id is not None else None
        )
        return app, storage_ws
