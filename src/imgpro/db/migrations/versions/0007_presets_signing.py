"""presets and signed-transform settings per workspace

Revision ID: 0007_presets_signing
Revises: 0006_variant_budget
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import imgpro.db.tables

revision = "0007_presets_signing"
down_revision = "0006_variant_budget"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "presets",
        sa.Column("workspace_id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("created_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_presets_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("workspace_id", "name", name=op.f("pk_presets")),
    )
    op.create_table(
        "transform_settings",
        sa.Column("workspace_id", sa.String(length=16), nullable=False),
        sa.Column("signed_transforms", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("signing_secret", sa.String(length=128), nullable=True),
        sa.Column("updated_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_transform_settings_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_transform_settings")),
    )


def downgrade() -> None:
    op.drop_table("transform_settings")
    op.drop_table("presets")
