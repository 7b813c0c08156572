"""app storage: named app secrets, one workspace of its own per app

Revision ID: 0009_app_storage
Revises: 0008_idempotency_lease

* ``app_secrets``: an app may hold several named secrets. Each app's one existing secret moves
  there (named "default"), so every secret in use keeps working.
* Every existing app gets its own workspace (kind ``app``, owned by the app's owner, free plan,
  empty counters): the storage an app secret acts on without ``X-Img-User``.
* ``apps.secret_hash`` / ``apps.secret_prefix`` go (their rows were copied first).

Nothing else is touched: every workspace keeps its plan and its counters (uploads this month,
storage, images stored) exactly as they were. Plans themselves are data in the settings, not
in the database, so the new default limits (SPEC §7) apply to the same counters.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from alembic import op

import imgpro.db.tables

revision = "0009_app_storage"
down_revision = "0008_idempotency_lease"
branch_labels = None
depends_on = None

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def _short_id(length: int) -> str:
    # A copy of ids.short_id: a migration must not change when the application code does.
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _shard_prefix(workspace_id: str) -> str:
    # A copy of ids.shard_prefix (same reason): the CDN path segment derived from the id.
    n = int.from_bytes(hashlib.sha256(workspace_id.encode()).digest()[:8], "big")
    out = []
    for _ in range(3):
        n, r = divmod(n, len(_ALPHABET))
        out.append(_ALPHABET[r])
    return "".join(out)


def upgrade() -> None:
    op.create_table(
        "app_secrets",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("app_id", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("display_prefix", sa.String(length=24), nullable=False),
        sa.Column("created_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", imgpro.db.tables.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_app_secrets_app_id_apps")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_secrets")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_app_secrets_secret_hash")),
    )
    with op.batch_alter_table("app_secrets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_secrets_app_id"), ["app_id"], unique=False)
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.create_index("ix_workspaces_app_id_kind", ["app_id", "kind"], unique=False)

    conn = op.get_bind()
    old_apps = sa.table(
        "apps",
        sa.column("id", sa.String),
        sa.column("owner_user_id", sa.String),
        sa.column("secret_hash", sa.String),
        sa.column("secret_prefix", sa.String),
        sa.column("created_at", imgpro.db.tables.UtcDateTime()),
        sa.column("secret_rotated_at", imgpro.db.tables.UtcDateTime()),
    )
    app_secrets = sa.table(
        "app_secrets",
        sa.column("id", sa.String),
        sa.column("app_id", sa.String),
        sa.column("name", sa.String),
        sa.column("secret_hash", sa.String),
        sa.column("display_prefix", sa.String),
        sa.column("created_at", imgpro.db.tables.UtcDateTime()),
    )
    workspaces = sa.table(
        "workspaces",
        sa.column("id", sa.String),
        sa.column("kind", sa.String),
        sa.column("user_id", sa.String),
        sa.column("app_id", sa.String),
        sa.column("prefix", sa.String),
        sa.column("plan", sa.String),
        sa.column("period", sa.String),
        sa.column("uploads_used", sa.BigInteger),
        sa.column("storage_used", sa.BigInteger),
        sa.column("images_count", sa.BigInteger),
        sa.column("created_at", imgpro.db.tables.UtcDateTime()),
    )
    now = dt.datetime.now(dt.UTC)
    for app in conn.execute(sa.select(old_apps)).all():
        conn.execute(
            app_secrets.insert().values(
                id="sec_" + _short_id(16),
                app_id=app.id,
                name="default",
                secret_hash=app.secret_hash,
                display_prefix=app.secret_prefix,
                created_at=app.secret_rotated_at or app.created_at,
            )
        )
        has_storage = conn.execute(
            sa.select(workspaces.c.id).where(
                workspaces.c.app_id == app.id, workspaces.c.kind == "app"
            )
        ).first()
        if has_storage is None:
            wid = _short_id(12)
            conn.execute(
                workspaces.insert().values(
                    id=wid,
                    kind="app",
                    user_id=app.owner_user_id,
                    app_id=app.id,
                    prefix=_shard_prefix(wid),
                    plan="free",
                    period=now.strftime("%Y-%m"),
                    uploads_used=0,
                    storage_used=0,
                    images_count=0,
                    created_at=now,
                )
            )

    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.drop_constraint("uq_apps_secret_hash", type_="unique")
        batch_op.drop_column("secret_hash")
        batch_op.drop_column("secret_prefix")


def downgrade() -> None:
    # Back to one secret per app: the newest active one (an app with none gets an unusable
    # placeholder hash, so the column can be NOT NULL and unique again).
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secret_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("secret_prefix", sa.String(length=24), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT app_id, secret_hash, display_prefix FROM app_secrets "
            "WHERE revoked_at IS NULL ORDER BY created_at"
        )
    ).all()
    newest = {r.app_id: r for r in rows}
    for (app_id,) in conn.execute(sa.text("SELECT id FROM apps")).all():
        r = newest.get(app_id)
        conn.execute(
            sa.text("UPDATE apps SET secret_hash = :h, secret_prefix = :p WHERE id = :id"),
            {
                "h": r.secret_hash if r else secrets.token_hex(32),
                "p": r.display_prefix if r else "revoked",
                "id": app_id,
            },
        )
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.alter_column("secret_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("secret_prefix", existing_type=sa.String(length=24), nullable=False)
        batch_op.create_unique_constraint("uq_apps_secret_hash", ["secret_hash"])
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_index("ix_workspaces_app_id_kind")
    with op.batch_alter_table("app_secrets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_secrets_app_id"))
    op.drop_table("app_secrets")
    # App-storage workspaces stay (their images would otherwise lose their workspace); an
    # older imgpro simply never reaches them.
