"""The SQL of deleting an account (deletion.py, and the operator's ``imgpro users delete`` in
service.py): finding what it owns, then removing its rows. The use cases decide the order and
run it all on one connection; images, keys, presets, apps (and their secrets and hosted-login
codes) and plan requests go through their own domains' repositories."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.db.tables import (
    mail_notices,
    users,
    workspaces,
)

# -- what an account owns ----------------------------------------------------------------------


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
