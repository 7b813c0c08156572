"""rendered variants: sizes and recency, for the variant storage budget

Revision ID: 0006_variant_budget
Revises: 0005

Variants stored before this migration have no row: they count against nothing until
``imgpro gc`` indexes them (it adds a row for every untracked variant of a live image).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_variant_budget"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "variants",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("image_id", sa.String(length=64), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("last_used", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_variants")),
    )
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_variants_image_id"), ["image_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_variants_last_used"), ["last_used"], unique=False)
    totals = op.create_table(
        "variant_totals",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_variant_totals")),
    )
    op.bulk_insert(totals, [{"id": 1, "bytes": 0, "count": 0}])


def downgrade() -> None:
    op.drop_table("variant_totals")
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_variants_last_used"))
        batch_op.drop_index(batch_op.f("ix_variants_image_id"))
    op.drop_table("variants")
