"""``imgpro plans list | set | requests | approve | reject`` — the operator's side of billing."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from imgpro.billing.plans import Plan, format_bytes
from imgpro.billing.providers import PlanChange, PlanRequest
from imgpro.cli.common import Cli, out, run
from imgpro.clock import iso
from imgpro.services import Services

plans_app = Cli(help="Plans, plan changes and upgrade requests.")


def _limit(value: int | None, *, size: bool = False) -> str:
    if value is None:
        return "unlimited"
    return format_bytes(value) if size else f"{value:,}"


@plans_app.command("list")
def plans_list() -> None:
    """The configured plans (IMGPRO_PLANS or the defaults), cheapest first."""

    async def work(s: Services) -> tuple[tuple[Plan, ...], dict[str, int], str]:
        return s.plans.plans, await s.billing.plan_counts(), s.billing.provider.name

    plans, counts, provider = run(work)
    table = Table(
        "plan", "title", "price", "uploads/month", "storage", "images", "apps", "workspaces"
    )
    for p in plans:
        table.add_row(
            p.name,
            p.title,
            p.price_label,
            _limit(p.uploads_per_month),
            _limit(p.storage_bytes, size=True),
            _limit(p.images),
            _limit(p.apps),
            str(counts.get(p.name, 0)),
        )
    out.print(table)
    out.print(f"billing provider: {provider}")


def _describe(change: PlanChange) -> str:
    if change.status == "unchanged":
        return f"{change.workspace_id} stays on {change.previous_plan}"
    return f"{change.workspace_id}: {change.previous_plan} → {change.plan}"


@plans_app.command("set")
def plans_set(
    target: Annotated[str, typer.Argument(help="An account's email, or a workspace id.")],
    plan: Annotated[str, typer.Argument(help="Plan name (see `imgpro plans list`).")],
) -> None:
    """Put an account (or one app user's workspace) on any plan, up or down, at once."""

    async def work(s: Services) -> PlanChange:
        return await s.billing.set_plan(await s.billing.workspace_of(target), plan)

    out.print(_describe(run(work)))


@plans_app.command("requests")
def plans_requests(
    all_: Annotated[bool, typer.Option("--all", help="Decided requests too.")] = False,
) -> None:
    """Plan changes waiting for approval (billing provider `manual`)."""

    async def work(s: Services) -> list[PlanRequest]:
        return await s.billing.requests(status=None if all_ else "pending")

    requests = run(work)
    if not requests:
        out.print("no pending plan requests" if not all_ else "no plan requests")
        return
    table = Table("id", "workspace", "owner", "from", "to", "status", "requested", "decided")
    for r in requests:
        table.add_row(
            r.id,
            r.workspace_id,
            r.email or "-",
            r.from_plan,
            r.plan,
            r.status,
            iso(r.created_at),
            iso(r.decided_at) or "-",
        )
    out.print(table)


@plans_app.command("approve")
def plans_approve(request_id: str) -> None:
    """Approve a pending request: the workspace moves to the requested plan."""

    async def work(s: Services) -> PlanChange:
        return await s.billing.approve(request_id)

    out.print(f"approved {request_id}: {_describe(run(work))}")


@plans_app.command("reject")
def plans_reject(request_id: str) -> None:
    """Reject a pending request: the plan stays as it is."""

    async def work(s: Services) -> PlanChange:
        return await s.billing.reject(request_id)

    out.print(f"rejected {request_id}: {_describe(run(work))}")
