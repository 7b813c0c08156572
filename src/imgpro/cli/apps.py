"""``imgpro apps …``: the operator's view of registered apps, and registering one for an owner."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from imgpro.apps.secrets import DEFAULT_SECRET_NAME
from imgpro.apps.service import App, AppStats
from imgpro.cli.common import Cli, out, run
from imgpro.services import Services

apps_app = Cli(help="Registered apps (App mode).")


@apps_app.command("create")
def apps_create(
    owner_email: Annotated[str, typer.Argument(help="The owner's account email.")],
    name: Annotated[str, typer.Option("--name", help="Shown to the app's users.")],
    redirect_uri: Annotated[
        list[str],
        typer.Option(
            "--redirect-uri",
            help="An exact redirect URI (https, or http on localhost); repeat for several.",
        ),
    ],
    secret_name: Annotated[
        str, typer.Option("--secret-name", help="A name for the first secret.")
    ] = DEFAULT_SECRET_NAME,
) -> None:
    """Register an app for an account: prints the app id and its secret (shown once).

    The owner's plan decides how many apps they may have (`imgpro plans list`)."""

    async def work(s: Services) -> tuple[App, str]:
        owner = await s.apps.owner_of(owner_email)
        return await s.apps.register(
            owner_user_id=owner,
            name=name,
            redirect_uris=redirect_uri,
            now=s.clock.now(),
            secret_name=secret_name,
        )

    app, secret = run(work)
    out.print(f"app id: {app.id}")
    out.print(f"secret: {secret}")
    out.print(
        "The secret is shown only now; imgpro keeps its hash. Send it as "
        "'Authorization: Bearer <secret>' (add 'X-Img-User: <user id>' to act for a "
        "connected user; without it, on the app's own storage).",
        soft_wrap=True,
    )


@apps_app.command("list")
def apps_list() -> None:
    """Every app with its owner, status, connected users, their images and the app's own."""

    async def work(s: Services) -> list[tuple[App, AppStats]]:
        return await s.apps.list_all()

    # Two image counts: an app secret without X-Img-User stores in the app's own workspace,
    # which is not one of its users' (one column said 0 for an app holding images).
    table = Table("id", "name", "owner", "status", "users", "users' images", "own images")
    for app, stats in run(work):
        table.add_row(
            app.id,
            app.name,
            app.owner_user_id,
            app.status,
            str(stats.connected_users),
            str(stats.images),
            str(stats.storage_images),
        )
    out.print(table)


def _set_blocked(app_id: str, blocked: bool) -> None:
    async def work(s: Services) -> App:
        return await s.apps.set_blocked(app_id, blocked)

    app = run(work)
    out.print(f"app {app.id} ({app.name}) is now {app.status}")


@apps_app.command("block")
def apps_block(app_id: str) -> None:
    """Block an app: every request with its secret answers 403 app_blocked."""
    _set_blocked(app_id, True)


@apps_app.command("unblock")
def apps_unblock(app_id: str) -> None:
    """Lift an operator block."""
    _set_blocked(app_id, False)
