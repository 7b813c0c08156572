"""Everything an upload's bytes go through before they are stored, as one blocking call that the
image service runs in its bounded decode pool (images/service.py): probe the header (limits
before any pixel), prove the pixel data is complete, decode the placeholder, clean ICO metadata.

One call, one pool slot: the HEIC decode (full size: HEVC has no shrink-on-load; ~150 MB for a
7000x7000 photo), the SVG probe and the placeholder are bounded by the pool's size exactly like
renders are, instead of running on an unbounded thread pool where N concurrent uploads meant N
full decodes at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from imgpro.imaging import ico
from imgpro.imaging.integrity import check_complete
from imgpro.imaging.probe import Probe, probe_file, validate_decodable
from imgpro.imaging.vips import make_placeholder


@dataclass(frozen=True)
class Inspected:
    probe: Probe
    blurhash: str | None = None
    color: str | None = None
    thumbhash: str | None = None
    rewritten: tuple[int, str] | None = None  # (size, sha256) when the file was cleaned in place


def inspect_upload(
    path: Path, source_format: str, *, max_pixels: int, max_frames: int
) -> Inspected:
    """Blocking. Raises ImageTooLarge / InvalidImage (errors.py) as the probe and decode find."""
    probe = probe_file(path, source_format, max_pixels=max_pixels, max_frames=max_frames)
    if probe.transformable:
        check_complete(path, source_format)
        # Decoding a tiny shrink-on-load thumbnail also proves the pixels decode.
        found = make_placeholder(path, probe)
        return Inspected(probe, found.blurhash, found.color, found.thumbhash)
    validate_decodable(path, probe)
    if source_format == "ico":
        cleaned = ico.strip_metadata(path.read_bytes())  # icons are small; the byte cap bounds it
        if cleaned is not None:
            path.write_bytes(cleaned)
            return Inspected(probe, rewritten=(len(cleaned), hashlib.sha256(cleaned).hexdigest()))
    return Inspected(probe)
