"""The account page's use cases: email verification, changing the email address (the new one
must be confirmed from its own mailbox before it replaces the old), changing the password,
and the notification switches."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.accounts import repository as account_repo
from imgpro.accounts.service import check_new_password, normalise_email
from imgpro.accounts.sessions import token_hash
from imgpro.errors import ValidationFailed

if TYPE_CHECKING:
    from imgpro.services import Services

VERIFY_TTL = dt.timedelta(days=3)
EMAIL_CHANGE_TTL = dt.timedelta(days=1)
NOTIFICATIONS = ("quota", "keys", "apps")


@dataclass(frozen=True)
class Profile:
    user_id: str
    email: str
    verified: bool
    has_password: bool
    password_hash: str
    notify: dict[str, bool]


async def load_profile(s: Services, user_id: str) -> Profile | None:
    row = await account_repo.profile_row(s.db, user_id)
    if row is None:
        return None
    return Profile(
        user_id=row.id,
        email=row.email,
        verified=row.email_verified_at is not None,
        has_password=bool(row.password_hash),
        password_hash=row.password_hash,
        notify={n: bool(getattr(row, f"notify_{n}")) for n in NOTIFICATIONS},
    )


async def send_verification(
    s: Services, user_id: str, email: str, conn: AsyncConnection | None = None
) -> None:
    """Queue a verification link for ``email`` (a new account, or "send it again")."""

    async def work(c: AsyncConnection) -> None:
        token = await s.tokens.issue_link(
            c, purpose="verify", email=email, user_id=user_id, ttl=VERIFY_TTL, now=s.clock.now()
        )
        await s.mail.send(
            email,
            "verify",
            conn=c,
            days=VERIFY_TTL.days,
            link=f"{s.settings.web_base}/verify?t={token}",
        )

    if conn is not None:
        await work(conn)
        return
    async with s.db.write() as own:
        await work(own)


async def verify_email(s: Services, token: str) -> bool:
    """Use a verification link; True if it was valid (and still names the account's address)."""
    now = s.clock.now()
    async with s.db.write() as conn:
        used = await s.tokens.redeem_link(conn, "verify", token, now)
        if used is None or used.user_id is None:
            return False
        return await account_repo.verify_current_email(conn, used.user_id, used.email, now)


async def request_email_change(s: Services, user_id: str, old_email: str, new_email: str) -> str:
    """Queue a confirmation link to the new address. Whether another account uses it is not
    said here (that would tell a signed-in stranger who has an account); confirming says so."""
    new_email = normalise_email(new_email)
    if new_email == old_email:
        raise ValidationFailed("That is already your email address.")
    async with s.db.write() as conn:
        token = await s.tokens.issue_link(
            conn,
            purpose="email",
            email=new_email,
            user_id=user_id,
            ttl=EMAIL_CHANGE_TTL,
            now=s.clock.now(),
        )
        await s.mail.send(
            new_email,
            "email_change",
            conn=conn,
            old_email=old_email,
            days=EMAIL_CHANGE_TTL.days,
            link=f"{s.settings.web_base}/account/email/confirm?t={token}",
        )
    return new_email


class EmailUnavailable(ValidationFailed):
    message = "Another account uses that address now, so it cannot become yours."


async def confirm_email_change(s: Services, token: str) -> str | None:
    """Use an email-change link: the account takes the new (now verified) address and the old
    address is told. None if the link is invalid; EmailUnavailable if the address is taken."""
    now = s.clock.now()
    try:
        async with s.db.write() as conn:
            used = await s.tokens.redeem_link(conn, "email", token, now)
            if used is None or used.user_id is None:
                return None
            old = await account_repo.email_of(conn, used.user_id)
            if old is None:
                return None
            await account_repo.change_email(conn, used.user_id, used.email, now)
            await s.mail.send(old, "email_changed", conn=conn, new_email=used.email)
    except IntegrityError:
        raise EmailUnavailable() from None
    return used.email


async def set_password(
    s: Services, user_id: str, email: str, password: str, *, keep_session: str | None, how: str
) -> None:
    """Set a new password; every other session ends, open reset links die, the owner is told."""
    check_new_password(password)
    password_hash = await asyncio.to_thread(s.passwords.hash, password)
    now = s.clock.now()
    async with s.db.write() as conn:
        await account_repo.set_password_hash(conn, user_id, password_hash)
        await s.tokens.void(conn, user_id=user_id, purpose="reset", now=now)
        await s.mail.send(email, "password_changed", conn=conn, how=how)
        # Signed out everywhere but the browser that made the change (if any).
        await account_repo.delete_user_sessions(
            conn, user_id, token_hash(keep_session) if keep_session else None
        )


async def set_notifications(s: Services, user_id: str, wanted: set[str]) -> None:
    async with s.db.write() as conn:
        await account_repo.set_notify_switches(
            conn, user_id, {n: n in wanted for n in NOTIFICATIONS}
        )
