"""Password reset by an emailed link: single use, valid one hour, and it signs the account out
everywhere else.

Asking for a reset answers the same whether or not an account uses the address, and does the
same work: a link row is written and a message is queued either way (an unknown address gets a
"no account uses this address" message and a link row that names no user, so it can never be
used). Sending happens later, off the request path, so SMTP latency tells nothing either.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from imgpro.accounts.profile import set_password
from imgpro.accounts.repository import find_user_by_email, mark_email_verified
from imgpro.accounts.service import check_new_password, normalise_email
from imgpro.accounts.tokens import Redeemed

if TYPE_CHECKING:
    from imgpro.services import Services

RESET_TTL = dt.timedelta(hours=1)


async def request_password_reset(s: Services, email: str) -> str:
    """Queue a reset link (or the "no account" message); returns the normalised address."""
    email = normalise_email(email)
    now = s.clock.now()
    async with s.db.write() as conn:
        user = await find_user_by_email(conn, email)
        token = await s.tokens.issue_link(
            conn,
            purpose="reset",
            email=email,
            user_id=user.id if user else None,
            ttl=RESET_TTL,
            now=now,
        )
        if user is None:
            await s.mail.send(email, "reset_unknown", conn=conn)
        else:
            await s.mail.send(
                email,
                "reset",
                conn=conn,
                minutes=int(RESET_TTL.total_seconds() // 60),
                link=f"{s.settings.web_base}/password/reset?t={token}",
            )
    return email


async def reset_link(s: Services, token: str) -> Redeemed | None:
    """The link's account if it is still usable (the form page; does not use it up)."""
    return await s.tokens.peek_link("reset", token, s.clock.now())


async def reset_password(s: Services, token: str, password: str) -> Redeemed | None:
    """Use the link and set the password; None if the link is invalid, used or expired.
    Raises ValidationFailed for an unacceptable password (the link stays usable then)."""
    check_new_password(password)
    async with s.db.write() as conn:
        used = await s.tokens.redeem_link(conn, "reset", token, s.clock.now())
    if used is None or used.user_id is None:
        return None
    # The mailbox is proven too, so the address counts as verified.
    await set_password(
        s, used.user_id, used.email, password, keep_session=None, how="reset with an emailed link"
    )
    async with s.db.write() as conn:
        await mark_email_verified(conn, used.user_id, s.clock.now())
    return used
