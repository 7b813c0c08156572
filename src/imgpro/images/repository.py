"""SQL for images: every query that touches ``images`` and ``image_labels`` lives here.

This module owns the rule of a **live image**, for every reader (the API, the CDN, the viewer
page): :func:`live` says which rows exist for readers at all, and :func:`owned_by`,
:func:`by_link` and :func:`on_page` say who may see them. The CDN's fast lookup
(``delivery/lookup.py``) compiles its SQL from :func:`by_link`; nothing else writes the rule
again. An image that is expired, deleted (no row) or blocked by an operator looks exactly like a
missing one, to everyone; a blocked one still counts in its owner's storage until deleted.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from imgpro.db.engine import Database
from imgpro.db.tables import image_labels, image_tombstones, images, workspaces
from imgpro.images.schemas import OBJECT_FIELDS
from imgpro.transforms.variants_repository import forget_images as forget_variants

Now = dt.datetime | sa.BindParameter[Any]


def live(now: Now) -> sa.ColumnElement[bool]:
    """Rows that exist for readers: not expired and not blocked. (A deleted image has no row.)
    ``now`` may be a bind parameter, for a statement compiled once and run many times."""
    return sa.and_(
        images.c.blocked_at.is_(None),
        sa.or_(images.c.expires_at.is_(None), images.c.expires_at > now),
    )


def owned_by(workspace_id: str, now: Now) -> sa.ColumnElement[bool]:
    """The API: a workspace reads its own live images, public or private, and no one else's."""
    return sa.and_(images.c.workspace_id == workspace_id, live(now))


def by_link(now: Now) -> sa.ColumnElement[bool]:
    """The CDN: any live image by id alone, private too — the URL is the capability."""
    return live(now)


def on_page(visitor_workspace_id: str | None, now: Now) -> sa.ColumnElement[bool]:
    """The viewer page: live public images for everyone; a private one only for the signed-in
    owner of its workspace (``visitor_workspace_id``; None for an anonymous visitor)."""
    if visitor_workspace_id is None:
        return sa.and_(images.c.public.is_(True), live(now))
    return sa.and_(
        sa.or_(images.c.public.is_(True), images.c.workspace_id == visitor_workspace_id), live(now)
    )


# What the Image object needs (schemas.OBJECT_FIELDS, in that order), then ``seq`` for the
# cursor. ``metadata`` and ``labels`` come back as their stored JSON text, not decoded by the
# driver: nearly every row holds "{}", and the Image object skips json.loads for that (on
# PostgreSQL asyncpg decodes a json column itself, hence a cast rather than a type_coerce).
_AS_TEXT = {"metadata", "labels"}
OBJECT_COLUMNS = (
    *(
        sa.cast(images.c[name], sa.Text).label(name) if name in _AS_TEXT else images.c[name]
        for name in OBJECT_FIELDS
    ),
    images.c.seq,
)


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, seq = raw.partition(":")
        value = int(seq)
        return value if version == "v1" and value > 0 else None
    except (ValueError, UnicodeDecodeError):
        return None


async def get_visible(
    conn: AsyncConnection, workspace_id: str, image_id: str, now: dt.datetime
) -> sa.Row[Any] | None:
    return (
        await conn.execute(
            sa.select(images).where(images.c.id == image_id, owned_by(workspace_id, now))
        )
    ).first()


def select_object(workspace_id: str, image_id: str, now: dt.datetime) -> sa.Select[Any]:
    """One visible image, :data:`OBJECT_COLUMNS` only (a lone SELECT: ``Database.fetch_first``)."""
    return sa.select(*OBJECT_COLUMNS).where(images.c.id == image_id, owned_by(workspace_id, now))


async def object_row(
    db: Database, workspace_id: str, image_id: str, now: dt.datetime
) -> sa.Row[Any] | None:
    """One visible image as :data:`OBJECT_COLUMNS` (GET /v1/images/{id}), or None."""
    return await db.fetch_first(select_object(workspace_id, image_id, now))


async def get_on_page(
    conn: AsyncConnection, image_id: str, visitor_workspace_id: str | None, now: dt.datetime
) -> sa.Row[Any] | None:
    """The image a viewer page shows to this visitor (:func:`on_page`), or None."""
    return (
        await conn.execute(
            sa.select(images).where(images.c.id == image_id, on_page(visitor_workspace_id, now))
        )
    ).first()


async def visible_page(
    db: Database,
    workspace_id: str,
    now: dt.datetime,
    *,
    limit: int,
    before_seq: int | None = None,
    labels: Sequence[tuple[str, str]] = (),
    ids: Sequence[str] | None = None,
) -> list[sa.Row[Any]]:
    """One page of the list endpoint, newest first, keyset-paginated on ``seq`` (a page costs
    the same at any depth): :data:`OBJECT_COLUMNS` of the workspace's live images."""
    query = sa.select(*OBJECT_COLUMNS).where(owned_by(workspace_id, now))
    if before_seq is not None:
        query = query.where(images.c.seq < before_seq)
    for key, value in labels:
        query = query.where(
            sa.exists().where(
                image_labels.c.workspace_id == workspace_id,
                image_labels.c.key == key,
                image_labels.c.value == value,
                image_labels.c.image_seq == images.c.seq,
            )
        )
    if ids is not None:
        query = query.where(images.c.id.in_(list(ids)))
    return await db.fetch(query.order_by(images.c.seq.desc()).limit(limit))


async def insert_image(conn: AsyncConnection, values: dict[str, Any]) -> int:
    result = await conn.execute(images.insert().values(**values))
    seq = int(result.inserted_primary_key[0])  # type: ignore[index]
    await _insert_labels(conn, seq, values["workspace_id"], values.get("labels") or {})
    return seq


async def replace_labels(
    conn: AsyncConnection, seq: int, workspace_id: str, labels: dict[str, str]
) -> None:
    await conn.execute(image_labels.delete().where(image_labels.c.image_seq == seq))
    await _insert_labels(conn, seq, workspace_id, labels)


async def _insert_labels(
    conn: AsyncConnection, seq: int, workspace_id: str, labels: dict[str, str]
) -> None:
    if labels:
        await conn.execute(
            image_labels.insert(),
            [
                {"image_seq": seq, "workspace_id": workspace_id, "key": k, "value": v}
                for k, v in labels.items()
            ],
        )


async def update_image(conn: AsyncConnection, seq: int, values: dict[str, Any]) -> None:
    await conn.execute(images.update().where(images.c.seq == seq).values(**values))


async def delete_rows(conn: AsyncConnection, rows: Sequence[sa.Row[Any]], now: dt.datetime) -> None:
    """Delete image rows, leave tombstones, give their storage back and take their variants off
    the variant budget, in one transaction."""
    if not rows:
        return
    seqs = [r.seq for r in rows]
    await conn.execute(
        image_tombstones.insert(),
        [{"workspace_id": r.workspace_id, "image_id": r.id, "deleted_at": now} for r in rows],
    )
    await conn.execute(image_labels.delete().where(image_labels.c.image_seq.in_(seqs)))
    await forget_variants(conn, [r.id for r in rows])  # their blobs go with the prefix
    deleted = await conn.execute(
        images.delete()
        .where(images.c.seq.in_(seqs))
        .returning(images.c.workspace_id, images.c.bytes)
    )
    by_workspace: dict[str, tuple[int, int]] = {}
    for wid, size in deleted.all():
        count, total = by_workspace.get(wid, (0, 0))
        by_workspace[wid] = (count + 1, total + size)
    for wid, (count, total) in by_workspace.items():
        await conn.execute(
            workspaces.update()
            .where(workspaces.c.id == wid)
            .values(
                images_count=workspaces.c.images_count - count,
                storage_used=workspaces.c.storage_used - total,
            )
        )


async def expired_rows(
    conn: AsyncConnection, now: dt.datetime, limit: int = 500
) -> list[sa.Row[Any]]:
    return list(
        (
            await conn.execute(
                sa.select(images)
                .where(images.c.expires_at.is_not(None), images.c.expires_at <= now)
                .order_by(images.c.expires_at)
                .limit(limit)
            )
        ).all()
    )


async def all_blob_keys(conn: AsyncConnection) -> set[str]:
    return set((await conn.execute(sa.select(images.c.blob_key))).scalars().all())


async def all_image_ids(conn: AsyncConnection) -> set[str]:
    return set((await conn.execute(sa.select(images.c.id))).scalars().all())


async def tombstoned(
    conn: AsyncConnection, workspace_id: str, image_ids: Sequence[str]
) -> set[str]:
    if not image_ids:
        return set()
    return set(
        (
            await conn.execute(
                sa.select(image_tombstones.c.image_id).where(
                    image_tombstones.c.workspace_id == workspace_id,
                    image_tombstones.c.image_id.in_(list(image_ids)),
                )
            )
        )
        .scalars()
        .all()
    )


async def rows_by_ids(conn: AsyncConnection, image_ids: Sequence[str]) -> list[sa.Row[Any]]:
    return list(
        (await conn.execute(sa.select(images).where(images.c.id.in_(list(image_ids))))).all()
    )


async def blob_key_in_use(conn: AsyncConnection, key: str) -> bool:
    found = await conn.scalar(sa.select(images.c.seq).where(images.c.blob_key == key).limit(1))
    return found is not None


async def set_blocked(
    conn: AsyncConnection, image_id: str, at: dt.datetime | None, reason: str | None
) -> sa.Row[Any] | None:
    """Block (``at`` set) or unblock (``at`` None) one image by id, whatever its state; its
    row, counters and blob stay. Returns the row as it now is, or None when there is none."""
    values: dict[str, Any] = {"blocked_at": at, "blocked_reason": reason if at else None}
    if at is not None:  # blocking again keeps the first time, and the first reason unless given
        values["blocked_at"] = sa.func.coalesce(images.c.blocked_at, at)
        if reason is None:
            values["blocked_reason"] = images.c.blocked_reason
    await conn.execute(images.update().where(images.c.id == image_id).values(**values))
    return (await conn.execute(sa.select(images).where(images.c.id == image_id))).first()


# -- an account's deletion (accounts/): its workspaces' images and tombstones go with it ---------


async def rows_of_workspaces(
    conn: AsyncConnection, workspace_ids: Sequence[str], *, limit: int | None = None
) -> list[sa.Row[Any]]:
    """The image rows of ``workspace_ids``, oldest first (at most ``limit``)."""
    query = (
        sa.select(images)
        .where(images.c.workspace_id.in_(list(workspace_ids)))
        .order_by(images.c.seq)
    )
    if limit is not None:
        query = query.limit(limit)
    return list((await conn.execute(query)).all())


async def delete_tombstones_of_workspaces(
    conn: AsyncConnection, workspace_ids: Sequence[str]
) -> None:
    await conn.execute(
        image_tombstones.delete().where(image_tombstones.c.workspace_id.in_(list(workspace_ids)))
    )
