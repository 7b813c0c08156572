"""What a CDN request may ask for, and what it asks for: signed transforms, then presets.

Both steps run after the image's row is found (the row carries its workspace's policy, see
delivery/lookup.py) and before the plan, on every request, so they are cheap when unused: a
query without ``s``/``preset`` is passed through as it came.

Order matters: the signature covers the query *as sent* (``preset=thumb&w=50`` signs those two
parameters, not what the preset expands to), so it is checked before the preset is applied.
A preset changed later still applies to URLs signed earlier: the owner controls both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from imgpro.errors import SignatureRequired
from imgpro.transforms import signing
from imgpro.transforms.presets import PresetService, apply

PRESET_PARAM: Final = "preset"


@dataclass(frozen=True, slots=True)
class Resolved:
    """The parameters to plan with, and names to add to ``X-Img-Ignored``."""

    params: list[tuple[str, str]]
    ignored: tuple[str, ...] = ()


def check_signature(row: Any, path: str, query: Sequence[tuple[str, str]]) -> None:
    """Raise :class:`SignatureRequired` when the image's workspace signs transforms and this
    query is outside the open set without a valid ``s``. ``path`` is the request path as sent
    (``/i/{prefix}/{id}.{ext}``)."""
    if not row.signed_transforms or not signing.needs_signature(query):
        return
    secret = row.signing_secret
    if secret and signing.is_valid(secret, path, query):
        return
    raise SignatureRequired()


async def resolve(
    presets: PresetService, workspace_id: str, query: Sequence[tuple[str, str]]
) -> Resolved:
    """Strip ``s`` (checked already, never part of a variant) and expand ``preset``: the
    workspace's preset first, the URL's own parameters override it name by name. An unknown
    preset is ignored like any invalid value (the image still loads) and named in
    ``X-Img-Ignored``. Repeated ``preset``: the last one wins, as for every parameter."""
    own = [(n, v) for n, v in query if n != signing.SIGNATURE_PARAM]
    names = [v for n, v in own if n == PRESET_PARAM]
    if not names:
        return Resolved(own)
    ignored = (PRESET_PARAM,) if len(set(names)) > 1 else ()
    params = await presets.for_delivery(workspace_id, names[-1])
    if params is None:
        return Resolved([(n, v) for n, v in own if n != PRESET_PARAM], (PRESET_PARAM,))
    return Resolved(apply(params, own), ignored)
