"""The schema: one MetaData for every table. Alembic migrations are written against it.

Times are stored as timezone-aware UTC datetimes. Ids are short random strings; ``images.seq``
is a monotonically increasing integer used only as the keyset-pagination order (newest first).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every engine (SQLite keeps no zone by itself)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    # "" = no usable password (an account made by a code sign-in); never matches any input.
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("email_verified_at", UtcDateTime(), nullable=True),
    # Notification emails the person wants (the account page switches them).
    sa.Column("notify_quota", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("notify_keys", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("notify_apps", sa.Boolean, nullable=False, server_default=sa.true()),
)

# A workspace owns images, a plan and usage counters: an account's own, the shared anonymous
# one, (app mode) one user's workspace inside one app, or an app's own storage (kind "app":
# user_id is the app's owner, reached with the app secret and no X-Img-User).
workspaces = sa.Table(
    "workspaces",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # account | anonymous | app_user | app
    sa.Column("user_id", sa.String(16), sa.ForeignKey("users.id"), nullable=True),
    sa.Column("app_id", sa.String(16), nullable=True),
    sa.Column("prefix", sa.String(3), nullable=False),
    sa.Column("plan", sa.String(32), nullable=False, server_default="free"),
    # Monthly counters: period is "YYYY-MM" (UTC); a new month resets uploads_used.
    sa.Column("period", sa.String(7), nullable=False, server_default=""),
    sa.Column("uploads_used", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("storage_used", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("images_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("disconnected_at", UtcDateTime(), nullable=True),
    sa.UniqueConstraint("user_id", "app_id", "kind"),
    sa.Index("ix_workspaces_app_id_kind", "app_id", "kind"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("workspace_id", sa.String(16), sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("user_id", sa.String(16), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("display_prefix", sa.String(24), nullable=False),
    # SHA-256 of the whole key. Keys carry 190+ bits of randomness, so a fast hash is safe
    # here (unlike passwords) and lets the lookup be an index probe.
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("abilities", sa.String(32), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("last_used_at", UtcDateTime(), nullable=True),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
    sa.Index(None, "user_id"),
)

images = sa.Table(
    "images",
    metadata,
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("id", sa.String(8), nullable=False, unique=True),
    sa.Column("workspace_id", sa.String(16), sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("prefix", sa.String(3), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("source_format", sa.String(8), nullable=False),  # what is stored: jpeg, heic, …
    sa.Column("format", sa.String(8), nullable=False),  # what is served: jpg, png, …
    sa.Column("width", sa.Integer, nullable=True),
    sa.Column("height", sa.Integer, nullable=True),
    sa.Column("frames", sa.Integer, nullable=False, server_default="1"),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("blob_key", sa.String(64), nullable=False),
    sa.Column("transformable", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("public", sa.Boolean, nullable=False),
    sa.Column("caption", sa.Text, nullable=True),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("nsfw", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("blurhash", sa.String(64), nullable=True),
    sa.Column("color", sa.String(7), nullable=True),
    sa.Column("thumbhash", sa.String(64), nullable=True),  # NULL: uploaded before 0008
    sa.Column("published_at", UtcDateTime(), nullable=True),
    sa.Column("expires_at", UtcDateTime(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    # Set by an operator (``imgpro moderation block``): gone for every reader, still counted
    # in the owner's storage until deleted. The reason is for operators, never shown.
    sa.Column("blocked_at", UtcDateTime(), nullable=True),
    sa.Column("blocked_reason", sa.Text, nullable=True),
    # The list path: WHERE workspace_id = ? [AND seq < cursor] ORDER BY seq DESC LIMIT n.
    sa.Index("ix_images_workspace_seq", "workspace_id", "seq"),
    sa.Index("ix_images_expires_at", "expires_at"),
)

# One row per (image, label) so `label[k]=v` filters are index probes, not JSON scans.
image_labels = sa.Table(
    "image_labels",
    metadata,
    sa.Column(
        "image_seq",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        sa.ForeignKey("images.seq", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("value", sa.String(128), nullable=False),
    sa.Column("workspace_id", sa.String(16), nullable=False),
    sa.Index("ix_image_labels_lookup", "workspace_id", "key", "value", "image_seq"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("scope", sa.String(64), primary_key=True),  # the principal it belongs to
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),  # in_progress | done
    # The request holding an in_progress claim (a random token) and until when; it renews the
    # lease while it runs, so a lease in the past means its process died (0006).
    sa.Column("owner", sa.String(32), nullable=True),
    sa.Column("lease_expires_at", UtcDateTime(), nullable=True),
    sa.Column("response_status", sa.Integer, nullable=True),
    sa.Column("response_body", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Index(None, "expires_at"),
)

# Ids a workspace deleted, so a repeated batch delete answers "deleted" (idempotent) while an
# id that was never this workspace's still answers not_found.
image_tombstones = sa.Table(
    "image_tombstones",
    metadata,
    sa.Column("workspace_id", sa.String(16), primary_key=True),
    sa.Column("image_id", sa.String(8), primary_key=True),
    sa.Column("deleted_at", UtcDateTime(), nullable=False),
)

# Signed-in browser sessions (web pages). Only the SHA-256 of the cookie's random token is kept;
# logging out deletes the row (accounts/sessions.py).
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(16), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("last_seen_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Index(None, "user_id"),
    sa.Index(None, "expires_at"),
)

# -- App mode: a product whose users sign in to imgpro; named machine secrets per app -------

apps = sa.Table(
    "apps",
    metadata,
    sa.Column("id", sa.String(8), primary_key=True),  # public app id
    sa.Column("owner_user_id", sa.String(16), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("redirect_uris", sa.JSON, nullable=False),
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("blocked", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("secret_rotated_at", UtcDateTime(), nullable=True),
    sa.Index(None, "owner_user_id"),
)

# An app's machine secrets: several, each named, shown once, revocable. Only the SHA-256 is
# kept (190+ bits of randomness: a fast hash is safe and the lookup is an index probe).
app_secrets = sa.Table(
    "app_secrets",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("app_id", sa.String(8), sa.ForeignKey("apps.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("display_prefix", sa.String(24), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("last_used_at", UtcDateTime(), nullable=True),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
    sa.Index(None, "app_id"),
)

# One-time hosted-login codes: stored hashed, single use, bound to app and redirect URI.
connect_codes = sa.Table(
    "connect_codes",
    metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("app_id", sa.String(8), sa.ForeignKey("apps.id"), nullable=False),
    sa.Column("user_id", sa.String(16), sa.ForeignKey("users.id"), nullable=False),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("used_at", UtcDateTime(), nullable=True),
    sa.Index(None, "expires_at"),
)

# -- Billing: plan changes waiting for the operator (billing provider "manual") -------------

plan_requests = sa.Table(
    "plan_requests",
    metadata,
    sa.Column("id", sa.String(24), primary_key=True),
    sa.Column("workspace_id", sa.String(16), sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("user_id", sa.String(16), sa.ForeignKey("users.id"), nullable=True),
    sa.Column("from_plan", sa.String(32), nullable=False),
    sa.Column("plan", sa.String(32), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # pending | approved | rejected
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("decided_at", UtcDateTime(), nullable=True),
    sa.Index(None, "status", "created_at"),
    sa.Index(None, "workspace_id"),
)

# -- Rendered variants: what is stored, how big, when last used (transforms/variants.py) -----
# The budget of variant storage (per host and per image) is enforced from these rows, evicting
# the least recently used; hits update ``last_used`` in batches, never one write per hit.

variants = sa.Table(
    "variants",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),  # the blob key
    sa.Column("image_id", sa.String(64), nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("last_used", sa.BigInteger, nullable=False),  # epoch seconds
    sa.Index(None, "image_id"),
    sa.Index(None, "last_used"),
)

# One row (id = 1): the sum of ``variants.bytes`` and their count, kept exact by the statements
# that insert and delete variant rows, so the host budget never needs a full scan.
variant_totals = sa.Table(
    "variant_totals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("count", sa.BigInteger, nullable=False),
)

# A workspace's named CDN presets (``?preset=name``): the parameters as given, JSON text.
presets = sa.Table(
    "presets",
    metadata,
    sa.Column("workspace_id", sa.String(16), sa.ForeignKey("workspaces.id"), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("params", sa.Text(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# Signed transforms (opt-in per workspace) and the HMAC key that signs them.
transform_settings = sa.Table(
    "transform_settings",
    metadata,
    sa.Column("workspace_id", sa.String(16), sa.ForeignKey("workspaces.id"), primary_key=True),
    sa.Column("signed_transforms", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("signing_secret", sa.String(128), nullable=True),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# -- Email identity: one-time codes and links, the mail outbox, notices sent ----------------

# Sign-in codes, confirmation codes and emailed links. Only an HMAC (keyed by the secret key) of
# the code or link token is kept. A sign-in code is found by the hash of the browser's nonce
# cookie (it works only in the browser that asked for it), a link by its own hash.
email_tokens = sa.Table(
    "email_tokens",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("purpose", sa.String(16), nullable=False),  # login | confirm | verify | reset | email
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column(
        "user_id", sa.String(16), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    ),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("browser_hash", sa.String(64), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("used_at", UtcDateTime(), nullable=True),
    sa.Index(None, "secret_hash"),
    sa.Index(None, "browser_hash"),
    sa.Index(None, "expires_at"),
)

# Every email goes through here: written in the request, sent by a background task of the server
# (any process; a row is claimed with a lease), retried with backoff. Bodies are blanked once
# the SMTP server has taken a message (they may hold sign-in codes).
mail_outbox = sa.Table(
    "mail_outbox",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("to_address", sa.String(320), nullable=False),
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column("text_body", sa.Text, nullable=False),
    sa.Column("html_body", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", UtcDateTime(), nullable=True),
    sa.Column("sent_at", UtcDateTime(), nullable=True),
    sa.Column("failed_at", UtcDateTime(), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("transport", sa.String(8), nullable=True),  # smtp | log: how it was delivered
    sa.Index(None, "sent_at", "next_attempt_at"),
    sa.Index(None, "created_at"),
)

# Once-per-period notices (quota at 80 % and 100 %): the primary key is the "once".
mail_notices = sa.Table(
    "mail_notices",
    metadata,
    sa.Column("workspace_id", sa.String(16), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("period", sa.String(7), primary_key=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)
