"""Usage of one workspace against its plan (SPEC §3.5), and checking the counters against rows.

The API (``GET /v1/usage``), the dashboard and the billing page all read usage through
:class:`UsageService` by workspace id: an account's own workspace or a user's workspace inside
an app alike.

Counters are kept by single UPDATE statements (see ``quotas.py``); ``verify`` recomputes what
can be recomputed from the rows and reports drift:

* ``images_count`` and ``storage_used`` must equal ``count(*)`` and ``sum(bytes)`` of the
  workspace's image rows (expired images count until the sweeper deletes their rows);
* ``uploads_used`` cannot be recomputed once images are deleted, but it can never be lower than
  the number of rows still present that were created this period — that lower bound is checked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.billing import repository as repo
from imgpro.billing.plans import Plan, PlanBook
from imgpro.billing.quotas import Counters, period_bounds, period_of, read_counters
from imgpro.clock import Clock, iso
from imgpro.db.engine import Database
from imgpro.errors import NotFound


class WorkspaceNotFound(NotFound):
    message = "No such workspace."


def usage_snapshot(plan: Plan, counters: Counters) -> dict[str, Any]:
    """``error.usage`` of a quota error (SPEC §6)."""
    out: dict[str, Any] = {
        "plan": plan.name,
        "uploads_used": counters.uploads_used,
        "uploads_limit": plan.uploads_per_month,
        "storage_used_bytes": counters.storage_used,
        "storage_limit_bytes": plan.storage_bytes,
        # The stored-image limit (SPEC §7) — null when the plan has none.
        "images_used": counters.images_count,
        "images_limit": plan.images,
    }
    return out


@dataclass(frozen=True)
class Usage:
    workspace_id: str
    plan: Plan
    period_start: dt.datetime
    period_end: dt.datetime
    uploads_used: int
    storage_used: int
    images_count: int

    def as_object(self) -> dict[str, Any]:
        """The SPEC §3.5 usage object; ``limit: None`` means unlimited."""
        return {
            "object": "usage",
            "plan": self.plan.name,
            "period": {"start": iso(self.period_start), "end": iso(self.period_end)},
            "limits": {
                "uploads": {"used": self.uploads_used, "limit": self.plan.uploads_per_month},
                "storage_bytes": {"used": self.storage_used, "limit": self.plan.storage_bytes},
                "images": {"used": self.images_count, "limit": self.plan.images},
            },
            "totals": {"images_stored": self.images_count},
            # False only for a plan without any limit: a client may skip its own checks.
            "limits_enforced": self.plan.limits_enforced,
        }


async def read_usage(
    conn: AsyncConnection, plans: PlanBook, workspace_id: str, now: dt.datetime
) -> Usage:
    counters = await read_counters(conn, workspace_id, now)
    if counters is None:
        raise WorkspaceNotFound()
    start, end = period_bounds(now)
    return Usage(
        workspace_id=workspace_id,
        plan=plans.get(counters.plan),
        period_start=start,
        period_end=end,
        uploads_used=counters.uploads_used,
        storage_used=counters.storage_used,
        images_count=counters.images_count,
    )


@dataclass(frozen=True)
class Drift:
    workspace_id: str
    owner: str  # the owner's email, or the workspace kind when it has none
    field: str  # images_count | storage_used | uploads_used
    recorded: int
    actual: int  # for uploads_used: the lower bound the counter is below

    def describe(self) -> str:
        if self.field == "uploads_used":
            return (
                f"{self.workspace_id} ({self.owner}): uploads_used {self.recorded} is below "
                f"the {self.actual} images still stored from this period"
            )
        return (
            f"{self.workspace_id} ({self.owner}): {self.field} is {self.recorded}, rows say "
            f"{self.actual}"
        )


def _drifts(row: Any) -> list[Drift]:
    owner = row.email or row.kind
    found = []
    if row.images_count != row.n:
        found.append(Drift(row.id, owner, "images_count", int(row.images_count), int(row.n)))
    if row.storage_used != row.total:
        found.append(Drift(row.id, owner, "storage_used", int(row.storage_used), int(row.total)))
    if row.uploads < row.recent:
        found.append(Drift(row.id, owner, "uploads_used", int(row.uploads), int(row.recent)))
    return found


class UsageService:
    def __init__(self, db: Database, plans: PlanBook, clock: Clock) -> None:
        self.db = db
        self.plans = plans
        self.clock = clock

    async def for_workspace(self, workspace_id: str) -> Usage:
        async with self.db.read() as conn:
            return await read_usage(conn, self.plans, workspace_id, self.clock.now())

    async def verify(self, *, fix: bool = False) -> list[Drift]:
        """Every drift between counters and rows; with ``fix``, repair each drifted workspace."""
        now = self.clock.now()
        start, _ = period_bounds(now)
        async with self.db.read() as conn:
            rows = await repo.counters_beside_rows(conn, start, period_of(now))
        drifts = [d for row in rows for d in _drifts(row)]
        if fix:
            for wid in dict.fromkeys(d.workspace_id for d in drifts):
                await self.repair(wid)
        return drifts

    async def repair(self, workspace_id: str) -> list[Drift]:
        """Set one workspace's counters from its rows, race-free against concurrent uploads.

        The workspace row is locked first (PostgreSQL: FOR UPDATE; SQLite: the write
        transaction is already exclusive), so no upload or delete can commit between the
        recount and the UPDATE; the recount is a fresh statement that sees every earlier commit.
        """
        now = self.clock.now()
        start, _ = period_bounds(now)
        period = period_of(now)
        async with self.db.write() as conn:
            await repo.lock_workspace(conn, workspace_id)
            row = await repo.workspace_beside_rows(conn, start, period, workspace_id)
            if row is None:
                raise WorkspaceNotFound()
            drifts = _drifts(row)
            values: dict[str, Any] = {"images_count": row.n, "storage_used": row.total}
            if row.uploads < row.recent:
                values.update(uploads_used=row.recent, period=period)
            if drifts:
                await repo.set_counters(conn, workspace_id, **values)
        return drifts
