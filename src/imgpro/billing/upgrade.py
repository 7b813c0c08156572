"""Signed, time-limited upgrade links, and the quota error that carries one (SPEC §6, §7).

A link is ``{web}/upgrade/{plan}?t={workspace id}&exp={unix seconds}&sig={hmac}`` where ``sig``
is HMAC-SHA256 over (workspace, plan, exp) with a key derived from the service's secret key
(``Settings.resolved_secret_key()``). Changing any of the three — another plan in the path,
another workspace in ``t``, a later ``exp`` — breaks the signature. The link is a capability to
*ask* for that plan on that workspace only: the plan-change service still requires the
signed-in owner of that workspace (``BillingService.apply_upgrade``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from imgpro.billing.plans import Plan, PlanBook, format_limit
from imgpro.billing.quotas import Refusal
from imgpro.billing.usage import usage_snapshot
from imgpro.errors import ApiError, BadRequest, Forbidden, QuotaExceeded

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_KEY_CONTEXT = b"imgpro/upgrade-link/v1"

MESSAGES = {
    "uploads": "Monthly upload limit reached.",
    "storage": "Storage limit reached: this upload would exceed the plan's storage.",
    "images": "Stored-image limit reached: delete images or upgrade to store more.",
}
_LIMIT_UNIT = {"uploads": "uploads", "storage": "bytes", "images": "images"}


class InvalidUpgradeLink(BadRequest):
    """Tampered, expired, or for a plan that no longer exists. ``reason`` says which."""

    message = "This upgrade link is not valid."

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class UpgradeNotAllowed(Forbidden):
    """A valid link, but not for this workspace or not for this signed-in user."""

    message = "This upgrade link belongs to another account."

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class UpgradeGrant:
    """What a verified link allows: ask for ``plan`` on ``workspace_id`` until ``expires_at``."""

    workspace_id: str
    plan: str
    expires_at: dt.datetime


class UpgradeLinks:
    def __init__(self, secret: str, web_base: str, ttl_seconds: int, plans: PlanBook) -> None:
        # A key of its own (derived), so a signature made for links is never valid elsewhere.
        self._key = hmac.new(secret.encode(), _KEY_CONTEXT, hashlib.sha256).digest()
        self.web_base = web_base
        self.ttl_seconds = ttl_seconds
        self.plans = plans

    @property
    def billing_url(self) -> str:
        return f"{self.web_base}/billing"

    def signature(self, workspace_id: str, plan: str, exp: int) -> str:
        message = f"{workspace_id}\n{plan}\n{exp}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def url(self, workspace_id: str, plan: str, now: dt.datetime) -> str:
        exp = int(now.timestamp()) + self.ttl_seconds
        query = urlencode(
            {"t": workspace_id, "exp": exp, "sig": self.signature(workspace_id, plan, exp)}
        )
        return f"{self.web_base}/upgrade/{plan}?{query}"

    def verify(self, plan: str, t: str, exp: str, sig: str, now: dt.datetime) -> UpgradeGrant:
        """Check a link's query against the plan in its path. Raises InvalidUpgradeLink."""
        if not (
            _TOKEN.match(t or "")
            and (exp or "").isdigit()
            and len(exp) <= 12
            and _TOKEN.match(sig or "")
            and _TOKEN.match(plan or "")
        ):
            raise InvalidUpgradeLink("malformed")
        expected = self.signature(t, plan, int(exp))
        # Constant time: the signature is the secret-derived part of the link.
        if not hmac.compare_digest(expected.encode(), sig.encode()):
            raise InvalidUpgradeLink("bad_signature")
        expires_at = dt.datetime.fromtimestamp(int(exp), dt.UTC)
        if now >= expires_at:
            raise InvalidUpgradeLink(
                "expired",
                "This upgrade link has expired; the next quota message carries a fresh one.",
            )
        if not self.plans.exists(plan):
            raise InvalidUpgradeLink("unknown_plan", "This plan is no longer offered.")
        return UpgradeGrant(workspace_id=t, plan=plan, expires_at=expires_at)

    def action(self, workspace_id: str, plan: Plan, limit: str, now: dt.datetime) -> dict[str, Any]:
        """The ``upgrade`` action of a quota error: the next plan, or the billing page."""
        nxt = self.plans.next_after(plan.name)
        if nxt is None:
            return {
                "type": "upgrade",
                "url": self.billing_url,
                "label": "Review your plan and usage",
            }
        what = format_limit(_limit_of(nxt, limit), _LIMIT_UNIT[limit])
        return {
            "type": "upgrade",
            "url": self.url(workspace_id, nxt.name, now),
            "label": f"Upgrade to {nxt.title} ({nxt.price_label}) for {what}",
        }

    def quota_error(self, refusal: Refusal) -> ApiError:
        """403 quota_exceeded with the usage snapshot and the upgrade action (SPEC §6)."""
        return QuotaExceeded(
            MESSAGES[refusal.limit],
            usage=usage_snapshot(refusal.plan, refusal.counters),
            action=self.action(refusal.workspace_id, refusal.plan, refusal.limit, refusal.now),
        )


def _limit_of(plan: Plan, limit: str) -> int | None:
    if limit == "uploads":
        return plan.uploads_per_month
    if limit == "images":
        return plan.images
    return plan.storage_bytes
