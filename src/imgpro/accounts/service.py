"""The account use cases: creating users, password sign-in, browser sessions, and the
operator's chores (list accounts, set a password, delete an account with everything it
owns). All SQL is in repository.py and deletion_repository.py; passwords go through the
configured ``PasswordHasher``.

Sessions are server-side rows keyed by a hash of the cookie's token: the cookie carries 256
random bits, the database keeps only their SHA-256, so a leaked table (or backup) cannot be
replayed as a cookie. Logging out deletes the row, so a copied cookie is dead at once. Every
login mints a new token (session rotation: a token planted before login is never promoted to a
signed-in session).

Passwords are checked with Argon2id off the event loop; an unknown email is checked against a
dummy hash so it costs the same time as a wrong password (no user enumeration by timing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro import ids
from imgpro.accounts import deletion_repository as deletion_repo
from imgpro.accounts import repository as repo
from imgpro.accounts.models import Deletion, SessionUser, User, UserRow
from imgpro.accounts.passwords import PasswordHasher
from imgpro.accounts.sessions import (
    MAX_PASSWORD,
    SESSION_IDLE,
    SESSION_LIFETIME,
    TOUCH_RESOLUTION,
    token_hash,
)
from imgpro.apps import connect_repository as connect_repo
from imgpro.apps import repository as apps_repo
from imgpro.billing import repository as billing_repo
from imgpro.clock import Clock
from imgpro.db.engine import Database
from imgpro.errors import NotFound, ValidationFailed
from imgpro.images import repository as image_repo
from imgpro.keys import repository as key_repo
from imgpro.transforms import repository as transform_repo

__all__ = [
    "AccountService",
    "EmailTaken",
    "User",
    "UserNotFound",
    "check_new_password",
    "normalise_email",
]

DELETE_BATCH = 200


class EmailTaken(ValidationFailed):
    message = "An account with this email already exists."


class UserNotFound(NotFound):
    message = "No such account."


def normalise_email(email: str) -> str:
    email = email.strip()
    local, sep, domain = email.rpartition("@")
    if not sep or not local or "." not in domain or len(email) > 320 or " " in email:
        raise ValidationFailed(
            "Enter a valid email address.", details=[{"field": "email", "message": "invalid email"}]
        )
    # Lower-cased whole: two accounts differing only in case would be a support nightmare.
    return email.lower()


def check_new_password(password: str) -> None:
    if len(password) < 8:
        raise ValidationFailed(
            "Password must be at least 8 characters.",
            details=[{"field": "password", "message": "too short"}],
        )
    if len(password) > MAX_PASSWORD:  # Argon2 takes any length; refuse absurd inputs first
        raise ValidationFailed(
            "Use a password of at most 1024 characters.",
            details=[{"field": "password", "message": "too long"}],
        )


class AccountService:
    def __init__(self, db: Database, clock: Clock, passwords: PasswordHasher) -> None:
        self.db = db
        self.clock = clock
        self.passwords = passwords

    # -- accounts ---------------------------------------------------------------------------

    async def create_user(
        self, email: str, password: str | None, *, plan: str = "free", verified: bool = False
    ) -> User:
        """``password=None`` makes a passwordless account (a code sign-in): it has no password
        that anything could match until its owner sets one. ``verified`` says the address was
        proven (a code sign-in) or vouched for; otherwise a verification link is due."""
        email = normalise_email(email)
        password_hash = ""
        if password is not None:
            check_new_password(password)
            # Argon2 takes ~0.1 s of CPU on purpose: keep it off the event loop.
            password_hash = await asyncio.to_thread(self.passwords.hash, password)
        now = self.clock.now()
        user_id = ids.short_id(12)
        try:
            async with self.db.write() as conn:
                await repo.insert_user(
                    conn,
                    user_id=user_id,
                    email=email,
                    password_hash=password_hash,
                    now=now,
                    verified=verified,
                )
                wid = await repo.create_workspace(
                    conn, kind="account", user_id=user_id, now=now, plan=plan
                )
        except IntegrityError:
            raise EmailTaken() from None
        return User(id=user_id, email=email, workspace_id=wid, created_at=now)

    async def find_by_email(self, email: str) -> User | None:
        async with self.db.read() as conn:
            return await repo.find_user_by_email(conn, normalise_email(email))

    async def authenticate(self, email: str, password: str) -> User | None:
        """The user whose email and password these are, or None — for every kind of miss."""
        try:
            email = normalise_email(email)
        except ValidationFailed:
            email = ""
        row = None
        if email and len(password) <= MAX_PASSWORD:
            row = await repo.login_row(self.db, email)
        # Always pay for one Argon2 verification, hit or miss (the dummy hash stands in).
        ok = await asyncio.to_thread(
            self.passwords.verify, row.password_hash if row else None, password[:MAX_PASSWORD]
        )
        if row is None or not ok:
            return None
        return User(id=row.id, email=row.email, workspace_id=row.wid, created_at=row.created_at)

    async def owned_workspace_plan(self, workspace_id: str, user_id: str) -> str | None:
        """The plan of ``workspace_id`` if ``user_id`` owns it (their account's own workspace
        or their workspace inside an app), else None — one answer for "missing" and "not
        yours"."""
        return await repo.owned_workspace_plan(self.db, workspace_id, user_id)

    # -- sessions ---------------------------------------------------------------------------

    async def start_session(self, user_id: str, *, replaces: str | None = None) -> str:
        """Create a session for ``user_id``; returns the cookie token (never stored).

        ``replaces`` is the token the browser presented before (if any): it is deleted, so a
        login always ends with a fresh token. Expired sessions of this user are swept on the
        way."""
        now = self.clock.now()
        token = ids.token(32)
        async with self.db.write() as conn:
            if replaces:
                await repo.delete_session(conn, token_hash(replaces))
            await repo.delete_dead_sessions(conn, user_id, now=now, idle_since=now - SESSION_IDLE)
            await repo.insert_session(
                conn,
                digest=token_hash(token),
                user_id=user_id,
                now=now,
                expires_at=now + SESSION_LIFETIME,
            )
        return token

    async def load_session(self, token: str) -> SessionUser | None:
        """The live session behind a cookie token, or None (unknown, expired or idle too
        long)."""
        if not token or len(token) > 128:
            return None
        now = self.clock.now()
        digest = token_hash(token)
        row = await repo.session_row(self.db, digest)
        if row is None:
            return None
        if row.expires_at <= now or row.last_seen_at <= now - SESSION_IDLE:
            await self.end_session(token)
            return None
        if now - row.last_seen_at >= TOUCH_RESOLUTION:
            await repo.touch_session(self.db, digest, now)
        return SessionUser(
            user_id=row.id,
            email=row.email,
            workspace_id=row.wid,
            workspace_prefix=row.prefix,
            plan=row.plan,
            verified=row.email_verified_at is not None,
        )

    async def end_session(self, token: str) -> None:
        """Log out: the row goes, so the cookie is worthless even if someone copied it."""
        async with self.db.write() as conn:
            await repo.delete_session(conn, token_hash(token))

    # -- the operator's chores (`imgpro users …`) -------------------------------------------

    async def list_users(self) -> list[UserRow]:
        """Every account, oldest first, with its own workspace's plan and counters."""
        return [
            UserRow(
                id=r.id,
                email=r.email,
                created_at=r.created_at,
                plan=r.plan,
                images=int(r.images_count),
                storage_bytes=int(r.storage_used),
                keys=int(r.keys),
            )
            for r in await repo.account_rows(self.db)
        ]

    async def _user_id(self, conn: Any, email: str) -> tuple[str, str]:
        found = await repo.user_id_by_email(conn, normalise_email(email))
        if found is None:
            raise UserNotFound(f"No account with email {email.strip()}.")
        return found

    async def reset_password(self, email: str, password: str) -> str:
        """Replace an account's password and end its sessions (every signed-in browser must
        log in with the new one). Returns the user id."""
        check_new_password(password)
        password_hash = await asyncio.to_thread(self.passwords.hash, password)
        async with self.db.write() as conn:
            user_id, _ = await self._user_id(conn, email)
            await repo.set_password_hash(conn, user_id, password_hash)
            await repo.delete_user_sessions(conn, user_id)
        return user_id

    async def delete_user(
        self, email: str, *, remove_blobs: Callable[[Sequence[Any]], Awaitable[None]]
    ) -> Deletion:
        """Delete an account and everything it owns: the images of its own workspace and of
        its workspaces inside apps (rows first, as the API's delete does, then the blobs and
        variants through ``remove_blobs``), its keys, sessions, hosted-login codes and plan
        requests.

        An account that owns apps is refused: their users' images live in those apps, and
        deleting other people's data is not a side effect of deleting one account.
        """
        async with self.db.read() as conn:
            user_id, shown = await self._user_id(conn, email)
            owned = await apps_repo.owned_app_ids(conn, user_id)
            if owned:
                raise ValidationFailed(
                    f"{shown} owns app(s) {', '.join(owned)}; their users' "
                    "images live there. Block the apps (`imgpro apps "
                    "block`) and move or delete them first."
                )
            wids = await deletion_repo.workspace_ids_of_user(conn, user_id)
        removed = 0
        while wids:  # in batches: a large account must not hold one huge transaction
            async with self.db.write() as conn:
                rows = await image_repo.rows_of_workspaces(conn, wids, limit=DELETE_BATCH)
                # The images domain's own delete: labels, variants and counters go with them.
                await image_repo.delete_rows(conn, rows, self.clock.now())
            if not rows:
                break
            await remove_blobs(rows)
            removed += len(rows)
        async with self.db.write() as conn:
            keys = await self._delete_user_rows(conn, user_id, wids)
        return Deletion(
            user_id=user_id, email=shown, images=removed, keys=keys, workspaces=len(wids)
        )

    @staticmethod
    async def _delete_user_rows(
        conn: AsyncConnection, user_id: str, workspace_ids: Sequence[str]
    ) -> int:
        """Delete a user (whose images are gone) with its keys, sessions, codes, plan requests,
        presets and workspaces; returns how many of its own keys went."""
        keys = await key_repo.delete_keys_of_user(conn, user_id)
        await repo.delete_user_sessions(conn, user_id)
        await connect_repo.delete_connect_codes_of_user(conn, user_id)
        await billing_repo.delete_plan_requests(conn, user_id, workspace_ids)
        await image_repo.delete_tombstones_of_workspaces(conn, workspace_ids)
        await key_repo.delete_keys_of_workspaces(conn, workspace_ids)
        for wid in workspace_ids:
            await transform_repo.delete_workspace_rows(conn, wid)  # presets, signing settings
        await deletion_repo.delete_workspaces(conn, workspace_ids)
        await deletion_repo.delete_user(conn, user_id)
        return keys
