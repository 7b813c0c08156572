"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 02:07:43.007058
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import imgpro.db.tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "image_tombstones",
        sa.Column("workspace_id", sa.String(length=16), nullable=False),
        sa.Column("image_id", sa.String(length=8), nullable=False),
        sa.Column("deleted_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "image_id", name=op.f("pk_image_tombstones")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=16), nullable=True),
        sa.Column("app_id", sa.String(length=16), nullable=True),
        sa.Column("prefix", sa.String(length=3), nullable=False),
        sa.Column("plan", sa.String(length=32), server_default="free", nullable=False),
        sa.Column("period", sa.String(length=7), server_default="", nullable=False),
        sa.Column("uploads_used", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("storage_used", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("images_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("disconnected_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_workspaces_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint(
            "user_id", "app_id", "kind", name=op.f("uq_workspaces_user_id_app_id_kind")
        ),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("workspace_id", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("display_prefix", sa.String(length=24), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("abilities", sa.String(length=32), nullable=False),
        sa.Column("created_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_api_keys_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_api_keys_secret_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_user_id"), ["user_id"], unique=False)

    op.create_table(
        "images",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=8), nullable=False),
        sa.Column("workspace_id", sa.String(length=16), nullable=False),
        sa.Column("prefix", sa.String(length=3), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("source_format", sa.String(length=8), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("frames", sa.Integer(), server_default="1", nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("blob_key", sa.String(length=64), nullable=False),
        sa.Column("transformable", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("caption", sa.Text(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("nsfw", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("blurhash", sa.String(length=64), nullable=True),
        sa.Column("color", sa.String(length=7), nullable=True),
        sa.Column("published_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_images_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_images")),
        sa.UniqueConstraint("id", name=op.f("uq_images_id")),
    )
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.create_index("ix_images_expires_at", ["expires_at"], unique=False)
        batch_op.create_index("ix_images_workspace_seq", ["workspace_id", "seq"], unique=False)

    op.create_table(
        "image_labels",
        sa.Column(
            "image_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("workspace_id", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_seq"],
            ["images.seq"],
            name=op.f("fk_image_labels_image_seq_images"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("image_seq", "key", name=op.f("pk_image_labels")),
    )
    with op.batch_alter_table("image_labels", schema=None) as batch_op:
        batch_op.create_index(
            "ix_image_labels_lookup", ["workspace_id", "key", "value", "image_seq"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("image_labels", schema=None) as batch_op:
        batch_op.drop_index("ix_image_labels_lookup")

    op.drop_table("image_labels")
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_index("ix_images_workspace_seq")
        batch_op.drop_index("ix_images_expires_at")

    op.drop_table("images")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_user_id"))

    op.drop_table("api_keys")
    op.drop_table("workspaces")
    op.drop_table("users")
    op.drop_table("image_tombstones")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_expires_at"))

    op.drop_table("idempotency_keys")
