"""The SQL of deleting an account (deletion.py, and the operator's ``imgpro users delete`` in
service.py): finding what it owns, then removing its rows. The use cases decide the order and
run it all on one connection; images, keys and presets go through their own domains'
repositories.

The apps (``apps``, ``app_secrets``, ``connect_codes``) and billing (``plan_requests``) rows
are deleted here only until those domains have repositories of their own to ask."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.db.tables import (
    app_secrets,
    apps,
    connect_codes,
    mail_notices,
    plan_requests,
    users,
    workspaces,
)

# -- what an account owns ----------------------------------------------------------------------


async def owned_app_ids(conn: AsyncConnection, user_id: str) -> list[str]:
    return list(
        (
            await conn.execute(
                sa.select(apps.c.id).where(apps.c.owner_user_id == user_id).order_by(apps.c.id)
            )
        ).scalars()
    )


async def workspace_ids_of_user(conn: AsyncConnection, user_id: str) -> list[str]:
    return list(
        (
            await conn.execute(sa.select(workspaces.c.id).where(workspaces.c.user_id == user_id))
        ).scalars()
    )


async def workspace_ids_of_account(
    conn: AsyncConnection, user_id: str, app_ids: Sequence[str]
) -> list[str]:
    """The user's workspaces and every workspace inside the apps ``app_ids``."""
    owned = sa.or_(workspaces.c.user_id == user_id, workspaces.c.app_id.in_(list(app_ids)))
    return list((await conn.execute(sa.select(workspaces.c.id).where(owned))).scalars())


# -- the accounts domain's rows ----------------------------------------------------------------


async def delete_notices_of_workspaces(conn: AsyncConnection, workspace_ids: Sequence[str]) -> None:
    await conn.execute(
        mail_notices.delete().where(mail_notices.c.workspace_id.in_(list(workspace_ids)))
    )


async def delete_workspaces(conn: AsyncConnection, workspace_ids: Sequence[str]) -> None:
    await conn.execute(workspaces.delete().where(workspaces.c.id.in_(list(workspace_ids))))


async def delete_user(conn: AsyncConnection, user_id: str) -> None:
    await conn.execute(users.delete().where(users.c.id == user_id))


# -- apps' and billing's rows (until those domains have repositories) --------------------------


async def delete_app_secrets(conn: AsyncConnection, app_ids: Sequence[str]) -> None:
    await conn.execute(app_secrets.delete().where(app_secrets.c.app_id.in_(list(app_ids))))


async def delete_apps(conn: AsyncConnection, app_ids: Sequence[str]) -> None:
    await conn.execute(apps.delete().where(apps.c.id.in_(list(app_ids))))


async def delete_connect_codes_of_user(conn: AsyncConnection, user_id: str) -> None:
    await conn.execute(connect_codes.delete().where(connect_codes.c.user_id == user_id))


async def delete_connect_codes_of_account(
    conn: AsyncConnection, user_id: str, app_ids: Sequence[str]
) -> None:
    """The user's hosted-login codes and every code of the apps ``app_ids``."""
    await conn.execute(
        connect_codes.delete().where(
            sa.or_(connect_codes.c.user_id == user_id, connect_codes.c.app_id.in_(list(app_ids)))
        )
    )


async def delete_plan_requests(
    conn: AsyncConnection, user_id: str, workspace_ids: Sequence[str]
) -> None:
    """The plan requests the user made or that name one of ``workspace_ids``."""
    await conn.execute(
        plan_requests.delete().where(
            sa.or_(
                plan_requests.c.user_id == user_id,
                plan_requests.c.workspace_id.in_(list(workspace_ids)),
            )
        )
    )
