"""``imgpro apps …``: the operator's view of registered apps."""

from __future__ import annotations

from rich.table import Table

from imgpro.apps.service import App, AppStats
from imgpro.cli.common import Cli, out, run
from imgpro.services import Services

apps_app = Cli(help="Registered apps (App mode).")


@apps_app.command("list")
def apps_list() -> None:
    """Every app with its owner, status, connected users and images."""

    async def work(s: Services) -> list[tuple[App, AppStats]]:
        return await s.apps.list_all()

    table = Table("id", "name", "owner", "status", "users", "images")
    for app, stats in run(work):
        table.add_row(app.id, app.name, app.owner_user_id, app.status,
                      str(stats.connected_users), str(stats.images))
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
