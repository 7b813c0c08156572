"""Billing providers: what happens when a workspace owner asks for a plan (SPEC §7).

* ``instant`` (default) — the plan changes at once. Self-hosters run their own billing (or none);
  the signed link plus the signed-in owner is the whole authorisation.
* ``manual`` — a request is recorded; the operator approves or rejects it with
  ``imgpro plans requests | approve ID | reject ID``.

A payment provider (Stripe checkout, …) would be a third implementation of the same protocol:
start a checkout, and apply the plan from its webhook.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro import ids
from imgpro.billing import repository as repo

ChangeStatus = Literal["applied", "requested", "unchanged"]


@dataclass(frozen=True)
class PlanChange:
    status: ChangeStatus
    workspace_id: str
    plan: str  # the plan asked for
    previous_plan: str
    request_id: str | None = None


@dataclass(frozen=True)
class PlanRequest:
    id: str
    workspace_id: str
    user_id: str | None
    email: str | None
    from_plan: str
    plan: str
    status: str
    created_at: dt.datetime
    decided_at: dt.datetime | None


class BillingProvider(Protocol):
    name: str

    async def upgrade(
        self,
        conn: AsyncConnection,
        *,
        workspace_id: str,
        user_id: str | None,
        current_plan: str,
        plan: str,
        now: dt.datetime,
    ) -> PlanChange: ...


class InstantProvider:
    name = "instant"

    async def upgrade(
        self,
        conn: AsyncConnection,
        *,
        workspace_id: str,
        user_id: str | None,
        current_plan: str,
        plan: str,
        now: dt.datetime,
    ) -> PlanChange:
        await repo.set_workspace_plan(conn, workspace_id, plan)
        return PlanChange("applied", workspace_id, plan, current_plan)


class ManualProvider:
    name = "manual"

    async def upgrade(
        self,
        conn: AsyncConnection,
        *,
        workspace_id: str,
        user_id: str | None,
        current_plan: str,
        plan: str,
        now: dt.datetime,
    ) -> PlanChange:
        # Opening the same link twice records one request, not two.
        existing = await repo.pending_request_id(conn, workspace_id, plan)
        request_id = existing or f"req_{ids.short_id(12)}"
        if existing is None:
            await repo.insert_plan_request(
                conn,
                request_id=request_id,
                workspace_id=workspace_id,
                user_id=user_id,
                from_plan=current_plan,
                plan=plan,
                now=now,
            )
        return PlanChange("requested", workspace_id, plan, current_plan, request_id)


PROVIDERS: dict[str, type[InstantProvider] | type[ManualProvider]] = {
    "instant": InstantProvider,
    "manual": ManualProvider,
}


def make_provider(name: str) -> BillingProvider:
    return PROVIDERS[name]()
