"""Blob keys and ETags of rendered variants. Pure: stdlib only.

- A variant lives at ``variants/{image_id}/{digest}.{ext}``, so deleting the prefix
  ``variants/{image_id}/`` removes every variant of an image (SPEC §5: "deleting an image removes
  every variant").
- ``digest`` is the first 32 hex chars (128 bits) of SHA-256 over the render version, the
  variant's canonical name and the output format. The canonical name is the *resolved plan's*
  (``pipeline.RenderPlan.canonical``: output geometry plus ``canonical.canonical`` of the rest), so
  requests that render the same pixels share a key. The ETag hashes the original's SHA-256
  too, so it is strong and identical in every process and on every host.
- ``RENDER_VERSION`` is mixed into both. Bump it whenever the same canonical name would now render
  different pixels (a pipeline change, a new default quality in ``spec.DEFAULT_QUALITY``, a new
  libvips with visibly different output): old variants stop being found and are re-rendered, and
  clients' cached copies stop matching their ETags. Old blobs stay until their image is deleted
  (``variants/{id}/`` goes as a whole); the orphan sweep only removes variants of deleted ids.
- The image id becomes a path segment, so it is checked: ``[A-Za-z0-9_-]{1,64}``. A bad id or an
  unknown format is a programming error (``ValueError``), never user input.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from imgpro.transforms.spec import OUTPUT_FORMATS

RENDER_VERSION: Final = 2  # 2: resolved-plan canonical names; spec default qualities
VARIANTS_ROOT: Final = "variants"
_ID_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in (f"imgpro-render-v{RENDER_VERSION}", *parts):
        data = part.encode("utf-8")
        h.update(len(data).to_bytes(8, "big"))  # length-prefixed: no ambiguous concatenations
        h.update(data)
    return h.hexdigest()[:32]


def variant_prefix(image_id: str) -> str:
    """``variants/{image_id}/`` — the blob prefix holding every variant of one image."""
    if not _ID_RE.fullmatch(image_id):
        raise ValueError(f"not an image id: {image_id!r}")
    return f"{VARIANTS_ROOT}/{image_id}/"


def variant_key(image_id: str, canonical_spec: str, out_format: str) -> str:
    """``variants/{image_id}/{sha256(version, canonical, format)[:32]}.{out_format}``."""
    if out_format not in OUTPUT_FORMATS:
        raise ValueError(f"not an output format: {out_format!r}")
    return f"{variant_prefix(image_id)}{_digest(canonical_spec, out_format)}.{out_format}"


def etag_for(image_sha256: str, canonical_spec: str) -> str:
    """A strong ETag header value, quotes included: ``"<32 hex>"``."""
    return f'"{_digest(image_sha256, canonical_spec)}"'
