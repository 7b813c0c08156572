"""image blocked: an operator's block on one image (blocked_at, blocked_reason)

Both columns are nullable and added in place (``ALTER TABLE … ADD COLUMN`` on both engines, no
table rebuild): every existing image stays as it was, unblocked.

Revision ID: 0012_image_blocked
Revises: 0011_thumbhash
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import imgpro.db.tables

revision = "0012_image_blocked"
down_revision = "0011_thumbhash"
branch_labels = None
depends_on = None

Utc = imgpro.db.tables.UtcDateTime


def upgrade() -> None:
    op.add_column("images", sa.Column("blocked_at", Utc(timezone=True), nullable=True))
    op.add_column("images", sa.Column("blocked_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    # In place too (SQLite >= 3.35 drops a column natively): a batch rebuild of ``images``
    # would drop the table under image_labels' ON DELETE CASCADE.
    op.execute("ALTER TABLE images DROP COLUMN blocked_reason")
    op.execute("ALTER TABLE images DROP COLUMN blocked_at")
