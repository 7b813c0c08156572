"""the shared anonymous workspace

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

from imgpro.ids import shard_prefix

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    workspaces = sa.table(
        "workspaces",
        sa.column("id"),
        sa.column("kind"),
        sa.column("prefix"),
        sa.column("plan"),
        sa.column("period"),
        sa.column("created_at"),
    )
    now = dt.datetime.now(dt.UTC)
    op.bulk_insert(
        workspaces,
        [
            {
                "id": "anonymous",
                "kind": "anonymous",
                "prefix": shard_prefix("anonymous"),
                "plan": "free",
                "period": now.strftime("%Y-%m"),
                "created_at": now.replace(tzinfo=None)
                if op.get_bind().dialect.name == "sqlite"
                else now,
            }
        ],
    )


def downgrade() -> None:
    op.execute("DELETE FROM workspaces WHERE id = 'anonymous'")
