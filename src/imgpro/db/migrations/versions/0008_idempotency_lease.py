"""idempotency claims carry an owner token and a lease (crash-safe Idempotency-Key)

A claim whose lease ran out belongs to a request whose process died; the next retry takes it
over. Existing in-progress rows get no lease (NULL), which counts as expired: they were left
by a process that is gone (the server was restarted to migrate).

Revision ID: 0008_idempotency_lease
Revises: 0007_presets_signing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import imgpro.db.tables

revision = "0008_idempotency_lease"
down_revision = "0007_presets_signing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column(
                "lease_expires_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("owner")
