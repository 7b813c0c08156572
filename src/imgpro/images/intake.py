"""Spooling upload bytes: stream to a temp file while hashing, never holding the file in memory.

The byte cap is enforced as the bytes arrive: the moment a body passes it we stop reading and
answer 413. SVG has its own, lower cap, known as soon as the first bytes are sniffed. The
multipart framing around the bytes is ``images/multipart.py``'s; the policy that picks the
caps is ``images/upload.py``'s.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgpro.errors import FileTooLarge
from imgpro.imaging.probe import sniff

HEAD_BYTES = 4096


@dataclass
class Caps:
    max_bytes: int
    svg_max_bytes: int
    too_large_action: dict[str, Any] | None = None  # e.g. anonymous: a "signup" action

    def error(self, limit: int) -> FileTooLarge:
        mb = limit / (1024 * 1024)
        return FileTooLarge(f"File exceeds the {mb:g} MB limit.", action=self.too_large_action)


@dataclass
class SpooledFile:
    """An upload body on disk, with what we learned while it streamed in."""

    path: Path
    size: int = 0
    head: bytes = b""
    filename: str | None = None
    content_type: str | None = None  # the file part's Content-Type, as sent (idempotency)
    digest_hex: str | None = None  # set when the hash was computed elsewhere (URL import)
    _hash: Any = field(default_factory=hashlib.sha256, repr=False)

    @property
    def sha256(self) -> str:
        return self.digest_hex or str(self._hash.hexdigest())

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class FileSink:
    """Writes chunks to a temp file, hashing and enforcing the cap as they come."""

    def __init__(self, dest_dir: Path, caps: Caps) -> None:
        fd, name = tempfile.mkstemp(dir=dest_dir, prefix="upload-")
        self._file = os.fdopen(fd, "wb")
        self.spooled = SpooledFile(path=Path(name))
        self.caps = caps
        self.limit = caps.max_bytes

    def write(self, chunk: bytes) -> None:
        s = self.spooled
        if len(s.head) < HEAD_BYTES:
            before = len(s.head) < HEAD_BYTES
            s.head += chunk[: HEAD_BYTES - len(s.head)]
            if before and len(s.head) >= 64 and sniff(s.head) == "svg":
                self.limit = min(self.limit, self.caps.svg_max_bytes)
        s.size += len(chunk)
        if s.size > self.limit:
            raise self.caps.error(self.limit)
        s._hash.update(chunk)
        self._file.write(chunk)

    def finish(self) -> SpooledFile:
        self._file.close()
        s = self.spooled
        # A short SVG is only recognisable once complete: re-check its own cap.
        if sniff(s.head) == "svg" and s.size > self.caps.svg_max_bytes:
            self.abort()
            raise self.caps.error(self.caps.svg_max_bytes)
        return s

    def abort(self) -> None:
        self._file.close()
        self.spooled.discard()
