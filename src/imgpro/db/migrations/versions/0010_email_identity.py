"""email identity: verification and notification columns on users, email tokens, the mail
outbox and once-per-period notices

Existing accounts count as verified (they were created before there was any way to verify),
so nobody loses anything to the new unverified-account policy.

Revision ID: 0010_email_identity
Revises: 0009_app_storage
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import imgpro.db.tables

revision = "0010_email_identity"
down_revision = "0009_app_storage"
branch_labels = None
depends_on = None

Utc = imgpro.db.tables.UtcDateTime


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_verified_at", Utc(timezone=True), nullable=True))
        for name in ("notify_quota", "notify_keys", "notify_apps"):
            batch_op.add_column(
                sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.true())
            )
    op.execute("UPDATE users SET email_verified_at = created_at")

    op.create_table(
        "email_tokens",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("user_id", sa.String(length=16), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.Column("expires_at", Utc(timezone=True), nullable=False),
        sa.Column("used_at", Utc(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            ondelete="CASCADE",
            name=op.f("fk_email_tokens_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_tokens")),
    )
    with op.batch_alter_table("email_tokens", schema=None) as batch_op:
        for column in ("secret_hash", "browser_hash", "expires_at"):
            batch_op.create_index(batch_op.f(f"ix_email_tokens_{column}"), [column], unique=False)

    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.Column("next_attempt_at", Utc(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", Utc(timezone=True), nullable=True),
        sa.Column("sent_at", Utc(timezone=True), nullable=True),
        sa.Column("failed_at", Utc(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("transport", sa.String(length=8), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mail_outbox_sent_at_next_attempt_at"),
            ["sent_at", "next_attempt_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_mail_outbox_created_at"), ["created_at"], unique=False)

    op.create_table(
        "mail_notices",
        sa.Column("workspace_id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "kind", "period", name=op.f("pk_mail_notices")),
    )


def downgrade() -> None:
    op.drop_table("mail_notices")
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_outbox_created_at"))
        batch_op.drop_index(batch_op.f("ix_mail_outbox_sent_at_next_attempt_at"))
    op.drop_table("mail_outbox")
    with op.batch_alter_table("email_tokens", schema=None) as batch_op:
        for column in ("expires_at", "browser_hash", "secret_hash"):
            batch_op.drop_index(batch_op.f(f"ix_email_tokens_{column}"))
    op.drop_table("email_tokens")
    with op.batch_alter_table("users", schema=None) as batch_op:
        for name in ("notify_apps", "notify_keys", "notify_quota", "email_verified_at"):
            batch_op.drop_column(name)
