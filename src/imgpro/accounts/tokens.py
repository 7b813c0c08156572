"""One-time codes and emailed links, kept only as HMACs under the app's secret key.

* A **code** is 6 digits, valid 10 minutes, single use, and bound to the browser that asked:
  the row is found by a hash of that browser's random nonce (a cookie for sign-in, the session
  for confirmations), so a code read from the mail works nowhere else. Each code takes at most
  ``MAX_ATTEMPTS`` guesses; asking for a new code voids the browser's previous one. The HMAC
  covers the row id too, so equal codes of two rows never hash alike and a leaked table
  cannot be brute-forced without the key.
* A **link** token carries 256 random bits; its HMAC is the lookup key. Single use is one
  conditional UPDATE (``used_at IS NULL``), so two clicks racing cannot both win.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro import ids
from imgpro.accounts import tokens_repository as repo
from imgpro.db.engine import Database

CODE_TTL = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5
# The sweep keeps rows a day past expiry: meanwhile a code entered late reads "expired".
SWEEP_GRACE = dt.timedelta(days=1)


class CodeProblem(Enum):
    NONE = "none"  # this browser has no pending code (never asked, or another browser)
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"  # too many wrong guesses
    WRONG = "wrong"


@dataclass(frozen=True)
class Redeemed:
    """A code or link that was valid and is now used up."""

    id: str
    purpose: str
    email: str
    user_id: str | None


class EmailTokens:
    def __init__(self, db: Database, secret: str) -> None:
        self.db = db
        self._key = hashlib.sha256(b"imgpro-email-tokens|" + secret.encode()).digest()

    def mac(self, purpose: str, value: str) -> str:
        return hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def browser_hash(self, nonce: str) -> str:
        return self.mac("browser", nonce)

    # -- codes -----------------------------------------------------------------------------
    async def issue_code(
        self,
        conn: AsyncConnection,
        *,
        purpose: str,
        email: str,
        user_id: str | None,
        browser: str,
        now: dt.datetime,
    ) -> str:
        """A fresh code for ``browser`` (voiding its earlier ones of this purpose)."""
        code = f"{secrets.randbelow(10**6):06d}"
        token_id = ids.short_id(16)
        browser_hash = self.browser_hash(browser)
        await repo.void_browser_codes(conn, browser_hash=browser_hash, purpose=purpose, now=now)
        await repo.insert_token(
            conn,
            token_id=token_id,
            purpose=purpose,
            email=email,
            user_id=user_id,
            secret_hash=self.mac("code", f"{token_id}:{code}"),
            browser_hash=browser_hash,
            now=now,
            expires_at=now + CODE_TTL,
        )
        return code

    async def redeem_code(
        self, *, purpose: str, browser: str, code: str, now: dt.datetime
    ) -> Redeemed | CodeProblem:
        browser_hash = self.browser_hash(browser)
        async with self.db.write() as conn:
            row = await repo.latest_open_code(conn, browser_hash=browser_hash, purpose=purpose)
            if row is None:
                return CodeProblem.NONE
            if row.expires_at <= now:
                return CodeProblem.EXPIRED
            if row.attempts >= MAX_ATTEMPTS:
                return CodeProblem.EXHAUSTED
            code = "".join(ch for ch in code if ch.isdigit())[:6]
            good = hmac.compare_digest(row.secret_hash, self.mac("code", f"{row.id}:{code}"))
            if not good:
                await repo.count_wrong_guess(conn, row.id, max_attempts=MAX_ATTEMPTS)
                return (
                    CodeProblem.EXHAUSTED if row.attempts + 1 >= MAX_ATTEMPTS else CodeProblem.WRONG
                )
            if not await repo.claim_code(conn, row.id, max_attempts=MAX_ATTEMPTS, now=now):
                return CodeProblem.NONE
        return Redeemed(id=row.id, purpose=purpose, email=row.email, user_id=row.user_id)

    # -- links -----------------------------------------------------------------------------
    async def issue_link(
        self,
        conn: AsyncConnection,
        *,
        purpose: str,
        email: str,
        user_id: str | None,
        ttl: dt.timedelta,
        now: dt.datetime,
    ) -> str:
        token = ids.token(32)
        await repo.insert_token(
            conn,
            token_id=ids.short_id(16),
            purpose=purpose,
            email=email,
            user_id=user_id,
            secret_hash=self.mac(purpose, token),
            now=now,
            expires_at=now + ttl,
        )
        return token

    def _link_hash(self, purpose: str, token: str) -> str:
        # Bounded: a presented token longer than any we issue is hashed no further.
        return self.mac(purpose, token[:200])

    async def peek_link(self, purpose: str, token: str, now: dt.datetime) -> Redeemed | None:
        """The link's row if it is still usable, without using it (a mail scanner that
        prefetches a reset link must not burn it)."""
        row = await repo.peek_live_link(
            self.db, secret_hash=self._link_hash(purpose, token), purpose=purpose, now=now
        )
        return None if row is None else Redeemed(row.id, purpose, row.email, row.user_id)

    async def redeem_link(
        self, conn: AsyncConnection, purpose: str, token: str, now: dt.datetime
    ) -> Redeemed | None:
        """Use the link inside the caller's transaction; None if unknown, used or expired."""
        row = await repo.live_link(
            conn, secret_hash=self._link_hash(purpose, token), purpose=purpose, now=now
        )
        if row is None:
            return None
        if not await repo.claim_link(conn, row.id, now):
            return None
        return Redeemed(row.id, purpose, row.email, row.user_id)

    async def void(
        self, conn: AsyncConnection, *, user_id: str, purpose: str, now: dt.datetime
    ) -> None:
        """Use up every open token of ``purpose`` for ``user_id`` (e.g. other reset links once
        the password was reset)."""
        await repo.void_user_tokens(conn, user_id=user_id, purpose=purpose, now=now)

    async def sweep(self, now: dt.datetime) -> None:
        async with self.db.write() as conn:
            await repo.delete_expired_before(conn, now - SWEEP_GRACE)
