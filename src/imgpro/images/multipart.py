"""The one multipart/form-data reader: streaming, bounded, and free of any web framework.

The edge hands it the request's ``Content-Type`` and an async iterator of body chunks; it hands
back the ``file`` parts spooled to disk (hashed, capped as they arrive: ``images/intake.py``)
and the small fields. Everything is bounded before it is kept: at most ``max_files`` files,
``MAX_FIELDS`` fields of ``MAX_FIELD_BYTES`` each; other file parts and excess fields are read
past, never stored. The API takes one file per request, the dashboard's plain form several —
one parser with a limit, not two parsers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from imgpro.errors import BadRequest, ValidationFailed
from imgpro.images.intake import Caps, FileSink, SpooledFile

FILE_FIELD = "file"
MAX_FIELD_BYTES = 64 * 1024  # caption/metadata/labels: generous, but bounded
MAX_FIELDS = 16
# Multipart framing around one file (boundaries, part headers, small fields) never needs more:
# a declared Content-Length past files × (cap + this) is refused before a byte is read.
MULTIPART_OVERHEAD = MAX_FIELDS * MAX_FIELD_BYTES + 64 * 1024


def is_multipart(content_type: str) -> bool:
    return content_type.strip().lower().startswith("multipart/form-data")


@dataclass
class Form:
    """A multipart body as read: its files on disk (in order) and its small fields."""

    files: list[SpooledFile] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        for spooled in self.files:
            spooled.discard()


def safe_filename(raw: str | None) -> str | None:
    """The last path segment, printable, at most 255 characters (never a path to follow)."""
    if not raw:
        return None
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip().replace("\x00", "")
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:255] or None


class _Reader:
    """python-multipart callbacks: ``file`` parts go to FileSinks, small fields to memory."""

    def __init__(self, dest_dir: Path, caps: Caps, max_files: int, skip_empty: bool) -> None:
        self.dest_dir, self.caps = dest_dir, caps
        self.max_files, self.skip_empty = max_files, skip_empty
        self.form = Form()
        self.sink: FileSink | None = None
        self._headers: dict[str, str] = {}
        self._hname = self._hvalue = b""
        self._name: str | None = None
        self._value = bytearray()
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
        self._name = None
        self._value = bytearray()
        self._skip = False

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
        self._name = name
        if name == FILE_FIELD:
            if len(self.form.files) >= self.max_files:
                if self.max_files == 1:
                    raise ValidationFailed(
                        "Send one file per request.",
                        details=[{"field": FILE_FIELD, "message": "only one file"}],
                    )
                raise ValidationFailed(f"Upload at most {self.max_files} files at a time.")
            self.sink = FileSink(self.dest_dir, self.caps)
            self.sink.spooled.filename = safe_filename(
                filename.decode("utf-8", "replace") if filename else None
            )
            self.sink.spooled.content_type = self._headers.get("content-type")
        elif filename is not None or len(self.form.fields) >= MAX_FIELDS:
            self._skip = True  # other file parts and excess fields are not ours to keep

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.sink is not None:
            self.sink.write(data[start:end])
        elif not self._skip:
            self._value += data[start:end]
            if len(self._value) > MAX_FIELD_BYTES:
                raise ValidationFailed(
                    "A form field is too long.",
                    details=[{"field": self._name, "message": "too long"}],
                )

    def _part_end(self) -> None:
        if self.sink is not None:
            sink, self.sink = self.sink, None
            spooled = sink.finish()
            if self.skip_empty and spooled.size == 0 and not spooled.filename:
                spooled.discard()  # the empty part a browser sends for "no file chosen"
            else:
                self.form.files.append(spooled)
        elif not self._skip and self._name:
            self.form.fields[self._name] = self._value.decode("utf-8", "replace")

    def abort(self) -> None:
        if self.sink is not None:
            self.sink.abort()
            self.sink = None
        self.form.discard()


async def read_multipart(
    content_type: str,
    body: AsyncIterator[bytes],
    dest_dir: Path,
    caps: Caps,
    *,
    max_files: int = 1,
    skip_empty: bool = False,
) -> Form:
    """Parse a multipart body as it streams. On any error every temp file is gone again.

    ``skip_empty`` drops a file part with no bytes and no filename (a browser form's empty
    file input) instead of handing it on as an empty file."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not is_multipart(content_type) or not boundary:
        raise BadRequest("Malformed multipart body: no boundary.")
    reader = _Reader(dest_dir, caps, max_files, skip_empty)
    # python-multipart types its callbacks as a TypedDict; ours is the same mapping, by name.
    parser = MultipartParser(boundary, cast(Any, reader.callbacks()))
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
        if reader.sink is not None:  # no closing boundary: the file part ends with the body
            reader._part_end()
    except MultipartParseError:
        reader.abort()
        raise BadRequest("Malformed multipart body.") from None
    except BaseException:
        reader.abort()
        raise
    return reader.form
