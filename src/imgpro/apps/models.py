"""What the apps domain hands out: the app, its numbers, its secrets' public facts, and the
checks on what an owner types (name, exact redirect URIs)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from imgpro import ids
from imgpro.apps.redirect_uris import is_well_formed
from imgpro.errors import Forbidden, NotFound, ValidationFailed

MAX_REDIRECT_URIS = 10
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


class AppNotFound(NotFound):
    message = "No such app."


@dataclass(frozen=True)
class App:
    id: str
    owner_user_id: str
    name: str
    redirect_uris: tuple[str, ...]
    paused: bool
    blocked: bool
    created_at: dt.datetime

    @property
    def status(self) -> str:
        return "blocked" if self.blocked else "paused" if self.paused else "active"


@dataclass(frozen=True)
class AppStats:
    connected_users: int
    images: int  # in the connected users' workspaces
    storage_bytes: int
    storage_workspace_id: str | None = None  # the app's own storage
    storage_plan: str = "free"
    storage_images: int = 0
    storage_used: int = 0


@dataclass(frozen=True)
class SecretInfo:
    """One machine secret as its owner sees it: never the secret, only its display prefix."""

    id: str
    app_id: str
    name: str
    display_prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def secret_info(row: Any) -> SecretInfo:
    return SecretInfo(
        id=row.id,
        app_id=row.app_id,
        name=row.name,
        display_prefix=row.display_prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


@dataclass(frozen=True)
class OwnedApp:
    """One app as its owner's page shows it: the app, its numbers, its active secrets."""

    app: App
    stats: AppStats
    secrets: tuple[SecretInfo, ...]


class AppLimitReached(Forbidden):
    message = "Your plan allows no more apps. Upgrade on the billing page to register more."


class _Storage(NamedTuple):
    id: str
    prefix: str


def _app(row: Any) -> App:
    return App(
        id=row.id,
        owner_user_id=row.owner_user_id,
        name=row.name,
        redirect_uris=tuple(row.redirect_uris or ()),
        paused=bool(row.paused),
        blocked=bool(row.blocked),
        created_at=row.created_at,
    )


def _new_app_id() -> str:
    return ids.image_id()  # 8 chars [a-z0-9], same alphabet as image ids


def validate_redirect_uri(uri: str) -> str:
    """Exact URIs only: https anywhere, or http on localhost; no fragments, no wildcards."""
    uri = uri.strip()
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    ok = (
        len(uri) <= 2000
        and parts.netloc
        and not parts.fragment
        and "*" not in uri
        and (parts.scheme == "https" or (parts.scheme == "http" and host in LOCAL_HOSTS))
        and not parts.username
        and not parts.password
        # The strict grammar: the URI is pasted into a Location and a CSP header later.
        and is_well_formed(uri)
    )
    if not ok:
        raise ValidationFailed(
            f"Redirect URI {uri!r} must be https (or http on localhost), without a fragment.",
            details=[{"field": "redirect_uris", "message": "https, or http on localhost"}],
        )
    return uri


def validate_redirect_uris(uris: list[str]) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(validate_redirect_uri(u) for u in uris if u.strip()))
    if not cleaned or len(cleaned) > MAX_REDIRECT_URIS:
        raise ValidationFailed(
            f"List 1 to {MAX_REDIRECT_URIS} redirect URIs.",
            details=[{"field": "redirect_uris", "message": f"1-{MAX_REDIRECT_URIS} URIs"}],
        )
    return cleaned


def _validate_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationFailed(
            "An app needs a name of 1-100 characters.",
            details=[{"field": "name", "message": "1-100 characters"}],
        )
    return name
