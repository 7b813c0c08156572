"""Receiving upload bytes: stream to a temp file while hashing, never holding the file in memory.

The byte cap is enforced as the bytes arrive: the moment a body passes it we stop reading and
answer 413. SVG has its own, lower cap, known as soon as the first bytes are sniffed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from imgpro.errors import BadRequest, FileTooLarge, ValidationFailed
from imgpro.imaging.probe import sniff

HEAD_BYTES = 4096
MAX_FIELD_BYTES = 64 * 1024  # caption/metadata/labels: generous, but bounded
MAX_FIELDS = 16
# Multipart framing around the file (boundaries, part headers, small fields) never needs more.
MULTIPART_OVERHEAD = MAX_FIELDS * MAX_FIELD_BYTES + 64 * 1024


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


def _safe_filename(raw: str | None) -> str | None:
    if not raw:
        return None
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip().replace("\x00", "")
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:255] or None


class _MultipartCollector:
    """python-multipart callbacks: the ``file`` part goes to a FileSink, small fields to memory."""

    def __init__(self, dest_dir: Path, caps: Caps) -> None:
        self.dest_dir = dest_dir
        self.caps = caps
        self.fields: dict[str, str] = {}
        self.sink: FileSink | None = None
        self._headers: dict[str, str] = {}
        self._hname = b""
        self._hvalue = b""
        self._current_name: str | None = None
        self._current_value = bytearray()
        self._to_file = False
        self._skip = False

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._hname = self._hvalue = b""
        self._current_name = None
        self._current_value = bytearray()
        self._to_file = self._skip = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._hname += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._hvalue += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._hname.decode("latin-1").lower()] = self._hvalue.decode("latin-1")
        self._hname = self._hvalue = b""

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", ""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = params.get(b"filename")
        self._current_name = name
        if name == "file":
            if self.sink is not None:
                raise ValidationFailed("Send one file per request.",
                                       details=[{"field": "file", "message": "only one file"}])
            self.sink = FileSink(self.dest_dir, self.caps)
            self.sink.spooled.filename = _safe_filename(
                filename.decode("utf-8", "replace") if filename else None)
            self.sink.spooled.content_type = self._headers.get("content-type")
            self._to_file = True
        elif filename is not None or len(self.fields) >= MAX_FIELDS:
            self._skip = True  # other file parts and excess fields are not ours to keep

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._to_file and self.sink is not None:
            self.sink.write(data[start:end])
        elif not self._skip:
            self._current_value += data[start:end]
            if len(self._current_value) > MAX_FIELD_BYTES:
                raise ValidationFailed(
                    "A form field is too long.",
                    details=[{"field": self._current_name, "message": "too long"}])

    def _part_end(self) -> None:
        if not self._to_file and not self._skip and self._current_name:
            self.fields[self._current_name] = self._current_value.decode("utf-8", "replace")


async def receive_multipart(
    content_type: str, body: AsyncIterator[bytes], dest_dir: Path, caps: Caps
) -> tuple[SpooledFile | None, dict[str, str]]:
    """Parse a multipart body as it streams: returns (the ``file`` part on disk, other fields)."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequest("Malformed multipart body: no boundary.")
    collector = _MultipartCollector(dest_dir, caps)
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        if collector.sink:
            collector.sink.abort()
        raise BadRequest("Malformed multipart body.") from None
    except BaseException:
        if collector.sink:
            collector.sink.abort()
        raise
    if collector.sink is None:
        return None, collector.fields
    try:
        return collector.sink.finish(), collector.fields
    except BaseException:
        collector.sink.abort()
        raise


async def receive_raw(body: AsyncIterator[bytes], dest_dir: Path, caps: Caps) -> SpooledFile:
    """Stream any byte source (e.g. an imported URL's body) into a SpooledFile."""
    sink = FileSink(dest_dir, caps)
    try:
        async for chunk in body:
            sink.write(chunk)
        return sink.finish()
    except BaseException:
        sink.abort()
        raise
