"""Choosing the served format: ``format=``, ``format=auto`` against ``Accept``, the path's
extension, then the source's own format. Pure code; never raises."""

from __future__ import annotations

import re
from typing import Final

from imgpro.transforms.canonical import ascii_lower
from imgpro.transforms.spec import (
    FORMAT_ALIASES,
    OUTPUT_FORMATS,
    SOURCE_ALIASES,
    TransformSpec,
)

_QVALUE_RE: Final = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")


def _accept_qualities(accept: str | None) -> dict[str, float]:
    """Media type → highest q it was given (malformed entries are skipped)."""
    found: dict[str, float] = {}
    for part in (accept or "")[:4096].split(","):
        media, _, rest = part.partition(";")
        media = media.strip().lower()
        q: float | None = 1.0
        for param in rest.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                value = value.strip()
                q = float(value) if _QVALUE_RE.fullmatch(value) else None
        if media and q is not None:
            found[media] = max(found.get(media, 0.0), q)
    return found


def output_format(
    spec: TransformSpec,
    *,
    path_ext: str,
    source_format: str,
    accept: str | None,
    has_alpha: bool = False,
    animated: bool = False,
) -> tuple[str, bool]:
    """The served format and whether the response varies on ``Accept``.

    Precedence: ``format=<fmt>`` > ``format=auto`` (decided from ``accept``) > the path's
    extension (``jpeg`` → ``jpg``, case-insensitive) > the source's format (``heic``/``heif`` →
    ``jpg``; anything not encodable → ``jpg``). Never raises.
    """
    if spec.format is not None:
        return spec.format, False
    if spec.auto_format:
        q = _accept_qualities(accept)
        candidates = [(q.get("image/avif", 0.0), 1, "avif"), (q.get("image/webp", 0.0), 0, "webp")]
        usable = [c for c in candidates if c[0] > 0 and not (animated and c[2] == "avif")]
        if usable:
            return max(usable)[2], True
        return ("gif" if animated else "png" if has_alpha else "jpg"), True
    ext = ascii_lower(path_ext).lstrip(".")
    ext = FORMAT_ALIASES.get(ext, ext)
    if ext in OUTPUT_FORMATS:
        return ext, False
    source = ascii_lower(source_format)
    source = SOURCE_ALIASES.get(source, source)
    return (source if source in OUTPUT_FORMATS else "jpg"), False
