"""Named presets: a workspace's saved CDN parameter sets, applied with ``?preset=name``.

A preset is stored as the parameters it was given (validated with the CDN's own parser, so
nothing is saved that the CDN would ignore). At request time the preset's parameters come first
and the URL's own parameters override them, name by name.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from imgpro.clock import iso
from imgpro.errors import NotFound, ValidationFailed
from imgpro.transforms import repository
from imgpro.transforms.spec import parse_query

NAME_RE: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
MAX_PRESETS: Final = 100
MAX_PARAMS: Final = 32
# Looked-up presets kept per process (known and unknown names alike: a flood of made-up names
# must not turn into a flood of reads); least recently used go first.
CACHE_ENTRIES: Final = 4096
# Parameters that make no sense inside a preset: a preset cannot name another preset, and a
# signature is per URL.
_NOT_IN_PRESETS: Final = frozenset({"preset", "s"})


class PresetNotFound(NotFound):
    message = "No such preset."


@dataclass(frozen=True)
class Preset:
    name: str
    params: dict[str, str]
    created_at: str
    updated_at: str

    def as_object(self) -> dict[str, Any]:
        return {
            "object": "preset",
            "name": self.name,
            "params": self.params,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise ValidationFailed(
            "A preset name is 1–64 characters of a-z, 0-9, '-' and '_', starting with a "
            "letter or digit.",
            details=[{"field": "name", "message": "invalid preset name"}],
        )
    return name


def validate_params(raw: Any) -> dict[str, str]:
    """The preset body: a JSON object of CDN parameter → value (strings or numbers)."""
    if not isinstance(raw, Mapping) or not raw:
        raise ValidationFailed(
            "A preset is a non-empty JSON object of transform parameters.",
            details=[{"field": None, "message": "expected a non-empty object"}],
        )
    if len(raw) > MAX_PARAMS:
        raise ValidationFailed(f"A preset holds at most {MAX_PARAMS} parameters.")
    params: dict[str, str] = {}
    problems = []
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            problems.append({"field": name, "message": "expected a string or a number"})
            continue
        params[str(name)] = format(value, "g") if isinstance(value, float) else str(value)
    for name in sorted(set(params) & _NOT_IN_PRESETS):
        problems.append({"field": name, "message": "not allowed in a preset"})
    parsed = parse_query(list(params.items()))
    problems += [
        {"field": name, "message": "invalid transform parameter or value"}
        for name in parsed.ignored
        if name not in _NOT_IN_PRESETS
    ]
    if problems:
        raise ValidationFailed("The preset has invalid transform parameters.", details=problems)
    return params


def apply(preset: Mapping[str, str], params: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The preset's parameters, overridden name by name by the request's own (minus ``preset``)."""
    own = [(n, v) for n, v in params if n != "preset"]
    overridden = {n for n, _ in own} | {
        "quality" if n == "q" else "q" if n == "quality" else n for n, _ in own
    }
    return [(n, v) for n, v in preset.items() if n not in overridden] + own


class PresetService:
    """Presets of every workspace. ``for_delivery`` is the CDN's read: cached in this process
    for ``cache_seconds()`` (read at call time, so a running app can change it), because a
    cached CDN hit must not cost a database read. A put or delete through this service drops
    its entry at once; other processes and hosts see the change within ``cache_seconds``."""

    def __init__(
        self, db: Any, clock: Any, cache_seconds: Callable[[], float] = lambda: 5.0
    ) -> None:
        self._db = db
        self._clock = clock
        self._cache_seconds = cache_seconds
        # (workspace, name) -> (monotonic expiry, params or None for "no such preset")
        self._cache: OrderedDict[tuple[str, str], tuple[float, dict[str, str] | None]] = (
            OrderedDict()
        )
        # Bumped by every put/delete in this process: a read that started before one does not
        # store its (possibly older) answer after it.
        self._generation = 0

    async def for_delivery(self, workspace_id: str, name: str) -> dict[str, str] | None:
        """The preset's parameters for the CDN, or None when there is no such preset."""
        if not NAME_RE.fullmatch(name):
            return None  # cannot exist: no read, and no cache entry to crowd out real ones
        key = (workspace_id, name)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            self._cache.move_to_end(key)
            return hit[1]
        ttl = self._cache_seconds()
        generation = self._generation
        params = await self.params(workspace_id, name)
        if ttl > 0 and generation == self._generation:
            self._cache[key] = (now + ttl, params)
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return params

    def _forget(self, workspace_id: str, name: str) -> None:
        self._generation += 1
        self._cache.pop((workspace_id, name), None)

    async def put(self, workspace_id: str, name: str, raw: Any) -> tuple[Preset, bool]:
        """Create or replace; returns (preset, created)."""
        check_name(name)
        params = validate_params(raw)
        now = self._clock.now()
        async with self._db.write() as conn:
            created = await repository.upsert_preset(
                conn, workspace_id, name, params, now, limit=MAX_PRESETS
            )
            if created is None:
                raise ValidationFailed(f"A workspace holds at most {MAX_PRESETS} presets.")
            row = await repository.get_preset(conn, workspace_id, name)
        self._forget(workspace_id, name)
        assert row is not None
        return _preset(row), created

    async def get(self, workspace_id: str, name: str) -> Preset:
        row = await repository.find_preset(self._db, workspace_id, name)
        if row is None:
            raise PresetNotFound()
        return _preset(row)

    async def params(self, workspace_id: str, name: str) -> dict[str, str] | None:
        """For the CDN: the preset's parameters, or None when there is no such preset."""
        row = await repository.find_preset(self._db, workspace_id, name)
        return None if row is None else repository.decode_params(row.params)

    async def list(self, workspace_id: str) -> list[Preset]:
        rows = await repository.list_presets(self._db, workspace_id)
        return [_preset(row) for row in rows]

    async def delete(self, workspace_id: str, name: str) -> None:
        async with self._db.write() as conn:
            deleted = await repository.delete_preset(conn, workspace_id, name)
        self._forget(workspace_id, name)
        if not deleted:
            raise PresetNotFound()


def _preset(row: Any) -> Preset:
    return Preset(
        name=row.name,
        params=repository.decode_params(row.params),
        created_at=iso(row.created_at) or "",
        updated_at=iso(row.updated_at) or "",
    )
