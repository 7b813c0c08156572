"""Deleting an account: its images (rows, then blobs), keys, apps (with the workspaces their
users had inside them), sessions, codes, plan requests and workspaces — then the user.

The rows go in one transaction, so a failure leaves the account whole; blobs are removed after
the commit (a blob whose removal fails is an orphan that ``imgpro gc`` sweeps, never a live
image)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from imgpro.db.tables import (
    api_keys,
    app_secrets,
    apps,
    connect_codes,
    email_tokens,
    image_tombstones,
    images,
    mail_notices,
    plan_requests,
    sessions,
    users,
    workspaces,
)
from imgpro.images import repository as image_repo
from imgpro.transforms import repository as transform_repo

if TYPE_CHECKING:
    from imgpro.services import Services


async def delete_account(s: Services, user_id: str) -> int | None:
    """Delete the account ``user_id``; returns how many images went, None if no such user."""
    async with s.db.write() as conn:
        email = await conn.scalar(sa.select(users.c.email).where(users.c.id == user_id))
        if email is None:
            return None
        app_ids = list(
            (
                await conn.execute(sa.select(apps.c.id).where(apps.c.owner_user_id == user_id))
            ).scalars()
        )
        owned = sa.or_(workspaces.c.user_id == user_id, workspaces.c.app_id.in_(app_ids))
        workspace_ids = list(
            (await conn.execute(sa.select(workspaces.c.id).where(owned))).scalars()
        )
        rows: list[Any] = list(
            (
                await conn.execute(
                    sa.select(images).where(images.c.workspace_id.in_(workspace_ids))
                )
            ).all()
        )
        for start in range(0, len(rows), 500):  # bounded IN lists
            # The images domain's own delete: labels, variant rows and counters go with them.
            await image_repo.delete_rows(conn, rows[start : start + 500], s.clock.now())
        for workspace_id in workspace_ids:
            await transform_repo.delete_workspace_rows(conn, workspace_id)
        await conn.execute(app_secrets.delete().where(app_secrets.c.app_id.in_(app_ids)))
        await conn.execute(
            image_tombstones.delete().where(image_tombstones.c.workspace_id.in_(workspace_ids))
        )
        await conn.execute(
            mail_notices.delete().where(mail_notices.c.workspace_id.in_(workspace_ids))
        )
        await conn.execute(
            plan_requests.delete().where(
                sa.or_(
                    plan_requests.c.workspace_id.in_(workspace_ids),
                    plan_requests.c.user_id == user_id,
                )
            )
        )
        await conn.execute(
            api_keys.delete().where(
                sa.or_(api_keys.c.user_id == user_id, api_keys.c.workspace_id.in_(workspace_ids))
            )
        )
        await conn.execute(
            connect_codes.delete().where(
                sa.or_(connect_codes.c.user_id == user_id, connect_codes.c.app_id.in_(app_ids))
            )
        )
        await conn.execute(sessions.delete().where(sessions.c.user_id == user_id))
        await conn.execute(email_tokens.delete().where(email_tokens.c.user_id == user_id))
        await conn.execute(workspaces.delete().where(workspaces.c.id.in_(workspace_ids)))
        await conn.execute(apps.delete().where(apps.c.id.in_(app_ids)))
        await conn.execute(users.delete().where(users.c.id == user_id))
        await s.mail.send(email, "account_deleted", conn=conn, images=len(rows))
    await s.images.remove_blobs(rows)
    return len(rows)
