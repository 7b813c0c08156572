"""Notification emails worth sending: a workspace reaching 80 % and 100 % of its plan (once
per period each), a new API key, an app connected. Each can be switched off by the person on
the account page (``users.notify_*``). A notification never fails the action it reports: a
failure to queue it is logged and the action stands."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from imgpro.accounts import repository as account_repo
from imgpro.apps import repository as apps_repo
from imgpro.billing.quotas import period_of, read_counters

if TYPE_CHECKING:
    from imgpro.services import Services

log = logging.getLogger("imgpro.mail")
THRESHOLDS = (100, 80)  # highest first: a jump from 70 % to 100 % sends the 100 % notice only


async def _recipient(s: Services, user_id: str, switch: str) -> str | None:
    """The person's address if they want notices of kind ``switch``."""
    found = await account_repo.email_and_switch(s.db, user_id, switch)
    if found is None:
        return None
    email, wants = found
    return email if wants else None


async def key_created(
    s: Services, user_id: str, name: str, prefix: str, abilities: tuple[str, ...]
) -> None:
    try:
        to = await _recipient(s, user_id, "keys")
        if to:
            await s.mail.send(
                to, "key_created", key_name=name, key_prefix=prefix, abilities=", ".join(abilities)
            )
    except Exception:
        log.exception("could not queue the new-key notice")


async def app_connected(s: Services, user_id: str, app_name: str) -> None:
    try:
        to = await _recipient(s, user_id, "apps")
        if to:
            await s.mail.send(to, "app_connected", app_name=app_name)
    except Exception:
        log.exception("could not queue the app-connected notice")


def _usage_lines(used: int, limit: int | None, label: str) -> tuple[float, str | None]:
    if not limit:
        return 0.0, None
    return used / limit, f"{label}: {used:,} of {limit:,}"


async def after_upload(s: Services, workspace_id: str) -> None:
    """Called after an upload committed: queue a quota notice when the workspace crossed 80 %
    or 100 % of a limit for the first time this period."""
    try:
        await _quota_notice(s, workspace_id)
    except Exception:
        log.exception("could not check the quota notice of %s", workspace_id)


async def _quota_notice(s: Services, workspace_id: str) -> None:
    now = s.clock.now()
    async with s.db.read() as conn:
        counters = await read_counters(conn, workspace_id, now)
        ws = await account_repo.workspace_owner(conn, workspace_id)
    if counters is None or ws is None or ws.kind == "anonymous":
        return
    plan = s.plans.get(counters.plan)
    measured = [
        _usage_lines(counters.uploads_used, plan.uploads_per_month, "uploads this month"),
        _usage_lines(counters.images_count, plan.images, "images stored"),
        _usage_lines(counters.storage_used, plan.storage_bytes, "bytes of storage"),
    ]
    ratio = max(r for r, _ in measured)
    reached = next((t for t in THRESHOLDS if ratio * 100 >= t), None)
    if reached is None:
        return
    user_id = ws.user_id
    app_name = None
    if ws.app_id is not None:
        app = await apps_repo.app_name_and_owner(s.db, ws.app_id)
        app_name = app.name if app is not None else None
        user_id = user_id or (app.owner_user_id if app is not None else None)
    if user_id is None:
        return
    to = await _recipient(s, user_id, "quota")
    try:
        async with s.db.write() as conn:
            # Recorded once per (workspace, kind, period): a second time raises IntegrityError.
            await account_repo.record_notice(
                conn,
                workspace_id=workspace_id,
                kind=f"quota{reached}",
                period=period_of(now),
                now=now,
            )
            if to:
                label = (
                    f"Your workspace in {app_name}"
                    if app_name and ws.user_id
                    else f"The app {app_name}"
                    if app_name
                    else "Your imgpro account"
                )
                await s.mail.send(
                    to,
                    "quota",
                    conn=conn,
                    percent=reached,
                    plan=plan.title,
                    workspace_label=label,
                    lines=[line for _, line in measured if line],
                )
    except IntegrityError:
        return  # already sent this period
