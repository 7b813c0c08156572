"""Deleting an account: its images (rows, then blobs), keys, apps (with the workspaces their
users had inside them), sessions, codes, plan requests and workspaces — then the user.

The rows go in one transaction, so a failure leaves the account whole; blobs are removed after
the commit (a blob whose removal fails is an orphan that ``imgpro gc`` sweeps, never a live
image)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgpro.accounts import deletion_repository as deletion_repo
from imgpro.accounts import repository as account_repo
from imgpro.accounts import tokens_repository as token_repo
from imgpro.apps import connect_repository as connect_repo
from imgpro.apps import repository as apps_repo
from imgpro.billing import repository as billing_repo
from imgpro.images import repository as image_repo
from imgpro.keys import repository as key_repo
from imgpro.transforms import repository as transform_repo

if TYPE_CHECKING:
    from imgpro.services import Services


async def delete_account(s: Services, user_id: str) -> int | None:
    """Delete the account ``user_id``; returns how many images went, None if no such user."""
    async with s.db.write() as conn:
        email = await account_repo.email_of(conn, user_id)
        if email is None:
            return None
        app_ids = await apps_repo.owned_app_ids(conn, user_id)
        workspace_ids = await deletion_repo.workspace_ids_of_account(conn, user_id, app_ids)
        rows = await image_repo.rows_of_workspaces(conn, workspace_ids)
        for start in range(0, len(rows), 500):  # bounded IN lists
            # The images domain's own delete: labels, variant rows and counters go with them.
            await image_repo.delete_rows(conn, rows[start : start + 500], s.clock.now())
        for workspace_id in workspace_ids:
            await transform_repo.delete_workspace_rows(conn, workspace_id)
        await apps_repo.delete_app_secrets(conn, app_ids)
        await image_repo.delete_tombstones_of_workspaces(conn, workspace_ids)
        await deletion_repo.delete_notices_of_workspaces(conn, workspace_ids)
        await billing_repo.delete_plan_requests(conn, user_id, workspace_ids)
        await key_repo.delete_keys_of_account(conn, user_id, workspace_ids)
        await connect_repo.delete_connect_codes_of_account(conn, user_id, app_ids)
        await account_repo.delete_user_sessions(conn, user_id)
        await token_repo.delete_user_tokens(conn, user_id)
        await deletion_repo.delete_workspaces(conn, workspace_ids)
        await apps_repo.delete_apps(conn, app_ids)
        await deletion_repo.delete_user(conn, user_id)
        await s.mail.send(email, "account_deleted", conn=conn, images=len(rows))
    await s.images.remove_blobs(rows)
    return len(rows)
