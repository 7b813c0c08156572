"""images.thumbhash: the ThumbHash placeholder beside the BlurHash

Existing rows keep NULL (their Image object answers ``placeholder.thumbhash: null``); a new
upload computes it from the same 32 px thumbnail as the BlurHash.

Revision ID: 0011_thumbhash
Revises: 0010_email_identity
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_thumbhash"
down_revision = "0010_email_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.add_column(sa.Column("thumbhash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.drop_column("thumbhash")
