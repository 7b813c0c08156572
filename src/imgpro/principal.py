"""Who is calling: every request resolves to one Principal (mode, workspace, abilities)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Mode(StrEnum):
    ANONYMOUS = "anonymous"
    API_KEY = "api_key"
    APP = "app"


class Ability(StrEnum):
    READ = "read"
    WRITE = "write"


ANONYMOUS_WORKSPACE_ID = "anonymous"


@dataclass(frozen=True)
class Principal:
    mode: Mode
    workspace_id: str
    workspace_prefix: str
    abilities: frozenset[Ability]
    user_id: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.mode is Mode.ANONYMOUS

    def can(self, ability: Ability) -> bool:
        return ability in self.abilities

    @property
    def idempotency_scope(self) -> str:
        # Keys are scoped to the workspace the principal acts in (its keys and the dashboard
        # share it). Anonymous callers are all one workspace; their keys share that space,
        # which is the best we can do without a credential (callers should use random keys).
        return f"{self.mode.value}:{self.workspace_id}"
