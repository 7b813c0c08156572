"""What the accounts domain hands out: an account, the person behind a live session, and the
operator's views of accounts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class User:
    id: str
    email: str
    workspace_id: str
    created_at: dt.datetime


@dataclass(frozen=True)
class SessionUser:
    """The person behind a live session and the account workspace they act on."""

    user_id: str
    email: str
    workspace_id: str
    workspace_prefix: str
    plan: str
    verified: bool = True  # the email address was proven (verification link or a code)


@dataclass(frozen=True)
class UserRow:
    id: str
    email: str
    created_at: dt.datetime
    plan: str
    images: int
    storage_bytes: int
    keys: int


@dataclass(frozen=True)
class Deletion:
    user_id: str
    email: str
    images: int
    keys: int
    workspaces: int
