"""``imgpro usage show | verify`` — a workspace's usage, and counters checked against rows."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from imgpro.billing.usage import Drift
from imgpro.cli.common import Cli, out, run
from imgpro.services import Services

usage_app = Cli(help="Usage counters.")


@usage_app.command("show")
def usage_show(
    target: Annotated[str, typer.Argument(help="An account's email, or a workspace id.")],
) -> None:
    """Print a workspace's usage object (what GET /v1/usage answers) as JSON."""

    async def work(s: Services) -> dict[str, Any]:
        usage = await s.usage.for_workspace(await s.billing.workspace_of(target))
        return usage.as_object()

    typer.echo(json.dumps(run(work), indent=2))


@usage_app.command("verify")
def usage_verify(
    fix: Annotated[bool, typer.Option("--fix", help="Set drifted counters from the rows.")] = False,
) -> None:
    """Recompute images and stored bytes from the rows and report drift per workspace.

    uploads_used cannot be recomputed once images are deleted; it is checked against its lower
    bound (images still stored that were uploaded this month). Exit status 1 if drift was
    found and not fixed.
    """

    async def work(s: Services) -> list[Drift]:
        return await s.usage.verify(fix=fix)

    drifts = run(work)
    if not drifts:
        out.print("usage counters agree with the rows")
        return
    for d in drifts:
        out.print(d.describe(), highlight=False)
    if fix:
        out.print(f"fixed {len({d.workspace_id for d in drifts})} workspace(s)")
        return
    out.print(f"{len(drifts)} drift(s); run `imgpro usage verify --fix` to repair")
    raise typer.Exit(1)
