"""Plan changes: the signed upgrade link (web page), the operator's CLI, manual requests.

The ``/upgrade/{plan}`` page only has to call :meth:`BillingService.apply_upgrade` with the
signed-in user's id and the link's query; everything that decides whether the change may
happen lives here.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgpro.billing import repository as repo
from imgpro.billing.plans import PlanBook
from imgpro.billing.providers import BillingProvider, PlanChange, PlanRequest
from imgpro.billing.upgrade import UpgradeGrant, UpgradeLinks, UpgradeNotAllowed
from imgpro.billing.usage import WorkspaceNotFound
from imgpro.clock import Clock
from imgpro.db.engine import Database
from imgpro.errors import NotFound, ValidationFailed
from imgpro.principal import ANONYMOUS_WORKSPACE_ID


class UnknownPlan(ValidationFailed):
    message = "No such plan."


class RequestNotFound(NotFound):
    message = "No such plan request."


class RequestDecided(ValidationFailed):
    message = "This plan request was already decided."


@dataclass(frozen=True)
class UpgradeLink:
    """The parts of a link as the web page receives them: ``/upgrade/{plan}?t&exp&sig``."""

    plan: str
    t: str
    exp: str
    sig: str


class BillingService:
    def __init__(
        self,
        *,
        db: Database,
        plans: PlanBook,
        links: UpgradeLinks,
        provider: BillingProvider,
        clock: Clock,
    ) -> None:
        self.db = db
        self.plans = plans
        self.links = links
        self.provider = provider
        self.clock = clock

    def verify_link(self, link: UpgradeLink) -> UpgradeGrant:
        """Signature, expiry and plan of a link (no database): InvalidUpgradeLink if bad."""
        return self.links.verify(link.plan, link.t, link.exp, link.sig, self.clock.now())

    async def apply_upgrade(
        self, workspace_id: str, link: UpgradeLink, *, user_id: str
    ) -> PlanChange:
        """Apply (or, with the manual provider, request) the plan a signed link offers.

        ``workspace_id`` is the workspace the page acts on (``link.t`` for a user's app
        workspace, or their own account's) and ``user_id`` the signed-in user. Raises
        InvalidUpgradeLink (tampered, expired, plan gone) or UpgradeNotAllowed (another
        workspace's link, or a workspace this user does not own). A link for the plan the
        workspace already has, or a lower one, changes nothing (``unchanged``).
        """
        now = self.clock.now()
        grant = self.links.verify(link.plan, link.t, link.exp, link.sig, now)
        if grant.workspace_id != workspace_id:
            raise UpgradeNotAllowed(
                "wrong_workspace", "This upgrade link is for another workspace."
            )
        async with self.db.write() as conn:
            row = await repo.plan_and_owner(conn, workspace_id)
            if row is None or row.user_id != user_id:
                # Same answer for "no such workspace" and "not yours".
                raise UpgradeNotAllowed("wrong_account")
            if self.plans.rank(grant.plan) <= self.plans.rank(row.plan):
                return PlanChange("unchanged", workspace_id, grant.plan, row.plan)
            return await self.provider.upgrade(
                conn,
                workspace_id=workspace_id,
                user_id=user_id,
                current_plan=row.plan,
                plan=grant.plan,
                now=now,
            )

    # -- the operator ----------------------------------------------------------------------
    async def workspace_of(self, target: str) -> str:
        """An email's account workspace, or a workspace id as given."""
        async with self.db.read() as conn:
            if "@" in target:
                wid = await repo.account_workspace_id(conn, target.strip().lower())
            else:
                wid = await repo.workspace_id(conn, target)
        if wid is None:
            raise WorkspaceNotFound(f"No account or workspace '{target}'.")
        return str(wid)

    async def set_plan(self, workspace_id: str, plan: str) -> PlanChange:
        """The operator sets any plan (up or down), bypassing the provider."""
        if not self.plans.exists(plan):
            raise UnknownPlan(
                f"No such plan '{plan}'. Plans: {', '.join(p.name for p in self.plans.plans)}."
            )
        if workspace_id == ANONYMOUS_WORKSPACE_ID:
            raise ValidationFailed("The anonymous workspace has no plan to change.")
        async with self.db.write() as conn:
            previous = await repo.workspace_plan(conn, workspace_id)
            if previous is None:
                raise WorkspaceNotFound()
            await repo.set_workspace_plan(conn, workspace_id, plan)
        return PlanChange(
            "applied" if previous != plan else "unchanged", workspace_id, plan, previous
        )

    async def plan_counts(self) -> dict[str, int]:
        """How many workspaces are on each plan (the anonymous one excluded)."""
        async with self.db.read() as conn:
            rows = await repo.plan_counts(conn, excluding=ANONYMOUS_WORKSPACE_ID)
        return {plan: int(n) for plan, n in rows}

    async def requests(self, *, status: str | None = "pending") -> list[PlanRequest]:
        async with self.db.read() as conn:
            rows = await repo.plan_requests_with_email(conn, status)
        return [
            PlanRequest(
                id=r.id,
                workspace_id=r.workspace_id,
                user_id=r.user_id,
                email=r.email,
                from_plan=r.from_plan,
                plan=r.plan,
                status=r.status,
                created_at=r.created_at,
                decided_at=r.decided_at,
            )
            for r in rows
        ]

    async def _decide(self, request_id: str, status: str) -> tuple[str, str, str]:
        """Move a pending request to ``status`` (one conditional UPDATE: decided once)."""
        now = self.clock.now()
        async with self.db.write() as conn:
            row = await repo.plan_request(conn, request_id)
            if row is None:
                raise RequestNotFound()
            if not await repo.decide_request(conn, request_id, status, now):
                raise RequestDecided(f"Request {request_id} is already {row.status}.")
            previous = await repo.workspace_plan(conn, row.workspace_id)
            if status == "approved":
                if not self.plans.exists(row.plan):
                    raise UnknownPlan(f"Plan '{row.plan}' is no longer offered; reject it.")
                await repo.set_workspace_plan(conn, row.workspace_id, row.plan)
        return row.workspace_id, row.plan, str(previous)

    async def approve(self, request_id: str) -> PlanChange:
        workspace_id, plan, previous = await self._decide(request_id, "approved")
        return PlanChange("applied", workspace_id, plan, previous, request_id)

    async def reject(self, request_id: str) -> PlanChange:
        workspace_id, plan, previous = await self._decide(request_id, "rejected")
        return PlanChange("unchanged", workspace_id, plan, previous, request_id)
