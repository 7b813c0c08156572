"""Email-code sign-in ("email me a code") and confirmation codes for the account page.

Asking for a sign-in code does the same work and gives the same answer whether or not an
account uses the address: a code goes out either way, and for a new address entering it
creates a passwordless account (sign-up by code). So neither the page nor its timing says
whether an account exists; only the mailbox owner learns that, from the message.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from imgpro.accounts.repository import find_user_by_email, mark_email_verified
from imgpro.accounts.service import EmailTaken, User, normalise_email
from imgpro.accounts.tokens import CODE_TTL, CodeProblem
from imgpro.errors import ValidationFailed

if TYPE_CHECKING:
    from imgpro.services import Services

MINUTES = int(CODE_TTL.total_seconds() // 60)

PROBLEMS = {
    CodeProblem.NONE: "There is no code waiting for this browser. Codes work only in the "
    "browser that asked for them; ask for a new one here.",
    CodeProblem.EXPIRED: "That code has expired. Ask for a new one.",
    CodeProblem.EXHAUSTED: "Too many wrong codes. Ask for a new one.",
    CodeProblem.WRONG: "That code is not right. Check the latest email and try again.",
}


class CodeRejected(ValidationFailed):
    def __init__(self, problem: CodeProblem) -> None:
        super().__init__(PROBLEMS[problem], details=[{"field": "code", "message": problem.value}])
        self.problem = problem


async def request_sign_in_code(s: Services, email: str, browser: str) -> str:
    """Queue a sign-in code for ``email``, bound to ``browser`` (a nonce cookie). Returns the
    normalised address. Raises ValidationFailed for a malformed address only."""
    email = normalise_email(email)
    now = s.clock.now()
    async with s.db.write() as conn:
        user = await find_user_by_email(conn, email)
        code = await s.tokens.issue_code(
            conn,
            purpose="login",
            email=email,
            user_id=user.id if user else None,
            browser=browser,
            now=now,
        )
        await s.mail.send(
            email, "login_code", conn=conn, code=code, minutes=MINUTES, new_account=user is None
        )
    return email


async def sign_in_with_code(s: Services, browser: str, code: str) -> User:
    """The account the code proves (created, passwordless, if none uses the address yet).
    Raises CodeRejected."""
    result = await s.tokens.redeem_code(
        purpose="login", browser=browser, code=code, now=s.clock.now()
    )
    if isinstance(result, CodeProblem):
        raise CodeRejected(result)
    now = s.clock.now()
    async with s.db.read() as conn:
        user = await find_user_by_email(conn, result.email)
    if user is None:
        try:
            return await s.accounts.create_user(
                result.email, None, verified=True, plan=s.plans.plans[0].name
            )
        except EmailTaken:  # created a moment ago by a parallel sign-in: use that one
            async with s.db.read() as conn:
                user = await find_user_by_email(conn, result.email)
            assert user is not None
    # Entering the code proves the mailbox: the address counts as verified from now on.
    async with s.db.write() as conn:
        await mark_email_verified(conn, user.id, now)
    return user


# -- confirmations on the account page (password or a code) --------------------------------


async def request_confirm_code(
    s: Services, user_id: str, email: str, session_token: str, action: str
) -> None:
    now = s.clock.now()
    async with s.db.write() as conn:
        code = await s.tokens.issue_code(
            conn,
            purpose="confirm",
            email=email,
            user_id=user_id,
            browser="session:" + session_token,
            now=now,
        )
        await s.mail.send(
            email, "confirm_code", conn=conn, code=code, minutes=MINUTES, action=action
        )


async def confirm_identity(
    s: Services, user_id: str, session_token: str, value: str, password_hash: str
) -> bool:
    """True if ``value`` is the account's password or a confirmation code this session asked
    for (codes are 6 digits; passwords at least 8 characters, so the two never mix)."""
    candidate = value.strip()
    if len(candidate) == 6 and candidate.isdigit():
        result = await s.tokens.redeem_code(
            purpose="confirm", browser="session:" + session_token, code=candidate, now=s.clock.now()
        )
        return not isinstance(result, CodeProblem) and result.user_id == user_id
    return await asyncio.to_thread(s.passwords.verify, password_hash, value[:1024])
